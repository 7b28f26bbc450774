//! Splitting a plan into exact shares: fleet segments, then worker threads.
//!
//! Two levels, each exact on its own, so a generator never needs to know how
//! many threads the other generators run:
//! - segment `i/n` of a fleet takes arrival `k` when `k % n == i`, and
//!   `floor(q*(i+1)/n) - floor(q*i/n)` of any integer quantity `q`
//!   (users, iterations, connection caps);
//! - inside a generator, thread `w` of `W` applies the same rules to the
//!   segment's own sequence. The shares of every level add up to the whole
//!   with no rounding loss.

use std::fmt;
use std::str::FromStr;

/// One segment of a fleet: `index` (0-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Zero-based index.
    pub index: u64,
    /// Number of segments.
    pub count: u64,
}

impl Segment {
    /// The whole plan.
    pub const WHOLE: Segment = Segment { index: 0, count: 1 };

    /// This share of an integer quantity; shares of all segments sum to `q`.
    pub fn split(self, q: u64) -> u64 {
        let n = u128::from(self.count);
        let i = u128::from(self.index);
        let q = u128::from(q);
        ((q * (i + 1)) / n - (q * i) / n) as u64
    }

    /// True when arrival `k` of the parent sequence belongs to this share.
    pub fn owns(self, k: u64) -> bool {
        k % self.count == self.index
    }

    /// Index of arrival `k` in this share's own sequence (when it owns it).
    pub fn local(self, k: u64) -> u64 {
        k / self.count
    }

    /// The `j`-th arrival of this share, as an index of the parent sequence.
    pub fn global(self, j: u64) -> u64 {
        j * self.count + self.index
    }
}

impl FromStr for Segment {
    type Err = String;
    /// Parses `i/n` with `1 <= i <= n` (1-based, as people count generators).
    fn from_str(s: &str) -> Result<Self, String> {
        let err = || format!("invalid segment {s:?}: expected i/n with 1 <= i <= n, e.g. 2/4");
        let (i, n) = s.split_once('/').ok_or_else(err)?;
        let i: u64 = i.trim().parse().map_err(|_| err())?;
        let n: u64 = n.trim().parse().map_err(|_| err())?;
        if n == 0 || i == 0 || i > n {
            return Err(err());
        }
        Ok(Segment {
            index: i - 1,
            count: n,
        })
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

/// A worker thread's share: a thread-level split of a fleet segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    /// The generator's fleet segment.
    pub segment: Segment,
    /// The thread's split of that segment.
    pub thread: Segment,
}

impl Share {
    /// This thread's share of an integer quantity of the whole plan.
    pub fn split(self, q: u64) -> u64 {
        self.thread.split(self.segment.split(q))
    }

    /// Global arrival index of this thread's `j`-th arrival.
    pub fn arrival(self, j: u64) -> u64 {
        self.segment.global(self.thread.global(j))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_based() {
        assert_eq!(
            "2/4".parse::<Segment>().unwrap(),
            Segment { index: 1, count: 4 }
        );
        assert!("0/4".parse::<Segment>().is_err());
        assert!("5/4".parse::<Segment>().is_err());
        assert!("x".parse::<Segment>().is_err());
    }

    #[test]
    fn integer_shares_add_up_exactly() {
        for n in 1..=7u64 {
            for q in [0u64, 1, 2, 3, 10, 99, 1000, 1001, u32::MAX as u64] {
                let total: u64 = (0..n)
                    .map(|i| Segment { index: i, count: n }.split(q))
                    .sum();
                assert_eq!(total, q, "q={q} n={n}");
                let shares: Vec<u64> = (0..n)
                    .map(|i| Segment { index: i, count: n }.split(q))
                    .collect();
                let (lo, hi) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
                assert!(hi - lo <= 1, "unbalanced {shares:?}");
            }
        }
    }

    #[test]
    fn two_levels_partition_arrivals_and_quantities() {
        let n = 3;
        let threads = [1u64, 2, 4];
        let mut seen = vec![0u32; 600];
        let mut users = 0;
        for i in 0..n {
            let segment = Segment { index: i, count: n };
            let w_count = threads[i as usize];
            for w in 0..w_count {
                let share = Share {
                    segment,
                    thread: Segment {
                        index: w,
                        count: w_count,
                    },
                };
                users += share.split(101);
                let mut j = 0;
                while share.arrival(j) < 600 {
                    seen[share.arrival(j) as usize] += 1;
                    j += 1;
                }
            }
        }
        assert_eq!(users, 101);
        assert!(seen.iter().all(|&c| c == 1), "every arrival exactly once");
    }
}
