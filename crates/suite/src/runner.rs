//! Running a suite: each experiment in turn through the same engine as
//! `squall run`, its run directory copied into the store, the state
//! written after every transition, and at the end the suite report, the
//! JUnit XML and last the manifest that marks the run complete.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use squall_executor::event::Event;
use squall_executor::execute::{ExecuteError, Request, execute};
use squall_executor::outcome::exit;
use squall_report::run_report::RunReport;
use tokio::sync::{mpsc, watch};

use crate::spec::{self, OnFailure, OnInterrupt, Suite};
use crate::state::{Attempt, ItemState, ItemStatus, SCHEMA, SuiteState, SuiteStatus, now_ms};
use crate::store::{S3Settings, Store, StoreError};
use crate::{report, source};

/// Why a suite could not be run or resumed at all.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The suite file is invalid; every problem, located.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// There is no such run, or it cannot be resumed.
    #[error("{0}")]
    NotResumable(String),
}

/// What the caller sees while a suite runs.
#[derive(Debug)]
pub enum SuiteEvent {
    /// An experiment starts (`attempt` from 1).
    Started {
        /// Position, from 1.
        index: usize,
        /// Name.
        name: String,
        /// Attempt number.
        attempt: u32,
    },
    /// An engine event of the experiment running.
    Engine(Event),
    /// An experiment ended.
    Ended {
        /// Position.
        index: usize,
        /// Name.
        name: String,
        /// How.
        status: ItemStatus,
        /// The run's verdict or why it could not run.
        detail: String,
    },
    /// Waiting `pause` before the next experiment.
    Pause(Duration),
    /// An earlier run was picked up (`resume`): what happened to the
    /// experiment a crash or a stop cut short.
    Resumed(String),
}

/// How experiments are run.
pub struct Settings {
    /// Local directory for run directories while they are written.
    pub runs_dir: PathBuf,
    /// Load-engine threads.
    pub threads: usize,
    /// Seed.
    pub seed: u64,
    /// Flips to true to stop (Ctrl-C): the running experiment stops, the
    /// suite is left `interrupted` for `resume`.
    pub stop: watch::Receiver<bool>,
    /// Squall's injectors for host and process faults.
    pub agent: Option<Arc<squall_faults::Agent>>,
    /// The fleet coordinator (`squall serve`), for experiments with `fleet`.
    pub coordinator: Option<Arc<squall_fleet::Coordinator>>,
    /// S3 settings for sources and the store.
    pub s3: S3Settings,
    /// Progress.
    pub events: mpsc::UnboundedSender<SuiteEvent>,
    /// Experiments already read (before `vars`), by their position in the
    /// suite from 0 (a server resolves and checks every source before the
    /// suite starts).
    pub documents: BTreeMap<usize, String>,
    /// Receives the state after every transition (a server keeps it in
    /// its database too).
    pub on_state: Option<mpsc::UnboundedSender<SuiteState>>,
    /// Deletes each run directory once it is copied into the store (a
    /// server keeps only the store's copy).
    pub remove_run_dirs: bool,
}

/// A suite run's place in a store: `<suite>/<run id>/`.
#[derive(Clone)]
pub struct RunLocation {
    /// The store.
    pub store: Store,
    /// `<suite>/<run id>`.
    pub dir: String,
}

impl RunLocation {
    fn key(&self, rel: &str) -> String {
        format!("{}/{rel}", self.dir)
    }

    /// Where the run is, for people.
    pub fn describe(&self) -> String {
        self.store.describe(&self.dir)
    }

    async fn save(&self, state: &SuiteState) -> Result<(), StoreError> {
        let text = serde_json::to_vec_pretty(state).expect("plain data");
        self.store.put(&self.key("state.json"), text).await
    }

    /// The run's state.
    pub async fn load(&self) -> Result<Option<SuiteState>, SuiteError> {
        let Some(bytes) = self.store.get(&self.key("state.json")).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            SuiteError::NotResumable(format!(
                "{}: not a suite state: {e}",
                self.store.describe(&self.key("state.json"))
            ))
        })
    }
}

/// Starts a new run of the suite in `file`; returns its final state.
pub async fn start(
    store: Store,
    file: &Path,
    text: &str,
    settings: &Settings,
) -> Result<(RunLocation, SuiteState), SuiteError> {
    let (at, state, suite) = prepare(store, file, text).await?;
    save(&at, &state, settings).await?;
    let state = go(&at, state, &suite, settings).await?;
    Ok((at, state))
}

/// A new run of the suite in `file`, its state written (every experiment
/// pending), not started: [`run`] starts it. A server answers with the
/// run's id in between.
pub async fn prepare(
    store: Store,
    file: &Path,
    text: &str,
) -> Result<(RunLocation, SuiteState, Suite), SuiteError> {
    let suite = spec::parse(file, text).map_err(SuiteError::Invalid)?;
    let run_id = uuid::Uuid::now_v7().to_string();
    let at = RunLocation {
        store,
        dir: format!("{}/{run_id}", suite.spec.name),
    };
    let items = suite
        .spec
        .experiments
        .iter()
        .zip(&suite.names)
        .enumerate()
        .map(|(i, (item, name))| ItemState {
            index: i + 1,
            name: name.clone(),
            source: item.source.clone(),
            status: ItemStatus::Pending,
            attempts: Vec::new(),
        })
        .collect();
    let state = SuiteState {
        schema: SCHEMA.into(),
        suite: suite.spec.name.clone(),
        run_id,
        suite_file: std::path::absolute(file)
            .unwrap_or_else(|_| file.to_path_buf())
            .display()
            .to_string(),
        suite_text: text.to_string(),
        status: SuiteStatus::Running,
        on_failure: suite.spec.on_failure,
        on_interrupt: suite.spec.on_interrupt,
        started_ms: now_ms(),
        ended_ms: None,
        resumed: 0,
        items,
    };
    at.save(&state).await?;
    Ok((at, state, suite))
}

/// Runs a prepared suite to its end (or until stopped).
pub async fn run(
    at: &RunLocation,
    state: SuiteState,
    suite: &Suite,
    settings: &Settings,
) -> Result<SuiteState, SuiteError> {
    go(at, state, suite, settings).await
}

/// Goes on with a run that was stopped or cut short: finished experiments
/// are kept, the one that was running is re-run or failed as the suite's
/// `on_interrupt` says, the rest run.
pub async fn resume(at: RunLocation, settings: &Settings) -> Result<SuiteState, SuiteError> {
    let mut state = at.load().await?.ok_or_else(|| {
        SuiteError::NotResumable(format!(
            "{}: no suite run here (no state.json)",
            at.describe()
        ))
    })?;
    if matches!(state.status, SuiteStatus::Passed | SuiteStatus::Failed) {
        // Ended, but squall may have died before its reports and manifest
        // were written: write them (again; every write is whole).
        if at.store.get(&at.key("manifest.json")).await?.is_none() {
            finish(&at, &state).await?;
            let _ = settings.events.send(SuiteEvent::Resumed(
                "the suite had ended; its reports and manifest were written now".into(),
            ));
            return Ok(state);
        }
        return Err(SuiteError::NotResumable(format!(
            "{}: the suite run already ended ({:?}); start a new one",
            at.describe(),
            state.status
        )));
    }
    let suite = spec::parse(Path::new(&state.suite_file), &state.suite_text)
        .map_err(SuiteError::Invalid)?;
    for item in state.items.iter_mut() {
        if matches!(item.status, ItemStatus::Running | ItemStatus::Interrupted) {
            if let Some(a) = item.attempts.last_mut()
                && a.status == ItemStatus::Running
            {
                a.status = ItemStatus::Interrupted;
                a.error = Some("cut short: squall stopped while it ran".into());
                a.ended_ms = Some(now_ms());
            }
            let (status, what) = match state.on_interrupt {
                OnInterrupt::Rerun => (ItemStatus::Pending, "runs again"),
                OnInterrupt::Fail => (ItemStatus::Failed, "counts as failed"),
            };
            item.status = status;
            let _ = settings.events.send(SuiteEvent::Resumed(format!(
                "{} was cut short: it {what} (on_interrupt)",
                item.name
            )));
        }
    }
    state.status = SuiteStatus::Running;
    state.ended_ms = None;
    state.resumed += 1;
    save(&at, &state, settings).await?;
    go(&at, state, &suite, settings).await
}

/// Writes the state to the store (and hands it to `on_state`).
async fn save(at: &RunLocation, state: &SuiteState, s: &Settings) -> Result<(), StoreError> {
    at.save(state).await?;
    if let Some(tx) = &s.on_state {
        let _ = tx.send(state.clone());
    }
    Ok(())
}

async fn go(
    at: &RunLocation,
    mut state: SuiteState,
    suite: &Suite,
    s: &Settings,
) -> Result<SuiteState, SuiteError> {
    let base = Path::new(&state.suite_file)
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let mut first = true;
    for i in 0..state.items.len() {
        if state.items[i].status.is_final() {
            continue;
        }
        let failed_before = state.items[..i]
            .iter()
            .any(|x| matches!(x.status, ItemStatus::Failed | ItemStatus::Error));
        if failed_before && state.on_failure == OnFailure::Stop {
            state.items[i].status = ItemStatus::Skipped;
            save(at, &state, s).await?;
            continue;
        }
        if !first && let Some(p) = suite.spec.pause {
            let _ = s.events.send(SuiteEvent::Pause(p));
            let mut stop = s.stop.clone();
            tokio::select! {
                _ = tokio::time::sleep(p) => {}
                _ = stop.wait_for(|v| *v) => {}
            }
        }
        first = false;
        if *s.stop.borrow() {
            break;
        }
        let spec_item = &suite.spec.experiments[i];
        let retries = spec_item.retries.unwrap_or(suite.spec.retries);
        loop {
            let number = state.items[i].attempts.len() as u32 + 1;
            state.items[i].status = ItemStatus::Running;
            state.items[i].attempts.push(Attempt {
                number,
                status: ItemStatus::Running,
                verdict: None,
                exit_code: None,
                error: None,
                started_ms: now_ms(),
                ended_ms: None,
                stored_at: None,
            });
            save(at, &state, s).await?;
            let name = state.items[i].name.clone();
            let _ = s.events.send(SuiteEvent::Started {
                index: i + 1,
                name: name.clone(),
                attempt: number,
            });
            let folder = format!("{}/attempt-{number}", state.items[i].folder());
            let outcome = run_one(at, &folder, i, spec_item, &base, s).await;
            let a = state.items[i].attempts.last_mut().expect("just pushed");
            a.ended_ms = Some(now_ms());
            let (status, detail, retryable) = match outcome {
                Ok(o) => {
                    a.verdict = Some(o.verdict.clone());
                    a.exit_code = Some(o.exit_code);
                    a.stored_at = Some(at.key(&folder));
                    let status = match o.exit_code {
                        exit::PASSED => ItemStatus::Passed,
                        exit::INTERRUPTED => ItemStatus::Interrupted,
                        _ => ItemStatus::Failed,
                    };
                    (status, o.verdict, status == ItemStatus::Failed)
                }
                Err((why, retryable)) => {
                    a.error = Some(why.clone());
                    (ItemStatus::Error, why, retryable)
                }
            };
            a.status = status;
            state.items[i].status = status;
            save(at, &state, s).await?;
            let _ = s.events.send(SuiteEvent::Ended {
                index: i + 1,
                name,
                status,
                detail,
            });
            // Attempts a crash or a stop cut short do not use up retries.
            let used = state.items[i]
                .attempts
                .iter()
                .filter(|a| matches!(a.status, ItemStatus::Failed | ItemStatus::Error))
                .count() as u32;
            if !retryable || used > retries || *s.stop.borrow() {
                break;
            }
        }
        if *s.stop.borrow() {
            break;
        }
    }
    state.status = if *s.stop.borrow() {
        SuiteStatus::Interrupted
    } else {
        state.verdict()
    };
    if state.status != SuiteStatus::Running {
        state.ended_ms = Some(now_ms());
    }
    save(at, &state, s).await?;
    if matches!(state.status, SuiteStatus::Passed | SuiteStatus::Failed) {
        finish(at, &state).await?;
    }
    Ok(state)
}

struct RunOutcome {
    verdict: String,
    exit_code: u8,
}

/// Reads, runs and stores one experiment. An error says whether another
/// attempt could help (an unreadable source could; an invalid one not).
async fn run_one(
    at: &RunLocation,
    folder: &str,
    index: usize,
    item: &spec::ItemSpec,
    base: &Path,
    s: &Settings,
) -> Result<RunOutcome, (String, bool)> {
    let (name, text) = match s.documents.get(&index) {
        Some(text) => (item.source.clone(), text.clone()),
        None => source::read(&item.source, base, &s.s3)
            .await
            .map_err(|e| (e, true))?,
    };
    let text = source::with_vars(&text, &item.vars)
        .map_err(|e| (format!("{name}: {}", e.join("; ")), false))?;
    let doc: Option<serde_json::Value> = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).ok()
    } else {
        yaml_serde::from_str(&text).ok()
    };
    if let Some(doc) = doc.filter(is_plain_chaos) {
        return run_chaos(at, folder, &name, &doc, s).await;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let forward = s.events.clone();
    let pump = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            let _ = forward.send(SuiteEvent::Engine(e));
        }
    });
    let req = Request {
        file: PathBuf::from(&name),
        text,
        runs_dir: s.runs_dir.clone(),
        threads: s.threads,
        seed: s.seed,
        stop: s.stop.clone(),
        live: None,
        agent: s.agent.clone(),
        coordinator: s.coordinator.clone(),
    };
    let result = execute(req, tx).await;
    let _ = pump.await;
    let done = match result {
        Ok(d) => d,
        Err(ExecuteError::Invalid(errors)) => {
            return Err((format!("{name} is not valid: {}", errors.join("; ")), false));
        }
        Err(e) => return Err((format!("{name}: {e}"), true)),
    };
    let copied = copy_dir(at, folder, &done.dir).await;
    if copied.is_ok() && s.remove_run_dirs {
        let _ = std::fs::remove_dir_all(&done.dir);
    }
    copied.map_err(|e| {
        (
            format!(
                "the run ended ({}) but could not be stored: {e}",
                done.report.verdict
            ),
            true,
        )
    })?;
    Ok(RunOutcome {
        verdict: done.report.verdict.clone(),
        exit_code: done.report.exit_code,
    })
}

/// A Chaos Toolkit experiment without squall's parts (no workload): run
/// as `squall chaos run` runs it.
pub fn is_plain_chaos(doc: &serde_json::Value) -> bool {
    doc.get("workload").is_none()
        && (doc.get("method").is_some() || doc.get("steady-state-hypothesis").is_some())
}

/// Runs a plain Chaos Toolkit experiment; its journal is stored. Passed
/// when it completed without deviating, as `chaos run` decides.
async fn run_chaos(
    at: &RunLocation,
    folder: &str,
    name: &str,
    doc: &serde_json::Value,
    s: &Settings,
) -> Result<RunOutcome, (String, bool)> {
    let vars = squall_chaos::Vars::default();
    let issues = squall_chaos::validate(doc, &vars);
    if !issues.is_empty() {
        let list: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
        return Err((format!("{name} is not valid: {}", list.join("; ")), false));
    }
    let (tx, rx) = watch::channel(0u32);
    let mut stop = s.stop.clone();
    let watcher = tokio::spawn(async move {
        if stop.wait_for(|v| *v).await.is_ok() {
            let _ = tx.send(1);
        }
    });
    let forward = s.events.clone();
    let observer = Arc::new(move |e: squall_chaos::event::Event| {
        if let squall_chaos::event::Event::Warning(w) = e {
            let _ = forward.send(SuiteEvent::Engine(Event::Warning(w)));
        }
    });
    let opts = squall_chaos::RunOptions {
        python: squall_chaos::provider::python::interpreter(),
        ..Default::default()
    };
    let journal = squall_chaos::run_experiment(doc, &opts, observer, rx).await;
    watcher.abort();
    let journal = journal.map_err(|e| (format!("{name}: {e}"), false))?;
    let text = serde_json::to_vec_pretty(&journal).expect("plain data");
    at.store
        .put(&at.key(&format!("{folder}/journal.json")), text)
        .await
        .map_err(|e| (format!("the journal could not be stored: {e}"), true))?;
    let status = journal["status"].as_str().unwrap_or("unknown").to_string();
    let deviated = journal["deviated"] == true;
    // Stricter than `chaos run`'s exit code: Chaos Toolkit 1.19 reports a
    // run whose hypothesis was not met *before* the method as `completed`
    // and not deviated (and exits 0); a suite counts it as failed.
    let not_met = ["before", "after"]
        .iter()
        .any(|w| journal["steady_states"][w]["steady_state_met"] == false);
    let (verdict, exit_code) = match status.as_str() {
        "completed" if not_met && !deviated => (
            "hypothesis not met before the method".to_string(),
            exit::DEVIATED,
        ),
        "completed" if !deviated => ("passed".to_string(), exit::PASSED),
        "interrupted" => ("interrupted".to_string(), exit::INTERRUPTED),
        _ if deviated => ("deviated".to_string(), exit::DEVIATED),
        other => (other.to_string(), exit::ABORTED),
    };
    Ok(RunOutcome { verdict, exit_code })
}

/// Copies a run directory's files into the store (`report.json` last, so
/// an attempt with a report has all its files).
async fn copy_dir(at: &RunLocation, folder: &str, dir: &Path) -> Result<(), StoreError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| StoreError::Io {
            what: dir.display().to_string(),
            reason: e.to_string(),
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort_by_key(|p| p.file_name().is_some_and(|n| n == "report.json"));
    for f in files {
        let name = f
            .file_name()
            .expect("a file")
            .to_string_lossy()
            .into_owned();
        let bytes = tokio::fs::read(&f).await.map_err(|e| StoreError::Io {
            what: f.display().to_string(),
            reason: e.to_string(),
        })?;
        at.store
            .put(&at.key(&format!("{folder}/{name}")), bytes)
            .await?;
    }
    Ok(())
}

/// The reports of a run's items (the attempts that count), by index.
pub async fn item_reports(
    at: &RunLocation,
    state: &SuiteState,
) -> Result<BTreeMap<usize, RunReport>, StoreError> {
    let mut out = BTreeMap::new();
    for item in &state.items {
        let Some(stored) = item.last().and_then(|a| a.stored_at.clone()) else {
            continue;
        };
        let rel = stored
            .strip_prefix(&format!("{}/", at.dir))
            .unwrap_or(&stored);
        if let Some(bytes) = at.store.get(&at.key(&format!("{rel}/report.json"))).await?
            && let Ok(r) = serde_json::from_slice(&bytes)
        {
            out.insert(item.index, r);
        }
    }
    Ok(out)
}

/// The suite report, the JUnit XML, and last the manifest (every object
/// with its size, and the verdict): a run is complete once it exists.
async fn finish(at: &RunLocation, state: &SuiteState) -> Result<(), StoreError> {
    let reports = item_reports(at, state).await?;
    let summary = report::summary(state, &reports);
    at.store
        .put(
            &at.key("suite-report.json"),
            serde_json::to_vec_pretty(&summary).expect("plain data"),
        )
        .await?;
    at.store
        .put(
            &at.key("suite-report.html"),
            report::html(&summary).into_bytes(),
        )
        .await?;
    at.store
        .put(
            &at.key("junit.xml"),
            crate::junit::render(state, &reports).into_bytes(),
        )
        .await?;
    let objects: Vec<serde_json::Value> = at
        .store
        .list(&at.dir)
        .await?
        .into_iter()
        .map(|(k, size)| serde_json::json!({"key": k, "bytes": size}))
        .collect();
    let manifest = serde_json::json!({
        "schema": "squall-suite-manifest/1",
        "suite": state.suite,
        "run_id": state.run_id,
        "verdict": state.status,
        "ended_ms": state.ended_ms,
        "objects": objects,
    });
    match at
        .store
        .put_new(
            &at.key("manifest.json"),
            serde_json::to_vec_pretty(&manifest).expect("plain data"),
        )
        .await
    {
        Ok(()) | Err(StoreError::Exists(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
