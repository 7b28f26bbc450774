//! From what was measured to what the report says: figures per phase and
//! each goal's outcome.

use std::time::Duration;

use squall_metrics::Interval;
use squall_report::PercentilesMs;
use squall_report::run_report::{GoalRecord, PhaseFigures, QueryRecord};

use crate::event::{LiveGoal, LiveStatus};
use crate::goals::{self, Goal, Phase};
use crate::phases::PhaseBook;
use crate::prepare::{Prepared, PreparedFault};
use crate::series::SecondRow;
use crate::series_goal::{self, Window};

/// Every goal's outcome, and the figures of every phase (overall, then
/// before/during/after each fault).
pub(super) fn goals_and_phases(
    p: &Prepared,
    book: &PhaseBook,
    rows: &[SecondRow],
    baseline: Option<&(Interval, Duration)>,
    duration_s: f64,
    queries: &[QueryRecord],
) -> (Vec<GoalRecord>, Vec<PhaseFigures>) {
    let ctx = Context::new(p, book, rows, baseline, duration_s, queries);
    let names = &ctx.names;
    let records = p.goals.iter().map(|g| goal(g, &ctx)).collect();
    let mut phases = vec![figures("overall", &book.overall, duration_s)];
    for i in 0..p.faults.len() {
        for ph in [Phase::Before(i), Phase::During(i), Phase::After(i)] {
            let (iv, len) = book.get(ph);
            phases.push(figures(&ph.label(names), iv, len.as_secs_f64()));
        }
    }
    (records, phases)
}

/// Every goal judged on what was measured up to `t_s` (seconds into the
/// main run), for the live view: a goal whose window is over is
/// `settled`; one without data yet, or a recovery still within its time,
/// is pending. The verdict is still the end's evaluation, on the whole run.
pub(super) fn goals_so_far(
    p: &Prepared,
    book: &PhaseBook,
    rows: &[SecondRow],
    baseline: Option<&(Interval, Duration)>,
    t_s: f64,
) -> Vec<LiveGoal> {
    // Prometheus is asked once the run is over: such goals are pending.
    let ctx = Context::new(p, book, rows, baseline, t_s, &[]);
    p.goals
        .iter()
        .map(|g| {
            let r = goal(g, &ctx);
            let settled = match g {
                Goal::Series { .. } => false,
                Goal::Condition { phase, .. } => match *phase {
                    Phase::Warmup => true,
                    Phase::Overall | Phase::After(_) => false,
                    Phase::Before(i) => t_s >= p.faults[i].at.as_secs_f64(),
                    Phase::During(i) => t_s >= p.faults[i].end().as_secs_f64(),
                },
                Goal::Recovery { fault, within, .. } => {
                    // Found, or past its time plus the three seconds it needs.
                    let deadline =
                        p.faults[*fault].end().as_secs_f64() + within.as_secs_f64() + 3.0;
                    (!r.no_data && r.passed) || t_s >= deadline
                }
            };
            let pending = r.no_data || (matches!(g, Goal::Recovery { .. }) && !settled);
            LiveGoal {
                name: r.name,
                status: if pending {
                    LiveStatus::Pending
                } else if r.passed {
                    LiveStatus::Passing
                } else {
                    LiveStatus::Failing
                },
                settled: settled && !pending,
                observed: r.observed,
                bound: r.bound,
                detail: r.detail,
            }
        })
        .collect()
}

pub(super) fn figures(phase: &str, iv: &Interval, seconds: f64) -> PhaseFigures {
    let all = iv.overall("all");
    let failed = all.failed();
    PhaseFigures {
        phase: phase.into(),
        seconds,
        requests: all.requests,
        rps: if seconds > 0.0 {
            all.requests as f64 / seconds
        } else {
            0.0
        },
        failed,
        error_rate: if all.requests == 0 {
            0.0
        } else {
            failed as f64 / all.requests as f64
        },
        latency_ms: PercentilesMs::from(&all.latency),
    }
}

/// What goals are judged on.
struct Context<'a> {
    book: &'a PhaseBook,
    rows: &'a [SecondRow],
    faults: &'a [PreparedFault],
    /// The faults' names, for phase labels.
    names: Vec<String>,
    baseline: Option<&'a (Interval, Duration)>,
    /// The main run's length so far.
    duration_s: f64,
    queries: &'a [QueryRecord],
}

impl<'a> Context<'a> {
    fn new(
        p: &'a Prepared,
        book: &'a PhaseBook,
        rows: &'a [SecondRow],
        baseline: Option<&'a (Interval, Duration)>,
        duration_s: f64,
        queries: &'a [QueryRecord],
    ) -> Self {
        Context {
            book,
            rows,
            faults: &p.faults,
            names: p.faults.iter().map(|f| f.name.clone()).collect(),
            baseline,
            duration_s,
            queries,
        }
    }

    /// A phase as a time window, for series sampled at instants.
    fn window(&self, phase: Phase) -> Window {
        let w = |start: f64, end: f64, open_start: bool| Window {
            start,
            end,
            open_start,
        };
        match phase {
            Phase::Overall => w(0.0, self.duration_s, false),
            Phase::Warmup => w(
                -self.baseline.map_or(0.0, |(_, l)| l.as_secs_f64()),
                0.0,
                false,
            ),
            Phase::Before(i) => w(0.0, self.faults[i].at.as_secs_f64(), false),
            Phase::During(i) => w(
                self.faults[i].at.as_secs_f64(),
                self.faults[i].end().as_secs_f64(),
                true,
            ),
            Phase::After(i) => w(self.faults[i].end().as_secs_f64(), self.duration_s, true),
        }
    }
}

/// A goal's outcome as the report writes it.
fn record(name: &str, phase: String, condition: String, r: goals::GoalResult) -> GoalRecord {
    GoalRecord {
        name: name.to_string(),
        phase,
        condition,
        observed: r.observed,
        bound: r.bound,
        passed: r.passed,
        no_data: r.no_data,
        detail: r.detail,
    }
}

fn goal(g: &Goal, ctx: &Context<'_>) -> GoalRecord {
    let Context {
        book,
        rows,
        faults,
        baseline,
        duration_s,
        ..
    } = *ctx;
    let names = &ctx.names;
    match g {
        Goal::Series {
            name,
            phase,
            query,
            condition,
            relative,
            written,
        } => {
            let series = ctx.queries.iter().find(|q| q.name == *query);
            let baseline_window = relative.map(|_| ctx.window(Phase::Warmup));
            let r = series_goal::evaluate(
                condition,
                *relative,
                series,
                ctx.window(*phase),
                baseline_window,
            );
            record(name, phase.label(names), written.clone(), r)
        }
        Goal::Condition {
            name,
            phase,
            threshold,
            relative,
            written,
        } => {
            let (iv, len) = match phase {
                Phase::Warmup => baseline.map(|(i, l)| (i, *l)).expect("checked at prepare"),
                Phase::Overall => (&book.overall, Duration::from_secs_f64(duration_s)),
                other => book.get(*other),
            };
            let r = goals::evaluate_condition(
                threshold,
                *relative,
                iv,
                len,
                baseline.map(|(i, l)| (i, *l)),
            );
            record(name, phase.label(names), written.clone(), r)
        }
        Goal::Recovery {
            name,
            fault,
            metric,
            band,
            within,
        } => {
            let f = &faults[*fault];
            let base = match baseline {
                Some((iv, _)) => SecondRow::summary_value(iv, *metric),
                None => SecondRow::summary_value(book.get(Phase::Before(*fault)).0, *metric),
            };
            let r = goals::evaluate_recovery(
                rows,
                f.end().as_secs_f64(),
                base,
                *metric,
                *band,
                *within,
            );
            record(
                name,
                format!("recovery after {}", f.name),
                format!("within {}", humantime::format_duration(*within)),
                r,
            )
        }
    }
}
