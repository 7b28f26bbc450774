//! Rollbacks: whether to play them (strategy, status, deviation, and
//! squall's "a fault never outlives its experiment" rule on interruption),
//! then each in order; a failing one never stops the others.

use std::sync::Arc;

use serde_json::Value;

use super::{Status, entry_value, set_status, status_is};
use crate::activity::{Outcome, Shared, execute};
use crate::event::{Event, Phase};
use crate::references::{activity_names, resolve};
use crate::strategy::RollbackStrategy;

/// Decides and plays; returns the journal's `rollbacks` list.
pub(super) async fn run(
    sh: &Arc<Shared>,
    exp: &Value,
    strategy: RollbackStrategy,
    status: &Status,
    deviated: bool,
    opts: &super::RunOptions,
) -> Vec<Value> {
    if opts
        .skip_rollbacks
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        sh.emit(Event::NoRollbacks {
            why: "they were skipped on request (SIGUSR2)".into(),
        });
        return Vec::new();
    }
    let interrupted = status_is(status, &["interrupted"]);
    let play = match strategy {
        RollbackStrategy::Always => true,
        RollbackStrategy::Never => false,
        RollbackStrategy::Deviated => deviated,
        RollbackStrategy::Default if interrupted => opts.rollbacks_on_interrupt,
        RollbackStrategy::Default => !status_is(status, &["failed"]),
    };
    if !play {
        let why = match strategy {
            RollbackStrategy::Never => "the rollback strategy is 'never'".to_string(),
            RollbackStrategy::Deviated => "the experiment did not deviate".to_string(),
            _ => format!(
                "the experiment {}",
                if interrupted {
                    "was interrupted"
                } else {
                    "failed"
                }
            ),
        };
        sh.emit(Event::NoRollbacks { why });
        return Vec::new();
    }
    sh.emit(Event::RollbacksStarted);
    let names = activity_names(exp);
    let seen = sh.signal_count();
    let rollbacks = exp
        .get("rollbacks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut slots: Vec<Option<Value>> = Vec::new();
    let mut background = Vec::new();
    for a in &rollbacks {
        if sh.signal_count() > seen {
            set_status(status, "interrupted");
            break;
        }
        let Some((activity, bg)) = resolve(a, &names) else {
            sh.emit(Event::Warning(format!(
                "rollback reference '{}' cannot be found; skipped",
                a.get("ref").and_then(Value::as_str).unwrap_or_default()
            )));
            continue;
        };
        if bg {
            let (sh2, idx) = (sh.clone(), slots.len());
            slots.push(None);
            background.push(tokio::spawn(async move {
                (
                    idx,
                    execute(&sh2, &activity, Phase::Rollback, true, seen).await,
                )
            }));
            continue;
        }
        match execute(sh, &activity, Phase::Rollback, false, seen).await {
            Outcome::Done(e) => slots.push(Some(entry_value(e))),
            Outcome::Interrupted(e) => {
                slots.push(e.map(entry_value));
                set_status(status, "interrupted");
                break;
            }
            Outcome::Aborted(e, msg) => {
                slots.push(Some(entry_value(e)));
                sh.emit(Event::Warning(format!("rollback error: {msg}")));
            }
        }
    }
    for h in background {
        let Ok((idx, outcome)) = h.await else {
            continue;
        };
        if matches!(outcome, Outcome::Interrupted(_)) {
            set_status(status, "interrupted");
        }
        slots[idx] = outcome.entry().cloned().map(entry_value);
    }
    slots.into_iter().flatten().collect()
}
