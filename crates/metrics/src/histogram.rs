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
    repr: Repr,
}

/// A histogram is kept dense (HdrHistogram's counts array, 188 KB at this
/// range) except when it arrives from the wire: then it is its non-zero
/// buckets only, which a fleet coordinator adds into the merged second
/// without ever building the array (the dense form is made on first read).
#[derive(Clone, Debug)]
enum Repr {
    Dense(Histogram<u64>),
    Buckets {
        /// (lowest value of the bucket, count), non-zero counts only.
        buckets: Vec<(u64, u64)>,
        dense: std::sync::OnceLock<Histogram<u64>>,
    },
}

fn empty_hdr() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG)
        .expect("constant histogram bounds are valid")
}

fn dense_of(buckets: &[(u64, u64)]) -> Histogram<u64> {
    let mut h = empty_hdr();
    for &(v, c) in buckets {
        h.saturating_record_n(v, c);
    }
    h
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
        Self {
            repr: Repr::Dense(empty_hdr()),
        }
    }

    /// A histogram given as its non-zero buckets: `(value, count)` with
    /// each value the lowest of its bucket at squall's range and precision
    /// (what [`crate::wire::decode`] reads).
    pub fn from_buckets(buckets: Vec<(u64, u64)>) -> Self {
        Self {
            repr: Repr::Buckets {
                buckets,
                dense: std::sync::OnceLock::new(),
            },
        }
    }

    /// The dense form, for reading.
    fn view(&self) -> &Histogram<u64> {
        match &self.repr {
            Repr::Dense(h) => h,
            Repr::Buckets { buckets, dense } => dense.get_or_init(|| dense_of(buckets)),
        }
    }

    /// The dense form, for writing.
    fn dense_mut(&mut self) -> &mut Histogram<u64> {
        if let Repr::Buckets { buckets, dense } = &mut self.repr {
            let h = dense.take().unwrap_or_else(|| dense_of(buckets));
            self.repr = Repr::Dense(h);
        }
        match &mut self.repr {
            Repr::Dense(h) => h,
            Repr::Buckets { .. } => unreachable!("made dense above"),
        }
    }

    /// Wraps a histogram read from the wire, checking it fits our range.
    pub fn from_hdr(h: Histogram<u64>) -> Self {
        // Ours (a squall generator's): use it as it is. Copying it into a
        // fresh histogram doubled a fleet coordinator's cost per report.
        if h.low() == LOWEST_US && h.high() == HIGHEST_US && h.sigfig() == SIGFIG {
            return Self {
                repr: Repr::Dense(h),
            };
        }
        let mut me = empty_hdr();
        // `add` only fails when values exceed our bounds; clamp those.
        if me.add(&h).is_err() {
            for v in h.iter_recorded() {
                me.saturating_record_n(v.value_iterated_to().min(HIGHEST_US), v.count_at_value());
            }
        }
        Self {
            repr: Repr::Dense(me),
        }
    }

    /// Records one duration, clamped to the trackable range.
    pub fn record(&mut self, d: Duration) {
        self.record_us(d.as_micros().min(u128::from(HIGHEST_US)) as u64);
    }

    /// Records one value in microseconds, clamped to the trackable range.
    pub fn record_us(&mut self, us: u64) {
        self.dense_mut()
            .saturating_record(us.clamp(LOWEST_US, HIGHEST_US));
    }

    /// `self` without the values of `other`, which must have been recorded
    /// into `self` too (the successful requests' latencies: all of them
    /// without the failed ones').
    pub fn without(&self, other: &LatencyHistogram) -> LatencyHistogram {
        let mut h = self.view().clone();
        // Counts cannot go below zero: `other` is a subset of `self`.
        let _ = h.subtract(other.view());
        LatencyHistogram {
            repr: Repr::Dense(h),
        }
    }

    /// How many values lie in `[lo_us, hi_us)` (microseconds; at the
    /// histogram's precision, a value counts by its bucket's lowest value).
    pub fn count_in(&self, lo_us: u64, hi_us: u64) -> u64 {
        let h = self.view();
        h.iter_recorded()
            .filter(|v| {
                let x = h.lowest_equivalent(v.value_iterated_to());
                x >= lo_us && x < hi_us
            })
            .map(|v| v.count_at_value())
            .sum()
    }

    /// Adds every value of `other` into `self`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        match &other.repr {
            Repr::Dense(h) => self
                .dense_mut()
                .add(h)
                .expect("histograms share the same bounds"),
            Repr::Buckets { buckets, .. } => {
                let me = self.dense_mut();
                for &(v, c) in buckets {
                    me.saturating_record_n(v, c);
                }
            }
        }
    }

    /// Number of recorded values.
    pub fn len(&self) -> u64 {
        match &self.repr {
            Repr::Dense(h) => h.len(),
            Repr::Buckets { buckets, .. } => buckets.iter().map(|(_, c)| c).sum(),
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value at a percentile in 0..=100, in microseconds (0 when empty).
    pub fn percentile(&self, p: f64) -> u64 {
        if self.is_empty() {
            return 0;
        }
        self.view().value_at_quantile(p / 100.0)
    }

    /// Largest value, in microseconds (0 when empty).
    pub fn max(&self) -> u64 {
        if self.is_empty() {
            0
        } else {
            self.view().max()
        }
    }

    /// Smallest value, in microseconds (0 when empty).
    pub fn min(&self) -> u64 {
        if self.is_empty() {
            0
        } else {
            self.view().min()
        }
    }

    /// Mean, in microseconds (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.view().mean()
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
        self.view()
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
