//! Per-phase accumulators: each merged second goes into the whole run and
//! into the before, during or after phase of every fault. Phases are made
//! of whole seconds: a second is `during` when it overlaps the fault for at
//! least half of the shorter of the two (so a 700 ms fault still has its
//! second), else `before` or `after` by its midpoint. Memory is bounded by
//! the number of faults, not the run's length.

use std::time::Duration;

use squall_load::CompiledPlan;
use squall_metrics::{Interval, Snapshot};

use crate::goals::Phase;
use crate::prepare::PreparedFault;

/// Accumulated figures of every phase.
pub struct PhaseBook {
    /// The whole main run.
    pub overall: Interval,
    windows: Vec<(f64, f64, String)>,
    /// Per fault: before, during, after, with their lengths.
    per_fault: Vec<[(Interval, Duration); 3]>,
}

impl PhaseBook {
    /// Empty accumulators for a plan and its faults.
    pub fn new(plan: &CompiledPlan, faults: &[PreparedFault]) -> Self {
        let empty = || {
            (
                Interval::new(&plan.request_names, &plan.check_names),
                Duration::ZERO,
            )
        };
        Self {
            overall: empty().0,
            windows: faults
                .iter()
                .map(|f| (f.at.as_secs_f64(), f.end().as_secs_f64(), f.name.clone()))
                .collect(),
            per_fault: faults.iter().map(|_| [empty(), empty(), empty()]).collect(),
        }
    }

    /// Adds one merged second.
    pub fn add(&mut self, snap: &Snapshot) {
        self.overall.merge(&snap.interval);
        let (s, e) = (
            snap.start_ms as f64 / 1000.0,
            (snap.start_ms + snap.length_ms) as f64 / 1000.0,
        );
        let mid = (s + e) / 2.0;
        let len = Duration::from_millis(snap.length_ms);
        for (i, (start, end, _)) in self.windows.iter().enumerate() {
            let k = if overlaps(s, e, *start, *end) {
                1
            } else if mid < *start {
                0
            } else {
                2
            };
            let slot = &mut self.per_fault[i][k];
            slot.0.merge(&snap.interval);
            slot.1 += len;
        }
    }

    /// A phase's figures and length (`Overall` and `Warmup` are kept elsewhere).
    pub fn get(&self, phase: Phase) -> (&Interval, Duration) {
        let (i, k) = match phase {
            Phase::Before(i) => (i, 0),
            Phase::During(i) => (i, 1),
            Phase::After(i) => (i, 2),
            Phase::Overall | Phase::Warmup => return (&self.overall, Duration::ZERO),
        };
        let (iv, len) = &self.per_fault[i][k];
        (iv, *len)
    }

    /// The schedule's phase of the second `[s, e]` (seconds since t0), for
    /// the CSV, by the rule of [`PhaseBook::add`]: `during NAME[;NAME]` when
    /// it overlaps planned windows enough, else by its midpoint `before`
    /// the first fault, `after` the last, `between` them; `main` without
    /// faults.
    pub fn schedule_phase(&self, s: f64, e: f64) -> String {
        if self.windows.is_empty() {
            return "main".into();
        }
        let during: Vec<&str> = self
            .windows
            .iter()
            .filter(|(start, end, _)| overlaps(s, e, *start, *end))
            .map(|(_, _, n)| n.as_str())
            .collect();
        if !during.is_empty() {
            return format!("during {}", during.join(";"));
        }
        let mid = (s + e) / 2.0;
        if self.windows.iter().all(|(start, _, _)| mid < *start) {
            "before".into()
        } else if self.windows.iter().all(|(_, end, _)| mid >= *end) {
            "after".into()
        } else {
            "between".into()
        }
    }

    /// Which faults are in force at `t` seconds, for the progress line.
    pub fn phase_at(&self, t: f64) -> String {
        let active: Vec<&str> = self
            .windows
            .iter()
            .filter(|(s, e, _)| t > *s && t <= *e)
            .map(|(_, _, n)| n.as_str())
            .collect();
        if active.is_empty() {
            "main".into()
        } else {
            format!("during {}", active.join(", "))
        }
    }
}

/// Whether the second `[s, e]` is `during` the window `[start, end]`: they
/// overlap for at least half of the shorter of the two.
pub(crate) fn overlaps(s: f64, e: f64, start: f64, end: f64) -> bool {
    let overlap = (e.min(end) - s.max(start)).max(0.0);
    overlap > 0.0 && overlap >= 0.5 * (e - s).min(end - start)
}
