//! `squall load`: builds the plan, runs it, shows progress, writes outputs,
//! evaluates thresholds and picks the exit code.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Args;
use squall_fleet::{LoadSource, LoadStop};
use squall_load::compile::CompiledPlan;
use squall_load::plan::{self, ThresholdSpec};
use squall_load::quick::{self, QuickSpec};
use squall_load::threshold::Threshold;
use squall_load::{RunOptions, compile};
use squall_metrics::Interval;
use squall_report::{OutputKind, Sink, Summary, ThresholdOutcome};

use crate::exit::{self, InvalidInput};
use crate::progress::Progress;
use crate::{demo_target, summary_table};

/// What the metrics endpoint serves: the cumulative interval and the last second.
#[derive(Args, Debug)]
pub(crate) struct LoadArgs {
    /// Target URL (quick mode), plan file (plan mode), or a MicroSim
    /// `LoadGenerator` resource (sent to the simulator at --sim-control).
    #[arg(required_unless_present = "demo")]
    pub target: Option<String>,

    /// The `squall sim` control plane a MicroSim `LoadGenerator` sends its
    /// trees to.
    #[arg(long, default_value = "http://127.0.0.1:7700")]
    pub sim_control: String,

    /// Start a built-in demo server on 127.0.0.1 and run a short demo plan against it.
    #[arg(long)]
    pub demo: bool,

    /// Connections: users (closed model) or the cap on concurrent requests (open model).
    #[arg(short = 'c', long, default_value_t = 50)]
    pub connections: u64,

    /// How long to run (quick mode), e.g. 30s, 1m.
    #[arg(short = 'd', long, default_value = "10s", value_parser = crate::cli::parse_duration)]
    pub duration: std::time::Duration,

    /// Open model: requests per second.
    #[arg(long)]
    pub rate: Option<f64>,

    /// Send exactly this many requests, then stop (quick mode).
    #[arg(short = 'n', long, value_parser = crate::cli::at_least_one_u64)]
    pub requests: Option<u64>,

    /// HTTP method (quick mode).
    #[arg(short = 'm', long, default_value = "GET")]
    pub method: String,

    /// Request header `Name: value` (quick mode; repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,

    /// Request body (quick mode).
    #[arg(long)]
    pub body: Option<String>,

    /// Per-request timeout (quick mode).
    #[arg(long, default_value = "10s", value_parser = crate::cli::parse_duration)]
    pub timeout: std::time::Duration,

    /// Worker threads, each with its own event loop and connections.
    #[arg(long, default_value_t = crate::cli::default_threads(), value_parser = crate::cli::at_least_one)]
    pub threads: usize,

    /// Use HTTP/2 (h2c with prior knowledge on http://, ALPN on https://).
    #[arg(long)]
    pub http2: bool,

    /// Accept any TLS certificate (self-signed test servers).
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Redirects to follow per request, on the same origin (default 10, as k6; a URL only: a plan says `max_redirects`).
    #[arg(long, value_name = "N", conflicts_with = "no_redirects")]
    pub max_redirects: Option<u32>,

    /// Do not follow redirects: a 3xx is the response (a URL only: a plan says `max_redirects: 0`).
    #[arg(long)]
    pub no_redirects: bool,

    /// Run only segment i of n of the plan (fleets), e.g. 2/4.
    #[arg(long, default_value = "1/1")]
    pub segment: squall_load::Segment,

    /// Threshold `METRIC=EXPR`, e.g. `http_req_duration=p(95)<300ms` (repeatable; added to the plan's).
    #[arg(long = "threshold")]
    pub thresholds: Vec<String>,

    /// Write an output: `json=FILE`, `csv=FILE`, `hlog=FILE`, `influx=FILE` (repeatable).
    #[arg(long = "out")]
    pub outputs: Vec<String>,

    /// Write k6's end-of-test summary file (its `--summary-export` shape) here.
    #[arg(long, value_name = "FILE")]
    pub summary_export: Option<PathBuf>,

    #[command(flatten)]
    pub metrics: crate::metrics_server::MetricsArgs,

    /// Seed for random choices (think times, feeders).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// No live progress and no periodic lines; only the summary.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    #[command(flatten)]
    pub fleet: crate::cmd::fleet::FleetArgs,
}

/// Shows a fleet event during the run; trouble is shown even with --quiet.
fn fleet_note(progress: &Progress, e: &squall_fleet::FleetEvent, fleet_size: usize) {
    use squall_fleet::FleetEvent::*;
    match e {
        Lost { .. } | Busy { .. } | Failed { .. } => progress.warn(&e.to_string()),
        Ended { .. } if fleet_size > 20 => {}
        _ => progress.note(&e.to_string()),
    }
}

/// The next fleet event, or never (a local run has none).
async fn next_event(
    rx: &mut Option<tokio::sync::mpsc::UnboundedReceiver<squall_fleet::FleetEvent>>,
) -> Option<squall_fleet::FleetEvent> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Starts the coordinator, waits for the generators (printing what it
/// waits for) and starts them together.
async fn start_fleet(
    args: &LoadArgs,
    want: usize,
    plan: &CompiledPlan,
    payload: squall_fleet::PlanPayload,
) -> Result<(
    squall_fleet::FleetRun,
    tokio::sync::mpsc::UnboundedReceiver<squall_fleet::FleetEvent>,
)> {
    if args.segment != squall_load::Segment::WHOLE {
        return Err(InvalidInput(
            "--segment and --fleet do not go together: the coordinator gives each generator its segment".into(),
        )
        .into());
    }
    let (coordinator, addr) =
        crate::cmd::fleet::start_coordinator(&args.fleet, &args.metrics.door).await?;
    eprintln!(
        "squall load: coordinating a fleet on http://{addr}; start generators with: squall generator --coordinator http://{addr}"
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let spec = squall_fleet::FleetSpec {
        generators: want,
        wait: args.fleet.fleet_wait,
        on_lost: args.fleet.on_lost,
        plan: payload,
        seed: args.seed,
    };
    let names = Interval::new(&plan.request_names, &plan.check_names);
    let starting = coordinator.run(spec, names, tx);
    tokio::pin!(starting);
    let mut signals = crate::signals::StopSignals::new();
    // A line per generator for small fleets; for large ones (and with
    // --quiet) only trouble, and the waiting count at most once a second.
    let per_generator = !args.quiet && want > 0 && want <= 20;
    let mut last_wait: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            r = &mut starting => {
                let run = r.map_err(|e| anyhow::anyhow!("fleet: {e}"))?;
                return Ok((run, rx));
            }
            Some(e) = rx.recv() => {
                use squall_fleet::FleetEvent::*;
                let show = match &e {
                    Lost { .. } | Busy { .. } | Failed { .. } => true,
                    Waiting { have, want } => {
                        let due = last_wait.is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
                        let show = !args.quiet && (due || have == want);
                        if show {
                            last_wait = Some(std::time::Instant::now());
                        }
                        show
                    }
                    Started { .. } => !args.quiet,
                    _ => per_generator,
                };
                if show {
                    eprintln!("squall load: {e}");
                }
            }
            _ = signals.next() => anyhow::bail!("interrupted while waiting for generators"),
        }
    }
}

pub(crate) type LiveState = squall_executor::run::Live;

/// The id a `squall load` run's metrics carry: its start time, to the
/// second, in UTC (`load-20261130-181500`).
fn run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    // "2026-11-30 18:15:00 UTC"
    let t = squall_report::html::unix_ms_text(now);
    format!(
        "load-{}",
        t.replace(['-', ':'], "")
            .replace(' ', "-")
            .trim_end_matches("-UTC")
    )
}

pub(crate) async fn run(args: LoadArgs) -> Result<u8> {
    if let Some((path, text)) = super::load_generator::detect(&args) {
        return super::load_generator::run(&args, &path, &text).await;
    }
    let built = build_plan(&args).await?;
    let (plan, label) = (Arc::new(built.plan), built.label);
    let mut sinks = open_outputs(&args.outputs, plan.as_ref())?;
    if let Some(path) = &args.summary_export {
        sinks.push(Box::new(
            squall_report::summary_export::SummaryExportSink::new(path, plan.load.peak_vus()),
        ));
    }
    let live: LiveState = Arc::new(Mutex::new(squall_report::prometheus::LiveFigures::new(
        Interval::new(&plan.request_names, &plan.check_names),
        run_id(),
    )));
    let served = args.metrics.start(live.clone()).await?;

    let planned = plan.load.duration();
    let mut fleet_events = None;
    let mut source = match args.fleet.fleet {
        Some(want) => {
            let (run, events) = start_fleet(&args, want, &plan, built.payload).await?;
            fleet_events = Some(events);
            LoadSource::Fleet(run)
        }
        None => LoadSource::Local(squall_load::start(
            plan.clone(),
            RunOptions {
                threads: args.threads,
                segment: args.segment,
                seed: args.seed,
                start_at: None,
            },
        )),
    };
    let start_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let stop = source.stop_handle();
    let engine = source.describe();
    let fleet_size = match &source {
        LoadSource::Fleet(f) => f.generators,
        LoadSource::Local(_) => 0,
    };
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    spawn_signal_watch(stop.clone(), interrupted.clone());

    let mut progress = Progress::new(args.quiet, planned, &label, &engine);
    let mut total = Interval::new(&plan.request_names, &plan.check_names);
    let mut aborted_by: Option<String> = None;
    let mut peak_util: f64 = 0.0;
    let mut errors: Vec<String> = Vec::new();
    let mut measured_ms = 0u64;
    let mut sink_errors = Vec::new();
    loop {
        let snap = tokio::select! {
            snap = source.snapshots().recv() => match snap {
                Some(s) => s,
                None => break,
            },
            Some(e) = next_event(&mut fleet_events) => {
                fleet_note(&progress, &e, fleet_size);
                continue;
            }
        };
        while let Ok(e) = source.errors().try_recv() {
            progress.error(&e);
            errors.push(e);
        }
        total.merge(&snap.interval);
        measured_ms = snap.start_ms + snap.length_ms;
        peak_util = peak_util.max(snap.utilization);
        for s in sinks.iter_mut() {
            if let Err(e) = s.second(&snap) {
                sink_errors.push(e.to_string());
            }
        }
        progress.second(&snap, &total);
        if aborted_by.is_none()
            && let Some(t) = failing_abort_threshold(
                &plan.thresholds,
                &total,
                Duration::from_millis(measured_ms),
            )
        {
            progress.note(&format!(
                "threshold {} {} failed: aborting the run",
                t.key, t.expr
            ));
            aborted_by = Some(format!("{} {}", t.key, t.expr));
            stop.soft();
        }
        {
            let mut l = live.lock().expect("metrics lock");
            l.total = total.clone();
            l.last = Some(snap);
        }
    }
    while let Ok(e) = source.errors().try_recv() {
        errors.push(e);
    }
    if let Some(rx) = fleet_events.as_mut() {
        while let Ok(e) = rx.try_recv() {
            fleet_note(&progress, &e, fleet_size);
        }
    }
    let fleet = source.finish().await;
    progress.finish();

    let elapsed = Duration::from_millis(measured_ms);
    let mut summary = Summary::new(&total, start_unix, elapsed.as_secs_f64());
    summary.peak_utilization = peak_util;
    summary.error_samples = errors;
    summary.thresholds = plan
        .thresholds
        .iter()
        .map(|t| {
            let v = t.evaluate(&total, elapsed);
            ThresholdOutcome {
                metric: v.key,
                expr: v.expr,
                observed: v.observed,
                passed: v.passed,
            }
        })
        .collect();
    let was_interrupted = interrupted.load(std::sync::atomic::Ordering::SeqCst);
    let fleet_failure = fleet.as_ref().and_then(|f| f.failure.clone());
    summary.fleet = fleet
        .as_ref()
        .map(|f| serde_json::to_value(f).expect("plain data serializes"));
    summary.ended = if aborted_by.is_some() || fleet_failure.is_some() {
        "aborted".into()
    } else if was_interrupted {
        "interrupted".into()
    } else {
        "completed".into()
    };
    for s in sinks.iter_mut() {
        if let Err(e) = s.finish(&summary) {
            sink_errors.push(e.to_string());
        }
        if let Some(o) = s.outcome() {
            eprintln!("squall: {o}");
        }
    }
    print!(
        "{}",
        summary_table::render(&summary, &label, aborted_by.as_deref())
    );
    if let Some(f) = &fleet {
        print!("{}", summary_table::render_fleet(f));
    }
    if !sink_errors.is_empty() {
        anyhow::bail!(
            "some outputs could not be written:\n  {}",
            sink_errors.join("\n  ")
        );
    }
    if let Some(m) = &served
        && !was_interrupted
    {
        m.linger().await;
    }
    Ok(if fleet_failure.is_some() {
        exit::FLEET_FAILED
    } else if !summary.thresholds_passed() {
        exit::THRESHOLDS_FAILED
    } else if was_interrupted {
        exit::INTERRUPTED
    } else {
        exit::OK
    })
}

fn failing_abort_threshold<'a>(
    ts: &'a [Threshold],
    total: &Interval,
    elapsed: Duration,
) -> Option<&'a Threshold> {
    ts.iter()
        .filter(|t| t.abort_on_fail && elapsed >= t.delay_abort_eval)
        .find(|t| !t.evaluate(total, elapsed).passed)
}

/// First Ctrl-C/SIGTERM: graceful stop. Second: cancel everything.
fn spawn_signal_watch(stop: LoadStop, flag: Arc<std::sync::atomic::AtomicBool>) {
    tokio::spawn(async move {
        let mut signals = crate::signals::StopSignals::new();
        for round in 0..2 {
            signals.next().await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            if round == 0 {
                eprintln!(
                    "\nsquall: stopping (finishing requests in flight; press Ctrl-C again to cancel them)"
                );
                stop.soft();
            } else {
                stop.hard();
            }
        }
    });
}

/// A plan ready to run here, and the form generators receive.
struct Built {
    plan: CompiledPlan,
    label: String,
    payload: squall_fleet::PlanPayload,
}

async fn build_plan(args: &LoadArgs) -> Result<Built> {
    let extra = parse_cli_thresholds(&args.thresholds)?;
    if args.demo {
        let addr = demo_target::start()
            .await
            .context("cannot start the demo server")?;
        eprintln!("squall: demo server listening on http://{addr}");
        let text = demo_target::DEMO_PLAN.replace("${BASE_URL}", &format!("http://{addr}"));
        let file = Path::new("<demo plan>");
        let mut p = plan::parse_plan(file, &text).map_err(|e| InvalidInput(e.to_string()))?;
        p.http2 |= args.http2;
        p.insecure |= args.insecure;
        add_thresholds(&mut p, extra);
        let c = compile(&p, file).map_err(|e| InvalidInput(e.to_string()))?;
        let payload = squall_fleet::PlanPayload::file(file, text, &p, args.http2, args.insecure)?;
        return Ok(Built {
            plan: c,
            label: format!("demo plan against http://{addr}"),
            payload,
        });
    }
    let target = args
        .target
        .clone()
        .expect("clap requires a target unless --demo");
    if target.starts_with("http://") || target.starts_with("https://") {
        let headers = args
            .headers
            .iter()
            .map(|h| {
                h.split_once(':')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .ok_or_else(|| {
                        InvalidInput(format!("header {h:?} must look like `Name: value`"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if args.connections == 0 {
            return Err(InvalidInput("-c/--connections must be at least 1".into()).into());
        }
        if let Some(r) = args.rate
            && !(r.is_finite() && r > 0.0)
        {
            return Err(InvalidInput(format!("--rate must be a positive number, got {r}")).into());
        }
        let q = QuickSpec {
            url: target.clone(),
            connections: args.connections,
            duration: args.duration,
            rate: args.rate,
            requests: args.requests,
            method: args.method.clone(),
            headers,
            body: args.body.clone(),
            timeout: args.timeout,
            http2: args.http2,
            insecure: args.insecure,
            thresholds: Default::default(),
            max_redirects: if args.no_redirects {
                Some(0)
            } else {
                args.max_redirects
            },
        };
        let mut p = quick::plan(&q);
        let payload = squall_fleet::PlanPayload::Quick { spec: q };
        add_thresholds(&mut p, extra);
        let c =
            compile(&p, Path::new("<command line>")).map_err(|e| InvalidInput(e.to_string()))?;
        let model = match (args.requests, args.rate) {
            (Some(n), _) => format!("{n} requests over {} connections", args.connections),
            (None, Some(r)) => format!("open model, {r}/s, up to {} connections", args.connections),
            (None, None) => format!("closed model, {} connections", args.connections),
        };
        return Ok(Built {
            plan: c,
            label: format!(
                "{target} ({model}, {})",
                humantime::format_duration(args.duration)
            ),
            payload,
        });
    }
    let path = PathBuf::from(&target);
    if !path.exists() && looks_like_address(&target) {
        return Err(InvalidInput(format!(
            "{target:?} is neither a URL nor a plan file; for a URL, write \"http://{target}\""
        ))
        .into());
    }
    if args.no_redirects || args.max_redirects.is_some() {
        // Generators get the plan's text: a flag would not reach them.
        return Err(InvalidInput(
            "--max-redirects/--no-redirects go with a URL; a plan says `max_redirects: N` (0: none)"
                .into(),
        )
        .into());
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| InvalidInput(format!("{}: {e}", path.display())))?;
    let mut p = plan::parse_plan(&path, &text).map_err(|e| InvalidInput(e.to_string()))?;
    p.http2 |= args.http2;
    p.insecure |= args.insecure;
    add_thresholds(&mut p, extra);
    let c = compile(&p, &path).map_err(|e| InvalidInput(e.to_string()))?;
    let payload = squall_fleet::PlanPayload::file(&path, text, &p, args.http2, args.insecure)
        .with_context(|| format!("{}: reading its feeder files", path.display()))?;
    Ok(Built {
        plan: c,
        label: format!("plan {}", path.display()),
        payload,
    })
}

/// `127.0.0.1:8080/`, `localhost/api`, `example.com`: an address given
/// without its scheme (plan files end in .yaml, .yml or .json).
fn looks_like_address(t: &str) -> bool {
    let host = t.split('/').next().unwrap_or("");
    !t.ends_with(".yaml")
        && !t.ends_with(".yml")
        && !t.ends_with(".json")
        && (host.contains(':') || host == "localhost" || host.parse::<std::net::IpAddr>().is_ok())
}

fn parse_cli_thresholds(list: &[String]) -> Result<Vec<(String, String)>> {
    list.iter()
        .map(|t| {
            t.split_once('=')
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| InvalidInput(format!("--threshold {t:?} must look like METRIC=EXPR, e.g. http_req_duration=p(95)<300ms")).into())
        })
        .collect()
}

fn add_thresholds(p: &mut plan::Plan, extra: Vec<(String, String)>) {
    for (k, v) in extra {
        p.thresholds
            .entry(k)
            .or_default()
            .push(ThresholdSpec::Plain(v));
    }
}

fn open_outputs(specs: &[String], _plan: &CompiledPlan) -> Result<Vec<Box<dyn Sink>>> {
    let start_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let mut sinks = Vec::new();
    for s in specs {
        let (kind, file) = parse_output(s)?;
        sinks.push(squall_report::open(kind, &file, start_unix)?);
    }
    Ok(sinks)
}

/// `KIND=FILE` of `--out`.
pub(crate) fn parse_output(s: &str) -> Result<(OutputKind, PathBuf), InvalidInput> {
    let (kind, file) = s.split_once('=').ok_or_else(|| {
        InvalidInput(format!(
            "--out {s:?} must look like KIND=FILE (json, csv, hlog, influx)"
        ))
    })?;
    let mut kind: OutputKind = kind.parse().map_err(InvalidInput)?;
    // `influxdb=http://...` is a live database (k6's form); a path is a file.
    if kind == OutputKind::Influx && (file.starts_with("http://") || file.starts_with("https://")) {
        kind = OutputKind::InfluxLive;
        squall_report::influx_live::InfluxTarget::parse(file, Some("checked-when-opened"))
            .map_err(InvalidInput)?;
    }
    Ok((kind, PathBuf::from(file)))
}
