//! The experiment document: a Chaos Toolkit experiment plus Squall's
//! optional sections (`sim`, `proxies`, `target`, `workload`, `warmup`,
//! `faults`, `goals`, `abort`).
//!
//! Squall's sections are strict (unknown fields are errors with their line
//! and field path). Top-level keys Squall does not own are left to the
//! Chaos Toolkit part, which keeps and ignores keys it does not know, as
//! Chaos Toolkit does; keys that neither knows are reported as warnings so
//! a typo such as `goal:` does not pass silently.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use squall_load::duration::Dur;
use squall_load::plan::{LoadSpec, Plan, PlanError, parse_document};

/// A whole experiment as written.
#[derive(Clone, Debug, Deserialize)]
pub struct Experiment {
    /// Title (Chaos Toolkit requires one; Squall uses the file name when missing).
    #[serde(default)]
    pub title: Option<String>,
    /// The simulated system to start: `demo` (the shop) or a topology file.
    #[serde(default)]
    pub sim: Option<SimSpec>,
    /// TCP proxies squall runs for the experiment, for `toxic` faults.
    #[serde(default)]
    pub proxies: Vec<ProxySpec>,
    /// A URL that must answer before the run starts (default: the first
    /// simulated service, when there is one).
    #[serde(default)]
    pub target: Option<String>,
    /// The load: a `squall load` plan.
    #[serde(default)]
    pub workload: Option<Plan>,
    /// A warm-up run of the workload whose figures become the baseline.
    #[serde(default)]
    pub warmup: Option<Warmup>,
    /// Faults at offsets from the synchronized start.
    #[serde(default)]
    pub faults: Vec<ScheduledFault>,
    /// What must hold for the run to pass.
    #[serde(default)]
    pub goals: Vec<GoalSpec>,
    /// Conditions that end the run early (faults are still reverted).
    #[serde(default)]
    pub abort: Vec<AbortSpec>,
    /// External components a run started by `squall serve` waits for
    /// before it begins (`squall run` has no one to wait for and ignores it).
    #[serde(default)]
    pub sync: Option<SyncSpec>,
    /// Run the workload on a fleet of `squall generator`s registered with
    /// `squall serve` instead of in the server's process.
    #[serde(default)]
    pub fleet: Option<FleetSection>,
    /// A Prometheus server and PromQL queries whose series over the run
    /// are stored, drawn and judged by goals (`prometheus:NAME`).
    #[serde(default)]
    pub prometheus: Option<PrometheusSection>,
}

/// The system's own metrics, from a Prometheus server that scrapes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSection {
    /// Base URL of the Prometheus HTTP API, e.g. `http://127.0.0.1:9090`.
    pub url: String,
    /// Resolution of the series (default 1 s).
    #[serde(default)]
    pub step: Option<Dur>,
    /// How long to wait after the run before querying, so the last
    /// scrape is stored (default 2 s; make it your scrape interval).
    #[serde(default)]
    pub wait: Option<Dur>,
    /// The queries, each named for goals and charts.
    pub queries: Vec<PromQuery>,
}

/// One named PromQL expression.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromQuery {
    /// The name goals use: `metric: prometheus:NAME`.
    pub name: String,
    /// An expression that gives an instant vector or a scalar.
    pub query: String,
    /// Shown on the chart (e.g. `bytes`, `cores`); default none.
    #[serde(default)]
    pub unit: Option<String>,
}

/// Which generators run the workload.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSection {
    /// How many (each runs an exact share), or `all` registered.
    pub generators: FleetSize,
    /// How long to wait for them to register and be ready (default 60 s).
    #[serde(default)]
    pub wait: Option<Dur>,
    /// `fail` (default: a lost generator stops the run and makes it
    /// invalid) or `continue`.
    #[serde(default)]
    pub on_lost: Option<String>,
}

/// A number of generators, or `all`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum FleetSize {
    /// This many.
    Count(u64),
    /// A word (only `all` is valid).
    Word(String),
}

/// Who a served run waits for, and how long at most.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSpec {
    /// The names the components register with (`POST /trigger/ID/VERSION?client=NAME`).
    pub clients: Vec<String>,
    /// How long to wait before the run fails (default 60 s).
    #[serde(default)]
    pub timeout: Option<Dur>,
}

/// Top-level keys of Squall's own sections.
pub const SQUALL_KEYS: &[&str] = &[
    "sim",
    "proxies",
    "target",
    "workload",
    "warmup",
    "faults",
    "goals",
    "abort",
    "sync",
    "fleet",
    "prometheus",
];

/// A TCP proxy in the squall process, in front of any service, so the
/// workload can go through it and `toxic` faults can act on it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySpec {
    /// Name that `toxic` faults give as `args.proxy`.
    pub name: String,
    /// Address to listen on (loopback), e.g. `127.0.0.1:15432`.
    pub listen: String,
    /// `host:port` to forward to.
    pub upstream: String,
}

/// Top-level keys of a Chaos Toolkit experiment.
pub const CHAOS_KEYS: &[&str] = &[
    "version",
    "title",
    "description",
    "tags",
    "contributions",
    "configuration",
    "secrets",
    "extensions",
    "controls",
    "steady-state-hypothesis",
    "method",
    "rollbacks",
    "runtime",
];

/// Top-level keys that neither Squall nor Chaos Toolkit knows.
pub fn unknown_keys(doc: &serde_json::Value) -> Vec<String> {
    doc.as_object()
        .map(|o| {
            o.keys()
                .filter(|k| !SQUALL_KEYS.contains(&k.as_str()) && !CHAOS_KEYS.contains(&k.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Which simulated system to start in-process.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum SimSpec {
    /// `demo` for the built-in shop, else a topology file (relative to the
    /// experiment file).
    Named(String),
    /// `{topology: FILE}`.
    File {
        /// The topology file.
        topology: String,
    },
    /// The topology itself (`{services: [...]}`), so a stored experiment
    /// carries its system with it (the UI's topology editor writes this).
    Inline(serde_json::Value),
}

/// The warm-up: the workload's scenarios at a constant level.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warmup {
    /// How long.
    #[serde(rename = "for")]
    pub duration: Dur,
    /// Open model: arrivals per second.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Closed model: concurrent users.
    #[serde(default)]
    pub users: Option<u64>,
}

/// A fault injected at `at` for `for`, then reverted.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFault {
    /// Name used by goals and in the report (default `TYPE on SERVICE`).
    #[serde(default)]
    pub name: Option<String>,
    /// Offset from the start of the main run.
    pub at: Dur,
    /// How long it lasts; also the lease the injector holds, so it ends
    /// even if squall does not.
    #[serde(rename = "for")]
    pub duration: Dur,
    /// What to inject.
    pub fault: FaultSpec,
}

/// A fault on a simulated service (through its `/_sim/faults` lease API).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Fault type (`latency`, `error`, `abort`, `slow-body`, `memory-leak`, `cpu-load`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Simulated service by name.
    #[serde(default)]
    pub service: Option<String>,
    /// Or the base URL of any service that speaks the `/_sim/` admin API.
    #[serde(default)]
    pub url: Option<String>,
    /// The fault's arguments.
    #[serde(default)]
    pub args: serde_json::Map<String, serde_json::Value>,
}

/// One goal: a k6-style condition on a phase, or a recovery time.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalSpec {
    /// Shown in the report (default: the condition).
    #[serde(default)]
    pub name: Option<String>,
    /// Metric key as in thresholds, e.g. `http_req_duration{name:home}`.
    #[serde(default)]
    pub metric: Option<String>,
    /// e.g. `p(95)<300ms`, `rate<0.01`, or relative: `p(95)<1.5*baseline`.
    #[serde(default)]
    pub condition: Option<String>,
    /// `overall` (default), `warmup`, `before`, `during` or `after`.
    #[serde(default)]
    pub phase: Option<String>,
    /// The fault `before`/`during`/`after` refer to (default: the first).
    #[serde(default)]
    pub fault: Option<String>,
    /// A recovery-time goal instead of a condition.
    #[serde(default)]
    pub recovery: Option<RecoverySpec>,
}

/// How long after a fault ends until a metric is back within its baseline band.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverySpec {
    /// The fault (default: the first).
    #[serde(default)]
    pub fault: Option<String>,
    /// `p(50)`, `p(95)`, `p(99)` of request latency, or `error_rate`.
    #[serde(default = "default_recovery_metric")]
    pub metric: String,
    /// The band: latency back within `band` x baseline (default 1.5);
    /// `error_rate` back to at most baseline + `band` (default 0.01).
    #[serde(default)]
    pub band: Option<f64>,
    /// The goal: recovered within this long.
    pub within: Dur,
}

fn default_recovery_metric() -> String {
    "p(95)".into()
}

/// Ends the run early when a condition holds for `for` in a row.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbortSpec {
    /// Metric key, e.g. `http_req_failed`.
    pub metric: String,
    /// The condition that aborts, e.g. `rate>0.5`.
    pub condition: String,
    /// For how many consecutive seconds (default 1 s).
    #[serde(rename = "for", default)]
    pub duration: Option<Dur>,
}

/// Replaces `${sim.NAME}` (a simulated service's base URL, no trailing
/// slash) and `${target}` everywhere in the text, so plans, probes and
/// URLs can name services whose ports are only known once they run.
pub fn substitute(text: &str, sim: &BTreeMap<String, String>, target: Option<&str>) -> String {
    let mut out = text.to_string();
    for (name, url) in sim {
        out = out.replace(&format!("${{sim.{name}}}"), url.trim_end_matches('/'));
    }
    if let Some(t) = target {
        out = out.replace("${target}", t.trim_end_matches('/'));
    }
    out
}

/// Parses an experiment (YAML, or JSON when it starts with `{`): Squall's
/// sections typed, and the whole document as a JSON value for the Chaos
/// Toolkit part.
pub fn parse(file: &Path, text: &str) -> Result<(Experiment, serde_json::Value), PlanError> {
    let exp: Experiment = parse_document(file, text)?;
    let doc: serde_json::Value = parse_document(file, text)?;
    if !doc.is_object() {
        return Err(PlanError::field(
            file,
            "",
            "an experiment is a mapping of sections (title, workload, faults, goals, method...)",
        ));
    }
    Ok((exp, doc))
}

/// A load spec for the warm-up, as the workload's own model would write it.
pub(crate) fn warmup_load(w: &Warmup) -> Result<LoadSpec, String> {
    let secs = w.duration.get().as_secs_f64();
    let text = match (w.rate, w.users) {
        (Some(r), None) => format!(
            "model: open\nmax_vus: {}\nstages:\n  - {{rate: {r}, for: {secs}}}\n",
            (r as u64).clamp(10, 1000)
        ),
        (None, Some(u)) => format!("model: closed\nstages:\n  - {{users: {u}, for: {secs}}}\n"),
        (None, None) => {
            return Err("give the warm-up a `rate` (open model) or `users` (closed model)".into());
        }
        (Some(_), Some(_)) => {
            return Err("give the warm-up either `rate` or `users`, not both".into());
        }
    };
    yaml_serde::from_str(&text).map_err(|e| format!("warm-up: {e}"))
}
