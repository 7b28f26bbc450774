//! Goals on the series of a Prometheus query (`metric: prometheus:NAME`):
//! an aggregate of the samples that fall in the goal's phase, compared
//! with a bound or with the same aggregate over the warm-up. A query that
//! answers several series holds only when every series holds; the report
//! shows the worst one. A phase without samples is no data, never a pass.

use squall_load::threshold::Op;
use squall_report::run_report::{QueryRecord, QuerySeries};

use crate::goals::GoalResult;

/// How the samples of a phase are reduced to one number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SeriesAgg {
    /// Mean of the samples.
    Avg,
    /// Smallest sample.
    Min,
    /// Largest sample.
    Max,
    /// The last sample of the phase.
    Last,
    /// Percentile 0..=100 of the samples (nearest rank).
    P(f64),
}

/// `max<0.5`, `avg<=1e9`, `p(95)<2`, `last>=1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeriesCondition {
    /// Reduction.
    pub agg: SeriesAgg,
    /// Comparison.
    pub op: Op,
    /// Bound (the factor's placeholder for relative goals).
    pub bound: f64,
}

/// Parses a condition; errors start with `condition: ` for locating.
pub fn parse(expr: &str) -> Result<SeriesCondition, String> {
    let e = expr.replace(' ', "");
    let at = e.find(['<', '>', '=', '!']).ok_or_else(|| {
        format!("condition: {expr:?}: expected AGG OP VALUE, e.g. max<0.8 or avg<1.5*baseline")
    })?;
    let (agg_s, rest) = e.split_at(at);
    let (op, value) = [("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)]
        .iter()
        .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (*op, v)))
        .ok_or_else(|| format!("condition: {expr:?}: use <, <=, > or >="))?;
    let agg = match agg_s {
        "avg" => SeriesAgg::Avg,
        "min" => SeriesAgg::Min,
        "max" => SeriesAgg::Max,
        "last" => SeriesAgg::Last,
        "med" => SeriesAgg::P(50.0),
        p if p.starts_with("p(") && p.ends_with(')') => {
            let v: f64 = p[2..p.len() - 1]
                .parse()
                .map_err(|_| format!("condition: {expr:?}: bad percentile {p}"))?;
            if !(0.0..=100.0).contains(&v) {
                return Err(format!(
                    "condition: {expr:?}: percentile must be within 0..100"
                ));
            }
            SeriesAgg::P(v)
        }
        other => {
            return Err(format!(
                "condition: {expr:?}: {other:?} is not one of avg, min, max, last, med, p(N) (a Prometheus series is judged on its samples)"
            ));
        }
    };
    let bound: f64 = value.parse().map_err(|_| {
        format!("condition: {expr:?}: {value:?} is not a number (Prometheus values have no units)")
    })?;
    if !bound.is_finite() {
        return Err(format!("condition: {expr:?}: the bound must be finite"));
    }
    Ok(SeriesCondition { agg, op, bound })
}

impl SeriesAgg {
    /// The reduction of `values` (in time order); `None` when empty.
    pub fn of(self, values: &[f64]) -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        Some(match self {
            SeriesAgg::Avg => values.iter().sum::<f64>() / values.len() as f64,
            SeriesAgg::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            SeriesAgg::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            SeriesAgg::Last => *values.last().expect("not empty"),
            SeriesAgg::P(p) => {
                let mut v = values.to_vec();
                v.sort_by(f64::total_cmp);
                let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
                v[rank.clamp(1, v.len()) - 1]
            }
        })
    }
}

/// A time window in seconds since the main run's start; `open_start`
/// leaves out a sample exactly at the start (it shows the last scrape
/// before the window).
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Start.
    pub start: f64,
    /// End (inclusive).
    pub end: f64,
    /// Whether a sample at `start` is outside.
    pub open_start: bool,
}

impl Window {
    fn values(&self, s: &QuerySeries) -> Vec<f64> {
        s.points
            .iter()
            .filter(|(t, _)| {
                (if self.open_start {
                    *t > self.start
                } else {
                    *t >= self.start
                }) && *t <= self.end + 1e-9
            })
            .map(|(_, v)| *v)
            .collect()
    }
}

fn holds(op: Op, v: f64, bound: f64) -> bool {
    match op {
        Op::Lt => v < bound,
        Op::Le => v <= bound,
        Op::Gt => v > bound,
        Op::Ge => v >= bound,
        Op::Eq => (v - bound).abs() < 1e-9,
        Op::Ne => (v - bound).abs() >= 1e-9,
    }
}

/// Judges `c` on `record`'s series in `window`; `relative` is the factor
/// over the same aggregate of the same series in `baseline`.
pub fn evaluate(
    c: &SeriesCondition,
    relative: Option<f64>,
    record: Option<&QueryRecord>,
    window: Window,
    baseline: Option<Window>,
) -> GoalResult {
    let none = |detail: String| GoalResult {
        observed: None,
        bound: c.bound,
        passed: false,
        no_data: true,
        detail,
    };
    let Some(record) = record else {
        return none("the query was not run".into());
    };
    if let Some(e) = &record.error {
        return none(format!("the query failed after the run: {e}"));
    }
    if record.series.is_empty() {
        return none("Prometheus answered no series for the run's window".into());
    }
    // (value, bound, label) per series with data.
    let mut judged: Vec<(f64, f64, String)> = Vec::new();
    let mut empty = Vec::new();
    for s in &record.series {
        let label = s.label_text(&record.name);
        let Some(v) = c.agg.of(&window.values(s)) else {
            empty.push(label);
            continue;
        };
        let bound = match (relative, baseline) {
            (Some(k), Some(b)) => match c.agg.of(&b.values(s)) {
                Some(base) => k * base,
                None => {
                    empty.push(format!("{label} (no warm-up samples)"));
                    continue;
                }
            },
            _ => c.bound,
        };
        judged.push((v, bound, label));
    }
    if !empty.is_empty() || judged.is_empty() {
        return none(format!(
            "no samples in this phase for {}",
            if empty.is_empty() {
                record.name.clone()
            } else {
                empty.join(", ")
            }
        ));
    }
    let failing: Vec<&(f64, f64, String)> = judged
        .iter()
        .filter(|(v, b, _)| !holds(c.op, *v, *b))
        .collect();
    // The worst: the first failing series, else the one nearest its bound.
    let worst = failing.first().copied().unwrap_or_else(|| {
        judged
            .iter()
            .min_by(|a, b| (a.1 - a.0).abs().total_cmp(&(b.1 - b.0).abs()))
            .expect("not empty")
    });
    GoalResult {
        observed: Some(worst.0),
        bound: worst.1,
        passed: failing.is_empty(),
        no_data: false,
        detail: format!(
            "{} of {} series held; shown: {}",
            judged.len() - failing.len(),
            judged.len(),
            worst.2
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn record(series: &[(&str, &[(f64, f64)])]) -> QueryRecord {
        QueryRecord {
            name: "mem".into(),
            query: "q".into(),
            series: series
                .iter()
                .map(|(l, pts)| QuerySeries {
                    labels: BTreeMap::from([("instance".to_string(), l.to_string())]),
                    points: pts.to_vec(),
                })
                .collect(),
            ..Default::default()
        }
    }

    const ALL: Window = Window {
        start: 0.0,
        end: 10.0,
        open_start: false,
    };

    #[test]
    fn conditions_parse_and_refuse_with_the_field() {
        let c = parse("p(95) <= 2.5").unwrap();
        assert_eq!((c.agg, c.op, c.bound), (SeriesAgg::P(95.0), Op::Le, 2.5));
        for bad in ["rate<1", "max<1ms", "max", "max==1", "p(101)<1"] {
            let e = parse(bad).unwrap_err();
            assert!(e.starts_with("condition: "), "{e}");
        }
    }

    #[test]
    fn aggregates_over_the_phase_samples() {
        let v = [3.0, 1.0, 4.0, 1.0, 5.0];
        assert_eq!(SeriesAgg::Avg.of(&v), Some(2.8));
        assert_eq!(SeriesAgg::Max.of(&v), Some(5.0));
        assert_eq!(SeriesAgg::Min.of(&v), Some(1.0));
        assert_eq!(SeriesAgg::Last.of(&v), Some(5.0));
        assert_eq!(SeriesAgg::P(50.0).of(&v), Some(3.0));
        assert_eq!(SeriesAgg::Max.of(&[]), None);
    }

    #[test]
    fn every_series_must_hold_and_the_worst_is_shown() {
        let r = record(&[("a", &[(1.0, 1.0), (2.0, 2.0)]), ("b", &[(1.0, 9.0)])]);
        let c = parse("max<5").unwrap();
        let o = evaluate(&c, None, Some(&r), ALL, None);
        assert!(!o.passed && !o.no_data);
        assert_eq!(o.observed, Some(9.0));
        assert!(
            o.detail.contains("1 of 2") && o.detail.contains("b"),
            "{}",
            o.detail
        );
        let c = parse("max<10").unwrap();
        assert!(evaluate(&c, None, Some(&r), ALL, None).passed);
    }

    #[test]
    fn windows_and_missing_data_never_pass() {
        let r = record(&[("a", &[(2.0, 100.0), (3.0, 1.0)])]);
        let during = Window {
            start: 2.0,
            end: 3.0,
            open_start: true,
        };
        let c = parse("max<10").unwrap();
        assert!(
            evaluate(&c, None, Some(&r), during, None).passed,
            "2.0 is the scrape before"
        );
        let later = Window {
            start: 5.0,
            end: 9.0,
            open_start: false,
        };
        let o = evaluate(&c, None, Some(&r), later, None);
        assert!(o.no_data && !o.passed);
        let failed = QueryRecord {
            error: Some("down".into()),
            ..record(&[])
        };
        let o = evaluate(&c, None, Some(&failed), ALL, None);
        assert!(o.no_data && o.detail.contains("down"));
        assert!(evaluate(&c, None, None, ALL, None).no_data);
    }

    #[test]
    fn relative_bounds_come_from_each_series_warm_up() {
        let r = record(&[("a", &[(-2.0, 10.0), (-1.0, 10.0), (1.0, 14.0)])]);
        let warm = Window {
            start: -2.0,
            end: 0.0,
            open_start: false,
        };
        let c = parse("max<0").unwrap();
        let o = evaluate(&c, Some(1.5), Some(&r), ALL, Some(warm));
        assert!(o.passed);
        assert_eq!(o.bound, 15.0);
        let o = evaluate(&c, Some(1.2), Some(&r), ALL, Some(warm));
        assert!(!o.passed);
    }
}
