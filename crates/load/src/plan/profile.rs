//! The injection profile: which model, and how load changes over time.

use serde::Deserialize;

use crate::duration::Dur;

/// How load is injected.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Arrival rate: iterations start on a schedule, whatever the responses do.
    Open,
    /// Concurrent users: each user starts its next iteration when the last one ends.
    Closed,
    /// A fixed number of iterations shared by `vus` users.
    Iterations,
}

/// The `load` section of a plan.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// The model.
    pub model: Model,
    /// Stages, run in order (open and closed models).
    #[serde(default)]
    pub stages: Vec<Stage>,
    /// Open model: the most iterations (and connections) in flight at once (default 100).
    #[serde(default)]
    pub max_vus: Option<u64>,
    /// Open model: iterations that may wait for a free user before new ones are dropped
    /// (default 10,000 + 10 x max_vus).
    #[serde(default)]
    pub max_backlog: Option<u64>,
    /// Iterations model: total iterations.
    #[serde(default)]
    pub iterations: Option<u64>,
    /// Iterations model: users sharing them (default 1).
    #[serde(default)]
    pub vus: Option<u64>,
    /// Iterations model: stop after this long even if iterations remain (default 10 min).
    #[serde(default)]
    pub max_duration: Option<Dur>,
    /// Time in-flight iterations get to finish once the plan ends (default 5 s).
    #[serde(default)]
    pub graceful_stop: Option<Dur>,
}

/// One stage. Exactly one shape:
/// - `{rate: N, for: D}`: constant arrival rate (open);
/// - `{users: N, for: D}`: constant users (closed);
/// - `{ramp_to: N, over: D, from: M}`: linear ramp of rate or users from the
///   previous stage's level (or `from`) to `N`;
/// - `{burst: N}`: N iterations at once (open).
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "RawStage")]
pub enum Stage {
    /// Constant level (rate or users) for a duration.
    Hold {
        /// Iterations per second (open) or users (closed).
        level: f64,
        /// How long.
        duration: Dur,
    },
    /// Linear change from `from` (or the previous level) to `to`.
    Ramp {
        /// Starting level; `None` continues from the previous stage.
        from: Option<f64>,
        /// Final level.
        to: f64,
        /// How long the ramp lasts.
        duration: Dur,
    },
    /// N iterations due at the same instant.
    Burst(u64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    rate: Option<f64>,
    users: Option<f64>,
    #[serde(rename = "for")]
    for_: Option<Dur>,
    ramp_to: Option<f64>,
    from: Option<f64>,
    over: Option<Dur>,
    burst: Option<u64>,
}

impl TryFrom<RawStage> for Stage {
    type Error = String;
    fn try_from(r: RawStage) -> Result<Self, String> {
        let check = |v: f64, what: &str| {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(format!("`{what}` must be a non-negative number, got {v}"))
            }
        };
        match r {
            RawStage { rate: Some(l), users: None, for_: Some(d), ramp_to: None, from: None, over: None, burst: None } => {
                Ok(Stage::Hold { level: check(l, "rate")?, duration: d })
            }
            RawStage { rate: None, users: Some(l), for_: Some(d), ramp_to: None, from: None, over: None, burst: None } => {
                if l.fract() != 0.0 {
                    return Err(format!("`users` must be a whole number, got {l}"));
                }
                Ok(Stage::Hold { level: check(l, "users")?, duration: d })
            }
            RawStage { rate: None, users: None, for_: None, ramp_to: Some(to), from, over: Some(d), burst: None } => Ok(Stage::Ramp {
                from: from.map(|f| check(f, "from")).transpose()?,
                to: check(to, "ramp_to")?,
                duration: d,
            }),
            RawStage { rate: None, users: None, for_: None, ramp_to: None, from: None, over: None, burst: Some(n) } => Ok(Stage::Burst(n)),
            _ => Err("a stage is one of {rate: N, for: D}, {users: N, for: D}, {ramp_to: N, over: D[, from: M]} or {burst: N}".into()),
        }
    }
}
