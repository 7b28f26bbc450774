//! Executing a request tree at one node: before-faults, children, after-faults.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Incoming;

use super::{DEPTH, Outcome, REQUEST_ID, Service, with_body};
use crate::fault::Fault;
use crate::http_util::{self};
use crate::tree::{FaultItem, Node, Reply, Route};

/// Largest request tree accepted, in bytes.
const MAX_TREE_BYTES: usize = 4 * 1024 * 1024;

/// How a phase of faults ended.
enum Phase {
    Continue,
    Stop(u16),
    Abort,
}

pub(crate) async fn handle(svc: &Arc<Service>, req: Request<Incoming>) -> Outcome {
    let id = svc.request_id(&req);
    let depth: u32 = req
        .headers()
        .get(DEPTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let raw: serde_json::Value = match http_util::read_json(req, MAX_TREE_BYTES).await {
        Ok(v) => v,
        Err((msg, field)) => return Outcome::Respond(http_util::error(400, msg, field.as_deref())),
    };
    let route = match Route::read(&raw) {
        Ok(r) => r,
        Err(e) => return Outcome::Respond(unreadable_root(&e)),
    };
    let slow = match svc.persistent_before("/", false).await {
        Ok(s) => s,
        Err(o) => return o,
    };
    let mut slow = slow;
    let mut reply = Reply {
        service: svc.name.clone(),
        address: svc.url(),
        errors: Vec::new(),
        response: Vec::new(),
        skipped: false,
        warnings: route
            .ignored
            .iter()
            .map(|f| format!("{f}: unknown field ignored"))
            .collect(),
    };
    let mut status = 200;
    match run_faults(svc, &route.faults.before, "before", &mut reply, &mut slow).await {
        Phase::Abort => return Outcome::Abort,
        Phase::Stop(s) => status = s,
        Phase::Continue => {
            call_children(svc, &route, depth, &id, &mut reply).await;
            match run_faults(svc, &route.faults.after, "after", &mut reply, &mut slow).await {
                Phase::Abort => return Outcome::Abort,
                Phase::Stop(s) => status = s,
                Phase::Continue => {}
            }
        }
    }
    let body = serde_json::to_vec(&reply).expect("plain data serializes");
    Outcome::Respond(with_body(
        status,
        "application/json",
        Bytes::from(body),
        slow,
    ))
}

/// The 400 for a root that cannot be read: `field` is the path before the
/// first `:` of the reader's message (`designation`, `routes`), as the
/// admin API's errors name theirs.
fn unreadable_root(e: &str) -> hyper::Response<http_util::Body> {
    let field = e
        .split_once(':')
        .map(|(f, _)| f)
        .filter(|f| !f.contains(' '));
    http_util::error(400, e.to_string(), field)
}

async fn run_faults(
    svc: &Arc<Service>,
    faults: &[FaultItem],
    phase: &str,
    reply: &mut Reply,
    slow: &mut Option<u64>,
) -> Phase {
    let errors = &mut reply.errors;
    for (i, item) in faults.iter().enumerate() {
        let spec = match item {
            Ok(spec) => spec,
            Err(e) => {
                errors.push(e.clone());
                continue;
            }
        };
        let fault = match Fault::read(spec, &svc.limits) {
            Ok((f, ignored)) => {
                reply.warnings.extend(
                    ignored
                        .into_iter()
                        .map(|a| format!("faults.{phase}[{i}].{a}: unknown argument ignored")),
                );
                f
            }
            Err(e) => {
                errors.push(e.message);
                continue;
            }
        };
        match fault {
            Fault::Latency { delay, jitter } => tokio::time::sleep(delay + svc.jitter(jitter)).await,
            Fault::MemoryLeak { mb, duration } => {
                // Asynchronous, as in MicroSim: the request goes on while the
                // memory is held, and it is released after `duration`.
                if let Err(e) = svc.resources.leak(mb, &svc.limits, tokio::time::sleep(duration)) {
                    errors.push(e);
                }
            }
            Fault::CpuLoad { duration, share } => match svc.resources.burn(duration, share, &svc.limits, Arc::new(AtomicBool::new(false))) {
                Ok(h) => {
                    let _ = h.await;
                }
                Err(e) => errors.push(e),
            },
            Fault::Error { status, probability } => {
                if svc.chance(probability) {
                    errors.push(format!("injected error {status}"));
                    return Phase::Stop(status);
                }
            }
            Fault::Abort => return Phase::Abort,
            Fault::SlowBody { bytes_per_sec } => *slow = Some(bytes_per_sec),
            Fault::Crash if svc.supervised => super::crash(&svc.name),
            Fault::Crash => errors.push("crash: needs a supervised service (squall sim up --processes), not available in single-process mode".into()),
            Fault::Invocation(_) | Fault::PubSub(_) | Fault::Memory { .. } | Fault::Cpu(_) => errors.push(format!(
                "{}: a state of the service, not a step of a request: switch it on with PUT /_sim/faults",
                spec.kind
            )),
        }
    }
    Phase::Continue
}

async fn call_children(svc: &Arc<Service>, route: &Route, depth: u32, id: &str, reply: &mut Reply) {
    let children = &route.routes;
    if children.is_empty() {
        return;
    }
    if depth + 1 > svc.limits.max_depth {
        reply.errors.push(format!(
            "tree depth exceeds max_depth {}: children not called",
            svc.limits.max_depth
        ));
        return;
    }
    if children.len() as u32 > svc.limits.max_fanout {
        reply.errors.push(format!(
            "{} children exceed max_fanout {}: children not called",
            children.len(),
            svc.limits.max_fanout
        ));
        return;
    }
    // Draw every child's probability up front, in route order, so a seeded
    // run makes the same choices whether children run in order or together.
    let taken: Vec<bool> = children
        .iter()
        .map(|c| match c {
            Node::Route(r) => svc.chance(r.probability),
            Node::Unusable(_) => false,
        })
        .collect();
    let results: Vec<(Option<Reply>, Option<String>)> = if route.parallel {
        let futs = children
            .iter()
            .zip(&taken)
            .map(|(c, t)| call_node(svc, c, *t, depth, id));
        join_all(futs).await
    } else {
        let mut v = Vec::with_capacity(children.len());
        for (c, t) in children.iter().zip(&taken) {
            v.push(call_node(svc, c, *t, depth, id).await);
        }
        v
    };
    for (r, e) in results {
        if let Some(e) = e {
            reply.errors.push(e);
        }
        reply.response.push(r);
    }
}

/// A child as read: an unusable one is an error entry and `null`, as a
/// failed call is.
async fn call_node(
    svc: &Arc<Service>,
    node: &Node,
    taken: bool,
    depth: u32,
    id: &str,
) -> (Option<Reply>, Option<String>) {
    match node {
        Node::Route(child) => call_child(svc, child, taken, depth, id).await,
        Node::Unusable(e) => (None, Some(format!("{e} (route not called)"))),
    }
}

async fn join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.map(Box::pin).collect();
    let mut out = Vec::with_capacity(handles.len());
    // Futures are polled concurrently by awaiting them from one select loop.
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    for r in results {
        out.push(r.expect("every future completed"));
    }
    out
}

/// Calls one child; returns its reply (or `None`) and an error for the parent.
async fn call_child(
    svc: &Arc<Service>,
    child: &Route,
    taken: bool,
    depth: u32,
    id: &str,
) -> (Option<Reply>, Option<String>) {
    if !taken {
        let skipped = Reply {
            service: child.designation.clone(),
            address: svc.resolve(&child.designation).unwrap_or_default(),
            errors: Vec::new(),
            response: Vec::new(),
            skipped: true,
            warnings: Vec::new(),
        };
        return (Some(skipped), None);
    }
    let Some(url) = svc.resolve(&child.designation) else {
        return (
            None,
            Some(format!(
                "{}: unknown service (not in the topology; a URL must lead to a topology service or a host in SQUALL_SIM_ALLOW_HOSTS)",
                child.designation
            )),
        );
    };
    let body = serde_json::to_vec(&child.raw).expect("plain data serializes");
    let req = match hyper::Request::post(&url)
        .header("content-type", "application/json")
        .header(REQUEST_ID, id)
        .header(DEPTH, (depth + 1).to_string())
        .body(Full::new(Bytes::from(body)))
    {
        Ok(r) => r,
        Err(e) => {
            return (
                None,
                Some(format!("{}: invalid address {url}: {e}", child.designation)),
            );
        }
    };
    let call = async {
        let resp = svc
            .client()
            .request(req)
            .await
            .map_err(|e| format!("{} ({url}): {}", child.designation, describe(&e)))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{} ({url}): body: {e}", child.designation))?
            .to_bytes();
        Ok::<_, String>((status, bytes))
    };
    match tokio::time::timeout(svc.limits.call_timeout, call).await {
        Err(_) => (
            None,
            Some(format!(
                "{} ({url}): no answer within {} ms",
                child.designation,
                svc.limits.call_timeout.as_millis()
            )),
        ),
        Ok(Err(e)) => (None, Some(e)),
        Ok(Ok((status, bytes))) => match serde_json::from_slice::<Reply>(&bytes) {
            Ok(r) if status == 200 => (Some(r), None),
            Ok(r) => (
                Some(r),
                Some(format!("{} answered {status}", child.designation)),
            ),
            Err(_) => (
                None,
                Some(format!(
                    "{} answered {status} with a body that is not a reply: {}",
                    child.designation,
                    String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                )),
            ),
        },
    }
}

/// The innermost cause of a client error (e.g. "Connection refused").
pub(crate) use squall_http::client::describe;
