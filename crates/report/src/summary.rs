//! The end-of-run summary: totals, per-name figures, checks and thresholds.

use serde::{Deserialize, Serialize};
use squall_metrics::Interval;

use crate::record::{IterationRecord, RequestRecord};

/// A threshold's verdict, as outputs show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdOutcome {
    /// Metric key, e.g. `http_req_duration{name:home}`.
    pub metric: String,
    /// Expression, e.g. `p(95)<300ms`.
    pub expr: String,
    /// Observed value (ms for durations, a fraction for rates).
    pub observed: f64,
    /// Whether it held.
    pub passed: bool,
}

/// Check pass/fail counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckRecord {
    /// Name.
    pub name: String,
    /// Passes.
    pub passes: u64,
    /// Fails.
    pub fails: u64,
}

/// Everything a run measured, in one document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Start, seconds since the Unix epoch.
    pub start_unix: f64,
    /// Measured length, seconds.
    pub duration_s: f64,
    /// Requests per second over the run.
    pub rate: f64,
    /// All requests.
    pub overall: RequestRecord,
    /// Per request name.
    pub by_name: Vec<RequestRecord>,
    /// Iterations.
    pub iterations: IterationRecord,
    /// Checks.
    pub checks: Vec<CheckRecord>,
    /// Thresholds.
    pub thresholds: Vec<ThresholdOutcome>,
    /// Highest generator utilization seen in any second.
    pub peak_utilization: f64,
    /// Why the run ended: `completed`, `interrupted` or `aborted`.
    pub ended: String,
    /// A few distinct error messages, for diagnosis.
    pub error_samples: Vec<String>,
    /// A fleet run: each generator's segment, seconds, utilization and
    /// whether it was lost (absent for a single-process run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<serde_json::Value>,
}

impl Summary {
    /// Builds the summary of a cumulative interval.
    pub fn new(total: &Interval, start_unix: f64, duration_s: f64) -> Self {
        let overall: RequestRecord = (&total.overall("all")).into();
        let it = &total.iterations;
        Self {
            start_unix,
            duration_s,
            rate: if duration_s > 0.0 {
                overall.requests as f64 / duration_s
            } else {
                0.0
            },
            overall,
            by_name: total.requests.iter().map(Into::into).collect(),
            iterations: IterationRecord {
                started: it.started,
                completed: it.completed,
                interrupted: it.interrupted,
                late: it.late,
                dropped: it.dropped,
                duration_ms: (&it.duration).into(),
            },
            checks: total
                .checks
                .iter()
                .map(|c| CheckRecord {
                    name: c.name.clone(),
                    passes: c.passes,
                    fails: c.fails,
                })
                .collect(),
            thresholds: Vec::new(),
            peak_utilization: 0.0,
            ended: "completed".into(),
            error_samples: Vec::new(),
            fleet: None,
        }
    }

    /// True when every threshold held.
    pub fn thresholds_passed(&self) -> bool {
        self.thresholds.iter().all(|t| t.passed)
    }
}
