//! The per-second series a run keeps: a few numbers per second (bounded
//! memory whatever the load), for charts and recovery times.

use serde::Serialize;
use squall_metrics::Snapshot;

/// One second of the main run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SecondRow {
    /// Start, seconds since the main run's start.
    pub start_s: f64,
    /// End, seconds since the main run's start.
    pub end_s: f64,
    /// Requests finished in this second.
    pub requests: u64,
    /// Requests per second.
    pub rps: f64,
    /// Failed requests.
    pub failed: u64,
    /// Share of failed requests (0 when there were none).
    pub error_rate: f64,
    /// Latency percentiles from intended start, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Generator utilization (0..1).
    pub utilization: f64,
}

impl SecondRow {
    /// The row for one merged second; `offset_s` shifts it (warm-up rows are negative).
    pub fn of(snap: &Snapshot, offset_s: f64) -> Self {
        let all = snap.interval.overall("all");
        let len = (snap.length_ms as f64 / 1000.0).max(1e-3);
        let ms = |p: f64| all.latency.percentile(p) as f64 / 1000.0;
        let failed = all.failed();
        Self {
            start_s: offset_s + snap.start_ms as f64 / 1000.0,
            end_s: offset_s + (snap.start_ms + snap.length_ms) as f64 / 1000.0,
            requests: all.requests,
            rps: all.requests as f64 / len,
            failed,
            error_rate: if all.requests == 0 {
                0.0
            } else {
                failed as f64 / all.requests as f64
            },
            p50_ms: ms(50.0),
            p95_ms: ms(95.0),
            p99_ms: ms(99.0),
            utilization: snap.utilization,
        }
    }
}

impl SecondRow {
    /// The value a recovery metric has over a whole phase (its baseline).
    pub fn summary_value(iv: &squall_metrics::Interval, metric: RecoveryMetric) -> f64 {
        let all = iv.overall("all");
        let row = SecondRow {
            requests: all.requests,
            error_rate: if all.requests == 0 {
                0.0
            } else {
                all.failed() as f64 / all.requests as f64
            },
            p50_ms: all.latency.percentile(50.0) as f64 / 1000.0,
            p95_ms: all.latency.percentile(95.0) as f64 / 1000.0,
            p99_ms: all.latency.percentile(99.0) as f64 / 1000.0,
            ..Default::default()
        };
        metric.of(&row)
    }
}

/// What a recovery goal watches, per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RecoveryMetric {
    /// A latency percentile (50, 95 or 99).
    Percentile(u8),
    /// The share of failed requests.
    ErrorRate,
}

impl RecoveryMetric {
    /// The metric's value in one second.
    pub fn of(self, row: &SecondRow) -> f64 {
        match self {
            RecoveryMetric::Percentile(50) => row.p50_ms,
            RecoveryMetric::Percentile(95) => row.p95_ms,
            RecoveryMetric::Percentile(_) => row.p99_ms,
            RecoveryMetric::ErrorRate => row.error_rate,
        }
    }
}
