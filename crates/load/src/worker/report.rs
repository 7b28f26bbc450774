//! What a worker hands to the aggregator once a second.

use squall_metrics::Interval;

/// One worker's slice of one second.
#[derive(Debug)]
pub struct WorkerReport {
    /// Worker index.
    pub worker: usize,
    /// Zero-based second since the run's start.
    pub second: u64,
    /// Actual length of the slice in milliseconds.
    pub length_ms: u64,
    /// What was recorded.
    pub interval: Interval,
    /// Busy virtual users at the end of the slice.
    pub vus: u64,
    /// Requests in flight at the end of the slice.
    pub in_flight: u64,
    /// CPU time / wall time of the worker thread over the slice.
    pub utilization: f64,
    /// New distinct error messages seen in the slice (a few at most).
    pub error_samples: Vec<String>,
    /// True for the worker's last report.
    pub last: bool,
}
