//! The method: activities in order (background ones started and awaited at
//! the end), stopping after the current activity once the run is failed,
//! aborted or interrupted; and the hypothesis loop that may run beside it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use super::{Status, entry_value, set_status, status_is};
use crate::activity::{Outcome, Shared, execute};
use crate::event::{Event, Phase};
use crate::hypothesis::{self, Stop};
use crate::references::{activity_names, resolve};

/// Runs the method into `runs` (start order). False when it aborted, which
/// skips the hypothesis after the method.
pub(super) async fn run(
    sh: &Arc<Shared>,
    exp: &Value,
    status: &Status,
    runs: &mut Vec<Value>,
) -> bool {
    let names = activity_names(exp);
    let method = exp
        .get("method")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut slots: Vec<Option<Value>> = Vec::new();
    let mut background = Vec::new();
    let mut completed = true;
    for a in &method {
        if sh.signal_count() > 0 {
            set_status(status, "interrupted");
            break;
        }
        let Some((activity, bg)) = resolve(a, &names) else {
            sh.emit(Event::Warning(format!(
                "skipping an unresolved reference: {a}"
            )));
            continue;
        };
        if bg {
            let (sh2, idx) = (sh.clone(), slots.len());
            slots.push(None);
            background.push(tokio::spawn(async move {
                (idx, execute(&sh2, &activity, Phase::Method, true, 0).await)
            }));
            continue;
        }
        match execute(sh, &activity, Phase::Method, false, 0).await {
            Outcome::Done(e) => slots.push(Some(entry_value(e))),
            Outcome::Interrupted(e) => {
                slots.push(e.map(entry_value));
                set_status(status, "interrupted");
                break;
            }
            Outcome::Aborted(e, msg) => {
                slots.push(Some(entry_value(e)));
                sh.emit(Event::Aborted { reason: msg });
                set_status(status, "aborted");
                completed = false;
                break;
            }
        }
        if status_is(status, &["aborted", "failed", "interrupted"]) {
            break;
        }
    }
    for h in background {
        let Ok((idx, outcome)) = h.await else {
            continue;
        };
        match outcome {
            Outcome::Done(e) => slots[idx] = Some(entry_value(e)),
            Outcome::Interrupted(e) => {
                slots[idx] = e.map(entry_value);
                set_status(status, "interrupted");
            }
            Outcome::Aborted(e, msg) => {
                slots[idx] = Some(entry_value(e));
                sh.emit(Event::Aborted { reason: msg });
                set_status(status, "aborted");
                completed = false;
            }
        }
    }
    runs.extend(slots.into_iter().flatten());
    completed
}

/// The hypothesis, again and again while the method runs, `frequency`
/// seconds *between* runs (not a fixed period), as chaoslib does.
pub(super) async fn hypothesis_loop(
    sh: Arc<Shared>,
    ssh: Value,
    status: Status,
    during: Arc<Mutex<Vec<Value>>>,
    frequency: f64,
    fail_fast: bool,
    mut stop: watch::Receiver<bool>,
) {
    let pause = Duration::from_secs_f64(frequency.clamp(0.0, crate::provider::MAX_SECONDS));
    loop {
        if *stop.borrow() || status_is(&status, &["failed", "interrupted", "aborted"]) {
            return;
        }
        match hypothesis::run(&sh, &ssh, true).await {
            Ok(state) => {
                during.lock().unwrap().push(state.value);
                if !state.met && fail_fast {
                    set_status(&status, "failed");
                    return;
                }
            }
            Err(Stop::Interrupted) => {
                set_status(&status, "interrupted");
                return;
            }
            Err(Stop::Aborted(m)) => {
                sh.emit(Event::Aborted { reason: m });
                set_status(&status, "aborted");
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
    }
}
