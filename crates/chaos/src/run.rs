//! The whole experiment, in chaoslib's order: hypothesis before (a gate),
//! method (with an optional hypothesis loop alongside), hypothesis after
//! (deviation), rollbacks by strategy, and the journal.

mod dynamic;
mod method;
mod rollback;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;

use serde_json::{Map, Value, json};
use tokio::sync::watch;

use crate::activity::Shared;
use crate::config::ConfigError;
use crate::event::Event;
use crate::hypothesis::{self, Stop};
use crate::journal::{self, Stamp};
use crate::provider::Context;
use crate::strategy::{HypothesisStrategy, RollbackStrategy};
use crate::vars::Vars;

/// How to run, from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `--var` and `--var-file` overrides.
    pub vars: Vars,
    /// `--hypothesis-strategy`; beats the experiment's `runtime` block.
    pub hypothesis_strategy: Option<HypothesisStrategy>,
    /// `--rollback-strategy`; beats the experiment's `runtime` block.
    pub rollback_strategy: Option<RollbackStrategy>,
    /// Seconds between two hypothesis runs during the method.
    pub frequency: f64,
    /// Stop at the first deviation seen during the method.
    pub fail_fast: bool,
    /// Play the rollbacks after an interruption (squall's default; Chaos
    /// Toolkit plays them then only with `--rollback-strategy always`).
    pub rollbacks_on_interrupt: bool,
    /// Set (before the interruption is counted) to skip the rollbacks
    /// whatever the strategy: Chaos Toolkit's SIGUSR2.
    pub skip_rollbacks: Arc<std::sync::atomic::AtomicBool>,
    /// Interpreter for `python` providers.
    pub python: String,
    /// `--dry`: activities of this kind are not executed.
    pub dry: Option<crate::strategy::Dry>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            vars: Vars::default(),
            hypothesis_strategy: None,
            rollback_strategy: None,
            frequency: 1.0,
            fail_fast: false,
            rollbacks_on_interrupt: true,
            skip_rollbacks: Arc::default(),
            python: "python3".into(),
            dry: None,
        }
    }
}

/// The journal's status, shared with the hypothesis loop.
pub(crate) type Status = Arc<Mutex<Option<&'static str>>>;

pub(crate) fn status_is(s: &Status, any: &[&str]) -> bool {
    s.lock().unwrap().is_some_and(|v| any.contains(&v))
}

pub(crate) fn set_status(s: &Status, v: &'static str) {
    *s.lock().unwrap() = Some(v);
}

/// Runs a validated experiment and returns its journal. `signals` counts
/// interruptions (Ctrl-C, SIGTERM) as they arrive.
pub async fn run_experiment(
    exp: &Value,
    opts: &RunOptions,
    observer: Arc<dyn Fn(Event) + Send + Sync>,
    signals: watch::Receiver<u32>,
) -> Result<Value, ConfigError> {
    let scope = crate::config::load(exp, &opts.vars)?;
    let (hs, rs) = strategies(exp, opts);
    let mut ctx = Context {
        scope,
        env: opts.vars.env.clone(),
        python: opts.python.clone(),
    };
    dynamic::resolve(exp, &opts.vars, &mut ctx, &*observer).await;
    let title = crate::substitute::substitute(exp.get("title").unwrap_or(&Value::Null), &ctx.scope);
    let mut copy = exp.as_object().cloned().unwrap_or_default();
    copy.insert("title".into(), title.clone());
    copy.insert(
        "dry".into(),
        opts.dry.map(|d| d.as_str().into()).unwrap_or(Value::Null),
    );
    let sh = Arc::new(Shared {
        ctx,
        observer,
        signals,
        dry: opts.dry,
    });
    sh.emit(Event::Started {
        title: crate::pyrepr::py_str(&title),
    });
    sh.emit(Event::Strategies {
        hypothesis: hs.as_str(),
        rollbacks: rs.as_str(),
    });
    if has_controls(exp) {
        sh.emit(Event::Warning(
            "controls are not supported by squall and are ignored".into(),
        ));
    }
    let start = Stamp::now();
    let status: Status = Arc::default();
    let mut deviated = false;
    let (mut before, mut after) = (Value::Null, Value::Null);
    let during = Arc::new(Mutex::new(Vec::new()));
    let mut runs = Vec::new();

    let ssh = exp
        .get("steady-state-hypothesis")
        .cloned()
        .unwrap_or(Value::Null);
    let with_ssh = ssh
        .get("probes")
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty());
    if !with_ssh {
        sh.emit(Event::NoHypothesis);
    }
    let title_of = |s: &Value| {
        s.get("title")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let stop = |st: &Status, e: Stop, sh: &Shared| match e {
        Stop::Interrupted => set_status(st, "interrupted"),
        Stop::Aborted(m) => {
            sh.emit(Event::Aborted { reason: m });
            set_status(st, "aborted")
        }
    };

    // The hypothesis and the method run behind a panic guard: a bug in them
    // must not skip the rollbacks or the journal. A panic fails the run.
    let guarded = std::panic::AssertUnwindSafe(async {
        let mut gate_passed = true;
        if with_ssh && hs.before() {
            sh.emit(Event::HypothesisStarted {
                title: title_of(&ssh),
            });
            match hypothesis::run(&sh, &ssh, false).await {
                Ok(state) => {
                    before = state.value.clone();
                    if !state.met {
                        set_status(
                            &status,
                            if state.probe_failed {
                                "failed"
                            } else {
                                "completed"
                            },
                        );
                        gate_passed = false;
                    }
                }
                Err(e) => {
                    stop(&status, e, &sh);
                    gate_passed = false;
                }
            }
        }
        if gate_passed {
            let loop_stop = watch::channel(false);
            let looping = (with_ssh && hs.during()).then(|| {
                sh.emit(Event::ContinuousStarted {
                    frequency: opts.frequency,
                });
                tokio::spawn(method::hypothesis_loop(
                    sh.clone(),
                    ssh.clone(),
                    status.clone(),
                    during.clone(),
                    opts.frequency,
                    opts.fail_fast,
                    loop_stop.1,
                ))
            });
            sh.emit(Event::MethodStarted);
            let completed = method::run(&sh, exp, &status, &mut runs).await;
            let _ = loop_stop.0.send(true);
            if let Some(h) = looping {
                let _ = h.await;
            }
            if completed
                && !status_is(&status, &["interrupted", "aborted"])
                && with_ssh
                && hs.after()
            {
                sh.emit(Event::HypothesisStarted {
                    title: title_of(&ssh),
                });
                match hypothesis::run(&sh, &ssh, false).await {
                    Ok(state) => {
                        after = state.value.clone();
                        if !state.met {
                            deviated = true;
                            set_status(
                                &status,
                                if state.probe_failed {
                                    "failed"
                                } else {
                                    "completed"
                                },
                            );
                        }
                    }
                    Err(e) => stop(&status, e, &sh),
                }
            }
        }
    })
    .catch_unwind()
    .await;
    let crashed = guarded.is_err();
    if let Err(panic) = guarded {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        sh.emit(Event::InternalError(format!(
            "the experiment stopped on an internal error ({what}); rollbacks still run"
        )));
        set_status(&status, "failed");
    }
    if status_is(&status, &["interrupted"]) {
        sh.emit(Event::Interrupted);
    }
    // After an internal error the method may have acted without finishing:
    // the default strategy plays the rollbacks, as after an interruption.
    let rs_now = if crashed && rs == RollbackStrategy::Default {
        RollbackStrategy::Always
    } else {
        rs
    };
    let rollbacks = rollback::run(&sh, exp, rs_now, &status, deviated, opts).await;
    let end = Stamp::now();
    let status_str = status.lock().unwrap().unwrap_or("completed");
    sh.emit(Event::Ended {
        status: status_str.into(),
        deviated,
    });
    let during = std::mem::take(&mut *during.lock().unwrap());
    Ok(json!({
        "chaoslib-version": crate::CHAOSLIB_VERSION,
        "platform": journal::platform(),
        "node": journal::node(),
        "experiment": Value::Object(copy),
        "start": start.iso(),
        "status": status_str,
        "deviated": deviated,
        "steady_states": {"before": before, "after": after, "during": during},
        "run": runs,
        "rollbacks": rollbacks,
        "end": end.iso(),
        "duration": end.seconds_since(start),
    }))
}

/// Flags beat the experiment's `runtime` block, which beats the defaults; a
/// `runtime` block resets what it leaves out to `default` (as chaostoolkit does).
fn strategies(exp: &Value, opts: &RunOptions) -> (HypothesisStrategy, RollbackStrategy) {
    let rt = exp
        .get("runtime")
        .filter(|r| crate::python::truthy(Some(r)));
    let h = opts.hypothesis_strategy.unwrap_or_else(|| {
        rt.and_then(|r| r.pointer("/hypothesis/strategy"))
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .unwrap_or_default()
    });
    let r = opts.rollback_strategy.unwrap_or_else(|| {
        rt.and_then(|r| r.pointer("/rollbacks/strategy"))
            .and_then(Value::as_str)
            .map(RollbackStrategy::from_runtime)
            .unwrap_or_default()
    });
    (h, r)
}

/// Activities a `ref` can name: method activities, then hypothesis probes
/// (so a probe wins a name clash, as in chaoslib's cache).
pub fn activity_names(exp: &Value) -> HashMap<String, Value> {
    let mut names = HashMap::new();
    let method = exp
        .get("method")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let probes = exp
        .pointer("/steady-state-hypothesis/probes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for a in method.chain(probes) {
        if a.get("ref").is_none()
            && let Some(n) = a.get("name").and_then(Value::as_str)
        {
            names.insert(n.to_string(), a.clone());
        }
    }
    names
}

/// A method or rollback entry with its `ref` resolved; the `background`
/// flag comes from the entry that holds the ref.
pub(crate) fn resolve(a: &Value, names: &HashMap<String, Value>) -> Option<(Value, bool)> {
    let background = a
        .get("background")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match a.get("ref").and_then(Value::as_str) {
        Some(r) => names.get(r).map(|t| (t.clone(), background)),
        None => Some((a.clone(), background)),
    }
}

pub(crate) fn entry_value(e: Map<String, Value>) -> Value {
    Value::Object(e)
}

/// Whether the experiment or any activity declares controls.
fn has_controls(exp: &Value) -> bool {
    let in_list = |p: &str| {
        exp.pointer(p)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x.get("controls").is_some()))
    };
    exp.get("controls").is_some()
        || exp.pointer("/steady-state-hypothesis/controls").is_some()
        || in_list("/method")
        || in_list("/rollbacks")
        || in_list("/steady-state-hypothesis/probes")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bug in the method (here: an observer that panics when the method
    /// starts) fails the run, and the rollbacks and journal still happen.
    #[tokio::test]
    async fn a_panic_in_the_method_still_runs_the_rollbacks() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("rolled-back");
        let exp = json!({
            "title": "t", "description": "d",
            "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}],
            "rollbacks": [{"type": "action", "name": "r", "provider": {
                "type": "process", "path": "touch", "arguments": [marker.to_str().unwrap()]}}]
        });
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let observer = Arc::new(move |e: Event| {
            if e == Event::MethodStarted {
                panic!("observer bug");
            }
            s.lock().unwrap().push(e);
        });
        let (_tx, rx) = watch::channel(0u32);
        let journal = run_experiment(&exp, &RunOptions::default(), observer, rx)
            .await
            .unwrap();
        assert_eq!(journal["status"], "failed", "{journal}");
        assert!(marker.exists(), "the rollback ran");
        assert!(
            seen.lock()
                .unwrap()
                .iter()
                .any(|e| matches!(e, Event::InternalError(m) if m.contains("observer bug"))),
            "{:?}",
            seen.lock().unwrap()
        );
    }
}
