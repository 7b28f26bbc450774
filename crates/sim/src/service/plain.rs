//! The default behaviour for plain requests (`GET /` and the topology's
//! paths): latency, error rate, calls to other services, a sized body.
//! A failed call fails the caller with 502, so failures propagate upstream
//! as they do in real systems. After its calls a request publishes to the
//! service's queues (`publish`) and answers without waiting for delivery.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Request;
use hyper::body::Incoming;

use super::tree_exec::describe;
use super::{Outcome, REQUEST_ID, Service, with_body};
use crate::http_util;
use crate::topology::Call;

/// Handles a plain request, or a pub/sub `delivery` (which the same
/// default behaviour answers, after the pub/sub deterioration).
pub(crate) async fn handle(svc: &Arc<Service>, req: Request<Incoming>, delivery: bool) -> Outcome {
    // The request id only matters when there are calls to pass it to.
    let id = if svc.spec.calls.is_empty() && svc.topics.is_empty() {
        String::new()
    } else {
        svc.request_id(&req)
    };
    let slow = match svc.persistent_before(req.uri().path(), delivery).await {
        Ok(s) => s,
        Err(o) => return o,
    };
    let lat = svc.spec.latency;
    let d = lat.base + svc.jitter(lat.jitter);
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
    if svc.chance(svc.spec.error_rate * 100.0) {
        return Outcome::Respond(http_util::error(
            500,
            format!(
                "{}: simulated failure (error_rate {})",
                svc.name, svc.spec.error_rate
            ),
            None,
        ));
    }
    for step in &svc.spec.calls {
        let calls = step.calls();
        let taken: Vec<&Call> = calls
            .iter()
            .filter(|c| svc.chance(f64::from(c.probability)))
            .collect();
        let results: Vec<Result<(), String>> = if taken.len() > 1 {
            let mut set = tokio::task::JoinSet::new();
            for (i, c) in taken.iter().enumerate() {
                let (svc, c, id) = (svc.clone(), (*c).clone(), id.clone());
                set.spawn(async move { (i, call(&svc, &c, &id).await) });
            }
            let mut v: Vec<(usize, Result<(), String>)> = set.join_all().await;
            v.sort_by_key(|(i, _)| *i);
            v.into_iter().map(|(_, r)| r).collect()
        } else {
            let mut v = Vec::new();
            for c in taken {
                v.push(call(svc, c, &id).await);
            }
            v
        };
        let errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
        if !errors.is_empty() {
            let body = serde_json::json!({"service": svc.name, "error": "a call to another service failed", "errors": errors});
            return Outcome::Respond(http_util::json(502, &body));
        }
    }
    for topic in &svc.topics {
        topic.publish(&id);
    }
    Outcome::Respond(with_body(200, "text/plain", svc.plain_body.clone(), slow))
}

async fn call(svc: &Arc<Service>, c: &Call, id: &str) -> Result<(), String> {
    let Some(base) = svc.resolve(&c.call) else {
        return Err(format!("{}: unknown service", c.call));
    };
    let url = format!("{}{}", base.trim_end_matches('/'), c.path);
    let req = hyper::Request::get(&url)
        .header(REQUEST_ID, id)
        .body(http_body_util::Full::new(Bytes::new()))
        .map_err(|e| format!("{}: invalid URL {url}: {e}", c.call))?;
    let fut = async {
        let resp = svc
            .client()
            .request(req)
            .await
            .map_err(|e| format!("{} ({url}): {}", c.call, describe(&e)))?;
        let status = resp.status().as_u16();
        resp.into_body()
            .collect()
            .await
            .map_err(|e| format!("{} ({url}): body: {e}", c.call))?;
        if status >= 400 {
            return Err(format!("{} ({url}) answered {status}", c.call));
        }
        Ok(())
    };
    match tokio::time::timeout(svc.limits.call_timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "{} ({url}): no answer within {} ms",
            c.call,
            svc.limits.call_timeout.as_millis()
        )),
    }
}
