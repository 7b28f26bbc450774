//! The shared vocabulary of measurement for every Squall component.
//!
//! Load generators record into an [`Interval`] owned by one worker thread (no
//! locks on the hot path); once a second the interval is handed over and
//! merged with the other threads' (and, in a fleet, other generators') into a
//! [`Snapshot`]. Cumulative figures are the merge of all snapshots. Nothing
//! here keeps per-request samples: memory is bounded by the number of request
//! names, not by the number of requests.
//!
//! # Layout
//! - [`histogram`]: the latency histogram (1 us .. 1 h, 3 significant digits).
//! - [`error_kind`]: why a request failed.
//! - [`request_stats`]: counters and histograms for one request name.
//! - [`interval`]: everything recorded during one time slice.
//! - [`snapshot`]: a merged interval stamped with its place in the run.
//! - [`wire`]: compact encoding of histograms for shipping and logs.
//! - [`wire_snapshot`]: a snapshot as JSON with encoded histograms (fleets).

// Libraries do not print: the binary decides what people see.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod error_kind;
pub mod histogram;
pub mod interval;
pub mod request_stats;
pub mod snapshot;
pub mod wire;
pub mod wire_snapshot;

pub use error_kind::ErrorKind;
pub use histogram::{LatencyHistogram, Percentiles};
pub use interval::{CheckStats, Interval, IterationStats};
pub use request_stats::RequestStats;
pub use snapshot::Snapshot;
pub use wire_snapshot::WireSnapshot;
