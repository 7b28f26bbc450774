//! MiSArch's failure sets (`misarchExperimentConfig`) as squall faults on
//! simulated services.
//!
//! The original applies the sets one after the other: set `k` starts at
//! the sum of every earlier set's `pauses.before + pauses.after` plus its
//! own `before` (seconds from the main run's start) and puts all four
//! variables of each service it names, so a failure stays until a later
//! set names the same service (which also resets that service's other
//! variables), and a variable left `null` is cleared. Here each non-null
//! variable becomes one fault of the matching simulator type
//! (`service-invocation-deterioration`, `pubsub-deterioration`,
//! `artificial-memory`, `artificial-cpu`) from its set's start until the
//! next set naming that service, or the end of the run. The frontend's
//! empty values (`""`, `[]`) count as `null`.

use serde_json::{Map, Value, json};
use squall_sim::fault::Fault;
use squall_sim::limits::Limits;
use squall_sim::tree::FaultSpec;

/// Faults in a squall experiment's `faults` form, and what will not happen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schedule {
    /// `{name, at, for, fault: {type, service, args}}` entries.
    pub faults: Vec<Value>,
    /// Sets or failures that start after the run ends (never applied).
    pub warnings: Vec<String>,
}

const VARIABLES: [(&str, &str, &str); 4] = [
    (
        "serviceInvocationDeterioration",
        squall_sim::deterioration::INVOCATION,
        "rules",
    ),
    ("pubSubDeterioration", squall_sim::deterioration::PUBSUB, ""),
    (
        "artificialMemoryUsage",
        squall_sim::deterioration::MEMORY,
        "bytes",
    ),
    (
        "artificialCPUUsage",
        squall_sim::deterioration::CPU,
        "threads",
    ),
];

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn seconds(v: Option<&Value>, at: &str, errors: &mut Vec<String>) -> u64 {
    match v {
        None | Some(Value::Null) => 0,
        Some(n) => n.as_u64().unwrap_or_else(|| {
            errors.push(format!("{at}: must be a whole number of seconds, got {n}"));
            0
        }),
    }
}

/// The squall fault `args` of one MiSArch variable.
fn args_of(arg: &str, v: &Value) -> Map<String, Value> {
    if arg.is_empty() {
        v.as_object().cloned().unwrap_or_default()
    } else {
        let mut m = Map::new();
        m.insert(arg.into(), v.clone());
        m
    }
}

/// A simulator's complaint about `args.rules[0].x`, named as MiSArch
/// writes it (`serviceInvocationDeterioration[0].x`).
fn misarch_field(at: &str, var: &str, arg: &str, field: &str, single: bool) -> String {
    let rest = field.strip_prefix("args").unwrap_or(field);
    let rest = if arg.is_empty() {
        rest.to_string()
    } else {
        let r = rest.strip_prefix(&format!(".{arg}")).unwrap_or(rest);
        if single {
            r.strip_prefix("[0]").unwrap_or(r).to_string()
        } else {
            r.to_string()
        }
    };
    format!("{at}.{var}{rest}")
}

/// Reads the failure sets; `run_seconds` is the main run's length.
pub fn schedule(text: &str, run_seconds: u64) -> Result<Schedule, Vec<String>> {
    let sets: Value = serde_json::from_str(text)
        .map_err(|e| vec![format!("misarchExperimentConfig: not JSON: {e}")])?;
    let Some(sets) = sets.as_array() else {
        return Err(vec![
            "misarchExperimentConfig: a list of failure sets is needed".into(),
        ]);
    };
    let mut errors = Vec::new();
    let mut out = Schedule::default();
    // When each set starts, and the services it names.
    let mut starts = Vec::new();
    let mut elapsed = 0u64;
    let mut named: Vec<Vec<(usize, String)>> = Vec::new();
    for (k, set) in sets.iter().enumerate() {
        let at = format!("misarchExperimentConfig[{k}]");
        let pauses = set.get("pauses");
        let before = seconds(
            pauses.and_then(|p| p.get("before")),
            &format!("{at}.pauses.before"),
            &mut errors,
        );
        let after = seconds(
            pauses.and_then(|p| p.get("after")),
            &format!("{at}.pauses.after"),
            &mut errors,
        );
        starts.push(elapsed + before);
        elapsed += before + after;
        let mut names = Vec::new();
        match set.get("failures") {
            Some(Value::Array(fs)) => {
                for (f, failure) in fs.iter().enumerate() {
                    match failure.get("name").and_then(Value::as_str) {
                        Some(n) if !n.trim().is_empty() => names.push((f, n.trim().to_string())),
                        _ => errors.push(format!(
                            "{at}.failures[{f}].name: the service's name is required"
                        )),
                    }
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => errors.push(format!("{at}.failures: must be a list")),
        }
        named.push(names);
    }
    for (k, set) in sets.iter().enumerate() {
        for (f, service) in &named[k] {
            let at = format!("misarchExperimentConfig[{k}].failures[{f}]");
            let failure = &set["failures"][*f];
            let start = starts[k];
            let end = (k + 1..sets.len())
                .find(|j| named[*j].iter().any(|(_, s)| s == service))
                .map_or(run_seconds, |j| starts[j].min(run_seconds));
            for (var, kind, arg) in VARIABLES {
                let Some(v) = failure.get(var).filter(|v| !empty(v)) else {
                    continue;
                };
                let args = args_of(arg, v);
                let spec = FaultSpec {
                    kind: kind.into(),
                    args: args.clone(),
                };
                if let Err(e) = Fault::parse(&spec, &Limits::default()) {
                    errors.push(format!(
                        "{}: {}",
                        misarch_field(&at, var, arg, &e.field, v.is_object()),
                        e.message
                    ));
                    continue;
                }
                if start >= run_seconds {
                    out.warnings.push(format!(
                        "{at}: {var} on {service} would start at {start} s, when the run ({run_seconds} s) is over: not applied"
                    ));
                    continue;
                }
                if end <= start {
                    // Replaced by a set starting at the same second.
                    continue;
                }
                out.faults.push(json!({
                    "name": format!("misarch set {k}: {service} {var}"),
                    "at": format!("{start}s"),
                    "for": format!("{}s", end - start),
                    "fault": {"type": kind, "service": service, "args": args},
                }));
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_follow_each_other_and_a_later_set_ends_a_service_failures() {
        let text = r#"[
          {"failures": [{"name": "catalog", "pubSubDeterioration": null,
             "serviceInvocationDeterioration": [{"path": "/", "delay": 1000, "delayProbability": 1.0, "errorProbability": 1.0, "errorCode": 404}],
             "artificialMemoryUsage": 1048576, "artificialCPUUsage": ""}],
           "pauses": {"before": 10, "after": 20}},
          {"failures": [{"name": "payment", "artificialCPUUsage": [{"usageDuration": 50, "pauseDuration": 50}]}],
           "pauses": {"before": 5, "after": 0}},
          {"failures": [{"name": "catalog", "pubSubDeterioration": null, "serviceInvocationDeterioration": null,
             "artificialMemoryUsage": null, "artificialCPUUsage": null}],
           "pauses": {"before": 15, "after": 0}}
        ]"#;
        let s = schedule(text, 120).unwrap();
        let brief: Vec<(String, String, String)> = s
            .faults
            .iter()
            .map(|f| {
                (
                    f["fault"]["type"].as_str().unwrap().into(),
                    f["at"].as_str().unwrap().into(),
                    f["for"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            brief,
            vec![
                (
                    "service-invocation-deterioration".into(),
                    "10s".into(),
                    "40s".into()
                ),
                ("artificial-memory".into(), "10s".into(), "40s".into()),
                ("artificial-cpu".into(), "35s".into(), "85s".into()),
            ],
            "set 0 at 10 s until set 2 (30 + 5 + 15 = 50 s) clears catalog; set 1 at 35 s until the end"
        );
        assert_eq!(s.faults[0]["fault"]["service"], "catalog");
        assert_eq!(s.faults[0]["fault"]["args"]["rules"][0]["errorCode"], 404);
        assert_eq!(s.faults[1]["fault"]["args"], json!({"bytes": 1048576}));
    }

    #[test]
    fn problems_are_named_as_misarch_writes_them() {
        let e = schedule(
            r#"[{"failures": [{"name": "catalog", "serviceInvocationDeterioration": {"path": "/", "errorProbability": 2}},
                              {"pubSubDeterioration": {"delay": 1}}], "pauses": {"before": -1}}]"#,
            60,
        )
        .unwrap_err();
        assert_eq!(
            e,
            vec![
                "misarchExperimentConfig[0].pauses.before: must be a whole number of seconds, got -1",
                "misarchExperimentConfig[0].failures[1].name: the service's name is required",
                "misarchExperimentConfig[0].failures[0].serviceInvocationDeterioration.errorProbability: service-invocation-deterioration: errorProbability must be a number within 0..1, got 2",
            ]
        );
        let late = schedule(r#"[{"failures": [{"name": "a", "artificialMemoryUsage": 10}], "pauses": {"before": 90}}]"#, 60).unwrap();
        assert!(late.faults.is_empty());
        assert!(late.warnings[0].contains("would start at 90 s"));
    }
}
