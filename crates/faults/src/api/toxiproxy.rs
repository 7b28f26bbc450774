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
pub(super) async fn route(
    agent: &Agent,
    method: &Method,
    segs: &[&str],
    body: Incoming,
) -> Option<Response<Body>> {
    dispatch(agent, method, segs, body)
        .await
        .unwrap_or_else(|e| Some(http::error(&e)))
}

async fn dispatch(
    agent: &Agent,
    method: &Method,
    segs: &[&str],
    body: Incoming,
) -> Result<Option<Response<Body>>, FaultError> {
    let px = &agent.proxies;
    let resp = match (method, segs) {
        (&Method::GET, ["version"]) => http::text(
            200,
            "application/json",
            format!("{{\"version\": \"{TOXIPROXY_VERSION}\"}}\n"),
        ),
        (&Method::GET, ["metrics"]) => http::text(200, "text/plain; version=0.0.4", metrics(agent)),
        (&Method::POST, ["reset"]) => {
            px.reset().await?;
            http::empty(204)
        }
        (&Method::GET, ["proxies"]) => http::json(200, &px.list()),
        (&Method::POST, ["proxies"]) => {
            http::json(201, &px.create(http::read_json(body).await?).await?)
        }
        (&Method::POST, ["populate"]) => {
            let (Populate::List(l) | Populate::Wrapped { proxies: l }) =
                http::read_json(body).await?;
            http::json(
                201,
                &serde_json::json!({ "proxies": px.populate(l).await? }),
            )
        }
        (&Method::GET, ["proxies", p]) => http::json(200, &px.get(p)?),
        (&Method::POST | &Method::PATCH, ["proxies", p]) => {
            http::json(200, &px.update(p, http::read_json(body).await?).await?)
        }
        (&Method::DELETE, ["proxies", p]) => {
            px.delete(p)?;
            http::empty(204)
        }
        (&Method::GET, ["proxies", p, "toxics"]) => http::json(200, &px.toxics(p)?),
        (&Method::POST, ["proxies", p, "toxics"]) => {
            http::json(200, &px.add_toxic(p, http::read_json(body).await?)?)
        }
        (&Method::GET, ["proxies", p, "toxics", t]) => http::json(200, &px.toxic(p, t)?),
        (&Method::POST | &Method::PATCH, ["proxies", p, "toxics", t]) => {
            http::json(200, &px.update_toxic(p, t, http::read_json(body).await?)?)
        }
        (&Method::DELETE, ["proxies", p, "toxics", t]) => {
            px.remove_toxic(p, t)?;
            http::empty(204)
        }
        _ => return Ok(None),
    };
    Ok(Some(resp))
}

/// Prometheus text: connections and bytes per proxy, faults in force.
fn metrics(agent: &Agent) -> String {
    use squall_http::prometheus::label_value;
    let mut out = String::new();
    out.push_str("# HELP squall_proxy_connections_total Connections accepted by a proxy.\n");
    out.push_str("# TYPE squall_proxy_connections_total counter\n");
    let all = agent.proxies.all();
    for p in &all {
        let _ = writeln!(
            out,
            "squall_proxy_connections_total{{proxy=\"{}\"}} {}",
            label_value(&p.name),
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
                label_value(&p.name)
            );
        }
    }
    // Toxiproxy's own names and labels (its `-proxy-metrics`), so
    // dashboards and scripts made for Toxiproxy read squall's proxies.
    for (name, help) in [
        (
            "toxiproxy_proxy_received_bytes_total",
            "Bytes a proxy read, per direction (Toxiproxy's name).",
        ),
        (
            "toxiproxy_proxy_sent_bytes_total",
            "Bytes a proxy wrote after its toxics, per direction (Toxiproxy's name).",
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        for p in &all {
            let (listen, upstream, _) = p.config();
            let t = &p.traffic;
            let load =
                |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
            let (up, down) = if name.contains("received") {
                (load(&t.upstream_received), load(&t.downstream_received))
            } else {
                (load(&t.upstream_bytes), load(&t.downstream_bytes))
            };
            for (dir, n) in [("upstream", up), ("downstream", down)] {
                let _ = writeln!(
                    out,
                    "{name}{{direction=\"{dir}\",listener=\"{}\",proxy=\"{}\",upstream=\"{}\"}} {n}",
                    label_value(&listen),
                    label_value(&p.name),
                    label_value(&upstream)
                );
            }
        }
    }
    out.push_str("# HELP squall_faults_active Faults in force (leases).\n");
    out.push_str("# TYPE squall_faults_active gauge\n");
    let _ = writeln!(out, "squall_faults_active {}", agent.injector.list().len());
    out
}
