//! The control plane: one API for the whole topology, whatever runs it
//! (one process, supervised processes). It talks to services only over
//! HTTP, through their `/_sim/` admin API.
//!
//! - `GET /services`: names and addresses (and, under the supervisor, pid
//!   and restarts)
//! - `GET /health`: each service's health, checked over HTTP
//! - `POST /tree`: a MicroSim request tree; every designation is checked
//!   (unknown names are a 400 naming the field) but left as written, so
//!   replies name services as the caller did; the root's probability is
//!   drawn, and the tree is sent to the root
//! - `PUT|GET|DELETE /services/{name}/faults[/{id}]`: persistent faults by
//!   service name, forwarded to that service's admin API

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::http_util::{self, Body, Client};
use crate::service::tree_exec::describe;
use crate::service::{Directory, resolve};
use crate::supervision::Supervision;
use crate::tree::{Node, Reply, Route};

/// State of the control plane.
pub struct Control {
    directory: Arc<Directory>,
    client: Client,
    rng: Mutex<StdRng>,
    supervision: Option<Arc<Supervision>>,
    /// Where the control plane listens (set when it starts serving), for
    /// its `Host` check.
    pub listen: std::sync::OnceLock<std::net::SocketAddr>,
}

impl Control {
    /// A control plane over the services of `directory`; `supervision` adds
    /// process state to `GET /services` when a supervisor runs them.
    pub fn new(
        directory: Arc<Directory>,
        seed: u64,
        supervision: Option<Arc<Supervision>>,
    ) -> Self {
        Self {
            directory,
            client: http_util::client(),
            rng: Mutex::new(StdRng::seed_from_u64(seed ^ 0x5eed_c0de)),
            supervision,
            listen: std::sync::OnceLock::new(),
        }
    }

    fn services(&self) -> Vec<(String, String)> {
        let d = self.directory.read().expect("directory lock");
        d.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Handles one control-plane request.
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let listen = self
            .listen
            .get()
            .copied()
            .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        if let Some(refusal) = http_util::refused(&req, listen, &self.directory) {
            return refusal;
        }
        let path = req.uri().path().trim_end_matches('/').to_string();
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match (req.method().clone(), parts.as_slice()) {
            (Method::GET, ["services"]) => {
                let list: Vec<_> = self
                    .services()
                    .into_iter()
                    .map(|(name, auth)| {
                        let mut v =
                            serde_json::json!({"name": name, "address": format!("http://{auth}/")});
                        if let Some(state) = self.supervision.as_ref().and_then(|s| s.get(&name)) {
                            v["pid"] = state.pid.into();
                            v["restarts"] = state.restarts.into();
                        }
                        v
                    })
                    .collect();
                http_util::json(200, &list)
            }
            (Method::GET, ["health"]) => self.health().await,
            (Method::POST, ["tree"]) => {
                match http_util::read_json::<serde_json::Value>(req, 4 * 1024 * 1024).await {
                    Ok(raw) => match Route::read(&raw) {
                        Ok(route) => self.forward(route).await,
                        Err(e) => http_util::error(400, e, None),
                    },
                    Err((msg, field)) => http_util::error(400, msg, field.as_deref()),
                }
            }
            (_, ["services", name, "faults", rest @ ..]) => {
                let Some(auth) = self
                    .directory
                    .read()
                    .expect("directory lock")
                    .get(*name)
                    .cloned()
                else {
                    let known: Vec<String> = self.services().into_iter().map(|(n, _)| n).collect();
                    return http_util::error(
                        404,
                        format!("no service named {name:?} (services: {})", known.join(", ")),
                        None,
                    );
                };
                let mut url = format!("http://{auth}/_sim/faults");
                for part in rest {
                    url.push('/');
                    url.push_str(part);
                }
                self.pass_through(req, &url, name).await
            }
            (m, _) => http_util::error(
                404,
                format!(
                    "no endpoint {m} {path} (try GET /services, GET /health, POST /tree, /services/NAME/faults)"
                ),
                None,
            ),
        }
    }

    async fn health(&self) -> Response<Body> {
        let mut out = Vec::new();
        let mut all_ok = true;
        for (name, auth) in self.services() {
            let url = format!("http://{auth}/_sim/health");
            let req = http_util::with_token(Request::get(&url))
                .body(Full::new(Bytes::new()))
                .expect("valid request");
            let ok = matches!(
                tokio::time::timeout(std::time::Duration::from_secs(2), self.client.request(req)).await,
                Ok(Ok(r)) if r.status() == 200
            );
            all_ok &= ok;
            out.push(serde_json::json!({"name": name, "address": format!("http://{auth}/"), "status": if ok { "ok" } else { "down" }}));
        }
        http_util::json(
            if all_ok { 200 } else { 503 },
            &serde_json::json!({"status": if all_ok { "ok" } else { "degraded" }, "services": out}),
        )
    }

    async fn forward(&self, route: Route) -> Response<Body> {
        let directory = &self.directory;
        if let Err((field, name)) = check_tree(directory, &route, "") {
            return http_util::error(
                400,
                format!(
                    "no service named {name:?} (a URL must lead to a topology service or a host in SQUALL_SIM_ALLOW_HOSTS)"
                ),
                Some(&field),
            );
        }
        let root_url = resolve(directory, &route.designation).expect("checked above");
        if route.probability < 100.0 {
            let draw = self.rng.lock().expect("rng lock").random::<f64>() * 100.0;
            if draw >= route.probability {
                let skipped = Reply {
                    service: route.designation.clone(),
                    address: route.designation.clone(),
                    errors: vec![],
                    response: vec![],
                    skipped: true,
                    warnings: vec![],
                };
                return http_util::json(200, &skipped);
            }
        }
        let body = serde_json::to_vec(&route.raw).expect("plain data serializes");
        let req = match Request::post(&root_url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
        {
            Ok(r) => r,
            Err(e) => {
                return http_util::error(
                    400,
                    format!("invalid root address: {e}"),
                    Some("designation"),
                );
            }
        };
        match self.client.request(req).await {
            Ok(resp) => relay(resp, "the root").await,
            Err(e) => http_util::error(
                502,
                format!(
                    "cannot reach the root {}: {}",
                    route.designation,
                    describe(&e)
                ),
                None,
            ),
        }
    }
}

impl Control {
    /// Sends the caller's method and body to a service's admin API and
    /// returns its answer unchanged.
    async fn pass_through(&self, req: Request<Incoming>, url: &str, name: &str) -> Response<Body> {
        let method = req.method().clone();
        let body = match Limited::new(req.into_body(), 64 * 1024).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return http_util::error(400, format!("cannot read the body: {e}"), None),
        };
        let out = http_util::with_token(Request::builder())
            .method(method)
            .uri(url)
            .header("content-type", "application/json")
            .body(Full::new(body))
            .expect("valid request parts");
        let resp =
            tokio::time::timeout(std::time::Duration::from_secs(5), self.client.request(out)).await;
        match resp {
            Ok(Ok(resp)) => relay(resp, name).await,
            Ok(Err(e)) => {
                http_util::error(502, format!("cannot reach {name}: {}", describe(&e)), None)
            }
            Err(_) => http_util::error(504, format!("{name} did not answer within 5 s"), None),
        }
    }
}

/// A service's JSON answer, passed on with its status.
async fn relay(resp: Response<Incoming>, who: &str) -> Response<Body> {
    let status = resp.status();
    match resp.into_body().collect().await {
        Ok(b) => Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(b.to_bytes()).boxed())
            .expect("valid response parts"),
        Err(e) => http_util::error(502, format!("{who} answered with a broken body: {e}"), None),
    }
}

/// Checks that every designation resolves; on failure returns (field path, name).
fn check_tree(
    dir: &crate::service::Directory,
    r: &Route,
    at: &str,
) -> Result<(), (String, String)> {
    let field = if at.is_empty() {
        "designation".to_string()
    } else {
        format!("{at}.designation")
    };
    if resolve(dir, &r.designation).is_none() {
        return Err((field, r.designation.clone()));
    }
    // Unusable routes are left to the services, which report them in
    // place; a name that resolves nowhere is the caller's mistake.
    for (i, c) in r.routes.iter().enumerate() {
        if let Node::Route(c) = c {
            let base = if at.is_empty() {
                format!("routes[{i}]")
            } else {
                format!("{at}.routes[{i}]")
            };
            check_tree(dir, c, &base)?;
        }
    }
    Ok(())
}
