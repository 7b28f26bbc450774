//! What the runner reports while it runs. The library emits these; the
//! binary turns them into the console log (`[time INFO] Action: ...`).

/// Where an activity runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Hypothesis,
    Method,
    Rollback,
    Tolerance,
}

/// Something the console log should show.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        title: String,
    },
    Strategies {
        hypothesis: &'static str,
        rollbacks: &'static str,
    },
    NoHypothesis,
    HypothesisStarted {
        title: String,
    },
    /// An activity starts: `kind` is `probe` or `action`.
    Activity {
        phase: Phase,
        kind: String,
        name: String,
        background: bool,
    },
    ActivityFailed {
        name: String,
        reason: String,
    },
    Warning(String),
    /// The hypothesis or method stopped on a bug in squall (a panic); the
    /// rollbacks still ran and the run's status is `failed`.
    InternalError(String),
    /// A pause before or after an activity.
    Pause {
        when: &'static str,
        seconds: String,
    },
    HypothesisMet,
    /// The hypothesis is not met; `probe` is the last probe evaluated.
    HypothesisNotMet {
        probe: String,
        during: bool,
    },
    MethodStarted,
    ContinuousStarted {
        frequency: f64,
    },
    RollbacksStarted,
    NoRollbacks {
        why: String,
    },
    Interrupted,
    Aborted {
        reason: String,
    },
    Ended {
        status: String,
        deviated: bool,
    },
}
