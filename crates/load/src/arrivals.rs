//! Arrivals given per scenario and per second (`scenarios[].arrivals`):
//! each entry is how many iterations of that scenario start in that
//! second, spread evenly over it, exactly as Gatling's
//! `rampUsers(n).during(1 s)` per row of a user-steps file.
//!
//! The open model runs one schedule: second `s` holds the sum `T_s` of
//! every scenario's entry, as a constant rate `T_s` for one second, so its
//! arrivals are due at `s + j / T_s`. Which scenario arrival `k` runs is
//! fixed in advance (smooth weighted round-robin over that second's counts),
//! so each scenario gets exactly its count in each second, interleaved
//! evenly, whatever thread, segment or fleet member starts the arrival.

use std::time::Duration;

use crate::duration::Dur;
use crate::plan::Stage;

/// The most arrivals a plan may give this way: the scenario of each is
/// kept in memory (2 bytes each).
pub const MAX_ARRIVALS: u64 = 10_000_000;

/// The most scenarios that can share arrivals (the index is kept in 2 bytes).
pub const MAX_SCENARIOS: usize = u16::MAX as usize;

/// Total arrivals over every scenario and second.
pub fn total(per_scenario: &[&[u32]]) -> u64 {
    per_scenario
        .iter()
        .flat_map(|a| a.iter())
        .map(|n| u64::from(*n))
        .sum()
}

fn seconds(per_scenario: &[&[u32]]) -> usize {
    per_scenario.iter().map(|a| a.len()).max().unwrap_or(0)
}

fn count(per_scenario: &[&[u32]], i: usize, s: usize) -> u32 {
    per_scenario[i].get(s).copied().unwrap_or(0)
}

/// The open-model stages of the summed arrivals: one constant-rate stage
/// per run of seconds with the same total.
pub fn stages(per_scenario: &[&[u32]]) -> Vec<Stage> {
    let mut out: Vec<Stage> = Vec::new();
    for s in 0..seconds(per_scenario) {
        let level = (0..per_scenario.len())
            .map(|i| f64::from(count(per_scenario, i, s)))
            .sum::<f64>();
        match out.last_mut() {
            Some(Stage::Hold { level: l, duration }) if *l == level => {
                *duration = Dur(duration.get() + Duration::from_secs(1));
            }
            _ => out.push(Stage::Hold {
                level,
                duration: Dur(Duration::from_secs(1)),
            }),
        }
    }
    out
}

/// The scenario of every arrival, in arrival order.
pub fn scenario_of_arrivals(per_scenario: &[&[u32]]) -> Vec<u16> {
    let mut out = Vec::with_capacity(total(per_scenario) as usize);
    let n = per_scenario.len();
    let mut current = vec![0i64; n];
    for s in 0..seconds(per_scenario) {
        let counts: Vec<i64> = (0..n)
            .map(|i| i64::from(count(per_scenario, i, s)))
            .collect();
        let t: i64 = counts.iter().sum();
        current.iter_mut().for_each(|c| *c = 0);
        for _ in 0..t {
            let mut best = 0;
            for i in 0..n {
                current[i] += counts[i];
                if current[i] > current[best] {
                    best = i;
                }
            }
            current[best] -= t;
            out.push(best as u16);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::ArrivalSchedule;

    #[test]
    fn every_second_holds_its_counts_spread_evenly() {
        let a: &[u32] = &[3, 0, 1];
        let b: &[u32] = &[1, 0, 1, 2];
        let per = [a, b];
        assert_eq!(total(&per), 8);
        let sched = ArrivalSchedule::new(&stages(&per));
        let times: Vec<f64> = (0..8)
            .map(|k| sched.time_of(k).unwrap().as_secs_f64())
            .collect();
        let want = [0.0, 0.25, 0.5, 0.75, 2.0, 2.5, 3.0, 3.5];
        for (t, w) in times.iter().zip(want) {
            assert!((t - w).abs() < 1e-6, "{times:?}");
        }
        assert!(sched.time_of(8).is_none(), "exactly the total");
        let who = scenario_of_arrivals(&per);
        assert_eq!(who, vec![0, 0, 1, 0, 0, 1, 1, 1]);
        // Each second gives each scenario exactly its count.
        assert_eq!(who[..4].iter().filter(|s| **s == 0).count(), 3);
    }

    #[test]
    fn equal_seconds_share_one_stage() {
        let a: &[u32] = &[2, 2, 2, 0, 0];
        assert_eq!(stages(&[a]).len(), 2);
    }
}
