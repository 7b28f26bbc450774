//! A version's squall document with its MiSArch parts: what `squall serve`
//! runs when a version holds them.
//!
//! - `gatlingConfig` (when it lists scenarios) replaces the workload's
//!   scenarios and load: each scenario with its own arrivals per second,
//!   open model; `base_url` (for relative URLs) and the rest stay.
//! - `misarchExperimentConfig` adds its failure sets to `faults`, timed
//!   from the main run's start over the main run's length.
//! - `config.warmUp` becomes the document's `warmup` (closed model, `rate`
//!   users for `duration` seconds), as MiSArch's warm-up runs; `config.goals`
//!   replace the document's goals ([`crate::goals`]); a `steadyState`
//!   becomes the warm-up instead and every one of the 27 figures a goal
//!   relative to it.
//! - `chaosToolkitConfig`, when it has a hypothesis, a method or
//!   rollbacks, becomes the document's Chaos Toolkit part (run from the
//!   main run's start, as MiSArch starts `chaos run` at the trigger).
//!
//! Every problem of every part is reported at once, named in the part's
//! own terms (`gatlingConfig[0] buy.kt:12:5: ...`).

use std::path::Path;

use serde_json::{Value, json};

use crate::{failures, gatling, goals};

/// The parts a version may hold, as stored (text).
#[derive(Clone, Copy, Debug, Default)]
pub struct Parts<'a> {
    /// `gatlingConfig`.
    pub gatling: Option<&'a str>,
    /// `misarchExperimentConfig`.
    pub failures: Option<&'a str>,
    /// `config` (`execution.json`).
    pub config: Option<&'a str>,
    /// `chaosToolkitConfig`.
    pub chaos: Option<&'a str>,
}

/// Keys of a Chaos Toolkit experiment that make it do something.
const CHAOS_ACTIVE: &[&str] = &["steady-state-hypothesis", "method", "rollbacks"];

/// The Chaos Toolkit experiment, when it does something (a hypothesis, a
/// method or rollbacks that are not empty).
fn active_chaos(text: Option<&str>) -> Option<serde_json::Map<String, Value>> {
    let v: Value = serde_json::from_str(text?).ok()?;
    let o = v.as_object()?;
    let active = CHAOS_ACTIVE.iter().any(|k| match o.get(*k) {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    });
    active.then(|| o.clone())
}

/// The document to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Composed {
    /// Squall's experiment document (YAML).
    pub document: String,
    /// What will not happen as written (failure sets after the run's end,
    /// scenarios without requests), for the caller to show before the run.
    pub warnings: Vec<String>,
}

fn non_empty_list(text: Option<&str>) -> bool {
    text.and_then(|t| serde_json::from_str::<Value>(t).ok())
        .is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty()))
}

/// Whether a version's parts change what runs.
pub fn applies(parts: &Parts<'_>) -> bool {
    non_empty_list(parts.gatling)
        || non_empty_list(parts.failures)
        || active_chaos(parts.chaos).is_some()
        || parts
            .config
            .and_then(|c| serde_json::from_str::<Value>(c).ok())
            .is_some_and(|c| {
                c.get("goals").is_some_and(Value::is_array)
                    || ["warmUp", "steadyState"]
                        .iter()
                        .any(|k| c.get(*k).is_some_and(|w| !w.is_null()))
            })
}

/// `{duration, rate}` of `config.warmUp` or `config.steadyState` as a
/// squall `warmup` (closed model); none when either is 0.
fn phase(c: &Value, key: &str, errors: &mut Vec<String>) -> Option<Value> {
    let w = c.get(key).filter(|w| !w.is_null())?;
    match (
        w.get("duration").and_then(Value::as_u64),
        w.get("rate").and_then(Value::as_u64),
    ) {
        (Some(0), _) | (_, Some(0)) => None,
        (Some(d), Some(r)) => Some(json!({"for": format!("{d}s"), "users": r})),
        _ => {
            errors.push(format!(
                "config.{key}: {{duration: seconds, rate: users}} (whole numbers) is needed"
            ));
            None
        }
    }
}

/// The main run's length in seconds, from the workload as the document
/// gives it.
fn run_seconds(workload: &Value) -> Result<u64, String> {
    let plan: squall_load::plan::Plan =
        serde_json::from_value(workload.clone()).map_err(|e| format!("workload: {e}"))?;
    let profile = squall_load::compile::load_profile(&plan, Path::new("workload"))
        .map_err(|e| e.to_string())?;
    Ok(profile.duration().as_secs_f64().ceil() as u64)
}

/// Composes `document` (the version's squall document) with `parts`.
pub fn compose(document: &str, parts: &Parts<'_>) -> Result<Composed, Vec<String>> {
    let mut doc: Value = squall_diag::from_yaml(document)
        .map_err(|e| vec![format!("the version's document:{} {}", e.loc, e.message)])?;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    if !doc.is_object() {
        return Err(vec!["the version's document is not a mapping".into()]);
    }
    if non_empty_list(parts.gatling) {
        let files = gatling::parse_list(parts.gatling.unwrap_or("[]")).map_err(|e| vec![e])?;
        match gatling::read(&files) {
            Ok((scenarios, w)) => {
                warnings.extend(w);
                let workload = doc
                    .as_object_mut()
                    .expect("checked")
                    .entry("workload")
                    .or_insert_with(|| json!({}));
                let max_vus = workload
                    .pointer("/load/max_vus")
                    .cloned()
                    .unwrap_or(json!(1000));
                workload["scenarios"] = scenarios.iter().map(gatling::Scenario::to_plan).collect();
                workload["load"] = json!({"model": "open", "max_vus": max_vus});
            }
            Err(e) => errors.extend(e),
        }
    }
    if let Some(c) = parts
        .config
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
    {
        let warm = phase(&c, "warmUp", &mut errors);
        let steady = phase(&c, "steadyState", &mut errors);
        if let Some(steady) = steady {
            // Goals from the steady state: it is squall's warm-up, whose
            // figures are the baseline.
            let factor = c
                .pointer("/steadyState/factor")
                .and_then(Value::as_f64)
                .filter(|f| f.is_finite() && *f > 0.0);
            match factor {
                Some(f) => {
                    doc["warmup"] = steady;
                    doc["goals"] = Value::Array(goals::automatic(f));
                    if warm.is_some() {
                        warnings.push("config.warmUp: with a steadyState, the steady state is the warm-up (its figures are the baseline); warmUp is not run apart".into());
                    }
                }
                None => {
                    errors.push("config.steadyState.factor: a positive number is needed".into())
                }
            }
        } else {
            if let Some(w) = warm {
                doc["warmup"] = w;
            }
            if let Some(g) = c.get("goals") {
                match goals::manual(g, &mut warnings) {
                    Ok(list) => doc["goals"] = Value::Array(list),
                    Err(e) => errors.extend(e),
                }
            }
        }
    }
    if non_empty_list(parts.failures) {
        let length = match doc.get("workload") {
            Some(w) if errors.is_empty() => run_seconds(w).map_err(|e| errors.push(e)).ok(),
            Some(_) => None,
            None => {
                errors.push("misarchExperimentConfig: the document has no workload, so failures have no run to be timed in".into());
                None
            }
        };
        if let Some(length) = length {
            match failures::schedule(parts.failures.unwrap_or("[]"), length) {
                Ok(s) => {
                    warnings.extend(s.warnings);
                    let faults = doc
                        .as_object_mut()
                        .expect("checked")
                        .entry("faults")
                        .or_insert_with(|| json!([]));
                    match faults.as_array_mut() {
                        Some(list) => list.extend(s.faults),
                        None => errors.push("the version's document: faults is not a list".into()),
                    }
                }
                Err(e) => errors.extend(e),
            }
        }
    }
    if parts
        .chaos
        .is_some_and(|c| serde_json::from_str::<Value>(c).is_err())
    {
        errors.push("chaosToolkitConfig: not JSON".into());
    }
    if let Some(chaos) = active_chaos(parts.chaos) {
        let root = doc.as_object_mut().expect("checked");
        if let Some(k) = CHAOS_ACTIVE.iter().find(|k| root.contains_key(**k)) {
            errors.push(format!(
                "chaosToolkitConfig: the version's document has its own Chaos Toolkit part ({k}); keep one of the two"
            ));
        } else {
            // Squall's title names the run; the rest is the experiment.
            for (k, v) in chaos {
                if k != "title" && k != "description" {
                    root.insert(k, v);
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let document =
        yaml_serde::to_string(&doc).map_err(|e| vec![format!("cannot write the document: {e}")])?;
    Ok(Composed { document, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gatling::EncodedFile;

    const DOC: &str = "title: t\nsim: shop\nworkload:\n  base_url: ${sim.gateway}\n  scenarios:\n    - name: browse\n      steps:\n        - request: {name: home, url: /}\n  load: {model: open, max_vus: 50, stages: [{rate: 1, for: 30s}]}\n";

    #[test]
    fn the_parts_replace_the_workload_and_add_faults_and_a_warmup() {
        let g = serde_json::to_string(&vec![EncodedFile::new(
            "buy",
            "val buy = scenario(\"buy\").exec(http(\"checkout\").post(\"/checkout\"))",
            &[1, 2, 3, 0],
        )])
        .unwrap();
        let f = r#"[{"failures": [{"name": "catalog", "artificialMemoryUsage": 1024}], "pauses": {"before": 1, "after": 1}}]"#;
        let c = r#"{"testUUID": "x", "warmUp": {"duration": 5, "rate": 2}}"#;
        let chaos = r#"{"title": "x", "method": [{"type": "action", "name": "a", "provider": {"type": "http", "url": "http://127.0.0.1:1/"}}]}"#;
        let parts = Parts {
            gatling: Some(&g),
            failures: Some(f),
            config: Some(c),
            chaos: Some(chaos),
        };
        assert!(applies(&parts));
        let out = compose(DOC, &parts).unwrap();
        let v: Value = squall_diag::from_yaml(&out.document).unwrap();
        assert_eq!(v["workload"]["base_url"], "${sim.gateway}");
        assert_eq!(
            v["workload"]["scenarios"][0]["arrivals"],
            json!([1, 2, 3, 0])
        );
        assert_eq!(
            v["workload"]["load"],
            json!({"model": "open", "max_vus": 50})
        );
        assert_eq!(v["faults"][0]["at"], "1s");
        assert_eq!(v["faults"][0]["for"], "3s", "until the 4 s run ends");
        assert_eq!(v["warmup"], json!({"for": "5s", "users": 2}));
        assert_eq!(v["method"][0]["name"], "a");
        assert_eq!(v["title"], "t", "squall's title names the run");
        assert!(!applies(&Parts {
            gatling: Some("[]"),
            failures: Some("[]"),
            config: Some("{}"),
            chaos: Some("{\"title\": \"x\", \"method\": []}")
        }));
    }

    #[test]
    fn config_goals_replace_the_documents_and_a_steady_state_makes_all_27() {
        let manual = r#"{"goals": [{"metric": "mean response time", "threshold": "1000", "color": "yellow"}]}"#;
        let p = Parts {
            config: Some(manual),
            ..Parts::default()
        };
        assert!(applies(&p));
        let v: Value = squall_diag::from_yaml(&compose(DOC, &p).unwrap().document).unwrap();
        assert_eq!(
            v["goals"],
            json!([{"name": "mean response time", "metric": "http_req_duration", "condition": "avg<=1000ms"}])
        );
        let auto = r#"{"goals": [], "warmUp": {"duration": 2, "rate": 1}, "steadyState": {"duration": 5, "rate": 3, "factor": 1.5}}"#;
        let out = compose(
            DOC,
            &Parts {
                config: Some(auto),
                ..Parts::default()
            },
        )
        .unwrap();
        let v: Value = squall_diag::from_yaml(&out.document).unwrap();
        assert_eq!(v["warmup"], json!({"for": "5s", "users": 3}));
        assert_eq!(v["goals"].as_array().unwrap().len(), 27);
        assert!(out.warnings[0].contains("the steady state is the warm-up"));
    }

    #[test]
    fn every_part_problem_is_reported() {
        let g = serde_json::to_string(&vec![EncodedFile::new(
            "a",
            "val a = scenario(\"a\").loop()",
            &[1],
        )])
        .unwrap();
        let f = r#"[{"failures": [{"name": ""}], "pauses": {"before": 0, "after": 0}}]"#;
        let e = compose(
            DOC,
            &Parts {
                gatling: Some(&g),
                failures: Some(f),
                config: None,
                chaos: None,
            },
        )
        .unwrap_err();
        assert_eq!(
            e.len(),
            1,
            "failures are timed only once the workload is known: {e:?}"
        );
        assert!(e[0].starts_with("gatlingConfig[0] a.kt:1:23:"), "{e:?}");
        let e = compose(
            DOC,
            &Parts {
                gatling: None,
                failures: Some(f),
                config: None,
                chaos: None,
            },
        )
        .unwrap_err();
        assert_eq!(
            e,
            vec!["misarchExperimentConfig[0].failures[0].name: the service's name is required"]
        );
    }
}
