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
