//! What the journal gathers as the run goes, in one place the phases fill
//! in place: a panic in the method then keeps whatever was recorded before
//! it (the hypothesis before, say), and the journal is assembled from it at
//! the end in chaoslib's field order.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::journal::{self, Stamp};

/// The run's findings so far; the status lives apart because the
/// hypothesis loop and the rollbacks share it.
#[derive(Debug, Default)]
pub(super) struct Findings {
    /// The hypothesis after the method was not met.
    pub(super) deviated: bool,
    /// The hypothesis before the method (`null` if it did not run).
    pub(super) before: Value,
    /// The hypothesis after the method (`null` if it did not run).
    pub(super) after: Value,
    /// The hypothesis runs during the method, filled by the loop's task.
    pub(super) during: Arc<Mutex<Vec<Value>>>,
    /// The method's activities, in start order.
    pub(super) runs: Vec<Value>,
}

impl Findings {
    /// The journal, field for field as chaoslib writes it (the order is
    /// kept: `serde_json` preserves insertion order here).
    pub(super) fn journal(
        self,
        experiment: Map<String, Value>,
        start: Stamp,
        end: Stamp,
        status: &str,
        rollbacks: Vec<Value>,
    ) -> Value {
        let during = std::mem::take(&mut *self.during.lock().unwrap());
        json!({
            "chaoslib-version": crate::CHAOSLIB_VERSION,
            "platform": journal::platform(),
            "node": journal::node(),
            "experiment": Value::Object(experiment),
            "start": start.iso(),
            "status": status,
            "deviated": self.deviated,
            "steady_states": {"before": self.before, "after": self.after, "during": during},
            "run": self.runs,
            "rollbacks": rollbacks,
            "end": end.iso(),
            "duration": end.seconds_since(start),
        })
    }
}
