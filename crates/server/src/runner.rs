//! The runs in flight: each one goes through the same engine as `squall
//! run` (`squall_executor::execute`), in a task of its own, with a stop
//! switch and a broadcast of its events. Every event is stored before it is
//! broadcast, so what a client sees is always in the database too.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::json;
use squall_executor::execute::{ExecuteError, Request, execute};
use tokio::sync::{broadcast, mpsc, watch};

use crate::events::{Outgoing, from_engine};
use crate::store::{RunRow, RunStatus, Store, StoredEvent};

/// How runs are made.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// Where run directories go (`<data>/runs`).
    pub runs_dir: PathBuf,
    /// Load-engine threads per run.
    pub threads: usize,
    /// Seed for load and simulator.
    pub seed: u64,
    /// Runs in flight at most.
    pub max_runs: usize,
}

/// Why a run was not started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A run of this version is in flight.
    #[error("run {0} of this version is in progress; stop it or wait for it to end")]
    Busy(String),
    /// As many runs as allowed are in flight.
    #[error("{0} runs are in progress, the most this server runs at once (--max-runs)")]
    Full(usize),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// One run in flight.
struct Live {
    experiment_id: String,
    version: i64,
    stop: watch::Sender<bool>,
    events: broadcast::Sender<StoredEvent>,
}

/// The runs in flight and how to start more.
pub struct Runner {
    store: Store,
    config: RunnerConfig,
    agent: Arc<squall_faults::Agent>,
    live: Mutex<HashMap<String, Arc<Live>>>,
    /// External components that said they are ready, per (experiment, version).
    registered: Mutex<HashMap<(String, i64), BTreeSet<String>>>,
}

/// What a client gets to follow a run: the events to come (subscribe
/// before reading the stored ones, so none falls in between).
pub type Follow = broadcast::Receiver<StoredEvent>;

impl Runner {
    /// A runner with nothing in flight.
    pub fn new(
        store: Store,
        config: RunnerConfig,
        agent: Arc<squall_faults::Agent>,
    ) -> Arc<Runner> {
        Arc::new(Runner {
            store,
            config,
            agent,
            live: Mutex::new(HashMap::new()),
            registered: Mutex::new(HashMap::new()),
        })
    }

    /// Starts a run of `document` (version `version` of `experiment_id`).
    pub async fn start(
        self: &Arc<Self>,
        experiment_id: &str,
        version: i64,
        document: String,
    ) -> Result<RunRow, StartError> {
        // Reserve the slot before the first await, so two starts of one
        // version cannot both pass.
        let reservation = format!("pending:{experiment_id}:{version}");
        {
            let mut live = self.live.lock().expect("not poisoned");
            if let Some((id, _)) = live
                .iter()
                .find(|(_, l)| l.experiment_id == experiment_id && l.version == version)
            {
                return Err(StartError::Busy(
                    id.trim_start_matches("pending:").to_string(),
                ));
            }
            if live.len() >= self.config.max_runs {
                return Err(StartError::Full(self.config.max_runs));
            }
            live.insert(
                reservation.clone(),
                Arc::new(self.live_entry(experiment_id, version)),
            );
        }
        let row = match self.store.create_run(experiment_id, version).await {
            Ok(r) => r,
            Err(e) => {
                self.live.lock().expect("not poisoned").remove(&reservation);
                return Err(e.into());
            }
        };
        let entry = {
            let mut live = self.live.lock().expect("not poisoned");
            let entry = live.remove(&reservation).expect("reserved above");
            live.insert(row.id.clone(), entry.clone());
            entry
        };
        let runner = self.clone();
        let id = row.id.clone();
        tokio::spawn(async move { runner.drive(id, entry, document).await });
        Ok(row)
    }

    fn live_entry(&self, experiment_id: &str, version: i64) -> Live {
        Live {
            experiment_id: experiment_id.to_string(),
            version,
            stop: watch::channel(false).0,
            events: broadcast::channel(1024).0,
        }
    }

    /// Asks a run in flight to stop; false when it is not in flight.
    pub fn stop(&self, run_id: &str) -> bool {
        match self.live.lock().expect("not poisoned").get(run_id) {
            Some(l) => {
                let _ = l.stop.send(true);
                true
            }
            None => false,
        }
    }

    /// The events to come of a run in flight (`None` when it is not).
    pub fn follow(&self, run_id: &str) -> Option<Follow> {
        self.live
            .lock()
            .expect("not poisoned")
            .get(run_id)
            .map(|l| l.events.subscribe())
    }

    /// The run of a version in flight, if any.
    pub fn live_run(&self, experiment_id: &str, version: i64) -> Option<String> {
        self.live
            .lock()
            .expect("not poisoned")
            .iter()
            .find(|(id, l)| {
                l.experiment_id == experiment_id
                    && l.version == version
                    && !id.starts_with("pending:")
            })
            .map(|(id, _)| id.clone())
    }

    /// An external component says it is ready for runs of a version.
    pub fn register(&self, experiment_id: &str, version: i64, client: String) {
        self.registered
            .lock()
            .expect("not poisoned")
            .entry((experiment_id.to_string(), version))
            .or_default()
            .insert(client);
    }

    /// The components registered for a version.
    pub fn registered(&self, experiment_id: &str, version: i64) -> BTreeSet<String> {
        self.registered
            .lock()
            .expect("not poisoned")
            .get(&(experiment_id.to_string(), version))
            .cloned()
            .unwrap_or_default()
    }

    /// True while a run of this experiment (any version) is in flight.
    pub fn busy(&self, experiment_id: &str) -> bool {
        self.live
            .lock()
            .expect("not poisoned")
            .values()
            .any(|l| l.experiment_id == experiment_id)
    }

    /// How many runs are in flight.
    pub fn in_flight(&self) -> usize {
        self.live.lock().expect("not poisoned").len()
    }

    /// Asks every run in flight to stop and waits until they have ended
    /// (faults reverted, reports written).
    pub async fn stop_all(&self) {
        let ids: Vec<String> = self
            .live
            .lock()
            .expect("not poisoned")
            .keys()
            .cloned()
            .collect();
        for id in &ids {
            self.stop(id);
        }
        while self.in_flight() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn drive(self: Arc<Self>, run_id: String, live: Arc<Live>, document: String) {
        let mut seq = 0i64;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let file = PathBuf::from(if document.trim_start().starts_with('{') {
            "experiment.json"
        } else {
            "experiment.yaml"
        });
        let request = Request {
            file,
            text: document,
            runs_dir: self.config.runs_dir.clone(),
            threads: self.config.threads,
            seed: self.config.seed,
            stop: live.stop.subscribe(),
            live: None,
            agent: Some(self.agent.clone()),
        };
        let run = tokio::spawn(execute(request, tx));
        while let Some(e) = rx.recv().await {
            if let squall_executor::event::Event::RunDir(dir) = &e
                && let Err(err) = self
                    .store
                    .run_started(&run_id, &dir.display().to_string())
                    .await
            {
                self.publish(
                    &run_id,
                    &live,
                    &mut seq,
                    warning(&format!("cannot record the run directory: {err}")),
                )
                .await;
            }
            if let Some(out) = from_engine(&e) {
                self.publish(&run_id, &live, &mut seq, out).await;
            }
        }
        let stopped = *live.stop.borrow();
        let result = run.await;
        let (status, verdict, exit_code, error) = match &result {
            Ok(Ok(done)) => {
                for g in &done.report.goals {
                    let data = serde_json::to_value(g).unwrap_or_default();
                    self.publish(&run_id, &live, &mut seq, Outgoing { name: "goal", data })
                        .await;
                }
                let status = if stopped {
                    RunStatus::Stopped
                } else {
                    RunStatus::Completed
                };
                (
                    status,
                    Some(done.report.verdict.clone()),
                    Some(i64::from(done.report.exit_code)),
                    None,
                )
            }
            Ok(Err(ExecuteError::Invalid(problems))) => (
                RunStatus::Failed,
                None,
                None,
                Some(format!(
                    "the experiment is not valid: {}",
                    problems.join("; ")
                )),
            ),
            Ok(Err(e)) => (RunStatus::Failed, None, None, Some(e.to_string())),
            Err(panic) => (
                RunStatus::Failed,
                None,
                None,
                Some(format!("internal error: {panic}")),
            ),
        };
        let ended = Outgoing {
            name: "ended",
            data: json!({
                "status": status.as_str(),
                "verdict": verdict,
                "exit_code": exit_code,
                "error": error,
                "report": verdict.as_ref().map(|_| format!("/api/v1/runs/{run_id}/report")),
            }),
        };
        if let Err(e) = self
            .store
            .run_ended(
                &run_id,
                status,
                verdict.as_deref(),
                exit_code,
                error.as_deref(),
            )
            .await
        {
            self.publish(
                &run_id,
                &live,
                &mut seq,
                warning(&format!("cannot record the run's end: {e}")),
            )
            .await;
        }
        self.publish(&run_id, &live, &mut seq, ended).await;
        self.live.lock().expect("not poisoned").remove(&run_id);
    }

    /// Stores an event, then sends it to whoever follows the run.
    async fn publish(&self, run_id: &str, live: &Live, seq: &mut i64, out: Outgoing) {
        *seq += 1;
        let e = StoredEvent {
            seq: *seq,
            name: out.name.to_string(),
            data: out.data.to_string(),
        };
        // A failed write still reaches live clients; the gap shows in
        // the stored sequence numbers.
        let _ = self.store.append_event(run_id, &e).await;
        let _ = live.events.send(e);
    }
}

fn warning(text: &str) -> Outgoing {
    Outgoing {
        name: "warning",
        data: json!({ "text": text }),
    }
}
