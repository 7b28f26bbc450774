//! How a run ended, the exit code that goes with it, and the plain-text
//! summary people read first.

use std::fmt::Write;
use std::path::Path;

use squall_report::run_report::RunReport;

use crate::run::Measured;

/// Exit codes of `squall run` and `squall demo` (documented in docs/run.md).
pub mod exit {
    /// Every goal held (and the hypothesis, when there is one).
    pub const PASSED: u8 = 0;
    /// At least one goal failed.
    pub const GOALS_FAILED: u8 = 3;
    /// The steady-state hypothesis deviated.
    pub const DEVIATED: u8 = 4;
    /// An abort condition ended the run.
    pub const ABORTED: u8 = 5;
    /// A fault could not be applied when it was due: the run did not test
    /// what the experiment describes, so its figures judge nothing.
    pub const INVALID: u8 = 6;
    /// Ctrl-C or SIGTERM ended the run.
    pub const INTERRUPTED: u8 = 130;
}

/// The run's verdict, most serious first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Stopped by a person.
    Interrupted,
    /// A fault was refused or failed when it was due.
    Invalid,
    /// Stopped by an abort condition.
    Aborted,
    /// The hypothesis did not hold.
    Deviated,
    /// A goal failed or had no data.
    GoalsFailed,
    /// The run completed but the experiment has no goals: nothing was checked.
    NoGoals,
    /// Everything held.
    Passed,
}

impl Verdict {
    /// The verdict of measured results.
    pub fn of(m: &Measured) -> Self {
        let deviated = m.journal.as_ref().is_some_and(crate::chaos_part::deviated);
        if m.interrupted {
            Verdict::Interrupted
        } else if !m.invalid_because.is_empty() {
            Verdict::Invalid
        } else if deviated {
            Verdict::Deviated
        } else if m.ended_early.is_some() {
            Verdict::Aborted
        } else if m.goals.iter().any(|g| !g.passed) {
            Verdict::GoalsFailed
        } else if m.goals.is_empty() && m.journal.is_none() {
            Verdict::NoGoals
        } else {
            Verdict::Passed
        }
    }

    /// As written in reports.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Interrupted => "interrupted",
            Verdict::Invalid => "invalid",
            Verdict::Aborted => "aborted",
            Verdict::Deviated => "hypothesis deviated",
            Verdict::GoalsFailed => "goals failed",
            Verdict::NoGoals => "no goals",
            Verdict::Passed => "passed",
        }
    }

    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Interrupted => exit::INTERRUPTED,
            Verdict::Invalid => exit::INVALID,
            Verdict::Aborted => exit::ABORTED,
            Verdict::Deviated => exit::DEVIATED,
            Verdict::GoalsFailed => exit::GOALS_FAILED,
            Verdict::NoGoals | Verdict::Passed => exit::PASSED,
        }
    }
}

/// The summary printed at the end and written to `summary.txt`.
pub fn summary_text(r: &RunReport, dir: &Path) -> String {
    let mut o = String::new();
    let held = r.goals.iter().filter(|g| g.passed).count();
    if r.goals.is_empty() {
        let _ = writeln!(
            o,
            "{}: {} (the experiment has no goals; nothing was checked)",
            r.title,
            r.verdict.to_uppercase()
        );
    } else {
        let _ = writeln!(
            o,
            "{}: {} ({held}/{} goals held)",
            r.title,
            r.verdict.to_uppercase(),
            r.goals.len()
        );
    }
    for why in &r.invalid_because {
        let _ = writeln!(
            o,
            "invalid: {why}; the run did not test what the experiment describes"
        );
    }
    if let Some(e) = &r.ended_early {
        let _ = writeln!(o, "ended early: {e}");
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<24} {:>7} {:>9} {:>8} {:>9} {:>9} {:>9}",
        "phase", "secs", "requests", "errors", "p50 ms", "p95 ms", "p99 ms"
    );
    for p in r.warmup.iter().chain(r.phases.iter()) {
        let _ = writeln!(
            o,
            "{:<24} {:>7.1} {:>9} {:>7.2}% {:>9.2} {:>9.2} {:>9.2}",
            cut(&p.phase, 24),
            p.seconds,
            p.requests,
            p.error_rate * 100.0,
            p.latency_ms.p50,
            p.latency_ms.p95,
            p.latency_ms.p99
        );
    }
    if !r.faults.is_empty() {
        let _ = writeln!(o);
        for f in &r.faults {
            let applied = match (f.injected_s, f.reverted_s) {
                (Some(a), Some(b)) => format!("applied {a:.3}s-{b:.3}s"),
                (Some(a), None) => format!("applied {a:.3}s, ended by its lease"),
                _ => "not applied".into(),
            };
            let _ = writeln!(
                o,
                "fault {:<20} {} on {}: planned {:.1}s-{:.1}s, {applied}{}",
                f.name,
                f.kind,
                f.target,
                f.planned_start_s,
                f.planned_end_s,
                f.error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            );
        }
    }
    if !r.goals.is_empty() {
        let _ = writeln!(o);
        for g in &r.goals {
            let _ = writeln!(
                o,
                "{:<7} {:<34} {:<22} {} (measured {}, bound {:.3})",
                g.result_label(),
                cut(&g.name, 34),
                cut(&g.phase, 22),
                g.condition,
                g.observed
                    .map(|v| format!("{v:.3}"))
                    .unwrap_or_else(|| "-".into()),
                g.bound
            );
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "report: {}", dir.join("report.html").display());
    o
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('~');
        t
    }
}
