//! Goals: k6-style conditions on a phase of the run (overall, warm-up, or
//! before/during/after a fault), possibly relative to the warm-up baseline,
//! and recovery times after a fault.

use std::time::Duration;

use squall_load::plan::ThresholdSpec;
use squall_load::threshold::{Threshold, ThresholdScope};
use squall_metrics::Interval;

use crate::document::{GoalSpec, RecoverySpec};
pub use crate::series::RecoveryMetric;
use crate::series::SecondRow;
use crate::series_goal::SeriesCondition;

/// The part of the run a goal is measured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The whole main run.
    Overall,
    /// The warm-up.
    Warmup,
    /// From the start to fault `i`'s injection.
    Before(usize),
    /// While fault `i` is in force.
    During(usize),
    /// From fault `i`'s end to the end of the run.
    After(usize),
}

impl Phase {
    /// `overall`, `warmup`, `before NAME`...
    pub fn label(self, fault_names: &[String]) -> String {
        match self {
            Phase::Overall => "overall".into(),
            Phase::Warmup => "warmup".into(),
            Phase::Before(i) => format!("before {}", fault_names[i]),
            Phase::During(i) => format!("during {}", fault_names[i]),
            Phase::After(i) => format!("after {}", fault_names[i]),
        }
    }
}

/// A compiled goal.
#[derive(Clone, Debug)]
pub enum Goal {
    /// A condition on one phase.
    Condition {
        /// Shown in the report.
        name: String,
        /// The phase.
        phase: Phase,
        /// The condition (its bound is replaced for relative goals).
        threshold: Threshold,
        /// `Some(k)`: the bound is k x the warm-up's value.
        relative: Option<f64>,
        /// The metric and condition as written.
        written: String,
    },
    /// A condition on a Prometheus query's samples in one phase.
    Series {
        /// Shown in the report.
        name: String,
        /// The phase.
        phase: Phase,
        /// The query's name.
        query: String,
        /// The condition (its bound is replaced for relative goals).
        condition: SeriesCondition,
        /// `Some(k)`: the bound is k x the same series' warm-up value.
        relative: Option<f64>,
        /// The metric and condition as written.
        written: String,
    },
    /// Time until a metric is back within its band after fault `fault` ends.
    Recovery {
        /// Shown in the report.
        name: String,
        /// The fault.
        fault: usize,
        /// What is watched.
        metric: RecoveryMetric,
        /// Latency: factor over baseline; error rate: absolute margin.
        band: f64,
        /// The goal.
        within: Duration,
    },
}

/// Compiles a goal; `faults` are the fault names, `scope` what the plan's
/// requests can be filtered on, `queries` the names of the experiment's
/// Prometheus queries.
pub fn compile(
    g: &GoalSpec,
    faults: &[String],
    scope: &ThresholdScope,
    queries: &[String],
    has_warmup: bool,
) -> Result<Goal, String> {
    let fault_index = |name: &Option<String>, field: &str| -> Result<usize, String> {
        match name {
            None if faults.is_empty() => Err(format!("{field}: the experiment has no faults")),
            None => Ok(0),
            Some(n) => faults.iter().position(|f| f == n).ok_or_else(|| {
                format!(
                    "{field}: no fault named {n:?} (faults: {})",
                    faults.join(", ")
                )
            }),
        }
    };
    if let Some(r) = &g.recovery {
        if g.metric.is_some() || g.condition.is_some() || g.phase.is_some() {
            return Err("a recovery goal has no metric, condition or phase of its own".into());
        }
        return recovery(g, r, fault_index(&r.fault, "recovery.fault")?);
    }
    let metric = g
        .metric
        .clone()
        .ok_or("metric: required (or give `recovery`)")?;
    let condition = g
        .condition
        .clone()
        .ok_or("condition: required, e.g. p(95)<300ms")?;
    let phase = match g.phase.as_deref().unwrap_or("overall") {
        "overall" => Phase::Overall,
        "warmup" if has_warmup => Phase::Warmup,
        "warmup" => return Err("phase: warmup, but the experiment has no warmup".into()),
        "before" => Phase::Before(fault_index(&g.fault, "fault")?),
        "during" => Phase::During(fault_index(&g.fault, "fault")?),
        "after" => Phase::After(fault_index(&g.fault, "fault")?),
        other => {
            return Err(format!(
                "phase: {other:?} is not one of overall, warmup, before, during, after"
            ));
        }
    };
    let (expr, relative) = split_relative(&condition)?;
    if relative.is_some() && !has_warmup {
        return Err("condition: relative to `baseline`, which needs a warmup".into());
    }
    if let Some(query) = metric.strip_prefix("prometheus:") {
        if !queries.iter().any(|q| q == query) {
            return Err(format!(
                "metric: no Prometheus query named {query:?} ({})",
                if queries.is_empty() {
                    "the experiment has no `prometheus` section".to_string()
                } else {
                    format!("queries: {}", queries.join(", "))
                }
            ));
        }
        return Ok(Goal::Series {
            name: g
                .name
                .clone()
                .unwrap_or_else(|| format!("{metric} {condition}")),
            phase,
            query: query.to_string(),
            condition: crate::series_goal::parse(&expr)?,
            relative,
            written: format!("{metric} {condition}"),
        });
    }
    let threshold = Threshold::compile(&metric, &ThresholdSpec::Plain(expr), scope)
        .map_err(|e| format!("condition: {e}"))?;
    Ok(Goal::Condition {
        name: g
            .name
            .clone()
            .unwrap_or_else(|| format!("{metric} {condition}")),
        phase,
        threshold,
        relative,
        written: format!("{metric} {condition}"),
    })
}

fn recovery(g: &GoalSpec, r: &RecoverySpec, fault: usize) -> Result<Goal, String> {
    let metric = match r.metric.replace(' ', "").as_str() {
        "p(50)" | "med" => RecoveryMetric::Percentile(50),
        "p(95)" => RecoveryMetric::Percentile(95),
        "p(99)" => RecoveryMetric::Percentile(99),
        "error_rate" => RecoveryMetric::ErrorRate,
        other => {
            return Err(format!(
                "recovery.metric: {other:?} is not one of p(50), p(95), p(99), error_rate"
            ));
        }
    };
    let band = r.band.unwrap_or(match metric {
        RecoveryMetric::ErrorRate => 0.01,
        RecoveryMetric::Percentile(_) => 1.5,
    });
    if !(band.is_finite() && band >= 0.0) {
        return Err(format!(
            "recovery.band: must be a non-negative number, got {band}"
        ));
    }
    Ok(Goal::Recovery {
        name: g.name.clone().unwrap_or_else(|| {
            format!(
                "{} recovers within {}",
                r.metric,
                humantime::format_duration(r.within.get())
            )
        }),
        fault,
        metric,
        band,
        within: r.within.get(),
    })
}

/// `p(95)<1.5*baseline` -> (`p(95)<0`, Some(1.5)); plain conditions pass through.
fn split_relative(condition: &str) -> Result<(String, Option<f64>), String> {
    let c = condition.replace(' ', "");
    let Some(at) = c.find("baseline") else {
        return Ok((condition.to_string(), None));
    };
    let op_end = c
        .rfind(['<', '>', '='])
        .ok_or("condition: expected AGG OP k*baseline")?
        + 1;
    let rhs = &c[op_end..];
    let factor = if rhs == "baseline" {
        "1"
    } else if let Some(f) = rhs
        .strip_suffix("*baseline")
        .or_else(|| rhs.strip_suffix("xbaseline"))
    {
        f
    } else if let Some(f) = rhs.strip_prefix("baseline*") {
        f
    } else {
        return Err(format!(
            "condition: {condition:?}: write the bound as k*baseline, e.g. p(95)<1.5*baseline"
        ));
    };
    let k: f64 = factor
        .parse()
        .map_err(|_| format!("condition: {factor:?} is not a number"))?;
    let _ = at;
    Ok((format!("{}0", &c[..op_end]), Some(k)))
}

/// A goal's outcome.
#[derive(Clone, Debug)]
pub struct GoalResult {
    /// Whether it held (never when there was no data).
    pub passed: bool,
    /// The phase had nothing to judge the goal on (no requests for a
    /// latency or error-rate goal): neither held nor broken, and the
    /// verdict does not count it as held.
    pub no_data: bool,
    /// What was measured (ms for latencies and recovery, a share for rates).
    pub observed: Option<f64>,
    /// The bound it was compared with.
    pub bound: f64,
    /// How to read it.
    pub detail: String,
}

/// Evaluates a condition goal on a phase's figures.
pub fn evaluate_condition(
    threshold: &Threshold,
    relative: Option<f64>,
    phase: &Interval,
    phase_len: Duration,
    baseline: Option<(&Interval, Duration)>,
) -> GoalResult {
    let mut t = threshold.clone();
    let mut detail = String::new();
    if let (Some(k), Some((b, len))) = (relative, baseline) {
        let base = threshold.evaluate(b, len).observed;
        t.bound = k * base;
        detail = format!("baseline {base:.3} x {k}; ");
    }
    if relative.is_some() && baseline.is_some_and(|(b, _)| !threshold.has_data(b)) {
        return GoalResult {
            passed: false,
            no_data: true,
            observed: None,
            bound: t.bound,
            detail: "no data in the warm-up to take the baseline from".into(),
        };
    }
    let requests = phase.overall("all").requests;
    if !t.has_data(phase) {
        return GoalResult {
            passed: false,
            no_data: true,
            observed: None,
            bound: t.bound,
            detail: format!("{detail}no data: {requests} requests in this phase"),
        };
    }
    let v = t.evaluate(phase, phase_len);
    GoalResult {
        passed: v.passed,
        no_data: false,
        observed: Some(v.observed),
        bound: t.bound,
        detail: format!("{detail}{requests} requests"),
    }
}

/// Evaluates a recovery goal: the first second at or after the fault's end
/// from which three seconds in a row are within the band.
pub fn evaluate_recovery(
    rows: &[SecondRow],
    fault_end_s: f64,
    baseline: f64,
    metric: RecoveryMetric,
    band: f64,
    within: Duration,
) -> GoalResult {
    let limit = match metric {
        RecoveryMetric::ErrorRate => baseline + band,
        RecoveryMetric::Percentile(_) => baseline * band,
    };
    let ok = |r: &SecondRow| r.requests > 0 && metric.of(r) <= limit;
    let after: Vec<&SecondRow> = rows.iter().filter(|r| r.end_s > fault_end_s).collect();
    let found =
        (0..after.len()).find(|&i| after.len() >= i + 3 && after[i..i + 3].iter().all(|r| ok(r)));
    let unit = match metric {
        RecoveryMetric::ErrorRate => "",
        RecoveryMetric::Percentile(_) => " ms",
    };
    match found {
        Some(i) => {
            let took = (after[i].start_s - fault_end_s).max(0.0);
            GoalResult {
                passed: took <= within.as_secs_f64(),
                no_data: false,
                observed: Some(took * 1000.0),
                bound: within.as_secs_f64() * 1000.0,
                detail: format!(
                    "back under {limit:.3}{unit} (baseline {baseline:.3}{unit}) {took:.0} s after the fault ended"
                ),
            }
        }
        None if !after.iter().any(|r| r.requests > 0) => GoalResult {
            passed: false,
            no_data: true,
            observed: None,
            bound: within.as_secs_f64() * 1000.0,
            detail: "no data: no requests after the fault ended".into(),
        },
        None => GoalResult {
            passed: false,
            no_data: false,
            observed: None,
            bound: within.as_secs_f64() * 1000.0,
            detail: format!(
                "never back under {limit:.3}{unit} for 3 s in a row (baseline {baseline:.3}{unit})"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_conditions_split_their_factor() {
        assert_eq!(
            split_relative("p(95) < 1.5 * baseline").unwrap(),
            ("p(95)<0".into(), Some(1.5))
        );
        assert_eq!(
            split_relative("p(99)<=baseline*2").unwrap(),
            ("p(99)<=0".into(), Some(2.0))
        );
        assert_eq!(
            split_relative("p(95)<300ms").unwrap(),
            ("p(95)<300ms".into(), None)
        );
        assert!(split_relative("p(95)<baseline+3").is_err());
    }

    fn row(start: f64, p95: f64) -> SecondRow {
        SecondRow {
            start_s: start,
            end_s: start + 1.0,
            requests: 10,
            p95_ms: p95,
            ..Default::default()
        }
    }

    #[test]
    fn recovery_needs_three_good_seconds_in_a_row() {
        let rows: Vec<SecondRow> = [50.0, 50.0, 10.0, 50.0, 10.0, 10.0, 10.0, 10.0]
            .iter()
            .enumerate()
            .map(|(i, p)| row(i as f64, *p))
            .collect();
        let r = evaluate_recovery(
            &rows,
            0.5,
            10.0,
            RecoveryMetric::Percentile(95),
            1.5,
            Duration::from_secs(5),
        );
        assert!(r.passed, "{r:?}");
        assert_eq!(r.observed, Some(3500.0));
        let r = evaluate_recovery(
            &rows,
            0.5,
            10.0,
            RecoveryMetric::Percentile(95),
            1.5,
            Duration::from_secs(3),
        );
        assert!(!r.passed);
        let never = evaluate_recovery(
            &rows[..4],
            0.5,
            10.0,
            RecoveryMetric::Percentile(95),
            1.5,
            Duration::from_secs(30),
        );
        assert!(!never.passed && never.observed.is_none());
    }
}
