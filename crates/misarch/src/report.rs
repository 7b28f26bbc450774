//! The original's `report.json` for a run: `{testUUID, testVersion,
//! experimentExecutorVersion, startTime, endTime, goals, goalViolations}`,
//! epoch-ms strings and values as text, made from squall's report (which
//! stays the richer one beside it).
//!
//! `goals` are the version's MiSArch goals as written, or, with a steady
//! state, every figure with the threshold its baseline gave. A violation
//! is a goal that did not hold (`actualValue` in MiSArch's units: ms, or
//! percent); a goal without data (a "ko" time when nothing failed) is no
//! violation, as Gatling reports such a figure as 0.

use serde_json::{Value, json};

use crate::goals::{self, Figure};

/// One goal outcome of squall's report, as this module reads it.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The goal's name (MiSArch's label).
    pub name: String,
    /// What was measured, in squall's units (ms, or a share).
    pub observed: Option<f64>,
    /// The bound it was compared with, in squall's units.
    pub bound: f64,
    /// Whether it held.
    pub passed: bool,
    /// No data to judge it on.
    pub no_data: bool,
}

fn text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        format!("{}", (v * 1000.0).round() / 1000.0)
    }
}

/// A squall figure in MiSArch's units.
fn misarch_value(f: &Figure, v: f64) -> f64 {
    match (f.percent, f.complement) {
        (true, true) => (1.0 - v) * 100.0,
        (true, false) => v * 100.0,
        (false, _) => v,
    }
}

/// Which run of which version.
#[derive(Clone, Debug)]
pub struct Run<'a> {
    /// `testUUID`.
    pub test_uuid: &'a str,
    /// `testVersion` (`v1`).
    pub test_version: &'a str,
    /// What ran it (`squall 0.1.0`).
    pub executor_version: &'a str,
    /// Main run start, ms since the Unix epoch.
    pub started_unix_ms: u64,
    /// Main run length, seconds.
    pub duration_s: f64,
}

/// The report; `config_goals` are `config.goals` as stored; `automatic`
/// says the goals came from a steady state.
pub fn build(run: &Run<'_>, config_goals: &Value, automatic: bool, outcomes: &[Outcome]) -> Value {
    let started_unix_ms = run.started_unix_ms;
    let end = started_unix_ms + (run.duration_s * 1000.0).round() as u64;
    let find = |label: &str| outcomes.iter().find(|o| o.name == label);
    let mut listed = Vec::new();
    let mut violations = Vec::new();
    let labels: Vec<(String, Value)> = if automatic {
        goals::LABELS
            .iter()
            .map(|l| (l.to_string(), json!("red")))
            .collect()
    } else {
        config_goals
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| {
                let label = g.get("metric")?.as_str()?.to_string();
                Some((label, g.get("color").cloned().unwrap_or(json!("red"))))
            })
            .collect()
    };
    for (label, color) in labels {
        let Some(f) = goals::figure(&label) else {
            continue;
        };
        let Some(o) = find(&label) else {
            continue;
        };
        let threshold = text(misarch_value(&f, o.bound));
        listed.push(json!({"metric": label, "threshold": threshold, "color": color}));
        if !o.passed
            && !o.no_data
            && let Some(v) = o.observed
        {
            violations.push(json!({
                "metricName": label,
                "threshold": threshold,
                "actualValue": text(misarch_value(&f, v)),
            }));
        }
    }
    let goals_out = if automatic {
        Value::Array(listed)
    } else {
        config_goals.clone()
    };
    json!({
        "testUUID": run.test_uuid,
        "testVersion": run.test_version,
        "experimentExecutorVersion": run.executor_version,
        "startTime": started_unix_ms.to_string(),
        "endTime": end.to_string(),
        "goals": goals_out,
        "goalViolations": violations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_in_misarchs_units() {
        let goals = json!([
            {"metric": "max response time", "threshold": "2000", "color": "red"},
            {"metric": "percentage mean requests/sec ok", "threshold": "99", "color": "green"},
            {"metric": "mean response time ko", "threshold": "10", "color": "blue"}
        ]);
        let o = |name: &str, observed: f64, bound: f64, passed: bool, no_data: bool| Outcome {
            name: name.into(),
            observed: Some(observed),
            bound,
            passed,
            no_data,
        };
        let run = Run {
            test_uuid: "u",
            test_version: "v1",
            executor_version: "squall 0.1.0",
            started_unix_ms: 1_752_746_331_000,
            duration_s: 540.0,
        };
        let r = build(
            &run,
            &goals,
            false,
            &[
                o("max response time", 60004.0, 2000.0, false, false),
                o("percentage mean requests/sec ok", 0.05, 0.01, false, false),
                o("mean response time ko", 0.0, 10.0, false, true),
            ],
        );
        assert_eq!(r["startTime"], "1752746331000");
        assert_eq!(r["endTime"], "1752746871000");
        assert_eq!(r["goals"], goals, "the goals as written");
        assert_eq!(
            r["goalViolations"],
            json!([
                {"metricName": "max response time", "threshold": "2000.0", "actualValue": "60004.0"},
                {"metricName": "percentage mean requests/sec ok", "threshold": "99.0", "actualValue": "95.0"}
            ])
        );
    }
}
