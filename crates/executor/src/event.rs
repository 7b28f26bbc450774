//! What a run reports while it goes, for the terminal (and later SSE).

use crate::series::SecondRow;

/// A progress event.
#[derive(Clone, Debug)]
pub enum Event {
    /// A merged second of load.
    Second {
        /// `warm-up`, `before NAME`, `during NAME`...
        phase: String,
        /// Its figures.
        row: SecondRow,
    },
    /// The run directory was made: the run is under way and writes there.
    RunDir(std::path::PathBuf),
    /// Something found before the run starts that people should know
    /// (ignored keys, a fault past the workload's end, no goals).
    Warning(String),
    /// A fault's injector confirmed it in force (`active`) or reverted:
    /// the live view draws fault windows from these, not from the plan.
    Fault {
        /// Seconds since the main run's start.
        t: f64,
        /// The fault as planned, with what is known of it so far.
        fault: squall_report::run_report::FaultRecord,
        /// In force (true) or reverted (false).
        active: bool,
    },
    /// Every goal judged on what was measured so far (each second of the
    /// main run).
    Goals {
        /// Seconds since the main run's start.
        t: f64,
        /// In the document's order.
        goals: Vec<LiveGoal>,
    },
    /// Something happened (`phase`, `fault`, `revert`, `abort`, `error`...).
    Note {
        /// Seconds since the main run's start.
        t: f64,
        /// Kind.
        kind: squall_report::run_report::EntryKind,
        /// Text.
        text: String,
    },
}

/// A goal on the data so far.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LiveGoal {
    /// As in the report.
    pub name: String,
    /// Holding, not holding, or not judged yet.
    pub status: LiveStatus,
    /// The window it judges is over: only the end's evaluation (on the
    /// same data) can follow.
    pub settled: bool,
    /// The figure measured so far.
    pub observed: Option<f64>,
    /// The bound it is held to.
    pub bound: f64,
    /// How it was judged.
    pub detail: String,
}

/// Where a goal stands while the run goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LiveStatus {
    /// Holds on the data so far.
    Passing,
    /// Does not hold on the data so far.
    Failing,
    /// No data for its window yet, or a recovery still within its time.
    Pending,
}

/// A fault event as the timeline words it: `fault` / `NAME injected`, or
/// `revert` / `NAME reverted`.
pub fn fault_note(
    fault: &squall_report::run_report::FaultRecord,
    active: bool,
) -> (squall_report::run_report::EntryKind, String) {
    use squall_report::run_report::EntryKind;
    if active {
        (EntryKind::Fault, format!("{} injected", fault.name))
    } else {
        (EntryKind::Revert, format!("{} reverted", fault.name))
    }
}
