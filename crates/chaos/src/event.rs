//! What the runner reports while it runs. The library emits these; the
//! binary turns them into the console log (`[time INFO] Action: ...`).

/// Where an activity runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A probe of the steady-state hypothesis.
    Hypothesis,
    /// An activity of the experiment's method.
    Method,
    /// An action of the experiment's rollbacks.
    Rollback,
    /// A `type: probe` tolerance, run to judge a hypothesis probe's output.
    Tolerance,
}

/// Something the console log should show.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The run begins (configuration, secrets and dynamic values are loaded).
    Started {
        /// The experiment's title, substituted and rendered as Python's `str()`.
        title: String,
    },
    /// The strategies in effect, reported right after [`Event::Started`].
    Strategies {
        /// The hypothesis strategy's name (`default`, `continuously`, ...).
        hypothesis: &'static str,
        /// The rollback strategy's name (`default`, `always`, `never`, `deviated`).
        rollbacks: &'static str,
    },
    /// The experiment has no steady-state hypothesis probes: none is checked.
    NoHypothesis,
    /// A run of the steady-state hypothesis begins, before or after the method.
    HypothesisStarted {
        /// The hypothesis's `title`.
        title: String,
    },
    /// An activity starts: `kind` is `probe` or `action`.
    Activity {
        /// The part of the experiment the activity belongs to.
        phase: Phase,
        /// The activity's `type` (`activity` when it has none).
        kind: String,
        /// The activity's `name`.
        name: String,
        /// Whether it runs in the background (`background: true`).
        background: bool,
    },
    /// An activity failed with chaoslib's `ActivityFailed`: it is recorded as
    /// `failed` in the journal and the run goes on.
    ActivityFailed {
        /// The activity's `name`.
        name: String,
        /// The failure message, as recorded in the entry's `exception`.
        reason: String,
    },
    /// A problem that does not stop the run (an HTTP error status or non-zero
    /// exit without a tolerance, ignored controls, a rollback error, ...).
    Warning(String),
    /// The hypothesis or method stopped on a bug in squall (a panic); the
    /// rollbacks still ran and the run's status is `failed`.
    InternalError(String),
    /// A pause before or after an activity.
    Pause {
        /// `before` or `after` the activity.
        when: &'static str,
        /// The pause's duration as written (after substitution), in seconds.
        seconds: String,
    },
    /// Every probe of a hypothesis run was within its tolerance.
    HypothesisMet,
    /// The hypothesis is not met; `probe` is the last probe evaluated.
    HypothesisNotMet {
        /// The `name` of the probe that failed or was out of tolerance.
        probe: String,
        /// Whether this run was one of the hypothesis loop during the method
        /// (a warning) rather than before or after it (critical).
        during: bool,
    },
    /// The method starts (the hypothesis before it, if any, was met).
    MethodStarted,
    /// The hypothesis loop starts alongside the method (`during-method-only`
    /// or `continuously`).
    ContinuousStarted {
        /// Seconds between two hypothesis runs.
        frequency: f64,
    },
    /// The rollbacks are about to be played.
    RollbacksStarted,
    /// No rollbacks are played (strategy, failure, interruption or SIGUSR2).
    NoRollbacks {
        /// Why, as a phrase for the log (e.g. `the experiment did not deviate`).
        why: String,
    },
    /// The run was interrupted (Ctrl-C, SIGTERM); reported before the rollbacks.
    Interrupted,
    /// The run is aborted: an error other than `ActivityFailed`, or a
    /// tolerance that Python would refuse to compare.
    Aborted {
        /// The error message.
        reason: String,
    },
    /// The run is over, rollbacks included.
    Ended {
        /// The journal's `status` (`completed`, `failed`, `aborted`, `interrupted`).
        status: String,
        /// The journal's `deviated`: the hypothesis after the method was not met.
        deviated: bool,
    },
}
