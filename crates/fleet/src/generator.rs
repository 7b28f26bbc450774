//! `squall generator`: registers with a coordinator, waits for its share of
//! a run, runs it from the shared start and reports every second until the
//! coordinator has acknowledged all of them.
//!
//! A report that gets no answer is sent again with every second not yet
//! acknowledged, so a network blip delays seconds but neither loses nor
//! duplicates one. The generator takes plans only from the coordinator it
//! was pointed at (no redirects are followed) and reads no file a plan
//! names; a coordinator it cannot reach for [`GeneratorConfig::dead_man`]
//! stops its load.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::Method;
use serde::de::DeserializeOwned;
use squall_http::client::{HttpClient, call_as};
use squall_load::{RunOptions, Segment};
use squall_metrics::WireSnapshot;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::protocol::{Ack, Clock, Hello, Next, Order, PROTOCOL, Report, StopLevel, Welcome};

/// The most seconds one report carries (after a long blip the rest follow).
pub const MAX_SECONDS_PER_REPORT: usize = 30;
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// How a generator behaves.
#[derive(Clone, Debug)]
pub struct GeneratorConfig {
    /// The coordinator's base URL, e.g. `http://127.0.0.1:7400`.
    pub coordinator: String,
    /// Bearer token for the coordinator.
    pub token: Option<String>,
    /// This generator's name.
    pub name: String,
    /// A fixed segment index (Kubernetes Indexed Jobs).
    pub index: Option<u64>,
    /// Worker threads.
    pub threads: usize,
    /// Exit after one run.
    pub once: bool,
    /// Without an answer from the coordinator for this long, stop the load.
    pub dead_man: Duration,
    /// Without an answer for this long, give up and exit with an error.
    pub give_up: Duration,
    /// Receives a copy of every second this generator measured (its own
    /// record, e.g. an HdrHistogram log to audit the merge with).
    pub tap: Option<mpsc::UnboundedSender<squall_metrics::Snapshot>>,
}

/// What a generator tells the person watching it.
#[derive(Clone, Debug, PartialEq)]
pub enum GeneratorEvent {
    /// Registered under this id.
    Registered {
        /// The id.
        id: String,
    },
    /// A call failed; retrying.
    Retrying {
        /// What failed.
        error: String,
    },
    /// Given a segment of a run.
    Assigned {
        /// The run.
        run: String,
        /// Segment index (0-based).
        index: u64,
        /// Segments.
        count: u64,
    },
    /// The plan could not be used.
    PlanRefused {
        /// Why.
        error: String,
    },
    /// The load started.
    Started {
        /// How late after the shared instant (ms; negative: early).
        late_ms: f64,
        /// Clock offset used (ms).
        clock_offset_ms: f64,
    },
    /// The coordinator asked to stop, or it was unreachable too long.
    Stopping {
        /// Why.
        why: String,
    },
    /// The run ended here and every second was acknowledged.
    Finished {
        /// The run.
        run: String,
        /// Seconds reported.
        seconds: u64,
    },
}

/// Why a generator gave up.
#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    /// The coordinator refused the generator for good.
    #[error("the coordinator refused this generator: {0}")]
    Refused(String),
    /// The coordinator could not be reached for too long.
    #[error("no answer from the coordinator for {}s; giving up{}", .0.as_secs(), if *.1 > 0 { format!(" with {} seconds not delivered", .1) } else { String::new() })]
    Unreachable(Duration, usize),
    /// The run failed here (the plan did not compile, the coordinator dropped it).
    #[error("{0}")]
    Run(String),
}

enum CallFail {
    /// No answer, or a 5xx: worth retrying.
    Transient(String),
    /// A 4xx: the coordinator said no.
    Status(u16, String),
}

struct Link {
    client: HttpClient,
    base: String,
    token: Option<String>,
}

impl Link {
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        timeout: Duration,
    ) -> Result<T, CallFail> {
        let url = format!("{}{path}", self.base);
        let (status, text) = call_as(
            &self.client,
            method,
            &url,
            body,
            timeout,
            self.token.as_deref(),
        )
        .await
        .map_err(|e| CallFail::Transient(e.to_string()))?;
        match status {
            200..=299 => serde_json::from_str(&text)
                .map_err(|e| CallFail::Transient(format!("{url}: unreadable answer: {e}"))),
            400..=499 => Err(CallFail::Status(status, problem_detail(&text))),
            _ => Err(CallFail::Transient(format!(
                "{url}: {status} {}",
                problem_detail(&text)
            ))),
        }
    }

    /// The long poll for this generator's instructions.
    async fn next(&self, id: &str, known: Option<u64>) -> Result<Next, CallFail> {
        let path = match known {
            Some(v) => format!("/api/v1/fleet/generators/{id}/next?known={v}"),
            None => format!("/api/v1/fleet/generators/{id}/next"),
        };
        self.call(Method::GET, &path, None, Duration::from_secs(30))
            .await
    }
}

fn problem_detail(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_string))
        .unwrap_or_else(|| text.chars().take(300).collect())
}

fn unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0
}

/// Runs a generator until `once` is satisfied, or forever.
pub async fn run(
    cfg: GeneratorConfig,
    events: mpsc::UnboundedSender<GeneratorEvent>,
) -> Result<(), GeneratorError> {
    let link = Arc::new(Link {
        client: squall_http::client::client(),
        base: cfg.coordinator.trim_end_matches('/').to_string(),
        token: cfg.token.clone(),
    });
    let mut done_runs: HashSet<String> = HashSet::new();
    'register: loop {
        let id = register(&link, &cfg, &events).await?;
        let mut known: Option<u64> = None;
        let mut silent_since = Instant::now();
        loop {
            match link.next(&id, known).await {
                Ok(next) => {
                    silent_since = Instant::now();
                    known = Some(next.version);
                    let Some(order) = next.order else { continue };
                    if done_runs.contains(&order.run) || order.stop.is_some() {
                        continue;
                    }
                    done_runs.insert(order.run.clone());
                    let outcome = take_part(&link, &id, &cfg, order, &events).await;
                    if cfg.once {
                        return outcome;
                    }
                    if let Err(GeneratorError::Unreachable(..)) = outcome {
                        return outcome;
                    }
                }
                Err(CallFail::Status(404, _)) => continue 'register,
                Err(CallFail::Status(s, m)) => {
                    return Err(GeneratorError::Refused(format!("{s}: {m}")));
                }
                Err(CallFail::Transient(e)) => {
                    if silent_since.elapsed() > cfg.give_up {
                        return Err(GeneratorError::Unreachable(cfg.give_up, 0));
                    }
                    let _ = events.send(GeneratorEvent::Retrying { error: e });
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

async fn register(
    link: &Link,
    cfg: &GeneratorConfig,
    events: &mpsc::UnboundedSender<GeneratorEvent>,
) -> Result<String, GeneratorError> {
    let hello = Hello {
        protocol: PROTOCOL,
        name: cfg.name.clone(),
        index: cfg.index,
        threads: cfg.threads,
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let body = serde_json::to_string(&hello).expect("serializable");
    let since = Instant::now();
    loop {
        match link
            .call::<Welcome>(
                Method::POST,
                "/api/v1/fleet/generators",
                Some(body.clone()),
                CALL_TIMEOUT,
            )
            .await
        {
            Ok(w) => {
                let _ = events.send(GeneratorEvent::Registered { id: w.id.clone() });
                return Ok(w.id);
            }
            // Our previous self (a restart) is still remembered: wait it out.
            Err(CallFail::Status(409, m)) | Err(CallFail::Transient(m)) => {
                if since.elapsed() > cfg.give_up {
                    return Err(GeneratorError::Unreachable(cfg.give_up, 0));
                }
                let _ = events.send(GeneratorEvent::Retrying { error: m });
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(CallFail::Status(s, m)) => {
                return Err(GeneratorError::Refused(format!("{s}: {m}")));
            }
        }
    }
}

/// Estimates the coordinator's clock minus ours from the quickest of a few
/// round trips (NTP's idea: the answer was made near the middle of it).
async fn clock_offset(link: &Link) -> Option<f64> {
    let mut best: Option<(f64, f64)> = None;
    for _ in 0..5 {
        let t1 = unix_ms();
        let Ok(c) = link
            .call::<Clock>(Method::GET, "/api/v1/fleet/clock", None, CALL_TIMEOUT)
            .await
        else {
            continue;
        };
        let t3 = unix_ms();
        let rtt = t3 - t1;
        let offset = c.unix_ms - (t1 + t3) / 2.0;
        if best.is_none_or(|(r, _)| rtt < r) {
            best = Some((rtt, offset));
        }
    }
    best.map(|(_, o)| o)
}

/// One run: compile, say ready, wait for the start, run the segment,
/// deliver every second.
async fn take_part(
    link: &Arc<Link>,
    id: &str,
    cfg: &GeneratorConfig,
    order: Order,
    events: &mpsc::UnboundedSender<GeneratorEvent>,
) -> Result<(), GeneratorError> {
    let _ = events.send(GeneratorEvent::Assigned {
        run: order.run.clone(),
        index: order.index,
        count: order.count,
    });
    let report_path = format!("/api/v1/fleet/generators/{id}/report");
    let send = |r: &Report| {
        let body = serde_json::to_string(r).expect("serializable");
        let link = link.clone();
        let path = report_path.clone();
        async move {
            link.call::<Ack>(Method::POST, &path, Some(body), CALL_TIMEOUT)
                .await
        }
    };
    let plan = match order.plan.compile() {
        Ok(p) => Arc::new(p),
        Err(e) => {
            let error = e.to_string();
            let _ = events.send(GeneratorEvent::PlanRefused {
                error: error.clone(),
            });
            let _ = send(&Report {
                run: order.run.clone(),
                failed: Some(format!("the plan does not compile here: {error}")),
                ..Report::default()
            })
            .await;
            return Err(GeneratorError::Run(error));
        }
    };
    let offset = clock_offset(link).await.unwrap_or(0.0);
    let ready = Report {
        run: order.run.clone(),
        ready: true,
        clock_offset_ms: Some(offset),
        ..Report::default()
    };
    // Ready (said until the coordinator heard it), then a long poll for
    // the start instant.
    let since = Instant::now();
    loop {
        match send(&ready).await {
            Ok(_) => break,
            Err(CallFail::Status(_, m)) => return Err(GeneratorError::Run(m)),
            Err(CallFail::Transient(e)) => {
                if since.elapsed() > cfg.give_up {
                    return Err(GeneratorError::Unreachable(cfg.give_up, 0));
                }
                let _ = events.send(GeneratorEvent::Retrying { error: e });
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
    let mut known: Option<u64> = None;
    let mut last_ok = Instant::now();
    let start_unix_ms = loop {
        match link.next(id, known).await {
            Ok(next) => {
                last_ok = Instant::now();
                known = Some(next.version);
                match next.order.filter(|o| o.run == order.run) {
                    Some(o) if o.stop.is_some() => {
                        return Err(GeneratorError::Run(
                            "the run was stopped before its start".into(),
                        ));
                    }
                    Some(Order {
                        start_unix_ms: Some(at),
                        ..
                    }) => break at,
                    Some(_) => {}
                    None => {
                        return Err(GeneratorError::Run(
                            "the coordinator dropped the run before its start".into(),
                        ));
                    }
                }
            }
            Err(CallFail::Status(_, m)) => return Err(GeneratorError::Run(m)),
            Err(CallFail::Transient(e)) => {
                if last_ok.elapsed() > cfg.give_up {
                    return Err(GeneratorError::Unreachable(cfg.give_up, 0));
                }
                let _ = events.send(GeneratorEvent::Retrying { error: e });
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    };
    // The shared instant on our clock.
    let wait_ms = start_unix_ms - (unix_ms() + offset);
    let start_at = if wait_ms > 0.0 {
        Instant::now() + Duration::from_secs_f64(wait_ms / 1000.0)
    } else {
        Instant::now()
    };
    let opts = RunOptions {
        threads: cfg.threads,
        segment: Segment {
            index: order.index,
            count: order.count,
        },
        // Each generator its own random draws (think times, random feeder
        // rows): the run's seed spread by the segment index (segment 0
        // draws as a single process with that seed would).
        seed: order
            .seed
            .wrapping_add(order.index.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        start_at: Some(start_at),
    };
    let mut run = squall_load::start(plan, opts);
    let stop = run.stop_handle();
    tokio::time::sleep_until(start_at).await;
    let _ = events.send(GeneratorEvent::Started {
        late_ms: (-wait_ms).max(0.0),
        clock_offset_ms: offset,
    });

    let mut outbox: VecDeque<WireSnapshot> = VecDeque::new();
    let mut new_errors: Vec<String> = Vec::new();
    let mut seen_errors: HashSet<String> = HashSet::new();
    let mut produced: u64 = 0;
    let mut ended = false;
    let mut stopped: Option<StopLevel> = None;
    let mut last_ok = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // A report goes out with every new second and at least once a second.
        tokio::select! {
            snap = run.snapshots.recv(), if !ended => match snap {
                Some(s) => {
                    produced = s.second + 1;
                    if let Some(tap) = &cfg.tap {
                        let _ = tap.send(s.clone());
                    }
                    outbox.push_back(WireSnapshot::from(&s));
                }
                None => ended = true,
            },
            _ = tick.tick() => {}
        }
        while let Ok(e) = run.errors.try_recv() {
            if seen_errors.len() < 1000 && seen_errors.insert(e.clone()) {
                new_errors.push(e);
            }
        }
        let report = Report {
            run: order.run.clone(),
            seconds: outbox
                .iter()
                .take(MAX_SECONDS_PER_REPORT)
                .cloned()
                .collect(),
            errors: new_errors.clone(),
            done: (ended && outbox.len() <= MAX_SECONDS_PER_REPORT).then_some(produced),
            ..Report::default()
        };
        match send(&report).await {
            Ok(ack) => {
                last_ok = Instant::now();
                new_errors.clear();
                if let Some(t) = ack.through {
                    while outbox.front().is_some_and(|s| s.second <= t) {
                        outbox.pop_front();
                    }
                }
                if let Some(level) = ack.stop
                    && stopped.is_none_or(|s| s < level)
                {
                    stopped = Some(level);
                    let _ = events.send(GeneratorEvent::Stopping {
                        why: format!("the coordinator asked for a {level:?} stop").to_lowercase(),
                    });
                    match level {
                        StopLevel::Soft => stop.soft(),
                        StopLevel::Hard => stop.hard(),
                    }
                }
                if ended && outbox.is_empty() && report.done.is_some() {
                    break;
                }
            }
            Err(CallFail::Status(410, m)) => {
                stop.hard();
                let _ = events.send(GeneratorEvent::Stopping { why: m.clone() });
                drain(run).await;
                return Err(GeneratorError::Run(m));
            }
            Err(CallFail::Status(s, m)) => {
                let _ = events.send(GeneratorEvent::Retrying {
                    error: format!("{s}: {m}"),
                });
            }
            Err(CallFail::Transient(e)) => {
                let _ = events.send(GeneratorEvent::Retrying { error: e });
                let silent = last_ok.elapsed();
                if silent > cfg.dead_man && stopped != Some(StopLevel::Hard) {
                    stopped = Some(StopLevel::Hard);
                    stop.hard();
                    let _ = events.send(GeneratorEvent::Stopping {
                        why: format!("no answer from the coordinator for {} s", silent.as_secs()),
                    });
                }
                if silent > cfg.give_up {
                    let left = outbox.len();
                    drain(run).await;
                    return Err(GeneratorError::Unreachable(cfg.give_up, left));
                }
            }
        }
    }
    let seconds = produced;
    drain(run).await;
    let _ = events.send(GeneratorEvent::Finished {
        run: order.run,
        seconds,
    });
    Ok(())
}

async fn drain(mut run: squall_load::Run) {
    while run.snapshots.recv().await.is_some() {}
    let _ = tokio::task::spawn_blocking(move || run.join()).await;
}
