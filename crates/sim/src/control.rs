//! The control plane: one API for the whole topology.
//!
//! - `GET /services`: names and addresses
//! - `GET /health`: each service's health, checked over HTTP
//! - `POST /tree`: a MicroSim request tree; every designation is checked
//!   (unknown names are a 400 naming the field) but left as written, so
//!   replies name services as the caller did; the root's probability is
//!   drawn, and the tree is sent to the root
//! - `PUT|GET|DELETE /services/{name}/faults[/{id}]`: persistent faults by service name

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};

use crate::admin::{PutFault, put_fault};
use crate::http_util::{self, Body, Client};
use crate::service::{Service, resolve};
use crate::tree::{Reply, Route};
use crate::tree_exec::describe;

/// State of the control plane.
pub struct Control {
    /// Services by name.
    pub services: BTreeMap<String, Arc<Service>>,
    /// Client for forwarding trees and checking health.
    pub client: Client,
}

impl Control {
    /// Handles one control-plane request.
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let path = req.uri().path().trim_end_matches('/').to_string();
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match (req.method().clone(), parts.as_slice()) {
            (Method::GET, ["services"]) => {
                let list: Vec<_> = self
                    .services
                    .values()
                    .map(|s| serde_json::json!({"name": s.name, "address": s.url()}))
                    .collect();
                http_util::json(200, &list)
            }
            (Method::GET, ["health"]) => self.health().await,
            (Method::POST, ["tree"]) => {
                match http_util::read_json::<Route>(req, 4 * 1024 * 1024).await {
                    Ok(route) => self.forward(route).await,
                    Err((msg, field)) => http_util::error(400, msg, field.as_deref()),
                }
            }
            (m, ["services", name, "faults", rest @ ..]) => {
                let Some(svc) = self.services.get(*name).cloned() else {
                    let known: Vec<&str> = self.services.keys().map(String::as_str).collect();
                    return http_util::error(
                        404,
                        format!("no service named {name:?} (services: {})", known.join(", ")),
                        None,
                    );
                };
                match (m, rest) {
                    (Method::GET, []) => http_util::json(200, &svc.leases.list()),
                    (Method::PUT | Method::POST, []) => {
                        match http_util::read_json::<PutFault>(req, 64 * 1024).await {
                            Ok(p) => put_fault(&svc, p),
                            Err((msg, field)) => http_util::error(400, msg, field.as_deref()),
                        }
                    }
                    (Method::DELETE, []) => {
                        http_util::json(200, &serde_json::json!({"cleared": svc.leases.clear()}))
                    }
                    (Method::DELETE, [id]) => {
                        if svc.leases.remove(id) {
                            http_util::json(200, &serde_json::json!({"cleared": 1, "id": id}))
                        } else {
                            http_util::error(404, format!("no active fault {id:?} on {name}"), None)
                        }
                    }
                    (m, _) => http_util::error(405, format!("{m} is not allowed here"), None),
                }
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
        for s in self.services.values() {
            let url = format!("http://{}/_sim/health", s.addr);
            let req = Request::get(&url)
                .body(Full::new(Bytes::new()))
                .expect("valid request");
            let ok = matches!(
                tokio::time::timeout(std::time::Duration::from_secs(2), self.client.request(req)).await,
                Ok(Ok(r)) if r.status() == 200
            );
            all_ok &= ok;
            out.push(serde_json::json!({"name": s.name, "address": s.url(), "status": if ok { "ok" } else { "down" }}));
        }
        http_util::json(
            if all_ok { 200 } else { 503 },
            &serde_json::json!({"status": if all_ok { "ok" } else { "degraded" }, "services": out}),
        )
    }

    async fn forward(&self, route: Route) -> Response<Body> {
        let directory = match self.services.values().next() {
            Some(s) => s.directory.clone(),
            None => return http_util::error(503, "the topology has no services", None),
        };
        if let Err((field, name)) = check_tree(&directory, &route, "") {
            return http_util::error(
                400,
                format!("no service named {name:?} and not a URL"),
                Some(&field),
            );
        }
        let root_url = resolve(&directory, &route.designation).expect("checked above");
        if route.probability < 100 {
            let draw = self
                .services
                .values()
                .next()
                .map(|s| s.percent())
                .unwrap_or(0);
            if draw >= route.probability {
                let skipped = Reply {
                    service: route.designation.clone(),
                    address: route.designation.clone(),
                    errors: vec![],
                    response: vec![],
                    skipped: true,
                };
                return http_util::json(200, &skipped);
            }
        }
        let body = serde_json::to_vec(&route).expect("plain data serializes");
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
            Ok(resp) => {
                let status = resp.status();
                match resp.into_body().collect().await {
                    Ok(b) => Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(Full::new(b.to_bytes()).boxed())
                        .expect("valid response parts"),
                    Err(e) => http_util::error(
                        502,
                        format!("root answered with a broken body: {e}"),
                        None,
                    ),
                }
            }
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
    if let Some(children) = r.routes.as_ref() {
        for (i, c) in children.iter().enumerate() {
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
