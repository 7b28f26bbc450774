//! `--out influxdb=URL`: the same line protocol as the `influx` file,
//! written to a running InfluxDB while the run goes.
//!
//! - InfluxDB 1.x, k6's form: `http://[user:password@]host:8086/DATABASE`
//!   posts to `/write?db=DATABASE&precision=ns` (credentials as `u`/`p`).
//! - InfluxDB 2.x: `http://host:8086?org=ORG&bucket=BUCKET` posts to
//!   `/api/v2/write` with `Authorization: Token $INFLUX_TOKEN`.
//!
//! The load engine never waits for it: each second's lines go to a bounded
//! queue (10 minutes of seconds) that a thread of its own drains, batching
//! what has piled up, retrying a failed write with back-off (250 ms
//! doubling, five tries) when the server is unreachable, overloaded (429)
//! or failing (5xx), and giving up on a batch it refuses (another 4xx, e.g.
//! a missing database). A full queue drops the second. At the end the
//! queue gets 10 s to drain. Points written, dropped and retried are
//! counted, and said at the end ([`Sink::outcome`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use squall_metrics::Snapshot;

use crate::influx::lines;
use crate::record::SecondRecord;
use crate::{OutputError, Sink, Summary};

/// Seconds waiting to be written at most.
const QUEUE: usize = 600;
/// Lines per write at most.
const BATCH_LINES: usize = 5000;
/// Tries per batch.
const TRIES: u32 = 5;
/// How long the end of the run waits for the queue to drain.
const FLUSH: Duration = Duration::from_secs(10);
/// Timeout of one write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfluxTarget {
    /// The write endpoint with its query.
    pub write_url: String,
    /// `Authorization` header value, for 2.x.
    pub authorization: Option<String>,
    /// The URL as given, without credentials, for messages.
    pub display: String,
}

impl InfluxTarget {
    /// Reads `--out influxdb=URL`; `token` is `$INFLUX_TOKEN` for 2.x.
    pub fn parse(url: &str, token: Option<&str>) -> Result<Self, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            if url.starts_with("https://") {
                format!("influxdb={url}: https is not supported yet; write to InfluxDB over http (on loopback or a private network)")
            } else {
                format!("influxdb={url}: expected http://HOST:PORT/DATABASE (1.x) or http://HOST:PORT?org=ORG&bucket=BUCKET (2.x)")
            }
        })?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        if host.is_empty() {
            return Err(format!("influxdb={url}: no host"));
        }
        let params: Vec<(&str, &str)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect();
        let get = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let display = format!(
            "http://{host}/{path}{}",
            if query.is_empty() {
                String::new()
            } else {
                format!("?{query}")
            }
        );
        if let Some(bucket) = get("bucket") {
            let org = get("org")
                .ok_or_else(|| format!("influxdb={url}: InfluxDB 2.x needs org= beside bucket="))?;
            let token = token.ok_or_else(|| {
                format!("influxdb={url}: InfluxDB 2.x needs a token in $INFLUX_TOKEN")
            })?;
            return Ok(InfluxTarget {
                write_url: format!(
                    "http://{host}/api/v2/write?org={org}&bucket={bucket}&precision=ns"
                ),
                authorization: Some(format!("Token {token}")),
                display,
            });
        }
        let db = path.trim_end_matches('/');
        if db.is_empty() || db.contains('/') {
            return Err(format!(
                "influxdb={url}: name the database as the path (http://HOST:PORT/DATABASE), or give ?org=&bucket= for InfluxDB 2.x"
            ));
        }
        let mut write_url = format!("http://{host}/write?db={db}&precision=ns");
        if let Some(u) = userinfo {
            let (user, pass) = u.split_once(':').unwrap_or((u, ""));
            write_url.push_str(&format!("&u={user}&p={pass}"));
        }
        Ok(InfluxTarget {
            write_url,
            authorization: None,
            display,
        })
    }
}

#[derive(Default)]
struct Stats {
    written: AtomicU64,
    dropped: AtomicU64,
    retries: AtomicU64,
    queued: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// Writes to a live InfluxDB.
pub struct InfluxLiveSink {
    target: InfluxTarget,
    start_ns: u128,
    tx: Option<SyncSender<Vec<String>>>,
    stats: Arc<Stats>,
    done: Receiver<()>,
}

impl InfluxLiveSink {
    /// Starts the writer thread.
    pub fn start(target: InfluxTarget, start_unix: f64) -> Result<Self, OutputError> {
        let (tx, rx) = sync_channel(QUEUE);
        let (done_tx, done) = sync_channel(1);
        let stats = Arc::new(Stats::default());
        let (t, s) = (target.clone(), stats.clone());
        std::thread::Builder::new()
            .name("squall-influxdb".into())
            .spawn(move || {
                writer(&t, &s, rx);
                let _ = done_tx.send(());
            })
            .map_err(|e| OutputError {
                path: target.display.clone().into(),
                source: e,
            })?;
        Ok(Self {
            target,
            start_ns: (start_unix * 1e9) as u128,
            tx: Some(tx),
            stats,
            done,
        })
    }
}

fn note(stats: &Stats, e: String) {
    *stats.last_error.lock().expect("not poisoned") = Some(e);
}

fn writer(target: &InfluxTarget, stats: &Stats, rx: Receiver<Vec<String>>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            note(stats, format!("cannot start the writer: {e}"));
            for batch in rx {
                stats
                    .dropped
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                stats
                    .queued
                    .fetch_sub(batch.len() as u64, Ordering::Relaxed);
            }
            return;
        }
    };
    let client = squall_http::client::client();
    while let Ok(first) = rx.recv() {
        let mut batch = first;
        while batch.len() < BATCH_LINES {
            match rx.try_recv() {
                Ok(more) => batch.extend(more),
                Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        let body = Bytes::from(batch.join("\n") + "\n");
        let ok = rt.block_on(post(&client, target, body, stats));
        if ok {
            stats.written.fetch_add(n, Ordering::Relaxed);
        } else {
            stats.dropped.fetch_add(n, Ordering::Relaxed);
        }
        stats.queued.fetch_sub(n, Ordering::Relaxed);
    }
}

/// One batch, with retries; false when it was given up.
async fn post(
    client: &squall_http::client::HttpClient,
    target: &InfluxTarget,
    body: Bytes,
    stats: &Stats,
) -> bool {
    let mut backoff = Duration::from_millis(250);
    for attempt in 1..=TRIES {
        let mut req = hyper::Request::post(&target.write_url)
            .header("content-type", "text/plain; charset=utf-8");
        if let Some(a) = &target.authorization {
            req = req.header("authorization", a);
        }
        let req = req
            .body(Full::new(body.clone()))
            .expect("valid request parts");
        let answer = tokio::time::timeout(WRITE_TIMEOUT, async {
            let resp = client
                .request(req)
                .await
                .map_err(|e| squall_http::client::describe(&e))?;
            let status = resp.status().as_u16();
            let text = resp
                .into_body()
                .collect()
                .await
                .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
                .unwrap_or_default();
            Ok::<_, String>((status, text))
        })
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", WRITE_TIMEOUT.as_secs())));
        match answer {
            Ok((s, _)) if (200..300).contains(&s) => return true,
            Ok((s, text)) if s != 429 && (400..500).contains(&s) => {
                note(
                    stats,
                    format!("{} refused the points: {s} {}", target.display, text.trim()),
                );
                return false;
            }
            Ok((s, text)) => note(
                stats,
                format!("{} answered {s} {}", target.display, text.trim()),
            ),
            Err(e) => note(stats, format!("{}: {e}", target.display)),
        }
        if attempt < TRIES {
            stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(4));
        }
    }
    false
}

impl Sink for InfluxLiveSink {
    fn second(&mut self, snap: &Snapshot) -> Result<(), OutputError> {
        let rec: SecondRecord = snap.into();
        let batch = lines(&rec, self.start_ns);
        let n = batch.len() as u64;
        let Some(tx) = &self.tx else {
            return Ok(());
        };
        self.stats.queued.fetch_add(n, Ordering::Relaxed);
        match tx.try_send(batch) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats.queued.fetch_sub(n, Ordering::Relaxed);
                self.stats.dropped.fetch_add(n, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), OutputError> {
        // Closing the queue lets the writer finish what is in it.
        self.tx = None;
        let deadline = Instant::now() + FLUSH;
        if self
            .done
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_err()
        {
            // Still writing: what is left is not going to make it.
            let left = self.stats.queued.swap(0, Ordering::Relaxed);
            self.stats.dropped.fetch_add(left, Ordering::Relaxed);
            note(
                &self.stats,
                format!(
                    "{}: not drained within {} s of the end",
                    self.target.display,
                    FLUSH.as_secs()
                ),
            );
        }
        Ok(())
    }

    fn outcome(&self) -> Option<String> {
        let s = &self.stats;
        let (w, d, r) = (
            s.written.load(Ordering::Relaxed),
            s.dropped.load(Ordering::Relaxed),
            s.retries.load(Ordering::Relaxed),
        );
        let mut o = format!(
            "influxdb {}: {w} points written, {d} dropped, {r} retries",
            self.target.display
        );
        if d > 0
            && let Some(e) = s.last_error.lock().expect("not poisoned").as_ref()
        {
            o.push_str(&format!(" (last error: {e})"));
        }
        Some(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_as_k6_and_influxdb_2_write_them() {
        let t = InfluxTarget::parse("http://127.0.0.1:8086/squall", None).unwrap();
        assert_eq!(
            t.write_url,
            "http://127.0.0.1:8086/write?db=squall&precision=ns"
        );
        let t = InfluxTarget::parse("http://me:secret@db.local:8086/k6", None).unwrap();
        assert_eq!(
            t.write_url,
            "http://db.local:8086/write?db=k6&precision=ns&u=me&p=secret"
        );
        assert!(!t.display.contains("secret"), "{}", t.display);
        let t = InfluxTarget::parse("http://h:8086?org=o&bucket=b", Some("tok")).unwrap();
        assert_eq!(
            t.write_url,
            "http://h:8086/api/v2/write?org=o&bucket=b&precision=ns"
        );
        assert_eq!(t.authorization.as_deref(), Some("Token tok"));
        assert!(
            InfluxTarget::parse("http://h:8086?org=o&bucket=b", None)
                .unwrap_err()
                .contains("INFLUX_TOKEN")
        );
        assert!(
            InfluxTarget::parse("http://h:8086", None)
                .unwrap_err()
                .contains("name the database")
        );
        assert!(
            InfluxTarget::parse("https://h/db", None)
                .unwrap_err()
                .contains("https")
        );
    }
}
