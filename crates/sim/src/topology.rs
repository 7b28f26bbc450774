//! The topology file: which services exist, what a plain request to each
//! does, and the caps that bound every fault.
//!
//! Parsing rejects unknown fields with `file:line:column: field: message`;
//! validation then rejects references to missing services, call cycles and
//! duplicate names or ports, all at once, each with the line it concerns.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::limits::{Limits, LimitsSpec};

/// A topology that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// The file could not be read.
    #[error("{file}: cannot read topology: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Parse or validation problems, one per line.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

use crate::millis::Millis;

/// Base latency plus uniform jitter (`latency: 5ms` or `{base: 5ms, jitter: 2ms}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    /// Always added.
    pub base: Duration,
    /// Uniformly 0..=jitter added on top.
    pub jitter: Duration,
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            base: Millis,
            #[serde(default)]
            jitter: Millis,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Full(Full),
            Plain(Millis),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Full(f) => Latency {
                base: f.base.0,
                jitter: f.jitter.0,
            },
            Raw::Plain(m) => Latency {
                base: m.0,
                jitter: Duration::ZERO,
            },
        })
    }
}

/// One call to another service.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Call {
    /// The callee's name.
    pub call: String,
    /// Chance (0..=100) that the call is made (default 100).
    #[serde(default = "hundred")]
    pub probability: u8,
    /// Path on the callee (default `/`).
    #[serde(default = "root")]
    pub path: String,
}

fn hundred() -> u8 {
    100
}

fn root() -> String {
    "/".into()
}

/// A step of a service's default behaviour: one call, or calls made concurrently.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum CallStep {
    /// A single call.
    One(Call),
    /// Concurrent calls; the step ends when all have answered.
    Parallel {
        /// The calls.
        parallel: Vec<Call>,
    },
}

impl CallStep {
    /// The calls of this step.
    pub fn calls(&self) -> &[Call] {
        match self {
            CallStep::One(c) => std::slice::from_ref(c),
            CallStep::Parallel { parallel } => parallel,
        }
    }
}

/// An asynchronous call: a message put on a queue and delivered to a peer
/// in the background (fire-and-forget, like a Dapr publish), so pub/sub
/// deterioration has something to act on.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    /// The subscriber's name.
    pub to: String,
    /// Path the delivery names (`POST /_pubsub{path}` on the subscriber).
    #[serde(default = "root")]
    pub path: String,
    /// Messages waiting at most; a publish to a full queue is dropped and
    /// counted (default 1000).
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Deliveries in flight at once (default 1: one consumer).
    #[serde(default = "one")]
    pub concurrency: u32,
}

fn default_queue() -> usize {
    1000
}

fn one() -> u32 {
    1
}

/// Largest queue of an asynchronous call.
pub const MAX_QUEUE: usize = 100_000;
/// Most deliveries in flight for one asynchronous call.
pub const MAX_CONCURRENCY: u32 = 64;

/// A service as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Unique name, used as the designation in request trees.
    pub name: String,
    /// Port on the bind address (default: any free port).
    #[serde(default)]
    pub port: Option<u16>,
    /// Paths that run the default behaviour (default `[/]`).
    #[serde(default = "default_paths")]
    pub paths: Vec<String>,
    /// Response body size in bytes for plain requests (default 64).
    #[serde(default = "default_size")]
    pub response_size: usize,
    /// Latency of plain requests.
    #[serde(default)]
    pub latency: Latency,
    /// Share (0..=1) of plain requests that fail with 500.
    #[serde(default)]
    pub error_rate: f64,
    /// Calls made by plain requests, step by step.
    #[serde(default)]
    pub calls: Vec<CallStep>,
    /// Messages published after the calls, delivered in the background.
    #[serde(default)]
    pub publish: Vec<Publish>,
    /// Caps for this service (override the topology's).
    #[serde(default)]
    pub limits: LimitsSpec,
}

fn default_paths() -> Vec<String> {
    vec!["/".into()]
}

fn default_size() -> usize {
    64
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopologySpec {
    #[serde(default)]
    limits: LimitsSpec,
    services: Vec<ServiceSpec>,
}

/// A validated topology.
#[derive(Clone, Debug)]
pub struct Topology {
    /// Services in file order.
    pub services: Vec<ServiceSpec>,
    /// Effective caps per service name.
    pub limits: BTreeMap<String, Limits>,
    /// What of the input was not used (a MicroSim `Simulation`'s languages
    /// and frameworks), for the caller to show before anything starts.
    pub notes: Vec<String>,
}

impl Topology {
    /// Reads and validates a topology file (YAML, or JSON when it starts with `{`).
    pub fn load(file: &Path) -> Result<Self, TopologyError> {
        let text = std::fs::read_to_string(file).map_err(|source| TopologyError::Io {
            file: file.into(),
            source,
        })?;
        Self::parse(file, &text)
    }

    /// Parses and validates topology text; `file` names it in errors.
    pub fn parse(file: &Path, text: &str) -> Result<Self, TopologyError> {
        match crate::microsim::detect(text) {
            Some(crate::microsim::Kind::Simulation) => {
                let (converted, notes) = crate::microsim::simulation_topology(file, text)
                    .map_err(|e| TopologyError::Invalid(vec![e]))?;
                let mut t = Self::parse(file, &converted)?;
                t.notes = notes;
                return Ok(t);
            }
            Some(crate::microsim::Kind::LoadGenerator) => {
                return Err(TopologyError::Invalid(vec![format!(
                    "{}: is a MicroSim LoadGenerator, a workload: run it with `squall load {}` against a running simulator",
                    file.display(),
                    file.display()
                )]));
            }
            None => {}
        }
        let f = file.display();
        let spec: TopologySpec = if text.trim_start().starts_with('{') {
            let mut de = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut de).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                TopologyError::Invalid(vec![format!(
                    "{f}:{}:{}: {path}: {}",
                    inner.line(),
                    inner.column(),
                    strip(&inner.to_string())
                )])
            })?
        } else {
            squall_diag::from_yaml(text).map_err(|e| {
                TopologyError::Invalid(vec![format!("{f}:{} {}: {}", e.loc, e.path, e.message)])
            })?
        };
        validate(file, text, spec)
    }

    /// Validates a topology written inside another document (an
    /// experiment's `sim: {services: ...}`): `file` and `text` are that
    /// document's, so errors point into it; fields are named from `sim`.
    pub fn from_value(
        file: &Path,
        text: &str,
        value: serde_json::Value,
    ) -> Result<Self, TopologyError> {
        let spec: TopologySpec = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let at = line_of(text, "sim:", 1);
            TopologyError::Invalid(vec![format!(
                "{}:{at}: sim.{path}: {}",
                file.display(),
                strip(&e.into_inner().to_string())
            )])
        })?;
        validate(file, text, spec)
    }

    /// The service called `name`.
    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.name == name)
    }
}

fn strip(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// The first line (1-based) at or after `from` that contains `needle`.
fn line_of(text: &str, needle: &str, from: usize) -> usize {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .unwrap_or(from.max(1))
}

fn validate(file: &Path, text: &str, spec: TopologySpec) -> Result<Topology, TopologyError> {
    let f = file.display();
    let mut errors = Vec::new();
    let names: BTreeSet<&str> = spec.services.iter().map(|s| s.name.as_str()).collect();
    if spec.services.is_empty() {
        errors.push(format!("{f}: services: at least one service is needed"));
    }
    let mut seen = BTreeSet::new();
    let mut ports = BTreeMap::new();
    let mut limits = BTreeMap::new();
    let base = spec.limits.resolve(&Limits::default());
    for (i, s) in spec.services.iter().enumerate() {
        let at = line_of(text, &s.name, 1);
        let field = format!("services[{i}]");
        if s.name.is_empty()
            || !s
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            errors.push(format!(
                "{f}:{at}: {field}.name: {:?} must be letters, digits, '-' or '_'",
                s.name
            ));
        }
        if !seen.insert(s.name.as_str()) {
            errors.push(format!(
                "{f}:{at}: {field}.name: duplicate service name {:?}",
                s.name
            ));
        }
        if let Some(p) = s.port
            && let Some(other) = ports.insert(p, s.name.clone())
        {
            errors.push(format!(
                "{f}:{at}: {field}.port: port {p} is also used by {other:?}"
            ));
        }
        if !(0.0..=1.0).contains(&s.error_rate) {
            errors.push(format!(
                "{f}:{at}: {field}.error_rate: must be within 0..1, got {}",
                s.error_rate
            ));
        }
        for p in &s.paths {
            if !p.starts_with('/') || p.starts_with("/_sim") {
                errors.push(format!(
                    "{f}:{at}: {field}.paths: {p:?} must start with '/' and not with /_sim"
                ));
            }
        }
        for (j, step) in s.calls.iter().enumerate() {
            for (k, c) in step.calls().iter().enumerate() {
                let cf = match step {
                    CallStep::One(_) => format!("{field}.calls[{j}].call"),
                    CallStep::Parallel { .. } => format!("{field}.calls[{j}].parallel[{k}].call"),
                };
                let line = line_of(text, &format!("call: {}", c.call), at);
                if !names.contains(c.call.as_str()) {
                    let known: Vec<&str> = names.iter().copied().collect();
                    errors.push(format!(
                        "{f}:{line}: {cf}: no service named {:?} (services: {})",
                        c.call,
                        known.join(", ")
                    ));
                }
                if c.probability > 100 {
                    errors.push(format!(
                        "{f}:{line}: {cf}: probability must be within 0..100"
                    ));
                }
            }
        }
        for (j, p) in s.publish.iter().enumerate() {
            let pf = format!("{field}.publish[{j}]");
            let line = line_of(text, &format!("to: {}", p.to), at);
            if !names.contains(p.to.as_str()) {
                let known: Vec<&str> = names.iter().copied().collect();
                errors.push(format!(
                    "{f}:{line}: {pf}.to: no service named {:?} (services: {})",
                    p.to,
                    known.join(", ")
                ));
            }
            if !(1..=MAX_QUEUE).contains(&p.queue) {
                errors.push(format!(
                    "{f}:{line}: {pf}.queue: must be within 1..{MAX_QUEUE}, got {}",
                    p.queue
                ));
            }
            if !(1..=MAX_CONCURRENCY).contains(&p.concurrency) {
                errors.push(format!(
                    "{f}:{line}: {pf}.concurrency: must be within 1..{MAX_CONCURRENCY}, got {}",
                    p.concurrency
                ));
            }
            if !p.path.starts_with('/') {
                errors.push(format!(
                    "{f}:{line}: {pf}.path: {:?} must start with '/'",
                    p.path
                ));
            }
        }
        limits.insert(s.name.clone(), s.limits.resolve(&base));
    }
    if errors.is_empty()
        && let Some(cycle) = find_cycle(&spec.services)
    {
        let at = line_of(
            text,
            &format!("call: {}", cycle[1]),
            line_of(text, &cycle[0], 1),
        );
        errors.push(format!(
            "{f}:{at}: call cycle: {} (a plain request would never end, or its messages would never stop)",
            cycle.join(" -> ")
        ));
    }
    if errors.is_empty() {
        Ok(Topology {
            services: spec.services,
            limits,
            notes: Vec::new(),
        })
    } else {
        Err(TopologyError::Invalid(errors))
    }
}

/// A cycle in the call graph, as a path that returns to its start.
fn find_cycle(services: &[ServiceSpec]) -> Option<Vec<String>> {
    let edges: BTreeMap<&str, Vec<&str>> = services
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.calls
                    .iter()
                    .flat_map(|st| st.calls())
                    .map(|c| c.call.as_str())
                    .chain(s.publish.iter().map(|p| p.to.as_str()))
                    .collect(),
            )
        })
        .collect();
    fn visit<'a>(
        n: &'a str,
        edges: &BTreeMap<&'a str, Vec<&'a str>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = stack.iter().position(|s| *s == n) {
            let mut c: Vec<String> = stack[pos..].iter().map(|s| s.to_string()).collect();
            c.push(n.to_string());
            return Some(c);
        }
        if !done.insert(n) {
            return None;
        }
        stack.push(n);
        for next in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for s in services {
        if let Some(c) = visit(&s.name, &edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Topology::parse(Path::new("t.yaml"), text)
            .unwrap_err()
            .to_string()
    }

    /// A topology written inside an experiment is checked like a file,
    /// with errors pointing into the experiment.
    #[test]
    fn inline_topologies_are_checked_like_files() {
        let doc =
            "title: x\nsim:\n  services:\n    - name: a\n      calls: [{call: b}]\n    - name: b\n";
        let value = serde_json::json!({"services": [{"name": "a", "calls": [{"call": "b"}]}, {"name": "b"}]});
        let t = Topology::from_value(Path::new("e.yaml"), doc, value).unwrap();
        assert_eq!(t.services.len(), 2);

        let bad = serde_json::json!({"services": [{"name": "a", "calls": [{"call": "nope"}]}]});
        let e = Topology::from_value(Path::new("e.yaml"), doc, bad)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("e.yaml:"), "{e}");
        assert!(e.contains("no service named \"nope\""), "{e}");

        let typo = serde_json::json!({"services": [{"name": "a", "latncy": 3}]});
        let e = Topology::from_value(Path::new("e.yaml"), doc, typo)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("e.yaml:2: sim.services[0]"), "{e}");
        assert!(e.contains("latncy"), "{e}");
    }

    #[test]
    fn parses_calls_latency_and_limits() {
        let t = Topology::parse(
            Path::new("t.yaml"),
            "limits: {max_leak_mb: 64}\nservices:\n  - name: a\n    latency: {base: 5ms, jitter: 2}\n    calls:\n      - call: b\n      - parallel:\n          - {call: c, probability: 30}\n          - {call: b, path: /x}\n  - {name: b, latency: 3}\n  - {name: c, limits: {max_leak_mb: 8}}\n",
        )
        .unwrap();
        let a = t.service("a").unwrap();
        assert_eq!(
            a.latency,
            Latency {
                base: Duration::from_millis(5),
                jitter: Duration::from_millis(2)
            }
        );
        assert_eq!(a.calls[1].calls()[0].probability, 30);
        assert_eq!(t.limits["a"].max_leak_mb, 64);
        assert_eq!(t.limits["c"].max_leak_mb, 8);
    }

    #[test]
    fn unknown_fields_are_located() {
        let e = err("services:\n  - name: a\n    latncy: 5ms\n");
        assert!(e.starts_with("t.yaml:3:"), "{e}");
        assert!(e.contains("unknown field `latncy`"), "{e}");
    }

    #[test]
    fn missing_services_and_cycles_are_named_with_lines() {
        let e = err("services:\n  - name: a\n    calls:\n      - call: nope\n  - name: b\n");
        assert!(
            e.contains("t.yaml:4: services[0].calls[0].call: no service named \"nope\""),
            "{e}"
        );
        let e = err(
            "services:\n  - name: a\n    calls:\n      - call: b\n  - name: b\n    calls:\n      - call: a\n",
        );
        assert!(e.contains("call cycle: a -> b -> a"), "{e}");
        assert!(e.starts_with("t.yaml:4:"), "{e}");
    }

    #[test]
    fn every_problem_is_reported() {
        let e =
            err("services:\n  - {name: a, port: 9000, error_rate: 2}\n  - {name: a, port: 9000}\n");
        assert_eq!(e.lines().count(), 3, "{e}");
    }
}
