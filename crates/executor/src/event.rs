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
