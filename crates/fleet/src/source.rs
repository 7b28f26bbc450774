//! Where a run's seconds come from: this process's worker threads or a
//! fleet. Both hand over the same merged [`Snapshot`]s, so whoever consumes
//! them (outputs, thresholds, goals, reports) does not know the difference.

use squall_metrics::Snapshot;
use tokio::sync::mpsc;

use crate::coordinator::{FleetRun, FleetStop, FleetSummary};

/// A run in progress.
pub enum LoadSource {
    /// Worker threads here.
    Local(squall_load::Run),
    /// Generators elsewhere.
    Fleet(FleetRun),
}

/// Stops either kind of run.
#[derive(Clone)]
pub enum LoadStop {
    /// Worker threads here.
    Local(squall_load::StopHandle),
    /// Generators elsewhere.
    Fleet(FleetStop),
}

impl LoadStop {
    /// Start nothing new; requests in flight finish.
    pub fn soft(&self) {
        match self {
            LoadStop::Local(s) => s.soft(),
            LoadStop::Fleet(s) => s.soft(),
        }
    }

    /// Cancel everything now.
    pub fn hard(&self) {
        match self {
            LoadStop::Local(s) => s.hard(),
            LoadStop::Fleet(s) => s.hard(),
        }
    }
}

impl LoadSource {
    /// Merged seconds, in order; closes when the run is over.
    pub fn snapshots(&mut self) -> &mut mpsc::UnboundedReceiver<Snapshot> {
        match self {
            LoadSource::Local(r) => &mut r.snapshots,
            LoadSource::Fleet(f) => &mut f.snapshots,
        }
    }

    /// New distinct error messages.
    pub fn errors(&mut self) -> &mut mpsc::UnboundedReceiver<String> {
        match self {
            LoadSource::Local(r) => &mut r.errors,
            LoadSource::Fleet(f) => &mut f.errors,
        }
    }

    /// A handle that stops the run.
    pub fn stop_handle(&self) -> LoadStop {
        match self {
            LoadSource::Local(r) => LoadStop::Local(r.stop_handle()),
            LoadSource::Fleet(f) => LoadStop::Fleet(f.stop_handle()),
        }
    }

    /// What sends the load, for people ("2 worker thread(s)", "a fleet of 3 generators").
    pub fn describe(&self) -> String {
        match self {
            LoadSource::Local(r) => format!("{} worker thread(s)", r.threads),
            LoadSource::Fleet(f) => format!("a fleet of {} generators", f.generators),
        }
    }

    /// Waits for the worker threads (call once `snapshots` closed); a
    /// fleet's summary.
    pub async fn finish(self) -> Option<FleetSummary> {
        match self {
            LoadSource::Local(r) => {
                let _ = tokio::task::spawn_blocking(move || r.join()).await;
                None
            }
            LoadSource::Fleet(f) => Some(f.summary()),
        }
    }
}
