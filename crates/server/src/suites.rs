//! Suites run by the server: each one a task that runs `squall suite`'s
//! state machine, its state kept in the database after every transition
//! (and in `<data>/suites/` as `squall suite` keeps it), its events stored
//! and broadcast like a run's. At start, suite runs a crash left running
//! are resumed.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use squall_suite::runner::{self, RunLocation, Settings, SuiteError, SuiteEvent};
use squall_suite::state::{SuiteState, SuiteStatus};
use squall_suite::store::{S3Settings, Store as SuiteStore};
use tokio::sync::{broadcast, mpsc, watch};

use crate::events::from_engine;
use crate::store::{Store, StoreError, StoredEvent, SuiteRow};

/// Where suites keep their files and how their experiments run.
#[derive(Clone, Debug)]
pub struct SuitesConfig {
    /// `<data>/suites`: the store (`<suite>/<run id>/...`).
    pub dir: PathBuf,
    /// `<data>/suite-runs`: run directories while they are written (each
    /// is deleted once copied into the store).
    pub runs_dir: PathBuf,
    /// Load-engine threads.
    pub threads: usize,
    /// Seed.
    pub seed: u64,
    /// The fleet coordinator, for experiments that name a fleet.
    pub coordinator: Option<Arc<squall_fleet::Coordinator>>,
}

struct LiveSuite {
    stop: watch::Sender<bool>,
    events: broadcast::Sender<StoredEvent>,
}

/// The suites in flight.
pub struct Suites {
    store: Store,
    config: SuitesConfig,
    agent: Arc<squall_faults::Agent>,
    live: Mutex<HashMap<String, Arc<LiveSuite>>>,
}

/// Why a suite did not start.
#[derive(Debug, thiserror::Error)]
pub enum SuiteStartError {
    /// The suite file is invalid.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    /// It runs already.
    #[error("suite run {0} is in progress")]
    Busy(String),
    /// It ended; only a stopped or cut-short run is resumed.
    #[error("{0}")]
    Ended(String),
    /// The suite store failed.
    #[error("{0}")]
    Files(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Suites {
    /// Nothing in flight yet.
    pub fn new(store: Store, config: SuitesConfig, agent: Arc<squall_faults::Agent>) -> Arc<Self> {
        Arc::new(Suites {
            store,
            config,
            agent,
            live: Mutex::new(HashMap::new()),
        })
    }

    fn files(&self) -> SuiteStore {
        SuiteStore::Dir(self.config.dir.clone())
    }

    /// Starts a suite; `documents` holds every experiment it names, read
    /// and checked by the caller.
    pub async fn start(
        self: &Arc<Self>,
        text: &str,
        documents: BTreeMap<usize, String>,
    ) -> Result<SuiteRow, SuiteStartError> {
        let (at, state, suite) =
            runner::prepare(self.files(), std::path::Path::new("suite.yaml"), text)
                .await
                .map_err(|e| match e {
                    SuiteError::Invalid(v) => SuiteStartError::Invalid(v),
                    e => SuiteStartError::Files(e.to_string()),
                })?;
        let row = SuiteRow {
            id: state.run_id.clone(),
            name: state.suite.clone(),
            status: "running".into(),
            state: serde_json::to_string(&state).expect("plain data"),
            owner: String::new(),
            created_ms: state.started_ms as i64,
            ended_ms: None,
        };
        self.store.insert_suite(&row).await?;
        self.launch(at, state, suite, documents, false)?;
        Ok(row)
    }

    /// Resumes a stopped or cut-short suite run.
    pub async fn resume(
        self: &Arc<Self>,
        row: &SuiteRow,
        documents: BTreeMap<usize, String>,
    ) -> Result<(), SuiteStartError> {
        if row.owner != self.store.owner() {
            return Err(SuiteStartError::Ended(format!(
                "suite run {} belongs to another server (it resumes it)",
                row.id
            )));
        }
        if row.status == "passed" || row.status == "failed" {
            return Err(SuiteStartError::Ended(format!(
                "suite run {} ended ({}); start a new one",
                row.id, row.status
            )));
        }
        let state: SuiteState = serde_json::from_str(&row.state)
            .map_err(|e| SuiteStartError::Files(format!("suite run {}: {e}", row.id)))?;
        let suite =
            squall_suite::spec::parse(std::path::Path::new("suite.yaml"), &state.suite_text)
                .map_err(SuiteStartError::Invalid)?;
        let at = RunLocation {
            store: self.files(),
            dir: format!("{}/{}", state.suite, state.run_id),
        };
        self.launch(at, state, suite, documents, true)
    }

    /// Runs it in a task; refused when it runs already (checked and
    /// registered under one lock, so two resumes cannot both start it).
    fn launch(
        self: &Arc<Self>,
        at: RunLocation,
        state: SuiteState,
        suite: squall_suite::spec::Suite,
        documents: BTreeMap<usize, String>,
        resume: bool,
    ) -> Result<(), SuiteStartError> {
        let id = state.run_id.clone();
        let (stop_tx, stop_rx) = watch::channel(false);
        let live = Arc::new(LiveSuite {
            stop: stop_tx,
            events: broadcast::channel(1024).0,
        });
        {
            let mut map = self.live.lock().expect("not poisoned");
            if map.contains_key(&id) {
                return Err(SuiteStartError::Busy(id));
            }
            map.insert(id.clone(), live.clone());
        }
        let me = self.clone();
        tokio::spawn(async move {
            let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
            let (st_tx, mut st_rx) = mpsc::unbounded_channel::<SuiteState>();
            let settings = Settings {
                runs_dir: me.config.runs_dir.clone(),
                threads: me.config.threads,
                seed: me.config.seed,
                stop: stop_rx,
                agent: Some(me.agent.clone()),
                coordinator: me.config.coordinator.clone(),
                s3: S3Settings::default(),
                events: ev_tx,
                documents,
                on_state: Some(st_tx),
                remove_run_dirs: true,
            };
            // One writer of the stored events, in order.
            let pump = {
                let me = me.clone();
                let (id, live) = (id.clone(), live.clone());
                tokio::spawn(async move {
                    let mut seq = me.store.next_event_seq(&id).await.unwrap_or(1) - 1;
                    let mut states_open = true;
                    loop {
                        // State first: the runner writes the state before
                        // it tells what happened.
                        tokio::select! {
                            biased;
                            s = st_rx.recv(), if states_open => match s {
                                Some(s) => me.record_state(&id, &live, &mut seq, &s).await,
                                None => states_open = false,
                            },
                            e = ev_rx.recv() => match e {
                                Some(e) => if let Some((name, data)) = outgoing(&e) {
                                    me.publish(&id, &live, &mut seq, name, data).await;
                                },
                                None => break,
                            },
                        }
                    }
                    while let Ok(s) = st_rx.try_recv() {
                        me.record_state(&id, &live, &mut seq, &s).await;
                    }
                    seq
                })
            };
            let files = at.clone();
            let result = if resume {
                runner::resume(at, &settings).await
            } else {
                runner::run(&at, state, &suite, &settings).await
            };
            drop(settings);
            let mut seq = pump.await.unwrap_or(0);
            let ended = match &result {
                Ok(s) => json!({ "status": s.status.as_str(), "error": null }),
                Err(e) => json!({ "status": "interrupted", "error": e.to_string() }),
            };
            if result.is_err() {
                // The row follows the suite's own state file (it may have
                // ended before a crash the database did not see); without
                // one, the suite stops here.
                match files.load().await {
                    Ok(Some(st)) if st.status != SuiteStatus::Running => me.save(&st).await,
                    _ => {
                        if let Ok(Some(row)) = me.store.suite(&id).await {
                            let _ = me
                                .store
                                .update_suite(&id, "interrupted", &row.state, None)
                                .await;
                        }
                    }
                }
            }
            me.publish(&id, &live, &mut seq, "ended", ended).await;
            me.live.lock().expect("not poisoned").remove(&id);
        });
        Ok(())
    }

    /// A new state: into the database, then to the stream.
    async fn record_state(&self, id: &str, live: &LiveSuite, seq: &mut i64, s: &SuiteState) {
        self.save(s).await;
        self.publish(id, live, seq, "state", brief(s)).await;
    }

    async fn save(&self, s: &SuiteState) {
        let ended = s.ended_ms.map(|m| m as i64);
        let _ = self
            .store
            .update_suite(
                &s.run_id,
                s.status.as_str(),
                &serde_json::to_string(s).expect("plain data"),
                ended,
            )
            .await;
    }

    async fn publish(&self, id: &str, live: &LiveSuite, seq: &mut i64, name: &str, data: Value) {
        *seq += 1;
        let e = StoredEvent {
            seq: *seq,
            name: name.to_string(),
            data: data.to_string(),
        };
        let _ = self.store.append_event(id, &e).await;
        let _ = live.events.send(e);
    }

    /// Asks a suite run to stop; false when it is not running here.
    pub fn stop(&self, id: &str) -> bool {
        match self.live.lock().expect("not poisoned").get(id) {
            Some(l) => {
                let _ = l.stop.send(true);
                true
            }
            None => false,
        }
    }

    /// Whether it runs here now.
    pub fn is_live(&self, id: &str) -> bool {
        self.live.lock().expect("not poisoned").contains_key(id)
    }

    /// The events to come of a suite run in flight.
    pub fn follow(&self, id: &str) -> Option<broadcast::Receiver<StoredEvent>> {
        self.live
            .lock()
            .expect("not poisoned")
            .get(id)
            .map(|l| l.events.subscribe())
    }

    /// Stops every suite (the server is shutting down); they are left
    /// `interrupted` (`POST /api/v1/suites/{id}/resume` goes on). A suite
    /// cut short by a crash is resumed at the next start.
    pub fn stop_all(&self) {
        for l in self.live.lock().expect("not poisoned").values() {
            let _ = l.stop.send(true);
        }
    }

    /// How many run now.
    pub fn in_flight(&self) -> usize {
        self.live.lock().expect("not poisoned").len()
    }
}

/// What a client sees of a suite's progress (per-second figures are the
/// runs' business: `squall serve`'s run events and the stored reports).
fn outgoing(e: &SuiteEvent) -> Option<(&'static str, Value)> {
    Some(match e {
        SuiteEvent::Started {
            index,
            name,
            attempt,
        } => (
            "experiment",
            json!({"index": index, "name": name, "attempt": attempt}),
        ),
        SuiteEvent::Ended {
            index,
            name,
            status,
            detail,
        } => (
            "experiment_ended",
            json!({"index": index, "name": name, "status": status, "detail": detail}),
        ),
        SuiteEvent::Pause(d) => ("pause", json!({"seconds": d.as_secs_f64()})),
        SuiteEvent::Resumed(text) => ("resumed", json!({ "text": text })),
        SuiteEvent::Engine(ev) => {
            let out = from_engine(ev);
            if matches!(out.name, "second" | "goals" | "running") {
                return None;
            }
            (out.name, out.data)
        }
    })
}

/// The state in short: the suite's status and each experiment's.
fn brief(s: &SuiteState) -> Value {
    json!({
        "status": s.status.as_str(),
        "items": s.items.iter().map(|i| json!({
            "index": i.index,
            "name": i.name,
            "status": i.status,
            "attempts": i.attempts.len(),
        })).collect::<Vec<_>>(),
    })
}
