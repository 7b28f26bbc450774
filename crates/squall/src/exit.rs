//! Exit codes, documented in README.md ("Exit codes").

/// Everything ran and every threshold held.
pub(crate) const OK: u8 = 0;
/// Squall itself failed (an output could not be written, a port was taken...).
pub(crate) const ERROR: u8 = 1;
/// Invalid input: bad flags, an invalid plan, a target URL that cannot be used.
pub(crate) const INVALID_INPUT: u8 = 2;
/// A fleet run failed as a fleet: a generator was lost (with `--on-lost
/// fail`) or could not run its segment; the load sent was not the plan's.
pub(crate) const FLEET_FAILED: u8 = 6;
/// At least one threshold failed (including an abort-on-fail threshold).
pub(crate) const THRESHOLDS_FAILED: u8 = 99;
/// Stopped by Ctrl-C or SIGTERM (after writing the summary and outputs).
pub(crate) const INTERRUPTED: u8 = 130;

/// Marks an error as the user's input being wrong (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct InvalidInput(pub String);
