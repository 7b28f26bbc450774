//! MicroSim's Kubernetes resources (`microsim.isala.me/v1alpha1`) read as
//! squall's inputs: a `Simulation` is a topology, a `LoadGenerator` a
//! workload (run by [`crate::loadgen`]).
//!
//! Both are read leniently where MicroSim's operator is (it never looks at
//! fields it does not know) and strictly where a mistake would silently
//! change what runs: every problem is reported with the file and field.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// MicroSim's API group.
pub const GROUP: &str = "microsim.isala.me/";

/// Which MicroSim resource a document is, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A `Simulation`: services to run.
    Simulation,
    /// A `LoadGenerator`: trees to send.
    LoadGenerator,
}

/// The MicroSim resource `text` is (YAML or JSON), if it is one.
pub fn detect(text: &str) -> Option<Kind> {
    // Most files are not MicroSim's: no need to parse them twice.
    if !text.contains(GROUP) {
        return None;
    }
    let v: Value = squall_diag::from_yaml(text).ok()?;
    let api = v.get("apiVersion")?.as_str()?;
    if !api.starts_with(GROUP) {
        return None;
    }
    match v.get("kind")?.as_str()? {
        "Simulation" => Some(Kind::Simulation),
        "LoadGenerator" => Some(Kind::LoadGenerator),
        _ => None,
    }
}

/// A `Simulation` as a topology document (squall's YAML), and what of it
/// squall does not use.
pub fn simulation_topology(file: &Path, text: &str) -> Result<(String, Vec<String>), String> {
    let f = file.display();
    let v: Value =
        squall_diag::from_yaml(text).map_err(|e| format!("{f}:{} {}", e.loc, e.message))?;
    let services = v
        .pointer("/spec/services")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{f}: spec.services: a Simulation needs a map of services"))?;
    if services.is_empty() {
        return Err(format!(
            "{f}: spec.services: at least one service is needed"
        ));
    }
    let mut notes = Vec::new();
    let mut out = String::from("# from MicroSim Simulation\nservices:\n");
    for (name, impl_) in services {
        out.push_str(&format!(
            "  - name: {}\n",
            serde_json::to_string(name).expect("a string")
        ));
        let lang = impl_.get("language").and_then(Value::as_str).unwrap_or("?");
        let fw = impl_
            .get("framework")
            .and_then(Value::as_str)
            .unwrap_or("?");
        notes.push(format!(
            "spec.services.{name}: {lang}/{fw} ignored (every squall service is the same implementation)"
        ));
    }
    Ok((out, notes))
}

/// A `LoadGenerator`'s spec.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadGenerator {
    /// `metadata.name`.
    pub name: String,
    /// The request trees, parsed (`spec.requests` holds them as JSON text).
    pub requests: Vec<Value>,
    /// Copies of each tree sent together per tick (default 1).
    pub replicas: u32,
    /// Stop once this many batches are done (MicroSim counts a batch, not a
    /// request, as one done request).
    pub request_count: Option<u64>,
    /// Stop after this long (MicroSim never applies it; squall does).
    pub timeout: Option<Duration>,
    /// Time between ticks.
    pub between_delay: Duration,
}

/// Most copies per tick, so a typo cannot open thousands of connections.
pub const MAX_REPLICAS: u32 = 1000;

impl LoadGenerator {
    /// Reads and checks a `LoadGenerator`; every problem, located.
    pub fn parse(file: &Path, text: &str) -> Result<Self, Vec<String>> {
        let f = file.display();
        let v: Value = squall_diag::from_yaml(text)
            .map_err(|e| vec![format!("{f}:{} {}", e.loc, e.message)])?;
        let spec = v.get("spec").cloned().unwrap_or(Value::Null);
        let mut errors = Vec::new();
        let mut requests = Vec::new();
        match spec.get("requests") {
            Some(Value::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    // The CRD holds each tree as a JSON string; an object is
                    // taken too.
                    let tree = match item {
                        Value::String(s) => match serde_json::from_str::<Value>(s) {
                            Ok(t) => t,
                            Err(e) => {
                                errors.push(format!(
                                    "{f}: spec.requests[{i}]: not a JSON request tree: {e}"
                                ));
                                continue;
                            }
                        },
                        other => other.clone(),
                    };
                    if let Err(e) = crate::tree::Route::read(&tree) {
                        errors.push(format!("{f}: spec.requests[{i}]: {e}"));
                        continue;
                    }
                    requests.push(tree);
                }
            }
            _ => errors.push(format!(
                "{f}: spec.requests: a list of at least one request tree is needed"
            )),
        }
        let replicas = match spec.get("replicas") {
            None | Some(Value::Null) => 1,
            Some(r) => match r.as_u64() {
                Some(n @ 1..) if n <= u64::from(MAX_REPLICAS) => n as u32,
                _ => {
                    errors.push(format!(
                        "{f}: spec.replicas: must be within 1..{MAX_REPLICAS}, got {r}"
                    ));
                    1
                }
            },
        };
        let request_count = match spec.get("requestCount") {
            None | Some(Value::Null) => None,
            Some(r) => match r.as_u64() {
                Some(n) => Some(n),
                None => {
                    errors.push(format!(
                        "{f}: spec.requestCount: must be a whole number, got {r}"
                    ));
                    None
                }
            },
        };
        let duration = |name: &str, errors: &mut Vec<String>| -> Option<Duration> {
            match spec.get(name) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => match go_duration(s) {
                    Some(d) => Some(d),
                    None => {
                        errors.push(format!(
                            "{f}: spec.{name}: {s:?} is not a duration (like 1s, 500ms, 1m30s)"
                        ));
                        None
                    }
                },
                Some(other) => {
                    errors.push(format!(
                        "{f}: spec.{name}: must be a duration string, got {other}"
                    ));
                    None
                }
            }
        };
        let timeout = duration("timeout", &mut errors);
        let between_delay = match duration("betweenDelay", &mut errors) {
            Some(d) if !d.is_zero() => d,
            Some(_) => {
                errors.push(format!("{f}: spec.betweenDelay: must be longer than 0"));
                Duration::from_secs(1)
            }
            None => {
                if spec.get("betweenDelay").is_none() {
                    errors.push(format!(
                        "{f}: spec.betweenDelay: is required (the time between batches)"
                    ));
                }
                Duration::from_secs(1)
            }
        };
        let name = v
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("loadgenerator")
            .to_string();
        if errors.is_empty() {
            Ok(LoadGenerator {
                name,
                requests,
                replicas,
                request_count,
                timeout,
                between_delay,
            })
        } else {
            Err(errors)
        }
    }
}

/// A Kubernetes (Go) duration: `1h2m3.5s`, `300ms`, `10us`.
pub fn go_duration(s: &str) -> Option<Duration> {
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += n * secs;
        rest = &rest[unit_end..];
    }
    Some(Duration::from_secs_f64(total))
}

/// MicroSim's control plane's pruning of a tree before sending: each
/// node's children are kept one by one when `rand(0..100) <= p`, `p` being
/// the **node's own** probability (a missing one is 0), so a child is kept
/// with chance (p + 1) % for p < 100; the root is always sent. Kept nodes
/// get `probability: 100` so squall's services, which gate a route by its
/// own probability, call exactly what MicroSim's would.
pub fn prune(tree: &Value, draw: &mut impl FnMut() -> u32) -> Value {
    let mut out = tree.clone();
    let p = tree
        .get("probability")
        .and_then(Value::as_f64)
        .map(|p| p.trunc() as i64)
        .unwrap_or(0);
    let mut kept = Vec::new();
    for child in tree
        .get("routes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        // Drawn and pruned depth first, in MicroSim's order.
        if i64::from(draw()) <= p {
            kept.push(prune(child, draw));
        }
    }
    if let Some(o) = out.as_object_mut() {
        o.insert("probability".into(), 100.into());
        o.insert(
            "routes".into(),
            if kept.is_empty() {
                Value::Null
            } else {
                Value::Array(kept)
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn kubernetes_durations() {
        assert_eq!(go_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(go_duration("15"), None);
        assert_eq!(go_duration("1x"), None);
    }

    #[test]
    fn pruning_keeps_children_by_their_parents_probability_off_by_one() {
        let tree: Value = serde_json::from_str(
            r#"{"designation":"a","probability":100,"routes":[
                {"designation":"b","probability":50,"routes":[{"designation":"d","probability":0}]},
                {"designation":"c","routes":[{"designation":"e"}]}]}"#,
        )
        .unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut draw = || rng.random_range(0..100u32);
        let n = 100_000;
        let (mut b, mut c, mut d, mut e) = (0, 0, 0, 0);
        for _ in 0..n {
            let t = prune(&tree, &mut draw);
            for child in t["routes"].as_array().unwrap() {
                let kids = child["routes"].as_array().map_or(0, Vec::len);
                match child["designation"].as_str().unwrap() {
                    "b" => {
                        b += 1;
                        d += kids;
                    }
                    "c" => {
                        c += 1;
                        e += kids;
                    }
                    _ => unreachable!(),
                }
                assert_eq!(child["probability"], 100);
            }
        }
        let share = |k: usize| k as f64 / n as f64;
        assert_eq!((b, c), (n, n), "the root's 100 keeps both");
        assert!(
            (share(d) - 0.51).abs() < 0.01,
            "b's 50 keeps d 51 %: {}",
            share(d)
        );
        assert!(
            (share(e) - 0.01).abs() < 0.003,
            "c has no probability: 0, so 1 %: {}",
            share(e)
        );
    }

    #[test]
    fn load_generators_are_checked_with_every_problem() {
        let f = Path::new("lg.yaml");
        let ok = LoadGenerator::parse(
            f,
            "apiVersion: microsim.isala.me/v1alpha1\nkind: LoadGenerator\nmetadata: {name: lg}\nspec:\n  requests:\n    - '{\"designation\":\"service_1\",\"probability\":100}'\n  replicas: 3\n  requestCount: 5\n  betweenDelay: 100ms\n  simulationRef: {name: s, namespace: default}\n",
        )
        .unwrap();
        assert_eq!((ok.replicas, ok.request_count), (3, Some(5)));
        assert_eq!(ok.between_delay, Duration::from_millis(100));
        let errs = LoadGenerator::parse(
            f,
            "kind: LoadGenerator\nspec:\n  requests: ['{\"probability\":1}', 'nope']\n  replicas: 0\n  timeout: soon\n",
        )
        .unwrap_err();
        let all = errs.join("\n");
        for want in [
            "spec.requests[0]: designation: is required",
            "spec.requests[1]: not a JSON request tree",
            "spec.replicas: must be within 1..1000",
            "spec.timeout: \"soon\" is not a duration",
            "spec.betweenDelay: is required",
        ] {
            assert!(all.contains(want), "{want} in {all}");
        }
    }
}
