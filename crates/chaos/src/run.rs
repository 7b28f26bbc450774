//! The whole experiment, in chaoslib's order: hypothesis before (a gate),
//! method (with an optional hypothesis loop alongside), hypothesis after
//! (deviation), rollbacks by strategy, and the journal.

mod dynamic;
mod hypothesis_phase;
mod method;
mod prepare;
mod record;
mod rollback;

use std::sync::{Arc, Mutex};

use futures_util::FutureExt;

use serde_json::{Map, Value};
use tokio::sync::watch;

use self::hypothesis_phase::{Check, check};
use self::prepare::Prepared;
use self::record::Findings;
use crate::activity::Shared;
use crate::config::ConfigError;
use crate::event::Event;
use crate::journal::Stamp;
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

/// Whether the status is one of `any`; a status not yet set (the run is
/// going well so far) is none of them.
pub(crate) fn status_is(s: &Status, any: &[&str]) -> bool {
    s.lock().unwrap().is_some_and(|v| any.contains(&v))
}

/// Sets the status; a later setting replaces an earlier one.
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
    let Prepared {
        sh,
        experiment,
        hypothesis: hs,
        rollbacks: rs,
    } = prepare::prepare(exp, opts, observer, signals).await?;
    let start = Stamp::now();
    let status: Status = Arc::default();
    let mut found = Findings::default();
    let ssh = declared_hypothesis(exp);
    if ssh.is_none() {
        sh.emit(Event::NoHypothesis);
    }
    let flow = hypotheses_and_method(&sh, exp, opts, hs, ssh.as_ref(), &status, &mut found);
    let crashed = guarded(&sh, &status, flow).await;
    if status_is(&status, &["interrupted"]) {
        sh.emit(Event::Interrupted);
    }
    let rs_now = rollback_strategy(rs, crashed);
    let rollbacks = rollback::run(&sh, exp, rs_now, &status, found.deviated, opts).await;
    let end = Stamp::now();
    let status_str = status.lock().unwrap().unwrap_or("completed");
    sh.emit(Event::Ended {
        status: status_str.into(),
        deviated: found.deviated,
    });
    Ok(found.journal(experiment, start, end, status_str, rollbacks))
}

/// The steady-state hypothesis, only when it has probes: an empty one is
/// no hypothesis at all (chaoslib skips it and says so).
fn declared_hypothesis(exp: &Value) -> Option<Value> {
    let ssh = exp
        .get("steady-state-hypothesis")
        .cloned()
        .unwrap_or(Value::Null);
    ssh.get("probes")
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty())
        .then_some(ssh)
}

/// The part of the flow that acts on the system: the hypothesis before (a
/// gate: nothing else runs unless it is met), the method, and the
/// hypothesis after (deviation), skipped when the method aborted or the run
/// was interrupted or aborted. Each hypothesis runs only when declared and
/// asked for by the strategy.
async fn hypotheses_and_method(
    sh: &Arc<Shared>,
    exp: &Value,
    opts: &RunOptions,
    hs: HypothesisStrategy,
    ssh: Option<&Value>,
    status: &Status,
    found: &mut Findings,
) {
    if let Some(ssh) = ssh.filter(|_| hs.before())
        && check(sh, ssh, status, &mut found.before).await != Check::Met
    {
        return;
    }
    let beside = ssh.filter(|_| hs.during());
    let completed = method_phase(sh, exp, opts, beside, status, found).await;
    if completed
        && !status_is(status, &["interrupted", "aborted"])
        && let Some(ssh) = ssh.filter(|_| hs.after())
    {
        found.deviated = check(sh, ssh, status, &mut found.after).await == Check::NotMet;
    }
}

/// The method, with the hypothesis loop beside it when `loop_ssh` is given;
/// the loop is stopped and awaited before returning so `during` is complete
/// when the hypothesis after runs. Returns false when the method aborted.
async fn method_phase(
    sh: &Arc<Shared>,
    exp: &Value,
    opts: &RunOptions,
    loop_ssh: Option<&Value>,
    status: &Status,
    found: &mut Findings,
) -> bool {
    let loop_stop = watch::channel(false);
    let looping = loop_ssh.map(|ssh| {
        sh.emit(Event::ContinuousStarted {
            frequency: opts.frequency,
        });
        tokio::spawn(method::hypothesis_loop(
            sh.clone(),
            ssh.clone(),
            status.clone(),
            found.during.clone(),
            opts.frequency,
            opts.fail_fast,
            loop_stop.1,
        ))
    });
    sh.emit(Event::MethodStarted);
    let completed = method::run(sh, exp, status, &mut found.runs).await;
    let _ = loop_stop.0.send(true);
    if let Some(h) = looping {
        let _ = h.await;
    }
    completed
}

/// Runs `flow` behind a panic guard: a bug in the hypothesis or the method
/// must not skip the rollbacks or the journal. A panic is reported and
/// fails the run; returns whether one happened.
async fn guarded(sh: &Shared, status: &Status, flow: impl Future<Output = ()>) -> bool {
    let Err(panic) = std::panic::AssertUnwindSafe(flow).catch_unwind().await else {
        return false;
    };
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".into());
    sh.emit(Event::InternalError(format!(
        "the experiment stopped on an internal error ({what}); rollbacks still run"
    )));
    set_status(status, "failed");
    true
}

/// After an internal error the method may have acted without finishing:
/// the default strategy plays the rollbacks, as after an interruption.
fn rollback_strategy(rs: RollbackStrategy, crashed: bool) -> RollbackStrategy {
    if crashed && rs == RollbackStrategy::Default {
        RollbackStrategy::Always
    } else {
        rs
    }
}

/// A journal entry as a JSON value; a named step so `map(entry_value)`
/// reads at the call sites.
pub(crate) fn entry_value(e: Map<String, Value>) -> Value {
    Value::Object(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
