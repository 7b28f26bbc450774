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
    /// Something happened (`phase`, `fault`, `revert`, `abort`, `error`...).
    Note {
        /// Seconds since the main run's start.
        t: f64,
        /// Kind.
        kind: String,
        /// Text.
        text: String,
    },
}
