//! The runs in flight: each one goes through the same engine as `squall
//! run` (`squall_executor::execute`), in a task of its own, with a stop
//! switch and a broadcast of its events. Every event is stored before it is
//! broadcast, so what a client sees is always in the database too.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use squall_executor::execute::{ExecuteError, Request, execute};
use tokio::sync::{broadcast, mpsc, watch};

use crate::events::{Outgoing, from_engine};
use crate::store::{RunRow, RunStatus, Store, StoredEvent};

/// How long a run waits for its `sync` clients unless the document says.
const DEFAULT_SYNC_WAIT: std::time::Duration = std::time::Duration::from_secs(60);
/// How often registrations are looked at while waiting.
const SYNC_POLL: std::time::Duration = std::time::Duration::from_millis(5);
/// How far ahead of itself t0 is published: clients learn it (by the
/// event stream or a poll of `GET /trigger`) before it comes.
const T0_LEAD: std::time::Duration = std::time::Duration::from_millis(250);

/// Registered client names kept per version at most.
pub const MAX_CLIENTS: usize = 100;

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
    /// The fleet coordinator generators register with.
    pub coordinator: Option<Arc<squall_fleet::Coordinator>>,
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
    /// The document was replaced between its check and the start.
    #[error("the document changed while the run was starting; start it again")]
    Changed,
    /// The server is shutting down.
    #[error("the server is shutting down")]
    Closing,
    /// The start task failed.
    #[error("internal error while starting: {0}")]
    Internal(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// How a run ended.
struct Ending {
    status: RunStatus,
    verdict: Option<String>,
    exit_code: Option<i64>,
    error: Option<String>,
}

impl Ending {
    /// It could not start or ended on an error.
    fn failed(why: String) -> Ending {
        Ending {
            status: RunStatus::Failed,
            verdict: None,
            exit_code: None,
            error: Some(why),
        }
    }
}

/// One run in flight.
struct Live {
    experiment_id: String,
    version: i64,
    stop: watch::Sender<bool>,
    events: broadcast::Sender<StoredEvent>,
    /// The shared start instant (Unix ms; 0 until published).
    t0: std::sync::atomic::AtomicI64,
    /// The run waits for external clients.
    syncs: std::sync::atomic::AtomicBool,
}

/// The runs in flight and how to start more.
pub struct Runner {
    store: Store,
    config: RunnerConfig,
    agent: Arc<squall_faults::Agent>,
    live: Mutex<HashMap<String, Arc<Live>>>,
    /// External components that said they are ready, per (experiment, version).
    registered: Mutex<HashMap<(String, i64), BTreeSet<String>>>,
    /// Set when the server shuts down: no new run starts.
    closing: AtomicBool,
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
            closing: AtomicBool::new(false),
        })
    }

    /// Starts a run of `document` (version `version` of `experiment_id`),
    /// the text the caller checked. The run's row freezes the version; if
    /// the stored document is no longer that text by then (a PUT slipped
    /// in), the start is refused rather than running something else.
    /// Starts a run of a version whose stored document is `document`;
    /// `run` is what runs (the document itself, or composed with the
    /// version's MiSArch parts) with warnings to publish first.
    pub async fn start(
        self: &Arc<Self>,
        experiment_id: &str,
        version: i64,
        document: String,
        run: RunText,
    ) -> Result<RunRow, StartError> {
        // Reserve the slot before the first await, so two starts of one
        // version cannot both pass.
        let reservation = format!("pending:{}", uuid::Uuid::new_v4());
        {
            let mut live = self.live.lock().expect("not poisoned");
            if self.closing.load(Ordering::Acquire) {
                return Err(StartError::Closing);
            }
            if let Some((id, _)) = live
                .iter()
                .find(|(_, l)| l.experiment_id == experiment_id && l.version == version)
            {
                let id = if id.starts_with("pending:") {
                    "(starting)"
                } else {
                    id
                };
                return Err(StartError::Busy(id.to_string()));
            }
            if live.len() >= self.config.max_runs {
                return Err(StartError::Full(self.config.max_runs));
            }
            live.insert(
                reservation.clone(),
                Arc::new(self.live_entry(experiment_id, version)),
            );
            // Registrations are per run: clients register after this start.
            self.registered
                .lock()
                .expect("not poisoned")
                .remove(&(experiment_id.to_string(), version));
        }
        // The rest in a task of its own: a client that hangs up mid-start
        // cannot leave the reservation behind.
        let runner = self.clone();
        let experiment_id = experiment_id.to_string();
        tokio::spawn(async move {
            let launched = runner
                .launch(&experiment_id, version, &reservation, document, run)
                .await;
            if launched.is_err() {
                runner
                    .live
                    .lock()
                    .expect("not poisoned")
                    .remove(&reservation);
            }
            launched
        })
        .await
        .map_err(|e| StartError::Internal(e.to_string()))?
    }

    async fn launch(
        self: &Arc<Self>,
        experiment_id: &str,
        version: i64,
        reservation: &str,
        document: String,
        run: RunText,
    ) -> Result<RunRow, StartError> {
        let row = self.store.create_run(experiment_id, version).await?;
        let current = self.store.version(experiment_id, version).await?;
        if current.is_none_or(|v| v.document != document) {
            let why = "the document changed while the run was starting";
            self.store
                .run_ended(&row.id, RunStatus::Failed, None, None, Some(why))
                .await?;
            return Err(StartError::Changed);
        }
        let entry = {
            let mut live = self.live.lock().expect("not poisoned");
            let entry = live.remove(reservation).expect("reserved by start");
            live.insert(row.id.clone(), entry.clone());
            entry
        };
        let runner = self.clone();
        let id = row.id.clone();
        tokio::spawn(async move { runner.drive(id, entry, run).await });
        Ok(row)
    }

    fn live_entry(&self, experiment_id: &str, version: i64) -> Live {
        Live {
            experiment_id: experiment_id.to_string(),
            version,
            stop: watch::channel(false).0,
            events: broadcast::channel(1024).0,
            t0: std::sync::atomic::AtomicI64::new(0),
            syncs: std::sync::atomic::AtomicBool::new(false),
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

    /// True while a run in flight waits for its `sync` clients (or has a t0).
    pub fn waits_for_clients(&self, run_id: &str) -> bool {
        self.live
            .lock()
            .expect("not poisoned")
            .get(run_id)
            .is_some_and(|l| l.syncs.load(std::sync::atomic::Ordering::Acquire))
    }

    /// The shared start instant of a run in flight (Unix ms), once published.
    pub fn t0(&self, run_id: &str) -> Option<i64> {
        let live = self.live.lock().expect("not poisoned");
        let t0 = live
            .get(run_id)?
            .t0
            .load(std::sync::atomic::Ordering::Acquire);
        (t0 > 0).then_some(t0)
    }

    /// An external component says it is ready for runs of a version;
    /// false when the version already has [`MAX_CLIENTS`] names.
    pub fn register(&self, experiment_id: &str, version: i64, client: String) -> bool {
        let mut all = self.registered.lock().expect("not poisoned");
        let names = all.entry((experiment_id.to_string(), version)).or_default();
        if names.len() >= MAX_CLIENTS && !names.contains(&client) {
            return false;
        }
        names.insert(client);
        true
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
        self.closing.store(true, Ordering::Release);
        // Again on every pass: a start that was already past its check
        // may add a run after the first.
        while self.in_flight() > 0 {
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
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn drive(self: Arc<Self>, run_id: String, live: Arc<Live>, run: RunText) {
        let mut seq = 0i64;
        for w in &run.warnings {
            self.publish(&run_id, &live, &mut seq, warning(w)).await;
        }
        let misarch = run.misarch;
        let document = run.text;
        let file = PathBuf::from(if document.trim_start().starts_with('{') {
            "experiment.json"
        } else {
            "experiment.yaml"
        });
        if let Err(why) = self
            .wait_for_clients(&run_id, &live, &mut seq, &file, &document)
            .await
        {
            let mut ending = Ending::failed(why);
            if *live.stop.borrow() {
                ending.status = RunStatus::Stopped;
            }
            self.finish(&run_id, &live, &mut seq, ending).await;
            return;
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        let request = Request {
            file,
            text: document,
            runs_dir: self.config.runs_dir.clone(),
            threads: self.config.threads,
            seed: self.config.seed,
            stop: live.stop.subscribe(),
            live: None,
            agent: Some(self.agent.clone()),
            coordinator: self.config.coordinator.clone(),
        };
        let run = tokio::spawn(execute(request, tx));
        while let Some(e) = rx.recv().await {
            if let squall_executor::event::Event::RunDir(dir) = &e
                && let Err(err) = self
                    .store
                    .run_started(&run_id, &dir.display().to_string())
                    .await
            {
                let w = warning(&format!("cannot record the run directory: {err}"));
                self.publish(&run_id, &live, &mut seq, w).await;
            }
            self.publish(&run_id, &live, &mut seq, from_engine(&e))
                .await;
        }
        let ending = match run.await {
            Ok(Ok(done)) => {
                if let Some(m) = &misarch
                    && let Err(e) = write_misarch_report(&done, m, &live)
                {
                    let w = warning(&format!("cannot write misarch-report.json: {e}"));
                    self.publish(&run_id, &live, &mut seq, w).await;
                }
                for g in &done.report.goals {
                    let data = serde_json::to_value(g).unwrap_or_default();
                    self.publish(&run_id, &live, &mut seq, Outgoing { name: "goal", data })
                        .await;
                }
                // Stopped only when the stop ended it, not when it came
                // after the run had finished.
                let stopped = *live.stop.borrow() && done.report.verdict == "interrupted";
                Ending {
                    status: if stopped {
                        RunStatus::Stopped
                    } else {
                        RunStatus::Completed
                    },
                    verdict: Some(done.report.verdict.clone()),
                    exit_code: Some(i64::from(done.report.exit_code)),
                    error: None,
                }
            }
            Ok(Err(ExecuteError::Invalid(problems))) => Ending::failed(format!(
                "the experiment is not valid: {}",
                problems.join("; ")
            )),
            Ok(Err(e)) => Ending::failed(e.to_string()),
            Err(panic) => Ending::failed(format!("internal error: {panic}")),
        };
        self.finish(&run_id, &live, &mut seq, ending).await;
    }

    /// When the document names external clients (`sync`), waits until
    /// each has registered, then publishes the shared start instant t0 a
    /// little ahead, so every client can sleep until it instead of
    /// polling, and waits for it. Fails after the timeout, naming who is
    /// missing, instead of hanging.
    async fn wait_for_clients(
        &self,
        run_id: &str,
        live: &Live,
        seq: &mut i64,
        file: &std::path::Path,
        document: &str,
    ) -> Result<(), String> {
        let Some(sync) = squall_executor::document::parse(file, document)
            .ok()
            .and_then(|(e, _)| e.sync)
        else {
            return Ok(());
        };
        live.syncs.store(true, std::sync::atomic::Ordering::Release);
        let wanted: BTreeSet<String> = sync.clients.iter().cloned().collect();
        let timeout = sync.timeout.map_or(DEFAULT_SYNC_WAIT, |d| d.get());
        let waiting = Outgoing {
            name: "waiting",
            data: json!({ "clients": wanted, "timeout_s": timeout.as_secs_f64() }),
        };
        self.publish(run_id, live, seq, waiting).await;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut stop = live.stop.subscribe();
        loop {
            let have = self.registered(&live.experiment_id, live.version);
            if wanted.is_subset(&have) {
                break;
            }
            if *stop.borrow() {
                return Err("stopped while waiting for clients".into());
            }
            if tokio::time::Instant::now() >= deadline {
                let missing: Vec<&String> = wanted.difference(&have).collect();
                return Err(format!(
                    "waited {:.0} s for the external clients; missing: {} (each registers with POST /trigger/{}/v{}?client=NAME)",
                    timeout.as_secs_f64(),
                    missing
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    live.experiment_id,
                    live.version
                ));
            }
            tokio::select! {
                _ = tokio::time::sleep(SYNC_POLL) => {}
                _ = stop.changed() => {}
            }
        }
        let t0 = crate::store::now_ms() + T0_LEAD.as_millis() as i64;
        live.t0.store(t0, std::sync::atomic::Ordering::Release);
        self.publish(
            run_id,
            live,
            seq,
            Outgoing {
                name: "t0",
                data: json!({ "t0_unix_ms": t0 }),
            },
        )
        .await;
        let wait = (t0 - crate::store::now_ms()).max(0) as u64;
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        Ok(())
    }

    /// Records the end, then tells the followers.
    async fn finish(&self, run_id: &str, live: &Live, seq: &mut i64, end: Ending) {
        let Ending {
            status,
            verdict,
            exit_code,
            error,
        } = end;
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
        // The end must reach the database, or the run would look in
        // flight until the next restart: a few tries before giving up.
        let mut tries = 0;
        while let Err(e) = self
            .store
            .run_ended(
                run_id,
                status,
                verdict.as_deref(),
                exit_code,
                error.as_deref(),
            )
            .await
        {
            tries += 1;
            if tries == 5 {
                let w = warning(&format!("cannot record the run's end: {e}"));
                self.publish(run_id, live, seq, w).await;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100 << tries)).await;
        }
        self.publish(run_id, live, seq, ended).await;
        self.live.lock().expect("not poisoned").remove(run_id);
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

/// What a run runs: a version's document, or that document composed with
/// the version's MiSArch parts, and what to warn about before it starts.
#[derive(Clone, Debug)]
pub struct RunText {
    /// The experiment document to execute.
    pub text: String,
    /// Warnings published as the run's first events.
    pub warnings: Vec<String>,
    /// The version's MiSArch goals, when it has a MiSArch configuration:
    /// the run then also writes the original's report.
    pub misarch: Option<MisarchGoals>,
}

/// A version's MiSArch goals, for its report.
#[derive(Clone, Debug)]
pub struct MisarchGoals {
    /// `config.goals` as stored.
    pub goals: serde_json::Value,
    /// The goals came from a steady state (every figure, with baselines).
    pub automatic: bool,
}

/// The file the original's report is written to, beside `report.json`.
pub const MISARCH_REPORT: &str = "misarch-report.json";

/// Writes the original's report of a finished run into its directory.
fn write_misarch_report(
    done: &squall_executor::execute::Finished,
    m: &MisarchGoals,
    live: &Live,
) -> std::io::Result<()> {
    use squall_misarch::report;
    let r = &done.report;
    let outcomes: Vec<report::Outcome> = r
        .goals
        .iter()
        .filter(|g| g.phase == "overall")
        .map(|g| report::Outcome {
            name: g.name.clone(),
            observed: g.observed,
            bound: g.bound,
            passed: g.passed,
            no_data: g.no_data,
        })
        .collect();
    let version = format!("v{}", live.version);
    let run = report::Run {
        test_uuid: &live.experiment_id,
        test_version: &version,
        executor_version: concat!("squall ", env!("CARGO_PKG_VERSION")),
        started_unix_ms: r.started_unix_ms,
        duration_s: r.duration_s,
    };
    let doc = report::build(&run, &m.goals, m.automatic, &outcomes);
    let text = serde_json::to_vec_pretty(&doc).expect("plain data serializes");
    // Written whole, then renamed: never half a file.
    let tmp = done.dir.join(format!("{MISARCH_REPORT}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, done.dir.join(MISARCH_REPORT))
}

fn warning(text: &str) -> Outgoing {
    Outgoing {
        name: "warning",
        data: json!({ "text": text }),
    }
}
