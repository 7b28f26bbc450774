//! The steady-state hypothesis before and after the method. Both are the
//! same step (announce, run once, record, set the status when not met);
//! only what the caller makes of the result differs: before, it is a gate;
//! after, a deviation. One function serves both so they cannot drift apart.

use serde_json::Value;

use super::{Status, set_status};
use crate::activity::Shared;
use crate::event::Event;
use crate::hypothesis::{self, Stop};

/// How one hypothesis run ended; the status already says why when it is
/// not [`Check::Met`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// Every probe was within its tolerance: the gate opens.
    Met,
    /// A probe failed or was out of tolerance: the gate stays closed, or
    /// (after the method) the experiment deviated.
    NotMet,
    /// Interrupted or aborted during a probe: nothing more runs but the
    /// rollbacks.
    Stopped,
}

/// Runs the hypothesis once, stores its journal value in `slot` (`before`
/// or `after`), and sets the status when it is not met (`failed` if a probe
/// failed, else `completed`) or could not finish.
pub(super) async fn check(sh: &Shared, ssh: &Value, status: &Status, slot: &mut Value) -> Check {
    sh.emit(Event::HypothesisStarted {
        title: title_of(ssh),
    });
    match hypothesis::run(sh, ssh, false).await {
        Ok(state) => {
            *slot = state.value;
            if state.met {
                return Check::Met;
            }
            set_status(
                status,
                if state.probe_failed {
                    "failed"
                } else {
                    "completed"
                },
            );
            Check::NotMet
        }
        Err(e) => {
            record_stop(sh, status, e);
            Check::Stopped
        }
    }
}

/// The hypothesis title for the console; a missing one shows empty rather
/// than failing a run that validation let through.
fn title_of(ssh: &Value) -> String {
    ssh.get("title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// An unfinished hypothesis ends the run as interrupted or aborted; an
/// abort also says why, since no journal entry carries the reason.
fn record_stop(sh: &Shared, status: &Status, stop: Stop) {
    match stop {
        Stop::Interrupted => set_status(status, "interrupted"),
        Stop::Aborted(m) => {
            sh.emit(Event::Aborted { reason: m });
            set_status(status, "aborted")
        }
    }
}
