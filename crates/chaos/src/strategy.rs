//! Runtime strategies: when the steady-state hypothesis is checked and when
//! rollbacks are played (`runtime` block, `--hypothesis-strategy`,
//! `--rollback-strategy`).

use std::str::FromStr;

/// When the hypothesis runs relative to the method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HypothesisStrategy {
    /// Before and after the method.
    #[default]
    Default,
    /// Before the method only.
    BeforeMethodOnly,
    /// After the method only.
    AfterMethodOnly,
    /// In a loop while the method runs, only.
    DuringMethodOnly,
    /// Before, during (in a loop) and after the method.
    Continuously,
}

impl HypothesisStrategy {
    /// Whether the hypothesis runs before the method (as a gate).
    pub fn before(self) -> bool {
        matches!(
            self,
            Self::Default | Self::BeforeMethodOnly | Self::Continuously
        )
    }
    /// Whether the hypothesis runs in a loop alongside the method.
    pub fn during(self) -> bool {
        matches!(self, Self::DuringMethodOnly | Self::Continuously)
    }
    /// Whether the hypothesis runs after the method (to detect a deviation).
    pub fn after(self) -> bool {
        matches!(
            self,
            Self::Default | Self::AfterMethodOnly | Self::Continuously
        )
    }
    /// The name used on the command line and in the `runtime` block.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::BeforeMethodOnly => "before-method-only",
            Self::AfterMethodOnly => "after-method-only",
            Self::DuringMethodOnly => "during-method-only",
            Self::Continuously => "continuously",
        }
    }
}

impl FromStr for HypothesisStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "default" => Self::Default,
            "before-method-only" => Self::BeforeMethodOnly,
            "after-method-only" => Self::AfterMethodOnly,
            "during-method-only" => Self::DuringMethodOnly,
            // chaostoolkit accepts its historical misspelling too.
            "continuously" | "continously" => Self::Continuously,
            _ => return Err(format!("'{s}' is not a valid hypothesis strategy")),
        })
    }
}

/// When rollbacks are played.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RollbackStrategy {
    /// Unless the run failed or was interrupted.
    #[default]
    Default,
    /// Whatever happened.
    Always,
    /// Never.
    Never,
    /// Only when the after-method hypothesis deviated.
    Deviated,
}

impl RollbackStrategy {
    /// The name used on the command line and in the `runtime` block.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Always => "always",
            Self::Never => "never",
            Self::Deviated => "deviated",
        }
    }

    /// Reads a strategy from an experiment's `runtime` block, where chaoslib
    /// treats an unknown value as "play no rollbacks".
    pub fn from_runtime(s: &str) -> Self {
        s.parse().unwrap_or(Self::Never)
    }
}

impl FromStr for RollbackStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "default" => Self::Default,
            "always" => Self::Always,
            "never" => Self::Never,
            "deviated" => Self::Deviated,
            _ => return Err(format!("'{s}' is not a valid rollback strategy")),
        })
    }
}

/// `--dry`: which activities are not executed (and whose pauses are skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dry {
    /// Probes are not executed.
    Probes,
    /// Actions are not executed.
    Actions,
    /// No activity is executed.
    Activities,
    /// Execute everything, skip every pause.
    Pause,
}

impl Dry {
    /// The name used by `--dry` and recorded in the journal's `dry`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Probes => "probes",
            Self::Actions => "actions",
            Self::Activities => "activities",
            Self::Pause => "pause",
        }
    }

    /// Whether an activity of this type is skipped.
    pub fn skips(self, kind: &str) -> bool {
        match self {
            Self::Probes => kind == "probe",
            Self::Actions => kind == "action",
            Self::Activities => true,
            Self::Pause => false,
        }
    }

    /// Whether tolerances are not checked (the hypothesis is then always met).
    pub fn skips_tolerances(self) -> bool {
        matches!(self, Self::Probes | Self::Activities)
    }
}

impl FromStr for Dry {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "probes" => Self::Probes,
            "actions" => Self::Actions,
            "activities" => Self::Activities,
            "pause" => Self::Pause,
            _ => {
                return Err(format!(
                    "'{s}' is not a dry mode (probes, actions, activities, pause)"
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_misspelling_is_accepted() {
        for s in [
            "default",
            "before-method-only",
            "after-method-only",
            "during-method-only",
            "continuously",
        ] {
            assert_eq!(s.parse::<HypothesisStrategy>().unwrap().as_str(), s);
        }
        assert_eq!(
            "continously".parse::<HypothesisStrategy>().unwrap(),
            HypothesisStrategy::Continuously
        );
        assert!("sometimes".parse::<HypothesisStrategy>().is_err());
        assert_eq!(
            RollbackStrategy::from_runtime("bogus"),
            RollbackStrategy::Never
        );
    }
}
