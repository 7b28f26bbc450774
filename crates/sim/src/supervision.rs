//! The process state of every supervised service: written by the
//! supervisor, read by the control plane (which shows it), so neither
//! imports the other.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Process state of one service.
#[derive(Clone, Debug, Default)]
pub struct ChildState {
    /// Current pid (0 between a crash and the restart).
    pub pid: u32,
    /// Restarts so far.
    pub restarts: u32,
}

/// Process state of every supervised service, shown by the control plane.
#[derive(Default)]
pub struct Supervision {
    children: Mutex<BTreeMap<String, ChildState>>,
}

impl Supervision {
    /// The state of one service.
    pub fn get(&self, name: &str) -> Option<ChildState> {
        self.children
            .lock()
            .expect("supervision lock")
            .get(name)
            .cloned()
    }

    /// Changes one service's state (the supervisor's side).
    pub(crate) fn update(&self, name: &str, f: impl FnOnce(&mut ChildState)) {
        f(self
            .children
            .lock()
            .expect("supervision lock")
            .entry(name.to_string())
            .or_default());
    }
}
