//! Thresholds as written: a string, or an object with abort options (k6 style).

use serde::Deserialize;

use crate::duration::Dur;

/// One threshold expression with its options.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum ThresholdSpec {
    /// `"p(95)<300ms"`.
    Plain(String),
    /// `{threshold: "rate<0.01", abort_on_fail: true, delay_abort_eval: 10s}`.
    Full {
        /// The expression.
        threshold: String,
        /// Stop the run as soon as the threshold fails.
        #[serde(default, alias = "abortOnFail")]
        abort_on_fail: bool,
        /// Do not abort before this much of the run has passed.
        #[serde(default, alias = "delayAbortEval")]
        delay_abort_eval: Option<Dur>,
    },
}
