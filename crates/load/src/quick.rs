//! Quick mode: a one-request plan built from wrk-style command-line flags.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::duration::Dur;
use crate::plan::{
    Defaults, LoadSpec, Model, Plan, RequestSpec, Scenario, Stage, Step, ThresholdSpec,
};

/// The flags of `squall load URL ...` (serializable: a fleet coordinator
/// sends them to its generators).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct QuickSpec {
    /// Target URL.
    pub url: String,
    /// Connections: users in the closed model, the cap in the open model.
    pub connections: u64,
    /// How long to run.
    pub duration: Duration,
    /// Open model at this many requests per second.
    pub rate: Option<f64>,
    /// Stop after this many requests instead (iterations model).
    pub requests: Option<u64>,
    /// Method.
    pub method: String,
    /// Headers as `Name: value`.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// HTTP/2.
    pub http2: bool,
    /// Accept any TLS certificate.
    pub insecure: bool,
    /// Thresholds, `metric:expr` pairs.
    pub thresholds: BTreeMap<String, Vec<String>>,
    /// Redirects followed (default 10; 0: none).
    #[serde(default)]
    pub max_redirects: Option<u32>,
}

/// Builds the equivalent plan.
pub fn plan(q: &QuickSpec) -> Plan {
    let request = RequestSpec {
        name: Some(format!("{} {}", q.method.to_ascii_uppercase(), q.url)),
        method: Some(q.method.clone()),
        url: q.url.clone(),
        headers: q.headers.iter().cloned().collect(),
        body: q.body.clone(),
        json: None,
        timeout: Some(Dur(q.timeout)),
        expect_status: None,
    };
    let load = match (q.requests, q.rate) {
        (Some(n), _) => LoadSpec {
            model: Model::Iterations,
            iterations: Some(n),
            vus: Some(q.connections),
            max_duration: Some(Dur(q.duration)),
            ..empty_load(Model::Iterations)
        },
        (None, Some(rate)) => LoadSpec {
            stages: vec![Stage::Hold {
                level: rate,
                duration: Dur(q.duration),
            }],
            max_vus: Some(q.connections),
            ..empty_load(Model::Open)
        },
        (None, None) => LoadSpec {
            stages: vec![Stage::Hold {
                level: q.connections as f64,
                duration: Dur(q.duration),
            }],
            ..empty_load(Model::Closed)
        },
    };
    Plan {
        base_url: None,
        defaults: Defaults::default(),
        http2: q.http2,
        insecure: q.insecure,
        max_redirects: q.max_redirects,
        // One URL hit again and again: no session to keep.
        cookies: Some(false),
        vars: BTreeMap::new(),
        scenarios: vec![Scenario {
            name: "default".into(),
            weight: 1,
            data: None,
            arrivals: None,
            steps: vec![Step::Request {
                request,
                checks: Vec::new(),
                captures: BTreeMap::new(),
            }],
        }],
        load,
        thresholds: q
            .thresholds
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.iter().cloned().map(ThresholdSpec::Plain).collect(),
                )
            })
            .collect(),
    }
}

fn empty_load(model: Model) -> LoadSpec {
    LoadSpec {
        model,
        stages: Vec::new(),
        max_vus: None,
        max_backlog: None,
        iterations: None,
        vus: None,
        max_duration: None,
        graceful_stop: Some(Dur(Duration::from_secs(2))),
    }
}
