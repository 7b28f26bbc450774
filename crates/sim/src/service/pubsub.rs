//! Asynchronous calls: a service publishes a message to a peer's queue
//! after its plain work and answers at once; consumers deliver the queue in
//! the background as `POST /_pubsub{path}` on the peer. A delivery answered
//! 404 is dropped and any other failure is redelivered (three more times,
//! 100 ms back-off doubling), as Dapr does with a subscriber's answers, so
//! pub/sub deterioration on the peer shows as delay, redeliveries and a
//! growing queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::sync::{Mutex, mpsc};

use super::{REQUEST_ID, Service};
use crate::topology::Publish;

/// Path prefix of deliveries on the subscriber.
pub const DELIVERY_PREFIX: &str = "/_pubsub";

/// Redeliveries after the first failed delivery.
const REDELIVERIES: u32 = 3;

/// Counters of one asynchronous call, exposed at `/_sim/metrics`.
#[derive(Default)]
pub struct TopicCounters {
    /// Messages accepted onto the queue.
    pub published: AtomicU64,
    /// Publishes refused because the queue was full.
    pub dropped: AtomicU64,
    /// Messages the subscriber accepted.
    pub delivered: AtomicU64,
    /// Deliveries tried again after a failure.
    pub redelivered: AtomicU64,
    /// Messages given up on (404, or every redelivery failed).
    pub failed: AtomicU64,
    /// Messages waiting or being delivered.
    pub pending: AtomicU64,
}

/// One asynchronous call of a service: its queue and counters.
pub struct Topic {
    /// As written in the topology.
    pub spec: Publish,
    /// Its figures.
    pub counters: Arc<TopicCounters>,
    tx: mpsc::Sender<String>,
    rx: Arc<Mutex<mpsc::Receiver<String>>>,
}

impl Topic {
    /// A queue for `spec`; nothing is delivered before [`start`].
    pub fn new(spec: Publish) -> Self {
        let (tx, rx) = mpsc::channel(spec.queue);
        Topic {
            spec,
            counters: Arc::default(),
            tx,
            rx: Arc::new(Mutex::new(rx)),
        }
    }

    /// Puts a message on the queue without waiting; a full queue drops it.
    pub fn publish(&self, request_id: &str) {
        match self.tx.try_send(request_id.to_string()) {
            Ok(()) => {
                self.counters.published.fetch_add(1, Ordering::Relaxed);
                self.counters.pending.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Starts the consumers of every asynchronous call of `svc`; they end with
/// the runtime (a stopped simulator drops what is queued, as a broker
/// without persistence would).
pub fn start(svc: &Arc<Service>) {
    for (i, topic) in svc.topics.iter().enumerate() {
        for _ in 0..topic.spec.concurrency {
            let svc = svc.clone();
            let rx = topic.rx.clone();
            tokio::spawn(async move {
                loop {
                    let Some(id) = rx.lock().await.recv().await else {
                        return;
                    };
                    let topic = &svc.topics[i];
                    deliver(&svc, topic, &id).await;
                    topic.counters.pending.fetch_sub(1, Ordering::Relaxed);
                }
            });
        }
    }
}

async fn deliver(svc: &Service, topic: &Topic, id: &str) {
    let c = &topic.counters;
    let Some(base) = svc.resolve(&topic.spec.to) else {
        c.failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let url = format!(
        "{}{DELIVERY_PREFIX}{}",
        base.trim_end_matches('/'),
        topic.spec.path
    );
    let body = Bytes::from(
        serde_json::json!({"from": svc.name, "id": id})
            .to_string()
            .into_bytes(),
    );
    let mut backoff = Duration::from_millis(100);
    for attempt in 0..=REDELIVERIES {
        if attempt > 0 {
            c.redelivered.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        let req = hyper::Request::post(&url)
            .header("content-type", "application/json")
            .header(REQUEST_ID, id)
            .body(Full::new(body.clone()))
            .expect("valid request parts");
        let call = async {
            let resp = svc.client().request(req).await.ok()?;
            let status = resp.status().as_u16();
            resp.into_body().collect().await.ok()?;
            Some(status)
        };
        match tokio::time::timeout(svc.limits.call_timeout, call).await {
            Ok(Some(s)) if s < 300 => {
                c.delivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(Some(404)) => break,
            _ => {}
        }
    }
    c.failed.fetch_add(1, Ordering::Relaxed);
}
