//! The per-second merge of a fleet's reports.
//!
//! Each member sends its seconds in order; second `k` is *sealed* (merged
//! and handed on) once every member has sent it, has ended before it, or
//! was lost. Percentiles therefore come from the union of the members'
//! histograms, never from averaging percentiles, and totals are the sum of
//! the sealed seconds.

use std::collections::BTreeMap;

use squall_metrics::{Interval, Snapshot};

/// What the merger knows of one member.
#[derive(Clone, Debug, Default)]
pub struct Member {
    /// Highest second received (they arrive in order).
    pub through: Option<u64>,
    /// The member ended after this many seconds.
    pub done_after: Option<u64>,
    /// The member was lost: it holds no second back any more.
    pub lost: bool,
}

impl Member {
    /// Seconds received so far.
    pub fn received(&self) -> u64 {
        self.through.map_or(0, |t| t + 1)
    }

    fn holds_back(&self, k: u64) -> bool {
        !self.lost && self.received() <= k && self.done_after.is_none_or(|n| n > k)
    }

    /// Nothing more is expected from this member.
    pub fn finished(&self) -> bool {
        self.lost || self.done_after.is_some_and(|n| self.received() >= n)
    }
}

/// Why a second was not taken.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Already stored (a resend after a lost acknowledgement).
    #[error("second {0} was already received")]
    Duplicate(u64),
    /// Seconds before it are missing.
    #[error("second {got} arrived before second {expected}")]
    Gap {
        /// What arrived.
        got: u64,
        /// What was expected.
        expected: u64,
    },
}

/// Merges members' seconds and seals them in order.
#[derive(Debug)]
pub struct Merger {
    members: Vec<Member>,
    pending: BTreeMap<u64, Snapshot>,
    next: u64,
    names: Interval,
}

impl Merger {
    /// A merger for `members` producers; `names` is an empty interval with
    /// the plan's request and check names, so sealed seconds list every
    /// name in the plan's order.
    pub fn new(members: usize, names: Interval) -> Self {
        Self {
            members: vec![Member::default(); members],
            pending: BTreeMap::new(),
            next: 0,
            names,
        }
    }

    /// One member's state.
    pub fn member(&self, m: usize) -> &Member {
        &self.members[m]
    }

    /// Takes member `m`'s next second.
    pub fn accept(&mut self, m: usize, snap: &Snapshot) -> Result<(), Refused> {
        let member = &mut self.members[m];
        let expected = member.received();
        if snap.second < expected {
            return Err(Refused::Duplicate(snap.second));
        }
        if snap.second > expected {
            return Err(Refused::Gap {
                got: snap.second,
                expected,
            });
        }
        member.through = Some(snap.second);
        let names = &self.names;
        let slot = self.pending.entry(snap.second).or_insert_with(|| Snapshot {
            second: snap.second,
            start_ms: snap.second * 1000,
            interval: names.empty_like(),
            ..Snapshot::default()
        });
        slot.interval.merge(&snap.interval);
        slot.length_ms = slot.length_ms.max(snap.length_ms);
        slot.vus += snap.vus;
        slot.in_flight += snap.in_flight;
        slot.utilization = slot.utilization.max(snap.utilization);
        Ok(())
    }

    /// Member `m` ended after `seconds` seconds.
    pub fn done(&mut self, m: usize, seconds: u64) {
        self.members[m].done_after = Some(seconds);
    }

    /// Member `m` is lost: what it sent stays, nothing more is waited for.
    pub fn lose(&mut self, m: usize) {
        self.members[m].lost = true;
    }

    /// Every member finished (ended with all its seconds in, or lost).
    pub fn complete(&self) -> bool {
        self.members.iter().all(Member::finished)
    }

    /// The seconds sealed since the last call, in order; once
    /// [`Merger::complete`], every second still pending.
    pub fn seal(&mut self) -> Vec<Snapshot> {
        let mut out = Vec::new();
        let complete = self.complete();
        loop {
            let k = self.next;
            if !complete && self.members.iter().any(|m| m.holds_back(k)) {
                break;
            }
            match self.pending.remove(&k) {
                Some(s) => out.push(s),
                None if complete => match self.pending.keys().next() {
                    // A second no member sent (all lost then): skip to the next one held.
                    Some(&later) => {
                        self.next = later;
                        continue;
                    }
                    None => break,
                },
                None => {
                    // No member holds it back and none sent it: only possible
                    // once the members that could have are lost or done.
                    if self.pending.is_empty() {
                        break;
                    }
                }
            }
            self.next = k + 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Interval {
        Interval::new(&["home".to_string()], &[])
    }

    fn snap(second: u64, requests: u64, latency_us: u64) -> Snapshot {
        let mut iv = names();
        iv.requests[0].requests = requests;
        for _ in 0..requests {
            iv.requests[0].latency.record_us(latency_us);
        }
        Snapshot {
            second,
            start_ms: second * 1000,
            length_ms: 1000,
            interval: iv,
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_second_is_sealed_when_every_member_sent_it() {
        let mut m = Merger::new(2, names());
        m.accept(0, &snap(0, 3, 100)).unwrap();
        assert!(m.seal().is_empty());
        m.accept(1, &snap(0, 4, 200)).unwrap();
        let s = m.seal();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].interval.requests[0].requests, 7);
        assert_eq!(s[0].interval.requests[0].latency.len(), 7);
    }

    #[test]
    fn duplicates_and_gaps_are_refused() {
        let mut m = Merger::new(1, names());
        m.accept(0, &snap(0, 1, 1)).unwrap();
        assert_eq!(m.accept(0, &snap(0, 1, 1)), Err(Refused::Duplicate(0)));
        assert_eq!(
            m.accept(0, &snap(2, 1, 1)),
            Err(Refused::Gap {
                got: 2,
                expected: 1
            })
        );
        assert_eq!(m.seal().len(), 1);
    }

    #[test]
    fn a_lost_member_stops_holding_seconds_back_but_its_seconds_count() {
        let mut m = Merger::new(2, names());
        m.accept(0, &snap(0, 1, 1)).unwrap();
        m.accept(1, &snap(0, 2, 1)).unwrap();
        m.accept(0, &snap(1, 1, 1)).unwrap();
        m.accept(0, &snap(2, 1, 1)).unwrap();
        assert_eq!(m.seal().len(), 1);
        m.lose(1);
        let s = m.seal();
        assert_eq!(s.iter().map(|s| s.second).collect::<Vec<_>>(), vec![1, 2]);
        m.done(0, 3);
        assert!(m.complete());
        assert!(m.seal().is_empty());
    }

    #[test]
    fn a_member_that_ended_early_does_not_hold_later_seconds() {
        let mut m = Merger::new(2, names());
        m.accept(0, &snap(0, 1, 1)).unwrap();
        m.done(0, 1);
        m.accept(1, &snap(0, 1, 1)).unwrap();
        m.accept(1, &snap(1, 5, 1)).unwrap();
        let s = m.seal();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].interval.requests[0].requests, 5);
        assert!(!m.complete());
        m.done(1, 2);
        assert!(m.complete());
    }

    #[test]
    fn merged_percentiles_are_those_of_the_union() {
        let mut m = Merger::new(3, names());
        let mut union = names();
        for g in 0..3u64 {
            let mut s = snap(0, 0, 0);
            for v in 0..500u64 {
                let us = 50 + (v * v * (g + 1)) % 90_000;
                s.interval.requests[0].latency.record_us(us);
                union.requests[0].latency.record_us(us);
            }
            m.accept(g as usize, &s).unwrap();
        }
        let merged = m.seal().remove(0);
        assert_eq!(
            merged.interval.requests[0].latency.percentiles(),
            union.requests[0].latency.percentiles()
        );
    }
}
