//! Counters and histograms for one named request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ErrorKind, LatencyHistogram};

/// Everything recorded about the requests that share one name.
///
/// `latency` is what the user experienced: in the open model it starts at the
/// iteration's *intended* start, so time spent waiting behind a slow
/// generator or a saturated connection pool is included (no coordinated
/// omission). `service` starts when the request was actually written, which
/// is what closed-model tools such as wrk report.
#[derive(Clone, Debug, Default)]
pub struct RequestStats {
    /// The request name (as given in the plan, or `METHOD path`).
    pub name: String,
    /// Requests that completed, failed or timed out.
    pub requests: u64,
    /// Failed requests by kind (indexed by [`ErrorKind::index`]).
    pub errors: [u64; 5],
    /// Response bytes read (head and body).
    pub bytes_in: u64,
    /// Request bytes written.
    pub bytes_out: u64,
    /// Responses by HTTP status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Latency from intended start to the last byte of the response.
    pub latency: LatencyHistogram,
    /// Latency from the actual send to the last byte of the response.
    pub service: LatencyHistogram,
    /// Connection set-up time, for requests that opened a new connection.
    pub connect: LatencyHistogram,
    /// Time from the actual send to the first byte of the response.
    pub ttfb: LatencyHistogram,
    /// `latency` of the failed requests only (Gatling's "KO"), made at the
    /// first failure: the successful ones' is `latency` without it.
    pub failed_latency: Option<LatencyHistogram>,
}

/// A plain-number view of [`RequestStats`] for summaries and outputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// Connection could not be established.
    pub connect: u64,
    /// No complete response in time.
    pub timeout: u64,
    /// Unexpected status.
    pub status: u64,
    /// A check failed.
    pub check: u64,
    /// Broken connection or malformed response.
    pub protocol: u64,
}

impl RequestStats {
    /// Empty stats for a request name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Counts one failure of the given kind.
    pub fn record_error(&mut self, kind: ErrorKind) {
        self.errors[kind.index()] += 1;
    }

    /// Counts one failure and keeps its latency among the failed ones
    /// (its `latency` is recorded with every request's).
    pub fn record_failure(&mut self, kind: ErrorKind, latency: std::time::Duration) {
        self.record_error(kind);
        self.failed_latency
            .get_or_insert_with(LatencyHistogram::new)
            .record(latency);
    }

    /// Latency of the requests that succeeded (Gatling's "OK").
    pub fn ok_latency(&self) -> LatencyHistogram {
        match &self.failed_latency {
            Some(f) => self.latency.without(f),
            None => self.latency.clone(),
        }
    }

    /// Latency of the requests that failed (empty when none did).
    pub fn ko_latency(&self) -> LatencyHistogram {
        self.failed_latency.clone().unwrap_or_default()
    }

    /// Counts one response status.
    pub fn record_status(&mut self, status: u16) {
        *self.statuses.entry(status).or_insert(0) += 1;
    }

    /// Requests that failed for any reason.
    pub fn failed(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// Share of requests that failed, 0..=1 (0 when nothing ran).
    pub fn failure_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.failed() as f64 / self.requests as f64
        }
    }

    /// Failures by kind, as named fields.
    pub fn error_counts(&self) -> ErrorCounts {
        let e = |k: ErrorKind| self.errors[k.index()];
        ErrorCounts {
            connect: e(ErrorKind::Connect),
            timeout: e(ErrorKind::Timeout),
            status: e(ErrorKind::Status),
            check: e(ErrorKind::Check),
            protocol: e(ErrorKind::Protocol),
        }
    }

    /// Adds `other` into `self` (names are not compared).
    pub fn merge(&mut self, other: &RequestStats) {
        self.requests += other.requests;
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        for (code, n) in &other.statuses {
            *self.statuses.entry(*code).or_insert(0) += n;
        }
        self.latency.merge(&other.latency);
        self.service.merge(&other.service);
        self.connect.merge(&other.connect);
        self.ttfb.merge(&other.ttfb);
        if let Some(f) = &other.failed_latency {
            self.failed_latency
                .get_or_insert_with(LatencyHistogram::new)
                .merge(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sums_counters_and_statuses() {
        let mut a = RequestStats::new("a");
        a.requests = 3;
        a.record_status(200);
        a.record_error(ErrorKind::Timeout);
        let mut b = RequestStats::new("a");
        b.requests = 2;
        b.record_status(200);
        b.record_status(503);
        b.record_error(ErrorKind::Status);
        a.merge(&b);
        assert_eq!(a.requests, 5);
        assert_eq!(a.statuses[&200], 2);
        assert_eq!(a.statuses[&503], 1);
        assert_eq!(a.failed(), 2);
        assert!((a.failure_rate() - 0.4).abs() < 1e-9);
        assert_eq!(a.error_counts().timeout, 1);
    }
}
