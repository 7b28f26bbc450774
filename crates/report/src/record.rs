//! Plain, serializable views of snapshots: what every output prints.

use serde::{Deserialize, Serialize};
use squall_metrics::request_stats::ErrorCounts;
use squall_metrics::{LatencyHistogram, RequestStats, Snapshot};

/// Latency percentiles in milliseconds (floating point, microsecond precision).
///
/// Serialized with `null` percentiles when `count` is 0: a second without
/// requests has no latency, and writing 0 ms would read as "very fast" in
/// every tool that plots it (k6 leaves such values out too).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct PercentilesMs {
    /// Number of values.
    pub count: u64,
    /// Minimum.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub min: f64,
    /// Mean.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub mean: f64,
    /// Median.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub p50: f64,
    /// 90th percentile.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub p90: f64,
    /// 95th percentile.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub p95: f64,
    /// 99th percentile.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub p99: f64,
    /// 99.9th percentile.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub p999: f64,
    /// Maximum.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub max: f64,
}

fn null_as_zero<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(0.0))
}

impl Serialize for PercentilesMs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("PercentilesMs", 9)?;
        st.serialize_field("count", &self.count)?;
        let v = |x: f64| (self.count > 0).then_some(x);
        st.serialize_field("min", &v(self.min))?;
        st.serialize_field("mean", &v(self.mean))?;
        st.serialize_field("p50", &v(self.p50))?;
        st.serialize_field("p90", &v(self.p90))?;
        st.serialize_field("p95", &v(self.p95))?;
        st.serialize_field("p99", &v(self.p99))?;
        st.serialize_field("p999", &v(self.p999))?;
        st.serialize_field("max", &v(self.max))?;
        st.end()
    }
}

impl PercentilesMs {
    /// `value` as text, or an empty string when there were no values
    /// (for CSV cells and optional line-protocol fields).
    pub fn cell(&self, value: f64) -> String {
        if self.count == 0 {
            String::new()
        } else {
            value.to_string()
        }
    }
}

impl From<&LatencyHistogram> for PercentilesMs {
    fn from(h: &LatencyHistogram) -> Self {
        let p = h.percentiles();
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: p.count,
            min: ms(p.min),
            mean: (p.mean / 1000.0 * 1000.0).round() / 1000.0,
            p50: ms(p.p50),
            p90: ms(p.p90),
            p95: ms(p.p95),
            p99: ms(p.p99),
            p999: ms(p.p999),
            max: ms(p.max),
        }
    }
}

/// One request name (or all of them) over some span.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Request name (`all` for the overall figures).
    pub name: String,
    /// Requests finished (including failures).
    pub requests: u64,
    /// Failed requests.
    pub failed: u64,
    /// Failures by kind.
    pub errors: ErrorCounts,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Latency from intended start (coordinated-omission corrected).
    pub latency_ms: PercentilesMs,
    /// Latency from actual send.
    pub service_ms: PercentilesMs,
    /// Time to first byte.
    pub ttfb_ms: PercentilesMs,
    /// Connection set-up times.
    pub connect_ms: PercentilesMs,
    /// Responses by status code.
    pub statuses: std::collections::BTreeMap<String, u64>,
}

impl From<&RequestStats> for RequestRecord {
    fn from(r: &RequestStats) -> Self {
        Self {
            name: r.name.clone(),
            requests: r.requests,
            failed: r.failed(),
            errors: r.error_counts(),
            bytes_in: r.bytes_in,
            bytes_out: r.bytes_out,
            latency_ms: (&r.latency).into(),
            service_ms: (&r.service).into(),
            ttfb_ms: (&r.ttfb).into(),
            connect_ms: (&r.connect).into(),
            statuses: r
                .statuses
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
        }
    }
}

/// Iteration counters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IterationRecord {
    /// Started.
    pub started: u64,
    /// Completed.
    pub completed: u64,
    /// Cut short by wind-down or interruption.
    pub interrupted: u64,
    /// Started more than 10 ms after their intended start.
    pub late: u64,
    /// Never started: no free user and a full backlog.
    pub dropped: u64,
    /// Duration from intended start to end.
    pub duration_ms: PercentilesMs,
}

/// One second of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondRecord {
    /// Zero-based second.
    pub second: u64,
    /// Offset from the start, ms.
    pub start_ms: u64,
    /// Length, ms.
    pub length_ms: u64,
    /// Requests per second over the slice.
    pub rate: f64,
    /// Busy virtual users at the end of the slice.
    pub vus: u64,
    /// Requests in flight at the end of the slice.
    pub in_flight: u64,
    /// Generator utilization 0..1.
    pub utilization: f64,
    /// All requests.
    pub overall: RequestRecord,
    /// Per request name.
    pub by_name: Vec<RequestRecord>,
    /// Iterations.
    pub iterations: IterationRecord,
}

impl From<&Snapshot> for SecondRecord {
    fn from(s: &Snapshot) -> Self {
        let it = &s.interval.iterations;
        Self {
            second: s.second,
            start_ms: s.start_ms,
            length_ms: s.length_ms,
            rate: (s.request_rate() * 10.0).round() / 10.0,
            vus: s.vus,
            in_flight: s.in_flight,
            utilization: (s.utilization * 1000.0).round() / 1000.0,
            overall: (&s.interval.overall("all")).into(),
            by_name: s.interval.requests.iter().map(Into::into).collect(),
            iterations: IterationRecord {
                started: it.started,
                completed: it.completed,
                interrupted: it.interrupted,
                late: it.late,
                dropped: it.dropped,
                duration_ms: (&it.duration).into(),
            },
        }
    }
}
