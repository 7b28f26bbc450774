//! Everything recorded during one time slice, by one or many producers.

use serde::{Deserialize, Serialize};

use crate::{LatencyHistogram, RequestStats};

/// Iteration (scenario run) counters.
///
/// An iteration is *late* when it started more than [`LATE_AFTER_US`] after
/// its intended start, and *dropped* when the generator gave up on it because
/// no virtual user was free and the backlog was full.
#[derive(Clone, Debug, Default)]
pub struct IterationStats {
    /// Iterations that began executing.
    pub started: u64,
    /// Iterations that ran to their end (whatever their requests' outcome).
    pub completed: u64,
    /// Iterations cut short by wind-down or interruption.
    pub interrupted: u64,
    /// Iterations that started late (open model only).
    pub late: u64,
    /// Iterations never started (open model only).
    pub dropped: u64,
    /// Iteration duration, from intended start to the end of the last step.
    pub duration: LatencyHistogram,
    /// Start delay: actual start minus intended start (open model only).
    pub start_lag: LatencyHistogram,
}

/// Threshold of lateness, in microseconds, above which an iteration counts as late.
pub const LATE_AFTER_US: u64 = 10_000;

/// Pass/fail counts of one named check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckStats {
    /// Check name, e.g. `home: status == 200`.
    pub name: String,
    /// Times the check held.
    pub passes: u64,
    /// Times the check failed.
    pub fails: u64,
}

/// Measurements of one time slice.
///
/// Request and check stats are kept in vectors indexed by the ids the plan
/// assigned, so recording on the hot path is an index, not a map lookup.
/// Merging matches entries by name, so intervals from producers that
/// numbered differently still add up.
#[derive(Clone, Debug, Default)]
pub struct Interval {
    /// Per request name.
    pub requests: Vec<RequestStats>,
    /// Per check.
    pub checks: Vec<CheckStats>,
    /// Iteration counters.
    pub iterations: IterationStats,
}

impl Interval {
    /// An empty interval with one slot per request name and check name.
    pub fn new(request_names: &[String], check_names: &[String]) -> Self {
        Self {
            requests: request_names.iter().map(RequestStats::new).collect(),
            checks: check_names
                .iter()
                .map(|n| CheckStats {
                    name: n.clone(),
                    ..CheckStats::default()
                })
                .collect(),
            iterations: IterationStats::default(),
        }
    }

    /// The same names, with every counter at zero.
    pub fn empty_like(&self) -> Self {
        let names: Vec<String> = self.requests.iter().map(|r| r.name.clone()).collect();
        let checks: Vec<String> = self.checks.iter().map(|c| c.name.clone()).collect();
        Self::new(&names, &checks)
    }

    /// Adds `other` into `self`, matching requests and checks by name.
    pub fn merge(&mut self, other: &Interval) {
        for (i, r) in other.requests.iter().enumerate() {
            match self.requests.get_mut(i).filter(|s| s.name == r.name) {
                Some(mine) => mine.merge(r),
                None => match self.requests.iter_mut().find(|s| s.name == r.name) {
                    Some(mine) => mine.merge(r),
                    None => self.requests.push(r.clone()),
                },
            }
        }
        for c in &other.checks {
            match self.checks.iter_mut().find(|s| s.name == c.name) {
                Some(mine) => {
                    mine.passes += c.passes;
                    mine.fails += c.fails;
                }
                None => self.checks.push(c.clone()),
            }
        }
        let (a, b) = (&mut self.iterations, &other.iterations);
        a.started += b.started;
        a.completed += b.completed;
        a.interrupted += b.interrupted;
        a.late += b.late;
        a.dropped += b.dropped;
        a.duration.merge(&b.duration);
        a.start_lag.merge(&b.start_lag);
    }

    /// All request names merged into one, named `name`.
    pub fn overall(&self, name: &str) -> RequestStats {
        let mut all = RequestStats::new(name);
        for r in &self.requests {
            all.merge(r);
        }
        all
    }

    /// Finds the stats of a request name.
    pub fn request(&self, name: &str) -> Option<&RequestStats> {
        self.requests.iter().find(|r| r.name == name)
    }

    /// Total check passes and fails.
    pub fn check_totals(&self) -> (u64, u64) {
        self.checks
            .iter()
            .fold((0, 0), |(p, f), c| (p + c.passes, f + c.fails))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn merge_matches_by_name_even_when_numbered_differently() {
        let mut a = Interval::new(&names(&["home", "cart"]), &names(&["ok"]));
        let mut b = Interval::new(&names(&["cart", "home", "pay"]), &names(&["ok", "x"]));
        a.requests[0].requests = 1;
        b.requests[1].requests = 2;
        b.requests[2].requests = 5;
        b.checks[0].passes = 3;
        b.iterations.dropped = 4;
        a.merge(&b);
        assert_eq!(a.request("home").unwrap().requests, 3);
        assert_eq!(a.request("pay").unwrap().requests, 5);
        assert_eq!(a.checks.len(), 2);
        assert_eq!(a.check_totals(), (3, 0));
        assert_eq!(a.iterations.dropped, 4);
        assert_eq!(a.overall("all").requests, 8);
    }
}
