//! Toxiproxy's HTTP API, route for route, so its clients work unchanged:
//! `/proxies`, `/proxies/{p}`, `/proxies/{p}/toxics[/{t}]`, `/populate`,
//! `/reset`, `/version`, `/metrics`. Updates take both POST (older clients)
//! and PATCH (Toxiproxy 2.6+).

use std::fmt::Write;

use hyper::body::Incoming;
use hyper::{Method, Response};
use serde::Deserialize;

use super::http::{self, Body};
use crate::agent::Agent;
use crate::error::FaultError;
use crate::proxy::ProxyRequest;
use crate::proxy::toxic::ToxicRequest;

/// The Toxiproxy version this API matches.
pub const TOXIPROXY_VERSION: &str = "2.12.0";

/// `/populate` takes a list, or `{"proxies": [...]}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Populate {
    List(Vec<ProxyRequest>),
    Wrapped { proxies: Vec<ProxyRequest> },
}

/// Answers a Toxiproxy route, or none when the path is not one.
pub async fn route(
    agent: &Agent,
    method: &Method,
    segs: &[&str],
    body: Incoming,
) -> Option<Response<Body>> {
    let px = &agent.proxies;
    let res: Result<Response<Body>, FaultError> = match (method, segs) {
        (&Method::GET, ["version"]) => Ok(http::text(
            200,
            "application/json",
            format!("{{\"version\": \"{TOXIPROXY_VERSION}\"}}\n"),
        )),
        (&Method::GET, ["metrics"]) => {
            Ok(http::text(200, "text/plain; version=0.0.4", metrics(agent)))
        }
        (&Method::POST, ["reset"]) => px.reset().await.map(|()| http::empty(204)),
        (&Method::GET, ["proxies"]) => Ok(http::json(200, &px.list())),
        (&Method::POST, ["proxies"]) => match http::read_json::<ProxyRequest>(body).await {
            Ok(r) => px.create(r).await.map(|v| http::json(201, &v)),
            Err(e) => Err(e),
        },
        (&Method::POST, ["populate"]) => match http::read_json::<Populate>(body).await {
            Ok(Populate::List(l) | Populate::Wrapped { proxies: l }) => px
                .populate(l)
                .await
                .map(|v| http::json(201, &serde_json::json!({ "proxies": v }))),
            Err(e) => Err(e),
        },
        (&Method::GET, ["proxies", p]) => px.get(p).map(|v| http::json(200, &v)),
        (&Method::POST | &Method::PATCH, ["proxies", p]) => {
            match http::read_json::<ProxyRequest>(body).await {
                Ok(r) => px.update(p, r).await.map(|v| http::json(200, &v)),
                Err(e) => Err(e),
            }
        }
        (&Method::DELETE, ["proxies", p]) => px.delete(p).map(|()| http::empty(204)),
        (&Method::GET, ["proxies", p, "toxics"]) => px.toxics(p).map(|v| http::json(200, &v)),
        (&Method::POST, ["proxies", p, "toxics"]) => {
            match http::read_json::<ToxicRequest>(body).await {
                Ok(r) => px.add_toxic(p, r).map(|v| http::json(200, &v)),
                Err(e) => Err(e),
            }
        }
        (&Method::GET, ["proxies", p, "toxics", t]) => px.toxic(p, t).map(|v| http::json(200, &v)),
        (&Method::POST | &Method::PATCH, ["proxies", p, "toxics", t]) => {
            match http::read_json::<ToxicRequest>(body).await {
                Ok(r) => px.update_toxic(p, t, r).map(|v| http::json(200, &v)),
                Err(e) => Err(e),
            }
        }
        (&Method::DELETE, ["proxies", p, "toxics", t]) => {
            px.remove_toxic(p, t).map(|()| http::empty(204))
        }
        _ => return None,
    };
    Some(res.unwrap_or_else(|e| http::error(&e)))
}

/// Prometheus text: connections and bytes per proxy, faults in force.
fn metrics(agent: &Agent) -> String {
    let mut out = String::new();
    out.push_str("# HELP squall_proxy_connections_total Connections accepted by a proxy.\n");
    out.push_str("# TYPE squall_proxy_connections_total counter\n");
    let all = agent.proxies.all();
    for p in &all {
        let _ = writeln!(
            out,
            "squall_proxy_connections_total{{proxy=\"{}\"}} {}",
            p.name,
            p.accepted()
        );
    }
    out.push_str("# HELP squall_proxy_bytes_total Bytes carried by a proxy, per direction.\n");
    out.push_str("# TYPE squall_proxy_bytes_total counter\n");
    for p in &all {
        let t = &p.traffic;
        for (dir, n) in [
            (
                "upstream",
                t.upstream_bytes.load(std::sync::atomic::Ordering::Relaxed),
            ),
            (
                "downstream",
                t.downstream_bytes
                    .load(std::sync::atomic::Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(
                out,
                "squall_proxy_bytes_total{{proxy=\"{}\",direction=\"{dir}\"}} {n}",
                p.name
            );
        }
    }
    out.push_str("# HELP squall_faults_active Faults in force (leases).\n");
    out.push_str("# TYPE squall_faults_active gauge\n");
    let _ = writeln!(out, "squall_faults_active {}", agent.injector.list().len());
    out
}
