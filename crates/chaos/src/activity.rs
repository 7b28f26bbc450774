//! One activity: pauses, the provider call (raced against interruption),
//! and its journal entry with chaoslib's keys in chaoslib's order.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::event::{Event, Phase};
use crate::journal::Stamp;
use crate::provider::{self, ProviderError};

/// What every activity of a run shares.
pub struct Shared {
    /// What provider calls need: the `${}` scope, environment, interpreter.
    pub ctx: provider::Context,
    /// Receives every [`Event`] of the run.
    pub observer: Arc<dyn Fn(Event) + Send + Sync>,
    /// How many interruptions (Ctrl-C, SIGTERM) have arrived so far.
    pub signals: watch::Receiver<u32>,
    /// `--dry`.
    pub dry: Option<crate::strategy::Dry>,
}

impl Shared {
    /// Reports an event to the observer.
    pub fn emit(&self, e: Event) {
        (self.observer)(e)
    }

    /// Resolves once more than `seen` interruptions have arrived.
    pub async fn interrupted(&self, seen: u32) {
        let mut rx = self.signals.clone();
        if rx.wait_for(|n| *n > seen).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// How many interruptions have arrived so far.
    pub fn signal_count(&self) -> u32 {
        *self.signals.borrow()
    }
}

/// How an activity ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Succeeded or failed (`ActivityFailed`): the entry has a `status`.
    Done(Map<String, Value>),
    /// Interrupted: the entry (if it had started) has no `status`.
    Interrupted(Option<Map<String, Value>>),
    /// Any other error: chaoslib's "aborted"; the entry has no `status`.
    Aborted(Map<String, Value>, String),
}

impl Outcome {
    /// The activity's journal entry, if it had started.
    pub fn entry(&self) -> Option<&Map<String, Value>> {
        match self {
            Outcome::Done(e) | Outcome::Aborted(e, _) => Some(e),
            Outcome::Interrupted(e) => e.as_ref(),
        }
    }
}

/// Runs one (resolved) activity; `seen` is the interruption count to ignore
/// (rollbacks after a Ctrl-C still run until the next one).
pub async fn execute(
    sh: &Shared,
    activity: &Value,
    phase: Phase,
    background: bool,
    seen: u32,
) -> Outcome {
    let name = activity
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let kind = activity
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("activity")
        .to_string();
    let dry = sh.dry.is_some_and(|d| d.skips(&kind));
    sh.emit(Event::Activity {
        phase,
        kind,
        name: name.clone(),
        background,
    });
    let pauses = !dry && sh.dry != Some(crate::strategy::Dry::Pause);
    if pauses && !pause(sh, activity, "before", seen).await {
        return Outcome::Interrupted(None);
    }
    let start = Stamp::now();
    let provider = activity.get("provider").cloned().unwrap_or(Value::Null);
    let result = if dry {
        Some(Ok(Value::Null))
    } else {
        tokio::select! {
            r = provider::run(&provider, &sh.ctx) => Some(r),
            _ = sh.interrupted(seen) => None,
        }
    };
    let end = Stamp::now();
    let mut e = Map::new();
    e.insert("activity".into(), activity.clone());
    let outcome_status = match &result {
        Some(Ok(out)) => {
            warn_on_status(sh, activity, &name, out);
            e.insert("output".into(), out.clone());
            e.insert("start".into(), start.iso().into());
            e.insert("status".into(), "succeeded".into());
            None
        }
        Some(Err(ProviderError::Failed(msg))) => {
            sh.emit(Event::ActivityFailed {
                name: name.clone(),
                reason: msg.clone(),
            });
            e.insert("output".into(), Value::Null);
            e.insert("start".into(), start.iso().into());
            e.insert("status".into(), "failed".into());
            e.insert(
                "exception".into(),
                Value::Array(vec![
                    format!("chaoslib.exceptions.ActivityFailed: {msg}\n").into(),
                ]),
            );
            None
        }
        Some(Err(ProviderError::Error(msg))) => {
            e.insert("output".into(), Value::Null);
            e.insert("start".into(), start.iso().into());
            Some(msg.clone())
        }
        None => {
            e.insert("output".into(), Value::Null);
            e.insert("start".into(), start.iso().into());
            Some(String::new())
        }
    };
    e.insert("end".into(), end.iso().into());
    e.insert("duration".into(), end.seconds_since(start).into());
    match (result, outcome_status) {
        (None, _) => Outcome::Interrupted(Some(e)),
        (_, Some(msg)) => Outcome::Aborted(e, msg),
        _ => {
            if pauses && !pause(sh, activity, "after", seen).await {
                return Outcome::Interrupted(Some(e));
            }
            Outcome::Done(e)
        }
    }
}

/// chaoslib warns (and only warns) about an HTTP error status or a non-zero
/// exit code when the activity has no tolerance to judge it.
fn warn_on_status(sh: &Shared, activity: &Value, name: &str, out: &Value) {
    if activity.get("tolerance").is_some() {
        return;
    }
    let kind = activity.pointer("/provider/type").and_then(Value::as_str);
    let status = out.get("status").and_then(Value::as_i64).unwrap_or(0);
    match kind {
        Some("http") if status >= 400 => sh.emit(Event::Warning(format!(
            "{name}: HTTP call returned status {status}"
        ))),
        Some("process") if status != 0 => sh.emit(Event::Warning(format!(
            "{name}: process returned a non-zero exit code {status}"
        ))),
        _ => {}
    }
}

/// Sleeps `pauses.<when>` (a number or a `${...}` template); false if interrupted.
async fn pause(sh: &Shared, activity: &Value, when: &'static str, seen: u32) -> bool {
    let Some(v) = activity.get("pauses").and_then(|p| p.get(when)) else {
        return true;
    };
    let v = crate::substitute::substitute(v, &sh.ctx.scope);
    let Some(d) = provider::seconds(&v).filter(|d| !d.is_zero()) else {
        return true;
    };
    sh.emit(Event::Pause {
        when,
        seconds: crate::pyrepr::py_str(&v),
    });
    tokio::select! {
        _ = tokio::time::sleep(d.min(Duration::from_secs(86_400 * 365))) => true,
        _ = sh.interrupted(seen) => false,
    }
}
