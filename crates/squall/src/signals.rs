//! Ctrl-C and SIGTERM as one stream, so every command stops the same way.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Delivers each Ctrl-C (SIGINT) or SIGTERM in turn.
pub(crate) struct StopSignals {
    term: Option<Signal>,
}

impl StopSignals {
    /// Installs the handlers; SIGTERM is skipped if it cannot be registered.
    pub(crate) fn new() -> Self {
        Self {
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Waits for the next Ctrl-C or SIGTERM.
    pub(crate) async fn next(&mut self) {
        match self.term.as_mut() {
            Some(t) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = t.recv() => {}
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}
