//! A latency histogram with a fixed, documented range and precision.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Lowest trackable latency, in microseconds.
pub const LOWEST_US: u64 = 1;
/// Highest trackable latency, in microseconds (one hour). Larger values are
/// clamped to it rather than dropped, so a stalled request still counts.
pub const HIGHEST_US: u64 = 3_600_000_000;
/// Significant decimal digits kept at every magnitude.
pub const SIGFIG: u8 = 3;

/// Latencies in microseconds, from 1 us to 1 h with 3 significant digits.
///
/// A thin wrapper so every producer records in the same unit and range, and
/// histograms from different threads or generators can always be added.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    inner: Histogram<u64>,
}

/// The percentiles every summary shows, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Number of recorded values.
    pub count: u64,
    /// Smallest value.
    pub min: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest value.
    pub max: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        let inner = Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG)
            .expect("constant histogram bounds are valid");
        Self { inner }
    }

    /// Wraps a histogram read from the wire, checking it fits our range.
    pub fn from_hdr(h: Histogram<u64>) -> Self {
        // Ours (a squall generator's): use it as it is. Copying it into a
        // fresh histogram doubled a fleet coordinator's cost per report.
        if h.low() == LOWEST_US && h.high() == HIGHEST_US && h.sigfig() == SIGFIG {
            return Self { inner: h };
        }
        let mut me = Self::new();
        // `add` only fails when values exceed our bounds; clamp those.
        if me.inner.add(&h).is_err() {
            for v in h.iter_recorded() {
                me.inner
                    .saturating_record_n(v.value_iterated_to().min(HIGHEST_US), v.count_at_value());
            }
        }
        me
    }

    /// Records one duration, clamped to the trackable range.
    pub fn record(&mut self, d: Duration) {
        self.record_us(d.as_micros().min(u128::from(HIGHEST_US)) as u64);
    }

    /// Records one value in microseconds, clamped to the trackable range.
    pub fn record_us(&mut self, us: u64) {
        self.inner
            .saturating_record(us.clamp(LOWEST_US, HIGHEST_US));
    }

    /// Adds every value of `other` into `self`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        self.inner
            .add(&other.inner)
            .expect("histograms share the same bounds");
    }

    /// Number of recorded values.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Value at a percentile in 0..=100, in microseconds (0 when empty).
    pub fn percentile(&self, p: f64) -> u64 {
        if self.inner.is_empty() {
            return 0;
        }
        self.inner.value_at_quantile(p / 100.0)
    }

    /// Largest value, in microseconds (0 when empty).
    pub fn max(&self) -> u64 {
        if self.inner.is_empty() {
            0
        } else {
            self.inner.max()
        }
    }

    /// Smallest value, in microseconds (0 when empty).
    pub fn min(&self) -> u64 {
        if self.inner.is_empty() {
            0
        } else {
            self.inner.min()
        }
    }

    /// Mean, in microseconds (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.inner.is_empty() {
            0.0
        } else {
            self.inner.mean()
        }
    }

    /// The standard set of percentiles.
    pub fn percentiles(&self) -> Percentiles {
        Percentiles {
            count: self.len(),
            min: self.min(),
            mean: self.mean(),
            p50: self.percentile(50.0),
            p90: self.percentile(90.0),
            p95: self.percentile(95.0),
            p99: self.percentile(99.0),
            p999: self.percentile(99.9),
            max: self.max(),
        }
    }

    /// The underlying HdrHistogram, for serialization and log writers.
    pub fn hdr(&self) -> &Histogram<u64> {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_across_the_whole_range_with_three_digits() {
        let mut h = LatencyHistogram::new();
        h.record(Duration::from_micros(1));
        h.record(Duration::from_secs(60));
        assert_eq!(h.min(), 1);
        let max = h.max();
        assert!((59_940_000..=60_060_000).contains(&max), "max {max}");
    }

    #[test]
    fn clamps_instead_of_dropping() {
        let mut h = LatencyHistogram::new();
        h.record(Duration::from_secs(10 * 3600));
        h.record(Duration::ZERO);
        assert_eq!(h.len(), 2);
        assert_eq!(h.min(), 1);
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = LatencyHistogram::new();
        let mut b = LatencyHistogram::new();
        for v in 1..=100 {
            a.record_us(v);
            b.record_us(v + 100);
        }
        a.merge(&b);
        assert_eq!(a.len(), 200);
        assert_eq!(a.percentile(50.0), 100);
        assert_eq!(a.max(), 200);
    }

    #[test]
    fn empty_histogram_reports_zeroes() {
        let p = LatencyHistogram::new().percentiles();
        assert_eq!(p, Percentiles::default());
    }
}
