//! A [`Snapshot`] as JSON with its histograms in the compact [`wire`]
//! encoding: what a fleet generator ships to its coordinator each second.
//!
//! The encoding is lossless (counts, statuses and every histogram bucket
//! survive), so a coordinator that merges decoded snapshots gets exactly
//! the figures one process recording everything would have.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::wire::{self, WireError};
use crate::{CheckStats, Interval, IterationStats, LatencyHistogram, RequestStats, Snapshot};

/// One second of one producer, ready for JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WireSnapshot {
    /// Zero-based second since the shared start.
    pub second: u64,
    /// Length of the slice in ms (1000 except for a last partial one).
    pub length_ms: u64,
    /// Busy virtual users at the end of the slice.
    pub vus: u64,
    /// Requests in flight at the end of the slice.
    pub in_flight: u64,
    /// The producer's utilization (0..=1).
    pub utilization: f64,
    /// Per request name.
    pub requests: Vec<WireRequest>,
    /// Per check.
    #[serde(default)]
    pub checks: Vec<CheckStats>,
    /// Iteration counters and histograms.
    pub iterations: WireIterations,
}

/// [`RequestStats`] with encoded histograms (empty ones as `""`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WireRequest {
    /// Request name.
    pub name: String,
    /// Requests completed.
    pub requests: u64,
    /// Failures by kind, in [`crate::ErrorKind`] order.
    pub errors: [u64; 5],
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Responses by status code.
    #[serde(default)]
    pub statuses: BTreeMap<u16, u64>,
    /// Latency from the intended start.
    pub latency: String,
    /// Service time.
    pub service: String,
    /// Connect time.
    pub connect: String,
    /// Time to first byte.
    pub ttfb: String,
    /// Latency of the failed requests, when any failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_latency: Option<String>,
}

/// [`IterationStats`] with encoded histograms.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WireIterations {
    /// Iterations started.
    pub started: u64,
    /// Iterations completed.
    pub completed: u64,
    /// Iterations interrupted.
    pub interrupted: u64,
    /// Iterations started late.
    pub late: u64,
    /// Iterations dropped.
    pub dropped: u64,
    /// Iteration duration.
    pub duration: String,
    /// Start lag.
    pub start_lag: String,
}

fn enc(h: &LatencyHistogram) -> String {
    if h.is_empty() {
        String::new()
    } else {
        wire::encode(h)
    }
}

fn dec(s: &str) -> Result<LatencyHistogram, WireError> {
    if s.is_empty() {
        Ok(LatencyHistogram::new())
    } else {
        wire::decode(s)
    }
}

impl From<&Snapshot> for WireSnapshot {
    fn from(s: &Snapshot) -> Self {
        let i = &s.interval.iterations;
        WireSnapshot {
            second: s.second,
            length_ms: s.length_ms,
            vus: s.vus,
            in_flight: s.in_flight,
            utilization: s.utilization,
            requests: s
                .interval
                .requests
                .iter()
                .map(|r| WireRequest {
                    name: r.name.clone(),
                    requests: r.requests,
                    errors: r.errors,
                    bytes_in: r.bytes_in,
                    bytes_out: r.bytes_out,
                    statuses: r.statuses.clone(),
                    latency: enc(&r.latency),
                    service: enc(&r.service),
                    connect: enc(&r.connect),
                    ttfb: enc(&r.ttfb),
                    failed_latency: r.failed_latency.as_ref().map(enc),
                })
                .collect(),
            checks: s.interval.checks.clone(),
            iterations: WireIterations {
                started: i.started,
                completed: i.completed,
                interrupted: i.interrupted,
                late: i.late,
                dropped: i.dropped,
                duration: enc(&i.duration),
                start_lag: enc(&i.start_lag),
            },
        }
    }
}

impl WireSnapshot {
    /// Decodes the histograms back into a [`Snapshot`].
    pub fn decode(&self) -> Result<Snapshot, WireError> {
        let mut requests = Vec::with_capacity(self.requests.len());
        for r in &self.requests {
            requests.push(RequestStats {
                name: r.name.clone(),
                requests: r.requests,
                errors: r.errors,
                bytes_in: r.bytes_in,
                bytes_out: r.bytes_out,
                statuses: r.statuses.clone(),
                latency: dec(&r.latency)?,
                service: dec(&r.service)?,
                connect: dec(&r.connect)?,
                ttfb: dec(&r.ttfb)?,
                failed_latency: r.failed_latency.as_deref().map(dec).transpose()?,
            });
        }
        let i = &self.iterations;
        Ok(Snapshot {
            second: self.second,
            start_ms: self.second * 1000,
            length_ms: self.length_ms,
            interval: Interval {
                requests,
                checks: self.checks.clone(),
                iterations: IterationStats {
                    started: i.started,
                    completed: i.completed,
                    interrupted: i.interrupted,
                    late: i.late,
                    dropped: i.dropped,
                    duration: dec(&i.duration)?,
                    start_lag: dec(&i.start_lag)?,
                },
            },
            vus: self.vus,
            in_flight: self.in_flight,
            utilization: self.utilization,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn sample(second: u64, seed: u64) -> Snapshot {
        let mut iv = Interval::new(&["home".into(), "cart".into()], &["ok".into()]);
        for (k, r) in iv.requests.iter_mut().enumerate() {
            for v in 0..200 {
                r.latency
                    .record_us(100 + (v * 37 + seed * 11 + k as u64) % 50_000);
                r.requests += 1;
                r.record_status(if v % 10 == 0 { 503 } else { 200 });
            }
            r.latency.record_us(70_000 + seed);
            r.requests += 1;
            r.record_failure(
                ErrorKind::Status,
                std::time::Duration::from_micros(70_000 + seed),
            );
            r.bytes_in = 1234 + seed;
        }
        iv.checks[0].passes = 7;
        iv.iterations.started = 400;
        iv.iterations.duration.record_us(900);
        Snapshot {
            second,
            start_ms: second * 1000,
            length_ms: 1000,
            interval: iv,
            vus: 3,
            in_flight: 2,
            utilization: 0.25,
        }
    }

    #[test]
    fn round_trips_through_json_exactly() {
        let s = sample(4, 1);
        let json = serde_json::to_string(&WireSnapshot::from(&s)).unwrap();
        let back: WireSnapshot = serde_json::from_str(&json).unwrap();
        let d = back.decode().unwrap();
        assert_eq!(d.second, 4);
        assert_eq!(d.start_ms, 4000);
        for (a, b) in d.interval.requests.iter().zip(&s.interval.requests) {
            assert_eq!(a.requests, b.requests);
            assert_eq!(a.statuses, b.statuses);
            assert_eq!(a.errors, b.errors);
            assert_eq!(a.latency.hdr(), b.latency.hdr());
            assert_eq!(a.ko_latency().hdr(), b.ko_latency().hdr());
            assert_eq!(
                a.ok_latency().len(),
                200,
                "the failed one is not among the ok"
            );
            assert!(a.connect.is_empty());
        }
        assert_eq!(d.interval.checks, s.interval.checks);
        assert_eq!(d.interval.iterations.duration.len(), 1);
    }

    #[test]
    fn merging_decoded_snapshots_equals_merging_the_originals() {
        let parts: Vec<Snapshot> = (0..3).map(|g| sample(0, g)).collect();
        let mut direct = parts[0].interval.empty_like();
        let mut shipped = parts[0].interval.empty_like();
        for p in &parts {
            direct.merge(&p.interval);
            let w = WireSnapshot::from(p);
            shipped.merge(&w.decode().unwrap().interval);
        }
        for (a, b) in direct.requests.iter().zip(&shipped.requests) {
            assert_eq!(a.latency.percentiles(), b.latency.percentiles());
            assert_eq!(a.latency.hdr(), b.latency.hdr());
            assert_eq!(a.requests, 603);
            assert_eq!(a.ko_latency().hdr(), b.ko_latency().hdr());
            assert_eq!(a.ko_latency().len(), 3);
        }
    }

    #[test]
    fn a_bad_histogram_is_an_error_not_a_panic() {
        let mut w = WireSnapshot::from(&sample(0, 0));
        w.requests[0].latency = "bm90IGEgaGlzdG9ncmFt".into();
        assert!(w.decode().is_err());
    }
}
