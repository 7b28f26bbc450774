//! The report of a whole experiment run (`report.json`), as plain data:
//! the executor fills it, the HTML and Grafana renderers read it.
//! Schema: `docs/schemas/run-report.schema.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::PercentilesMs;

/// Version tag of this document's shape.
pub const RUN_REPORT_SCHEMA: &str = "squall.run-report/1";

/// Everything a run produced, for people and tools.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunReport {
    /// Always [`RUN_REPORT_SCHEMA`].
    pub schema: String,
    /// Experiment title.
    pub title: String,
    /// The experiment file.
    pub experiment_file: String,
    /// `passed`, `goals failed`, `hypothesis deviated`, `aborted`, `interrupted` or `error`.
    pub verdict: String,
    /// The process exit code that goes with the verdict.
    pub exit_code: u8,
    /// Why the run ended early, if it did.
    pub ended_early: Option<String>,
    /// Why the verdict is `invalid` (a fault not applied when due, the
    /// Chaos Toolkit part stopped on an internal error); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid_because: Vec<String>,
    /// Main run start, ms since the Unix epoch.
    pub started_unix_ms: u64,
    /// Main run length, seconds.
    pub duration_s: f64,
    /// Warm-up figures (the baseline), if there was a warm-up.
    pub warmup: Option<PhaseFigures>,
    /// Figures per phase: overall, then before/during/after each fault.
    pub phases: Vec<PhaseFigures>,
    /// Faults as planned and as applied.
    pub faults: Vec<FaultRecord>,
    /// Goals and their outcomes.
    pub goals: Vec<GoalRecord>,
    /// One row per second of the main run.
    pub series: Vec<SeriesPoint>,
    /// Chaos Toolkit steady-state hypothesis results (`before`, `after`), as in the journal.
    pub hypothesis: BTreeMap<String, serde_json::Value>,
    /// What happened, in order.
    pub timeline: Vec<TimelineEntry>,
    /// Files of the run directory, by role.
    pub files: BTreeMap<String, String>,
    /// The experiment's Prometheus queries over the run's window (also in
    /// `prometheus.json`); empty when the experiment names none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prometheus: Vec<QueryRecord>,
}

/// One PromQL query of the experiment, run with `query_range` over the
/// warm-up and the main run after the run ended.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct QueryRecord {
    /// The name goals use (`prometheus:NAME`).
    pub name: String,
    /// The PromQL expression.
    pub query: String,
    /// The unit shown on its chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Why there are no series (Prometheus unreachable, the query refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// One entry per series the query answered.
    pub series: Vec<QuerySeries>,
}

/// One labelled series of a query.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct QuerySeries {
    /// Its labels (`__name__` included when Prometheus gives it).
    pub labels: BTreeMap<String, String>,
    /// `[t, value]` pairs, t in seconds since the main run's start
    /// (negative during the warm-up); NaN and infinities are left out.
    pub points: Vec<(f64, f64)>,
}

impl QuerySeries {
    /// `{job="sim", instance="..."}`, or the query's name when unlabelled.
    pub fn label_text(&self, query_name: &str) -> String {
        if self.labels.is_empty() {
            return query_name.to_string();
        }
        let parts: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        format!("{{{}}}", parts.join(", "))
    }
}

/// Figures of one phase.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PhaseFigures {
    /// `overall`, `warmup`, `before NAME`, `during NAME`, `after NAME`.
    pub phase: String,
    /// Length, seconds.
    pub seconds: f64,
    /// Requests finished.
    pub requests: u64,
    /// Requests per second.
    pub rps: f64,
    /// Failed requests.
    pub failed: u64,
    /// Share of failed requests.
    pub error_rate: f64,
    /// Latency from intended start.
    pub latency_ms: PercentilesMs,
}

/// A fault's plan and what happened to it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FaultRecord {
    /// Name.
    pub name: String,
    /// Fault type.
    pub kind: String,
    /// Service or URL.
    pub target: String,
    /// Arguments.
    pub args: serde_json::Map<String, serde_json::Value>,
    /// Planned start, seconds from the main run's start.
    pub planned_start_s: f64,
    /// Planned end.
    pub planned_end_s: f64,
    /// When it was in force (after the injector answered), if it was.
    pub injected_s: Option<f64>,
    /// When it was reverted (or found already expired).
    pub reverted_s: Option<f64>,
    /// What went wrong, if something did.
    pub error: Option<String>,
}

/// A goal's outcome.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GoalRecord {
    /// Name.
    pub name: String,
    /// `overall`, `during NAME`, `recovery after NAME`...
    pub phase: String,
    /// The condition as written, or the recovery target.
    pub condition: String,
    /// What was measured (ms for latencies and recovery times, a share for rates).
    pub observed: Option<f64>,
    /// The bound it was compared with.
    pub bound: f64,
    /// Whether it held (never when there was no data).
    pub passed: bool,
    /// The phase had nothing to judge it on (e.g. a latency goal on a phase
    /// without requests): `passed` is false and the goal counts as not held.
    #[serde(default)]
    pub no_data: bool,
    /// How to read it.
    pub detail: String,
}

impl GoalRecord {
    /// `PASS`, `FAIL` or `NO DATA`.
    pub fn result_label(&self) -> &'static str {
        match (self.passed, self.no_data) {
            (true, _) => "PASS",
            (false, true) => "NO DATA",
            (false, false) => "FAIL",
        }
    }
}

/// One second of the main run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Seconds since the main run's start (end of the slice).
    pub t: f64,
    /// Requests per second.
    pub rps: f64,
    /// Failed requests.
    pub failed: u64,
    /// Share of failed requests.
    pub error_rate: f64,
    /// Latency percentiles, ms; `None` (null) for a second without
    /// requests, which has no latency.
    pub p50_ms: Option<f64>,
    /// 95th percentile, ms.
    pub p95_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
}

/// What kind of thing happened (written in lower case in reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// The warm-up or the main run started or ended.
    #[default]
    Phase,
    /// A fault was injected.
    Fault,
    /// A fault was reverted (or leftovers cleared).
    Revert,
    /// The run ended early.
    Abort,
    /// The steady-state hypothesis was checked.
    Hypothesis,
    /// A Chaos Toolkit activity ran.
    Activity,
    /// A Chaos Toolkit rollback ran.
    Rollback,
    /// Something failed.
    Error,
}

impl EntryKind {
    /// As written in reports and on the terminal.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Phase => "phase",
            EntryKind::Fault => "fault",
            EntryKind::Revert => "revert",
            EntryKind::Abort => "abort",
            EntryKind::Hypothesis => "hypothesis",
            EntryKind::Activity => "activity",
            EntryKind::Rollback => "rollback",
            EntryKind::Error => "error",
        }
    }
}

impl std::fmt::Display for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Something that happened during the run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Seconds since the main run's start (negative during warm-up and before).
    pub t: f64,
    /// What kind of thing.
    pub kind: EntryKind,
    /// What happened.
    pub text: String,
}
