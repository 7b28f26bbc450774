//! Running a MicroSim `LoadGenerator` against a squall simulator, the way
//! MicroSim's control plane does: every `betweenDelay`, each request tree
//! is pruned once (MicroSim's rule, [`crate::microsim::prune`]) and sent
//! `replicas` times at once; a batch is one "done request". The trees go to
//! the simulator's control plane (`POST /tree`), which resolves the names.
//!
//! Unlike MicroSim's operator it stops: at `requestCount` batches sent (not
//! completed, so it never overshoots), at `timeout` (which MicroSim never
//! applies), or at the caller's limit; and it bounds the requests in flight.

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use squall_metrics::LatencyHistogram;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use crate::http_util;
use crate::microsim::{LoadGenerator, prune};
use crate::tree::Reply;

/// Requests in flight at most; a tick that would exceed it is skipped and
/// counted, as an overloaded generator must say rather than queue forever.
pub const MAX_IN_FLIGHT: usize = 4096;

/// Timeout of each request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How to run.
#[derive(Clone, Debug)]
pub struct LoadGenOptions {
    /// The simulator's control plane, e.g. `http://127.0.0.1:7700`.
    pub control: String,
    /// Seed of the pruning draws.
    pub seed: u64,
    /// Longest run when the resource sets neither `requestCount` nor
    /// `timeout` (MicroSim would run forever).
    pub limit: Duration,
}

/// What MicroSim's `status` would show, and what squall measured besides.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct LoadGenStatus {
    /// Batches completed (MicroSim's `doneRequests`).
    pub done_requests: u64,
    /// Sum of every request's response time (MicroSim's `totalResponseTime`).
    pub total_response_time: Duration,
    /// Copies per batch (MicroSim's `replicas`).
    pub replicas: u32,
    /// Distinct (request, response) pairs (the size of MicroSim's `responses`).
    pub responses: usize,
    /// Requests sent.
    pub sent: u64,
    /// Requests answered 200 with a reply tree.
    pub ok: u64,
    /// Requests that failed (no answer, timeout, another status).
    pub failed: u64,
    /// Ticks skipped because too many requests were in flight.
    pub skipped_ticks: u64,
    /// Nodes answered per service across all replies (the distribution of
    /// called routes).
    pub calls: BTreeMap<String, u64>,
    /// The first few failures, for the operator.
    pub errors: Vec<String>,
    /// Response times.
    #[serde(skip)]
    pub latency: LatencyHistogram,
}

#[derive(Default)]
struct Shared {
    status: LoadGenStatus,
    seen: HashSet<u64>,
}

/// Runs `lg` until it is done or `stop` turns true; returns its status.
pub async fn run(
    lg: &LoadGenerator,
    opts: &LoadGenOptions,
    mut stop: watch::Receiver<bool>,
) -> LoadGenStatus {
    let shared = Arc::new(Mutex::new(Shared::default()));
    shared.lock().expect("status lock").status.replicas = lg.replicas;
    let client = http_util::client();
    let url = format!("{}/tree", opts.control.trim_end_matches('/'));
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let started = Instant::now();
    let limit = match (lg.timeout, lg.request_count) {
        (Some(t), _) => t,
        (None, Some(_)) => Duration::MAX,
        (None, None) => opts.limit,
    };
    let mut ticker = tokio::time::interval(lg.between_delay);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batches_sent = 0u64;
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        if started.elapsed() >= limit {
            break;
        }
        if lg.request_count.is_some_and(|n| batches_sent >= n) {
            break;
        }
        for template in &lg.requests {
            let need = lg.replicas as usize;
            let Ok(permits) = in_flight.clone().try_acquire_many_owned(need as u32) else {
                shared.lock().expect("status lock").status.skipped_ticks += 1;
                continue;
            };
            let tree = prune(template, &mut || rng.random_range(0..100u32));
            let body = Bytes::from(serde_json::to_vec(&tree).expect("JSON value"));
            batches_sent += 1;
            let (client, url, shared) = (client.clone(), url.clone(), shared.clone());
            tasks.spawn(async move {
                let mut batch = tokio::task::JoinSet::new();
                for _ in 0..need {
                    let (client, url, body) = (client.clone(), url.clone(), body.clone());
                    batch.spawn(async move { send(&client, &url, body).await });
                }
                let results = batch.join_all().await;
                drop(permits);
                let mut g = shared.lock().expect("status lock");
                let Shared { status, seen } = &mut *g;
                status.done_requests += 1;
                for (took, answer) in results {
                    status.sent += 1;
                    status.total_response_time += took;
                    status.latency.record(took);
                    match answer {
                        Ok((bytes, reply)) => {
                            status.ok += 1;
                            count_calls(&reply, &mut status.calls);
                            let mut h = std::collections::hash_map::DefaultHasher::new();
                            (&bytes[..], &body[..]).hash(&mut h);
                            if seen.len() < 100_000 {
                                seen.insert(h.finish());
                            }
                        }
                        Err(e) => {
                            status.failed += 1;
                            if status.errors.len() < 10 {
                                status.errors.push(e);
                            }
                        }
                    }
                }
            });
        }
    }
    // Batches in flight finish (each request is bounded by its timeout).
    while tasks.join_next().await.is_some() {}
    let mut g = shared.lock().expect("status lock");
    g.status.responses = g.seen.len();
    std::mem::take(&mut g.status)
}

async fn send(
    client: &http_util::Client,
    url: &str,
    body: Bytes,
) -> (Duration, Result<(Bytes, Reply), String>) {
    let started = Instant::now();
    let id = format!("{:032x}", rand::random::<u128>());
    let req = http_util::with_token(hyper::Request::post(url))
        .header("content-type", "application/json")
        .header(crate::service::REQUEST_ID, id)
        .body(Full::new(body))
        .expect("valid request parts");
    let call = async {
        let resp = client
            .request(req)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{url}: body: {e}"))?
            .to_bytes();
        if status != 200 {
            return Err(format!(
                "{url} answered {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ));
        }
        let reply: Reply =
            serde_json::from_slice(&bytes).map_err(|e| format!("{url}: not a reply tree: {e}"))?;
        Ok((bytes, reply))
    };
    let answer = match tokio::time::timeout(REQUEST_TIMEOUT, call).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "{url}: no answer within {} s",
            REQUEST_TIMEOUT.as_secs()
        )),
    };
    (started.elapsed(), answer)
}

/// Counts every node that answered, by service.
fn count_calls(r: &Reply, calls: &mut BTreeMap<String, u64>) {
    if r.skipped {
        return;
    }
    *calls.entry(r.service.clone()).or_insert(0) += 1;
    for child in r.response.iter().flatten() {
        count_calls(child, calls);
    }
}
