//! The whole of `squall run FILE`: start the simulated system if the
//! experiment names one, prepare, run, and write the run directory
//! (`report.json`, `report.html`, per-second metrics, HdrHistogram log,
//! InfluxDB lines, Grafana dashboard, `summary.txt`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use squall_report::run_report::{RUN_REPORT_SCHEMA, RunReport, SeriesPoint};
use squall_report::{OutputKind, Sink};
use squall_sim::{SimOptions, Topology};
use tokio::sync::{mpsc, watch};

use crate::document::{self, SimSpec};
use crate::event::Event;
use crate::fault_check;
use crate::outcome::{self, Verdict};
use crate::prepare::prepare;
use crate::problem::render_all;
use crate::run::{self, Settings};

/// What to run and where to write.
pub struct Request {
    /// The experiment file (for messages and relative paths).
    pub file: PathBuf,
    /// Its text.
    pub text: String,
    /// Directory that receives `<slug>-<time>/`.
    pub runs_dir: PathBuf,
    /// Load-engine threads.
    pub threads: usize,
    /// Seed for the load engine and the simulator.
    pub seed: u64,
    /// Flips to true to stop (Ctrl-C).
    pub stop: watch::Receiver<bool>,
    /// Figures for a Prometheus endpoint, if one is served.
    pub live: Option<run::Live>,
    /// Squall's injectors for host and process faults (see [`Settings::agent`]).
    pub agent: Option<std::sync::Arc<squall_faults::Agent>>,
    /// The fleet coordinator (`squall serve`), for documents with `fleet`.
    pub coordinator: Option<std::sync::Arc<squall_fleet::Coordinator>>,
}

/// A finished run.
pub struct Finished {
    /// The report (also written as `report.json`).
    pub report: RunReport,
    /// The run directory.
    pub dir: PathBuf,
    /// The plain-text summary (also written as `summary.txt`).
    pub summary: String,
    /// Problems found after the run started (outputs that could not be
    /// written); warnings found before it were sent as [`Event::Warning`].
    pub warnings: Vec<String>,
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The experiment is invalid; every problem is listed.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    /// The simulated system or the target could not be started or reached.
    #[error("{0}")]
    Setup(String),
    /// The run directory could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// The proxies an experiment declares, removed when the run is over
/// (dropped), whatever way it ends.
struct OwnProxies {
    agent: std::sync::Arc<squall_faults::Agent>,
    names: Vec<String>,
}

impl OwnProxies {
    async fn start(
        agent: &std::sync::Arc<squall_faults::Agent>,
        specs: &[(String, String, String)],
    ) -> Result<OwnProxies, ExecuteError> {
        let mut own = OwnProxies {
            agent: agent.clone(),
            names: Vec::new(),
        };
        for (name, listen, upstream) in specs {
            let req = squall_faults::proxy::ProxyRequest {
                name: Some(name.clone()),
                listen: Some(listen.clone()),
                upstream: Some(upstream.clone()),
                enabled: Some(true),
            };
            agent
                .proxies
                .create(req)
                .await
                .map_err(|e| ExecuteError::Setup(format!("proxy {name}: {e}")))?;
            own.names.push(name.clone());
        }
        Ok(own)
    }
}

impl Drop for OwnProxies {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = self.agent.proxies.delete(n);
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExecuteError + '_ {
    move |source| ExecuteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Runs an experiment end to end.
pub async fn execute(
    req: Request,
    events: mpsc::UnboundedSender<Event>,
) -> Result<Finished, ExecuteError> {
    let invalid = |e: &dyn std::fmt::Display| ExecuteError::Invalid(vec![e.to_string()]);
    let (raw, _) = document::parse(&req.file, &req.text).map_err(|e| invalid(&e))?;
    // The simulated system first: its addresses go into the document.
    let sim = match &raw.sim {
        None => None,
        Some(spec) => Some(start_sim(&req.file, &req.text, spec, req.seed).await?),
    };
    let urls: BTreeMap<String, String> = sim
        .as_ref()
        .map(|s| {
            s.services
                .iter()
                .map(|(n, a)| (n.clone(), format!("http://{a}")))
                .collect()
        })
        .unwrap_or_default();
    let entry = sim
        .as_ref()
        .and_then(|s| s.services.first())
        .map(|(_, a)| format!("http://{a}/"));
    let Compiled {
        text,
        prepared,
        chaos,
        mut warnings,
    } = compile(&req.file, &req.text, &urls, entry.as_deref())?;
    // The experiment's own proxies, before the target check (the target may
    // be behind one).
    let agent = req.agent.clone().unwrap_or_else(|| {
        squall_faults::Agent::new(
            squall_faults::Injector::new(squall_faults::Limits::default(), None),
            squall_faults::proxy::ProxyOptions::default(),
            None,
        )
    });
    if prepared.fleet.is_some() && req.coordinator.is_none() {
        let p = crate::problem::Problem::at(
            "fleet",
            "a fleet is coordinated by `squall serve` (generators register with it); \
             `squall run` runs the workload itself: remove `fleet`",
        );
        return Err(ExecuteError::Invalid(render_all(&[p], &req.file, &text)));
    }
    let _own_proxies = OwnProxies::start(&agent, &prepared.proxies).await?;
    run::preflight(&prepared)
        .await
        .map_err(|e| ExecuteError::Setup(e.to_string()))?;
    // Every fault checked by its injector: one that would be refused stops
    // the run here, located, instead of failing in the middle of it.
    let checked = fault_check::check(&prepared, &crate::inject::client(), &agent).await;
    if !checked.problems.is_empty() {
        return Err(ExecuteError::Invalid(render_all(
            &checked.problems,
            &req.file,
            &text,
        )));
    }
    warnings.extend(checked.warnings);
    // Every Prometheus query sent once: one the server refuses stops the
    // run here rather than leaving its goals without data at the end.
    if let Some(prom) = &prepared.prometheus {
        let (problems, found) = crate::prometheus::check(prom, &crate::inject::client()).await;
        if !problems.is_empty() {
            return Err(ExecuteError::Invalid(render_all(
                &problems, &req.file, &text,
            )));
        }
        warnings.extend(found);
    }
    // Warnings before the run, where people can still stop it.
    for w in warnings.drain(..) {
        let _ = events.send(Event::Warning(w));
    }
    // The run directory.
    let (dir, mut files) = open_run_dir(&req, &prepared.title)?;
    if let Some(l) = &req.live {
        // The run directory's name is the run's id on the metrics endpoint.
        let mut l = l.lock().expect("live lock");
        l.run_id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        l.faults = prepared
            .faults
            .iter()
            .map(|f| squall_report::prometheus::FaultGauge {
                name: f.name.clone(),
                kind: f.kind.clone(),
                target: f.target.clone(),
                active: false,
            })
            .collect();
    }
    let _ = events.send(Event::RunDir(dir.clone()));
    let outputs = [
        (OutputKind::Csv, "metrics.csv", "per-second metrics (CSV)"),
        (
            OutputKind::Json,
            "load.json",
            "per-second metrics and summary (JSON)",
        ),
        (
            OutputKind::Hlog,
            "latency.hlog",
            "HdrHistogram interval log",
        ),
        (
            OutputKind::Influx,
            "metrics.influx",
            "InfluxDB line protocol",
        ),
    ];
    for (_, name, role) in &outputs {
        files.insert(role.to_string(), name.to_string());
    }
    let sink_dir = dir.clone();
    let open_sinks = move |start_unix: f64| -> Result<Vec<Box<dyn Sink>>, String> {
        outputs
            .iter()
            .map(|(k, name, _)| {
                let path = sink_dir.join(name);
                // The run's CSV also says each second's phase and faults in force.
                if *k == OutputKind::Csv {
                    return squall_report::csv_out::CsvSink::create_for_experiment(
                        &path, start_unix,
                    )
                    .map(|s| Box::new(s) as Box<dyn Sink>)
                    .map_err(|e| e.to_string());
                }
                squall_report::open(*k, &path, start_unix).map_err(|e| e.to_string())
            })
            .collect()
    };
    let settings = Settings {
        threads: req.threads,
        seed: req.seed,
        stop: req.stop.clone(),
        open_sinks: Box::new(open_sinks),
        live: req.live.clone(),
        chaos,
        agent: agent.clone(),
        coordinator: req.coordinator.clone(),
    };
    let measured = run::run(&prepared, settings, events)
        .await
        .map_err(|e| ExecuteError::Setup(e.to_string()))?;
    if let Some(s) = &sim {
        s.shutdown();
    }
    let report = report_of(&req, &prepared, &measured, &dir, files)?;
    let summary = outcome::summary_text(&report, &dir);
    let grafana = grafana_context(&req.runs_dir, &dir, &report, &prepared);
    write_report(&dir, &report, &summary, &grafana)?;
    if let Err(e) = grafana_files(&req.runs_dir, &dir, &report, &prepared) {
        warnings.push(e.to_string());
    }
    warnings.extend(measured.sink_errors.iter().cloned());
    Ok(Finished {
        report,
        dir,
        summary,
        warnings,
    })
}

/// An experiment compiled against the addresses of its simulated system.
struct Compiled {
    /// The document with `${sim.NAME}` and `${target}` substituted.
    text: String,
    prepared: crate::prepare::Prepared,
    chaos: Option<serde_json::Value>,
    /// Found while compiling (ignored keys, faults past the end...).
    warnings: Vec<String>,
}

/// Substitutes, parses and prepares the document: every static problem at
/// once, located.
fn compile(
    file: &Path,
    original: &str,
    urls: &BTreeMap<String, String>,
    entry: Option<&str>,
) -> Result<Compiled, ExecuteError> {
    let invalid = |e: &dyn std::fmt::Display| ExecuteError::Invalid(vec![e.to_string()]);
    let (raw, _) = document::parse(file, original).map_err(|e| invalid(&e))?;
    let text = document::substitute(original, urls, raw.target.as_deref().or(entry));
    let (exp, doc) = document::parse(file, &text).map_err(|e| invalid(&e))?;
    let title = exp
        .title
        .clone()
        .unwrap_or_else(|| slug(&file.display().to_string()));
    let chaos = crate::chaos_part::extract(&doc, &title);
    let chaos_errors = chaos
        .as_ref()
        .map(crate::chaos_part::validate)
        .unwrap_or_default();
    let mut prepared = match prepare(file, &exp, urls) {
        Ok(p) if chaos_errors.is_empty() => p,
        Ok(_) => {
            return Err(ExecuteError::Invalid(render_all(
                &chaos_errors,
                file,
                &text,
            )));
        }
        Err(mut e) => {
            e.extend(chaos_errors);
            return Err(ExecuteError::Invalid(render_all(&e, file, &text)));
        }
    };
    if prepared.target.is_none() {
        prepared.target = entry.map(str::to_string);
    }
    if let (Some(fleet), Some(workload)) = (prepared.fleet.as_mut(), exp.workload.as_ref()) {
        // Generators get the workload section as JSON, after substitution.
        let text = serde_json::to_string(&doc["workload"]).expect("a JSON value serializes");
        let payload = squall_fleet::PlanPayload::file(file, text, workload, false, false)
            .map_err(|e| invalid(&format!("workload: reading its feeder files: {e}")))?;
        fleet.payload = Some(payload);
    }
    let mut warnings = prepared.warnings.clone();
    warnings.extend(document::unknown_keys(&doc).into_iter().map(|k| {
        format!(
            "top-level key {k:?} is neither a Squall section nor a Chaos Toolkit one; it is ignored"
        )
    }));
    if prepared.goals.is_empty() {
        warnings.push(
            "the experiment has no goals: the run can only complete, nothing is checked \
             (its verdict is `no goals`)"
                .into(),
        );
    }
    Ok(Compiled {
        text,
        prepared,
        chaos,
        warnings,
    })
}

/// Checks a document as far as it can be without starting anything: the
/// same parsing and preparation as a run, with placeholder addresses for
/// the simulated services. Returns the warnings, or every problem located.
/// What only the injectors can check (a fault's target exists now) is
/// checked when the run starts.
pub fn check_document(file: &Path, text: &str) -> Result<Vec<String>, ExecuteError> {
    let (raw, _) =
        document::parse(file, text).map_err(|e| ExecuteError::Invalid(vec![e.to_string()]))?;
    let urls: BTreeMap<String, String> = match &raw.sim {
        None => BTreeMap::new(),
        Some(spec) => load_topology(file, text, spec)?
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), format!("http://127.0.0.1:{}", 1 + i)))
            .collect(),
    };
    let entry = urls.values().next().map(|u| format!("{u}/"));
    Ok(compile(file, text, &urls, entry.as_deref())?.warnings)
}

/// The report of a finished run (the Chaos Toolkit journal written beside
/// it first, when there is one).
fn report_of(
    req: &Request,
    prepared: &crate::prepare::Prepared,
    measured: &run::Measured,
    dir: &Path,
    mut files: BTreeMap<String, String>,
) -> Result<RunReport, ExecuteError> {
    let verdict = Verdict::of(measured);
    let mut hypothesis = BTreeMap::new();
    if let Some(j) = &measured.journal {
        squall_chaos::journal::write(&dir.join("journal.json"), j)
            .map_err(io(&dir.join("journal.json")))?;
        files.insert(
            "Chaos Toolkit journal".to_string(),
            "journal.json".to_string(),
        );
        for when in ["before", "after"] {
            if let Some(v) = j
                .pointer(&format!("/steady_states/{when}"))
                .filter(|v| !v.is_null())
            {
                hypothesis.insert(when.to_string(), v.clone());
            }
        }
    }
    if !measured.prometheus.is_empty() {
        let path = dir.join("prometheus.json");
        let doc = serde_json::json!({
            "url": prepared.prometheus.as_ref().map(|p| p.url.clone()),
            "step_s": prepared.prometheus.as_ref().map(|p| p.step.as_secs_f64()),
            "started_unix_ms": measured.started_unix_ms,
            "queries": measured.prometheus,
        });
        write_atomic(
            &path,
            &serde_json::to_string_pretty(&doc).expect("plain data"),
        )?;
        files.insert(
            "Prometheus series".to_string(),
            "prometheus.json".to_string(),
        );
    }
    for (role, name) in [
        ("report (JSON)", "report.json"),
        ("report (HTML)", "report.html"),
        ("Grafana dashboard", "grafana-dashboard.json"),
        ("goals (JUnit)", "junit.xml"),
        ("summary", "summary.txt"),
    ] {
        files.insert(role.to_string(), name.to_string());
    }
    Ok(RunReport {
        schema: RUN_REPORT_SCHEMA.into(),
        title: prepared.title.clone(),
        experiment_file: req.file.display().to_string(),
        verdict: verdict.label().into(),
        exit_code: verdict.exit_code(),
        ended_early: measured.ended_early.clone(),
        invalid_because: measured.invalid_because.clone(),
        started_unix_ms: measured.started_unix_ms,
        duration_s: measured.duration_s,
        warmup: measured.warmup.clone(),
        phases: measured.phases.clone(),
        faults: measured.faults.clone(),
        goals: measured.goals.clone(),
        series: measured
            .rows
            .iter()
            .map(|r| SeriesPoint {
                t: r.end_s,
                rps: r.rps,
                failed: r.failed,
                error_rate: r.error_rate,
                p50_ms: (r.requests > 0).then_some(r.p50_ms),
                p95_ms: (r.requests > 0).then_some(r.p95_ms),
                p99_ms: (r.requests > 0).then_some(r.p99_ms),
            })
            .collect(),
        hypothesis,
        timeline: measured.timeline.clone(),
        files,
        prometheus: measured.prometheus.clone(),
    })
}

/// The run's id (its directory's name), request names, and the earlier
/// runs of the same experiment in `runs_dir` (most recent first, at most
/// ten), for the Grafana dashboard's panels and time-shift comparison.
fn grafana_context(
    runs_dir: &Path,
    dir: &Path,
    report: &RunReport,
    prepared: &crate::prepare::Prepared,
) -> squall_report::grafana::DashboardContext {
    #[derive(serde::Deserialize)]
    struct Head {
        title: String,
        started_unix_ms: u64,
    }
    // Only directories named after this experiment (`<slug>-<time>`), the
    // latest first, and a bounded number of them: a server's runs
    // directory holds every run of every experiment.
    let prefix = format!("{}-", slug(&report.title));
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(runs_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .filter(|p| p != dir)
        .collect();
    candidates.sort_by(|a, b| b.cmp(a));
    let mut earlier: Vec<(String, u64)> = candidates
        .iter()
        .take(50)
        .filter_map(|p| {
            let text = std::fs::read(p.join("report.json")).ok()?;
            let h: Head = serde_json::from_slice(&text).ok()?;
            let name = p.file_name()?.to_string_lossy().into_owned();
            (h.title == report.title && h.started_unix_ms < report.started_unix_ms)
                .then_some((name, h.started_unix_ms))
        })
        .collect();
    earlier.sort_by_key(|(_, ms)| std::cmp::Reverse(*ms));
    earlier.truncate(10);
    squall_report::grafana::DashboardContext {
        run_id: run_id(dir),
        request_names: prepared.plan.request_names.clone(),
        earlier,
    }
}

fn run_id(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What Grafana reads besides the dashboard: the faults appended to
/// `metrics.influx` (its annotation query reads them), and the runs
/// directory's provisioning directory (`grafana/`) with this run's
/// dashboard added.
fn grafana_files(
    runs_dir: &Path,
    dir: &Path,
    report: &RunReport,
    prepared: &crate::prepare::Prepared,
) -> Result<(), ExecuteError> {
    use std::io::Write;
    let influx = dir.join("metrics.influx");
    let lines = squall_report::grafana::fault_lines(report);
    if !lines.is_empty() {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&influx)
            .map_err(io(&influx))?;
        for l in &lines {
            writeln!(f, "{l}").map_err(io(&influx))?;
        }
    }
    let root = runs_dir.join("grafana");
    let dashboards = root.join("dashboards");
    std::fs::create_dir_all(&dashboards).map_err(io(&dashboards))?;
    let absolute = dashboards.canonicalize().map_err(io(&dashboards))?;
    let prometheus = prepared.prometheus.as_ref().map(|p| p.url.as_str());
    for (name, text) in
        squall_report::grafana::provisioning("http://127.0.0.1:8086", prometheus, &absolute)
    {
        let path = root.join(name);
        // A datasource file that names a Prometheus is kept for runs without one.
        if prometheus.is_none()
            && name.contains("datasources")
            && std::fs::read_to_string(&path).is_ok_and(|t| t.contains("type: prometheus"))
        {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        write_atomic(&path, &text)?;
    }
    let from = dir.join("grafana-dashboard.json");
    let to = dashboards.join(format!("{}.json", run_id(dir)));
    std::fs::copy(&from, &to).map_err(io(&to))?;
    Ok(())
}

/// Starts the simulated system the experiment names, in this process.
async fn start_sim(
    file: &Path,
    text: &str,
    spec: &SimSpec,
    seed: u64,
) -> Result<squall_sim::RunningSim, ExecuteError> {
    let topology = load_topology(file, text, spec)?;
    let opts = SimOptions {
        seed,
        ..Default::default()
    };
    squall_sim::up(&topology, &opts)
        .await
        .map_err(|e| ExecuteError::Setup(format!("cannot start the simulated system: {e}")))
}

/// `runs/<slug>-<time>/` with a copy of the experiment as run; the files
/// index of the report starts with that copy.
fn open_run_dir(
    req: &Request,
    title: &str,
) -> Result<(PathBuf, BTreeMap<String, String>), ExecuteError> {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dir = unique_dir(&req.runs_dir, &slug(title), started);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let ext = if req.text.trim_start().starts_with('{') {
        "json"
    } else {
        "yaml"
    };
    let copy = dir.join(format!("experiment.{ext}"));
    std::fs::write(&copy, &req.text).map_err(io(&copy))?;
    let mut files = BTreeMap::new();
    files.insert("experiment".to_string(), format!("experiment.{ext}"));
    Ok((dir, files))
}

/// The report in its forms (`report.json`, `report.html`, the Grafana
/// dashboard, `junit.xml` with a case per goal, `summary.txt`), each written whole (temporary file +
/// rename); also used by `squall serve` for a run a crash cut short.
pub fn write_report(
    dir: &Path,
    report: &RunReport,
    summary: &str,
    grafana: &squall_report::grafana::DashboardContext,
) -> Result<(), ExecuteError> {
    write_atomic(
        &dir.join("report.json"),
        &serde_json::to_string_pretty(report).expect("plain data"),
    )?;
    write_atomic(
        &dir.join("report.html"),
        &squall_report::html::render(report),
    )?;
    write_atomic(
        &dir.join("grafana-dashboard.json"),
        &serde_json::to_string_pretty(&squall_report::grafana::dashboard(report, grafana))
            .expect("plain data"),
    )?;
    write_atomic(
        &dir.join("junit.xml"),
        &squall_report::junit_out::goals(report),
    )?;
    write_atomic(&dir.join("summary.txt"), summary)
}

/// The simulated system a document's `sim` names: the built-in shop, a
/// topology file (relative to `file`), or one written inline in `text`.
pub fn load_topology(file: &Path, text: &str, spec: &SimSpec) -> Result<Topology, ExecuteError> {
    let path = match spec {
        SimSpec::Named(n) if n == "demo" || n == "shop" => {
            return Topology::parse(Path::new("<shop topology>"), squall_sim::SHOP)
                .map_err(|e| ExecuteError::Invalid(vec![e.to_string()]));
        }
        SimSpec::Inline(v) => {
            return Topology::from_value(file, text, v.clone())
                .map_err(|e| ExecuteError::Invalid(vec![e.to_string()]));
        }
        SimSpec::Named(p) | SimSpec::File { topology: p } => p,
    };
    let full = file.parent().unwrap_or(Path::new(".")).join(path);
    Topology::load(&full).map_err(|e| ExecuteError::Invalid(vec![format!("sim: {e}")]))
}

/// Writes through a temporary file and a rename: never half-written.
fn write_atomic(path: &Path, text: &str) -> Result<(), ExecuteError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// A file-name-safe form of the title.
fn slug(title: &str) -> String {
    let s: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let mut s = if s.is_empty() { "run".to_string() } else { s };
    s.truncate(48);
    s
}

/// `runs/<slug>-YYYYMMDD-HHMMSS`, with `-2`, `-3`... when taken.
fn unique_dir(base: &Path, slug: &str, unix_s: u64) -> PathBuf {
    let (y, m, d) = squall_report::html::civil_from_days((unix_s / 86_400) as i64);
    let r = unix_s % 86_400;
    let stem = format!(
        "{slug}-{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        r / 3600,
        r % 3600 / 60,
        r % 60
    );
    let mut dir = base.join(&stem);
    let mut n = 2;
    while dir.exists() {
        dir = base.join(format!("{stem}-{n}"));
        n += 1;
    }
    dir
}
