//! The steady-state hypothesis: probes in order, each judged by its
//! tolerance; the first failed or out-of-tolerance probe ends it (the rest
//! are skipped, as in chaoslib).

use serde_json::{Map, Value, json};

use crate::activity::{Outcome, Shared, execute};
use crate::event::{Event, Phase};
use crate::substitute::{substitute, substitute_str};
use crate::tolerance::{Verdict, within};

/// A hypothesis run: the journal's `{steady_state_met, probes}` plus what
/// the runner needs to decide the status.
#[derive(Debug, Clone)]
pub struct State {
    /// The journal's `{steady_state_met, probes}` object.
    pub value: Value,
    /// Whether every probe was within its tolerance.
    pub met: bool,
    /// A probe ended with `status: failed` (the run is then `failed`, not `completed`).
    pub probe_failed: bool,
}

/// Why a hypothesis run could not finish.
#[derive(Debug, Clone)]
pub enum Stop {
    /// An interruption (Ctrl-C, SIGTERM) arrived during a probe or its pauses.
    Interrupted,
    /// A non-`ActivityFailed` error or a tolerance that Python would refuse to
    /// compare: chaos crashes without a journal; squall aborts the run.
    Aborted(String),
}

/// Runs the hypothesis once.
pub async fn run(sh: &Shared, ssh: &Value, during: bool) -> Result<State, Stop> {
    let probes = ssh
        .get("probes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut entries = Vec::new();
    let mut met = true;
    let mut probe_failed = false;
    let mut last = String::new();
    for probe in &probes {
        last = probe
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut entry = match execute(sh, probe, Phase::Hypothesis, false, 0).await {
            Outcome::Done(e) => e,
            Outcome::Interrupted(_) => return Err(Stop::Interrupted),
            Outcome::Aborted(_, msg) => return Err(Stop::Aborted(msg)),
        };
        let ok = if entry.get("status").and_then(Value::as_str) == Some("failed") {
            probe_failed = true;
            false
        } else if sh.dry.is_some_and(|d| d.skips_tolerances()) {
            true
        } else {
            let output = entry.get("output").cloned().unwrap_or(Value::Null);
            judge(sh, probe.get("tolerance").unwrap_or(&Value::Null), &output).await?
        };
        entry.insert("tolerance_met".into(), ok.into());
        entries.push(Value::Object(entry));
        if !ok {
            met = false;
            break;
        }
    }
    if met {
        sh.emit(Event::HypothesisMet);
    } else {
        sh.emit(Event::HypothesisNotMet {
            probe: last,
            during,
        });
    }
    Ok(State {
        value: json!({"steady_state_met": met, "probes": entries}),
        met,
        probe_failed,
    })
}

/// Substitutes the tolerance as chaoslib does (strings, and a dict's
/// `pattern`, `path` and `expect`), then evaluates it.
async fn judge(sh: &Shared, tol: &Value, output: &Value) -> Result<bool, Stop> {
    let scope = &sh.ctx.scope;
    let tol = match tol {
        Value::String(s) => substitute_str(s, scope),
        Value::Object(m) => {
            let mut m: Map<String, Value> = m.clone();
            for k in ["pattern", "path", "expect"] {
                if let Some(v) = m.get(k) {
                    let v = substitute(v, scope);
                    m.insert(k.into(), v);
                }
            }
            Value::Object(m)
        }
        other => other.clone(),
    };
    match within(&tol, output).map_err(|e| Stop::Aborted(e.to_string()))? {
        Verdict::Met(b) => Ok(b),
        Verdict::Probe(activity) => {
            match execute(sh, &activity, Phase::Tolerance, false, 0).await {
                Outcome::Done(e) => Ok(e.get("status").and_then(Value::as_str)
                    == Some("succeeded")
                    && crate::python::truthy(e.get("output"))),
                Outcome::Interrupted(_) => Err(Stop::Interrupted),
                Outcome::Aborted(_, msg) => Err(Stop::Aborted(msg)),
            }
        }
    }
}
