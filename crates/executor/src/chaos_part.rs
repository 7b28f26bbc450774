//! The Chaos Toolkit part of an experiment inside `squall run`: its keys
//! taken out of the document, validated with the rest, run by
//! `squall-chaos` from t0 alongside the load (hypothesis before, method,
//! hypothesis after, rollbacks), its journal written as `journal.json`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use squall_chaos::event::{Event as ChaosEvent, Phase};
use squall_report::run_report::{EntryKind, TimelineEntry};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::document::SQUALL_KEYS;
use crate::event::Event;

/// The Chaos Toolkit experiment within a Squall document, if it has a
/// hypothesis, a method or rollbacks. A missing `method` becomes empty and
/// a missing title the run's, so a Squall document need not repeat them.
pub fn extract(doc: &Value, title: &str) -> Option<Value> {
    let obj = doc.as_object()?;
    let present = |k: &str| obj.get(k).is_some_and(|v| !v.is_null());
    if !["steady-state-hypothesis", "method", "rollbacks"]
        .iter()
        .any(|k| present(k))
    {
        return None;
    }
    let mut part: serde_json::Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| !SQUALL_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    part.entry("title")
        .or_insert_with(|| Value::String(title.to_string()));
    part.entry("description")
        .or_insert_with(|| Value::String(title.to_string()));
    part.entry("method")
        .or_insert_with(|| Value::Array(Vec::new()));
    Some(Value::Object(part))
}

/// Every problem of the Chaos Toolkit part, with its field path (the
/// part's sections are top-level keys of the document, so the paths are
/// the document's too and can be located in it).
pub fn validate(part: &Value) -> Vec<crate::problem::Problem> {
    squall_chaos::validate(part, &squall_chaos::Vars::default())
}

/// What the run learns from the chaos part while it goes.
#[derive(Default)]
pub struct Watch {
    method_started: AtomicBool,
    /// The hypothesis failed before the method: the run should stop.
    pub failed_before: AtomicBool,
    /// Activities and hypothesis results, for the report's timeline.
    pub timeline: Mutex<Vec<TimelineEntry>>,
    /// The part stopped on a bug in squall: the run tested less than it
    /// describes, so its verdict is `invalid`.
    pub internal_error: Mutex<Option<String>>,
}

/// One line for people, and its timeline kind.
fn describe(e: &ChaosEvent) -> Option<(EntryKind, String)> {
    Some(match e {
        ChaosEvent::HypothesisStarted { title } => (
            EntryKind::Hypothesis,
            format!("steady-state hypothesis: {title}"),
        ),
        ChaosEvent::HypothesisMet => (EntryKind::Hypothesis, "steady-state hypothesis met".into()),
        ChaosEvent::HypothesisNotMet { probe, during } => (
            EntryKind::Hypothesis,
            format!(
                "steady-state probe {probe:?} not within tolerance{}",
                if *during { " (during the method)" } else { "" }
            ),
        ),
        ChaosEvent::Activity {
            phase,
            kind,
            name,
            background,
        } => {
            let (k, what) = match phase {
                Phase::Rollback => (EntryKind::Rollback, "rollback"),
                Phase::Tolerance => (EntryKind::Hypothesis, "tolerance probe"),
                Phase::Hypothesis => (EntryKind::Hypothesis, "probe"),
                Phase::Method => (EntryKind::Activity, kind.as_str()),
            };
            (
                k,
                format!(
                    "{what}: {name}{}",
                    if *background { " (background)" } else { "" }
                ),
            )
        }
        ChaosEvent::ActivityFailed { name, reason } => {
            (EntryKind::Error, format!("{name} failed: {reason}"))
        }
        ChaosEvent::InternalError(e) => (EntryKind::Error, format!("chaos part: {e}")),
        ChaosEvent::MethodStarted => (EntryKind::Activity, "method starts".into()),
        ChaosEvent::RollbacksStarted => (EntryKind::Rollback, "rollbacks start".into()),
        ChaosEvent::Aborted { reason } => {
            (EntryKind::Abort, format!("chaos part aborted: {reason}"))
        }
        ChaosEvent::Ended { status, deviated } => (
            EntryKind::Hypothesis,
            format!(
                "chaos part ended: {status}{}",
                if *deviated { ", deviated" } else { "" }
            ),
        ),
        _ => return None,
    })
}

/// Runs the part from now; returns its journal. `stop` turning true
/// interrupts it (its rollbacks still play, squall's default).
pub async fn run(
    part: Value,
    stop: watch::Receiver<bool>,
    t0: Instant,
    events: mpsc::UnboundedSender<Event>,
    watch: Arc<Watch>,
) -> Value {
    let (tx, rx) = watch::channel(0u32);
    let mut stop = stop;
    let forward = tokio::spawn(async move {
        if stop.wait_for(|s| *s).await.is_ok() {
            tx.send_modify(|n| *n += 1);
        }
        // Keep the sender alive until the run is over.
        std::future::pending::<()>().await;
    });
    let w = watch.clone();
    let observer = Arc::new(move |e: ChaosEvent| {
        if e == ChaosEvent::MethodStarted {
            w.method_started.store(true, Ordering::SeqCst);
        }
        if matches!(e, ChaosEvent::HypothesisNotMet { during: false, .. })
            && !w.method_started.load(Ordering::SeqCst)
        {
            w.failed_before.store(true, Ordering::SeqCst);
        }
        if let ChaosEvent::InternalError(m) = &e {
            *w.internal_error.lock().expect("error lock") = Some(m.clone());
        }
        if let Some((kind, text)) = describe(&e) {
            let t = Instant::now().saturating_duration_since(t0).as_secs_f64();
            let _ = events.send(Event::Note {
                t,
                kind,
                text: text.clone(),
            });
            w.timeline
                .lock()
                .expect("timeline lock")
                .push(TimelineEntry { t, kind, text });
        }
    });
    let opts = squall_chaos::RunOptions {
        python: squall_chaos::provider::python::interpreter(),
        ..Default::default()
    };
    let journal = squall_chaos::run_experiment(&part, &opts, observer, rx).await;
    forward.abort();
    journal.unwrap_or_else(
        |e| serde_json::json!({"status": "failed", "deviated": false, "error": e.to_string()}),
    )
}

/// Whether the journal says the hypothesis did not hold (before or after).
pub fn deviated(journal: &Value) -> bool {
    journal["deviated"] == true
        || journal.pointer("/steady_states/before/steady_state_met") == Some(&Value::Bool(false))
}
