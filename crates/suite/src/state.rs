//! Where a suite run stands, written to the store after every transition
//! (`state.json`), so `squall suite resume` knows what is done, what a
//! crash cut short and what is left.

use serde::{Deserialize, Serialize};

use crate::spec::{OnFailure, OnInterrupt};

/// The suite run as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuiteStatus {
    /// Experiments are running (or the process running them died).
    Running,
    /// Every experiment passed.
    Passed,
    /// At least one failed, could not run, or was skipped after a failure.
    Failed,
    /// Stopped by the operator (Ctrl-C); `resume` goes on.
    Interrupted,
}

/// One experiment of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    /// Not started.
    Pending,
    /// Started; if the suite is not running any more, a crash cut it short.
    Running,
    /// Ran and every goal held.
    Passed,
    /// Ran and a goal failed (or the hypothesis deviated, or it aborted).
    Failed,
    /// Could not run (invalid, unreachable, source unreadable).
    Error,
    /// Stopped by the operator or cut short by a crash.
    Interrupted,
    /// Not run: an earlier experiment failed and the suite stops on failure.
    Skipped,
}

impl SuiteStatus {
    /// As written in `state.json` and shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }
}

impl ItemStatus {
    /// As written in `state.json` and shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Error => "error",
            Self::Interrupted => "interrupted",
            Self::Skipped => "skipped",
        }
    }

    /// Done for good: a resumed suite does not run it again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Passed | Self::Failed | Self::Error | Self::Skipped
        )
    }
}

/// One attempt of an experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Attempt {
    /// 1, 2, ...
    pub number: u32,
    /// How it ended (`running` while it runs).
    pub status: ItemStatus,
    /// The run's verdict (`passed`, `goals failed`...), once it ended.
    #[serde(default)]
    pub verdict: Option<String>,
    /// `squall run`'s exit code for it.
    #[serde(default)]
    pub exit_code: Option<u8>,
    /// Why it could not run, or was cut short.
    #[serde(default)]
    pub error: Option<String>,
    /// Unix ms.
    pub started_ms: u64,
    /// Unix ms.
    #[serde(default)]
    pub ended_ms: Option<u64>,
    /// Where its files are in the store (`items/01-checkout/attempt-1/`).
    #[serde(default)]
    pub stored_at: Option<String>,
}

/// One experiment's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ItemState {
    /// Position, from 1.
    pub index: usize,
    /// Name.
    pub name: String,
    /// Where it is read from.
    pub source: String,
    /// Where it stands.
    pub status: ItemStatus,
    /// Every attempt, oldest first.
    #[serde(default)]
    pub attempts: Vec<Attempt>,
}

impl ItemState {
    /// The folder of its files in the store (`items/01-checkout`).
    pub fn folder(&self) -> String {
        format!("items/{:02}-{}", self.index, self.name)
    }

    /// The attempt that counts (the last).
    pub fn last(&self) -> Option<&Attempt> {
        self.attempts.last()
    }
}

/// The whole run, as stored in `state.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SuiteState {
    /// Always `squall-suite-state/1`.
    pub schema: String,
    /// The suite's name.
    pub suite: String,
    /// This run's id (sortable by time).
    pub run_id: String,
    /// Where the suite file was.
    pub suite_file: String,
    /// The suite file's text, as run (resume reads it from here).
    pub suite_text: String,
    /// Where it stands.
    pub status: SuiteStatus,
    /// What a failure does.
    pub on_failure: OnFailure,
    /// What resume does with an interrupted experiment.
    pub on_interrupt: OnInterrupt,
    /// Unix ms.
    pub started_ms: u64,
    /// Unix ms, once it ended.
    #[serde(default)]
    pub ended_ms: Option<u64>,
    /// How many times it was resumed.
    #[serde(default)]
    pub resumed: u32,
    /// The experiments.
    pub items: Vec<ItemState>,
}

/// The schema name written in `state.json`.
pub const SCHEMA: &str = "squall-suite-state/1";

impl SuiteState {
    /// The suite's verdict from its items, once none is left to run.
    pub fn verdict(&self) -> SuiteStatus {
        if self.items.iter().any(|i| !i.status.is_final()) {
            if self
                .items
                .iter()
                .any(|i| i.status == ItemStatus::Interrupted)
            {
                return SuiteStatus::Interrupted;
            }
            return SuiteStatus::Running;
        }
        if self.items.iter().all(|i| i.status == ItemStatus::Passed) {
            SuiteStatus::Passed
        } else {
            SuiteStatus::Failed
        }
    }
}

/// Now, in Unix ms.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(status: ItemStatus) -> ItemState {
        ItemState {
            index: 1,
            name: "a".into(),
            source: "a.yaml".into(),
            status,
            attempts: vec![],
        }
    }

    fn state(items: Vec<ItemState>) -> SuiteState {
        SuiteState {
            schema: SCHEMA.into(),
            suite: "s".into(),
            run_id: "r".into(),
            suite_file: "s.yaml".into(),
            suite_text: String::new(),
            status: SuiteStatus::Running,
            on_failure: OnFailure::Continue,
            on_interrupt: OnInterrupt::Rerun,
            started_ms: 0,
            ended_ms: None,
            resumed: 0,
            items,
        }
    }

    #[test]
    fn the_verdict_needs_every_item_final() {
        use ItemStatus::*;
        assert_eq!(
            state(vec![item(Passed), item(Passed)]).verdict(),
            SuiteStatus::Passed
        );
        assert_eq!(
            state(vec![item(Passed), item(Skipped)]).verdict(),
            SuiteStatus::Failed
        );
        assert_eq!(
            state(vec![item(Passed), item(Pending)]).verdict(),
            SuiteStatus::Running
        );
        assert_eq!(
            state(vec![item(Interrupted), item(Pending)]).verdict(),
            SuiteStatus::Interrupted
        );
        assert_eq!(state(vec![item(Error)]).verdict(), SuiteStatus::Failed);
    }
}
