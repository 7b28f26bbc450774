//! One simulated service: its state and the data-plane handler, parent of
//! what it dispatches to (`tree_exec`: MicroSim call trees;
//! `plain`: topology calls; `admin`: the `/_sim/` API), so the handlers
//! reach the service's state through `super` and no sibling module imports
//! another in a circle.

pub mod admin;
mod plain;
pub mod pubsub;
pub(crate) mod tree_exec;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use squall_metrics::LatencyHistogram;

use crate::deterioration::{Deterioration, first_match};
use crate::fault::Fault;
use crate::http_util::{self, Body, Client, SlowBody};
use crate::leases::LeaseTable;
use crate::limits::Limits;
use crate::resources::Resources;
use crate::topology::ServiceSpec;

/// Header carrying the request id, forwarded to every child.
pub const REQUEST_ID: &str = "x-request-id";
/// Header carrying the depth of the node in its tree (root = 1).
pub const DEPTH: &str = "x-squall-depth";

/// Where every service of the topology listens, as `host:port`: loopback
/// addresses in one process or under the supervisor, DNS names on Kubernetes.
pub type Directory = RwLock<BTreeMap<String, String>>;

/// Counters and histograms exposed at `/_sim/metrics`.
#[derive(Default)]
pub struct ServiceMetrics {
    /// Requests by kind (`tree`, `plain`, `admin`).
    pub requests: BTreeMap<&'static str, u64>,
    /// Responses with status >= 400, and aborted connections.
    pub errors: u64,
    /// Handling time of data-plane requests.
    pub latency: LatencyHistogram,
}

/// A running simulated service.
pub struct Service {
    /// Name from the topology.
    pub name: String,
    /// Bound address.
    pub addr: SocketAddr,
    /// Its topology entry.
    pub spec: ServiceSpec,
    /// Its caps.
    pub limits: Limits,
    /// All services' addresses.
    pub directory: Arc<Directory>,
    /// Persistent faults.
    pub leases: LeaseTable,
    /// Memory and CPU held by faults.
    pub resources: Arc<Resources>,
    /// Metrics.
    pub metrics: Mutex<ServiceMetrics>,
    /// A supervisor restarts this process, so the `crash` fault may exit it.
    pub supervised: bool,
    /// The body of plain responses, made once (`response_size` bytes).
    pub plain_body: Bytes,
    /// Asynchronous calls (the topology's `publish`), with their queues.
    pub topics: Vec<pubsub::Topic>,
    rng: Mutex<StdRng>,
    client: Client,
    ids: AtomicU64,
}

/// What the connection should do after the handler.
pub enum Outcome {
    /// Send this response.
    Respond(Response<Body>),
    /// Close the connection without a response (the `abort` fault).
    Abort,
}

impl Service {
    /// A service ready to serve; `seed` makes its random draws reproducible.
    pub fn new(
        spec: ServiceSpec,
        addr: SocketAddr,
        limits: Limits,
        directory: Arc<Directory>,
        seed: u64,
        supervised: bool,
    ) -> Self {
        let name_hash = squall_http::pod::fingerprint(spec.name.as_bytes());
        let plain_body = Bytes::from(vec![b'x'; spec.response_size]);
        let topics = spec
            .publish
            .iter()
            .cloned()
            .map(pubsub::Topic::new)
            .collect();
        Self {
            topics,
            name: spec.name.clone(),
            addr,
            spec,
            limits,
            directory,
            leases: LeaseTable::default(),
            resources: Arc::new(Resources::default()),
            metrics: Mutex::new(ServiceMetrics::default()),
            supervised,
            plain_body,
            rng: Mutex::new(StdRng::seed_from_u64(seed ^ name_hash)),
            client: http_util::client(),
            ids: AtomicU64::new(0),
        }
    }

    /// This service's base URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// A draw in [0, 100) from the service's seeded generator: a chance of
    /// `p` percent is taken when the draw is below `p`.
    pub fn percent(&self) -> f64 {
        self.rng.lock().expect("rng lock").random::<f64>() * 100.0
    }

    /// True with `p` percent chance (always at 100, never at 0).
    pub fn chance(&self, p: f64) -> bool {
        p >= 100.0 || (p > 0.0 && self.percent() < p)
    }

    /// A uniform duration in 0..=max.
    pub fn jitter(&self, max: Duration) -> Duration {
        if max.is_zero() {
            return max;
        }
        let us = self
            .rng
            .lock()
            .expect("rng lock")
            .random_range(0..=max.as_micros() as u64);
        Duration::from_micros(us)
    }

    /// The client for calls to other services.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The request id to use: the caller's, or a new one.
    pub fn request_id(&self, req: &Request<Incoming>) -> String {
        req.headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "{}-{}",
                    self.name,
                    self.ids.fetch_add(1, Ordering::Relaxed) + 1
                )
            })
    }

    /// Resolves a designation: a service name or a full URL.
    pub fn resolve(&self, designation: &str) -> Option<String> {
        resolve(&self.directory, designation)
    }

    /// Handles one request on the data plane or the admin API.
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Outcome {
        let start = tokio::time::Instant::now();
        let path = req.uri().path();
        let kind = if path.starts_with("/_sim/") || path == "/_sim" {
            "admin"
        } else if req.method() == Method::POST && path == "/" {
            "tree"
        } else if req.method() == Method::POST
            && (path == pubsub::DELIVERY_PREFIX
                || path.starts_with(&format!("{}/", pubsub::DELIVERY_PREFIX)))
        {
            "pubsub"
        } else if self.spec.paths.iter().any(|p| p == path) {
            "plain"
        } else {
            "unknown"
        };
        let outcome = match kind {
            "admin" => Outcome::Respond(admin::handle(&self, req).await),
            "tree" => tree_exec::handle(&self, req).await,
            "plain" => plain::handle(&self, req, false).await,
            "pubsub" => plain::handle(&self, req, true).await,
            _ => Outcome::Respond(http_util::error(
                404,
                format!(
                    "{} has no path {path} (paths: {})",
                    self.name,
                    self.spec.paths.join(", ")
                ),
                None,
            )),
        };
        // One lock per request for every figure.
        let mut m = self.metrics.lock().expect("metrics lock");
        *m.requests.entry(kind).or_insert(0) += 1;
        if kind != "admin" {
            m.latency.record(start.elapsed());
            match &outcome {
                Outcome::Abort => m.errors += 1,
                Outcome::Respond(r) if r.status().as_u16() >= 400 => m.errors += 1,
                Outcome::Respond(_) => {}
            }
        }
        outcome
    }

    /// Applies the persistent faults that act on each request, before it is
    /// handled: latency sleeps, an error or abort ends the request. `path`
    /// is what MiSArch's invocation rules match; a pub/sub `delivery` gets
    /// the pub/sub deterioration instead of the invocation rules, as
    /// deliveries take their own route through MiSArch's sidecar.
    pub async fn persistent_before(
        &self,
        path: &str,
        delivery: bool,
    ) -> Result<Option<u64>, Outcome> {
        let mut slow = None;
        for f in self.leases.active() {
            match f {
                Fault::Invocation(rules) if !delivery => {
                    if let Some(d) = first_match(&rules, path) {
                        self.deteriorate(d).await?;
                    }
                }
                Fault::PubSub(d) if delivery => self.deteriorate(&d).await?,
                Fault::Invocation(_) | Fault::PubSub(_) => {}
                Fault::Latency { delay, jitter } => {
                    tokio::time::sleep(delay + self.jitter(jitter)).await
                }
                Fault::Error {
                    status,
                    probability,
                } => {
                    if self.chance(probability) {
                        return Err(Outcome::Respond(http_util::error(
                            status,
                            format!("{}: injected error {status} (persistent fault)", self.name),
                            None,
                        )));
                    }
                }
                Fault::Abort => return Err(Outcome::Abort),
                Fault::SlowBody { bytes_per_sec } => slow = Some(bytes_per_sec),
                // Memory and CPU faults run in the background for their lease.
                Fault::MemoryLeak { .. }
                | Fault::CpuLoad { .. }
                | Fault::Memory { .. }
                | Fault::Cpu(_)
                | Fault::Crash => {}
            }
        }
        Ok(slow)
    }

    /// MiSArch's sidecar: the delay with its chance, then, drawn apart, the
    /// error with its chance, answered with an empty body.
    async fn deteriorate(&self, d: &Deterioration) -> Result<(), Outcome> {
        if d.delay_probability.is_some_and(|p| self.chance(p * 100.0)) {
            tokio::time::sleep(d.delay).await;
        }
        if d.error_probability.is_some_and(|p| self.chance(p * 100.0)) {
            return Err(Outcome::Respond(with_body(
                d.error_code,
                "text/plain",
                Bytes::new(),
                None,
            )));
        }
        Ok(())
    }
}

/// Resolves a designation against a directory.
pub fn resolve(directory: &Directory, designation: &str) -> Option<String> {
    if let Some(rest) = designation
        .strip_prefix("http://")
        .or_else(|| designation.strip_prefix("https://"))
    {
        // A URL must lead to a service of the topology (by its address, or
        // its name as in Kubernetes) or to a host the operator allowed:
        // a simulator must not be a relay to any URL on the network.
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = match authority.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => authority,
        };
        let d = directory.read().expect("directory lock");
        let known = d.values().any(|a| a == authority)
            || d.contains_key(host)
            || allowed_hosts().iter().any(|h| h == host || h == authority);
        return known.then(|| designation.to_string());
    }
    directory
        .read()
        .expect("directory lock")
        .get(designation)
        .map(|a| format!("http://{a}/"))
}

/// Hosts (or `host:port`) that URL designations may name besides the
/// topology's services: `SQUALL_SIM_ALLOW_HOSTS`, comma-separated.
pub const ALLOW_HOSTS_ENV: &str = "SQUALL_SIM_ALLOW_HOSTS";

/// See [`ALLOW_HOSTS_ENV`].
pub fn allowed_hosts() -> &'static [String] {
    static HOSTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    HOSTS.get_or_init(|| {
        std::env::var(ALLOW_HOSTS_ENV)
            .unwrap_or_default()
            .split(',')
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .collect()
    })
}

/// Ends this process for the `crash` fault; the supervisor restarts it.
/// The exit code is distinct so the supervisor (which reports exits) tells
/// a crash fault from a bug; a library does not print.
pub fn crash(_name: &str) -> ! {
    std::process::exit(CRASH_EXIT_CODE)
}

/// Exit code of a service ended by the `crash` fault.
pub const CRASH_EXIT_CODE: i32 = 86;

/// Wraps a body in the slow-body throttle when one is in force.
pub fn with_body(
    status: u16,
    content_type: &str,
    body: Bytes,
    slow: Option<u64>,
) -> Response<Body> {
    let b: Body = match slow {
        Some(rate) => SlowBody::new(body, rate).boxed(),
        None => Full::new(body).boxed(),
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(b)
        .expect("valid response parts")
}
