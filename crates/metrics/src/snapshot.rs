//! A merged interval with its place on the run's clock.

use crate::Interval;

/// One second (or a final partial second) of a run, merged across producers.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Zero-based index of the second since the run's start.
    pub second: u64,
    /// Offset of the slice's start from the run's start, in milliseconds.
    pub start_ms: u64,
    /// Length of the slice in milliseconds (1000 except for the last one).
    pub length_ms: u64,
    /// What was recorded.
    pub interval: Interval,
    /// Virtual users (closed model) or busy virtual users (open model) at the end of the slice.
    pub vus: u64,
    /// Requests in flight at the end of the slice.
    pub in_flight: u64,
    /// Generator utilization, 0..=1: the busiest worker thread's CPU time
    /// divided by wall time (Stressgrid's health metric; above 0.8 the
    /// generator itself may be distorting the results).
    pub utilization: f64,
}

impl Snapshot {
    /// Requests per second over this slice.
    pub fn request_rate(&self) -> f64 {
        let n: u64 = self.interval.requests.iter().map(|r| r.requests).sum();
        if self.length_ms == 0 {
            0.0
        } else {
            n as f64 * 1000.0 / self.length_ms as f64
        }
    }
}
