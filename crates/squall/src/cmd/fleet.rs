//! `squall generator`, the coordinator behind `squall load --fleet`, and
//! `squall fleet k8s`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use squall_fleet::{Coordinator, CoordinatorConfig, GeneratorConfig, GeneratorEvent, OnLost};

use crate::exit::{self, InvalidInput};

/// `squall load`'s fleet flags.
#[derive(Args, Debug, Clone)]
pub(crate) struct FleetArgs {
    /// Run the plan on a fleet of `squall generator`s instead of here: N of
    /// them, or `all` registered. This process coordinates: it waits for
    /// them, starts them together and merges their seconds.
    #[arg(long, value_name = "N|all", value_parser = parse_fleet_size)]
    pub fleet: Option<usize>,

    /// Where the coordinator listens for generators (with --fleet).
    #[arg(long, default_value = "127.0.0.1:7400", requires = "fleet")]
    pub fleet_listen: SocketAddr,

    /// How long to wait for the generators to register and be ready.
    #[arg(long, default_value = "60s", value_parser = crate::cli::parse_duration, requires = "fleet")]
    pub fleet_wait: Duration,

    /// A generator silent this long is lost.
    #[arg(long, default_value = "2.5s", value_parser = crate::cli::parse_duration, requires = "fleet")]
    pub lost_after: Duration,

    /// What a lost generator does: `fail` stops the others and fails the
    /// run (exit 6); `continue` goes on without it.
    #[arg(long, default_value = "fail", value_parser = parse_on_lost, requires = "fleet")]
    pub on_lost: OnLost,
}

fn parse_fleet_size(s: &str) -> Result<usize, String> {
    if s == "all" {
        return Ok(0);
    }
    crate::cli::at_least_one(s).map_err(|e| format!("{e} (or `all`)"))
}

fn parse_on_lost(s: &str) -> Result<OnLost, String> {
    match s {
        "fail" => Ok(OnLost::Fail),
        "continue" => Ok(OnLost::Continue),
        _ => Err("must be `fail` or `continue`".into()),
    }
}

/// Starts a coordinator's HTTP server behind `door` (the same --allow-host
/// and token flags as the metrics endpoint); answers it and its address.
pub(crate) async fn start_coordinator(
    args: &FleetArgs,
    door: &crate::door::DoorArgs,
) -> Result<(Arc<Coordinator>, SocketAddr)> {
    let access = door.access(args.fleet_listen)?;
    let coordinator = Coordinator::new(CoordinatorConfig {
        lost_after: args.lost_after,
        ..CoordinatorConfig::default()
    });
    let router = squall_fleet::routes::guarded(coordinator.clone(), Arc::new(access));
    let listener = tokio::net::TcpListener::bind(args.fleet_listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.fleet_listen))?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((coordinator, addr))
}

#[derive(Args, Debug)]
pub(crate) struct GeneratorArgs {
    /// The coordinator's URL: `squall load --fleet` or `squall serve`.
    #[arg(long, value_name = "URL")]
    pub coordinator: String,

    /// This generator's name [default: host name and process id].
    #[arg(long)]
    pub name: Option<String>,

    /// A fixed segment index [default: $JOB_COMPLETION_INDEX, set by a
    /// Kubernetes Indexed Job].
    #[arg(long)]
    pub index: Option<u64>,

    /// Worker threads, each with its own event loop and connections.
    #[arg(long, default_value_t = crate::cli::default_threads(), value_parser = crate::cli::at_least_one)]
    pub threads: usize,

    /// Exit after one run (a Kubernetes Job's pods).
    #[arg(long)]
    pub once: bool,

    /// File holding the coordinator's token [default: $SQUALL_TOKEN].
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<std::path::PathBuf>,

    /// Without an answer from the coordinator this long, stop the load.
    #[arg(long, default_value = "10s", value_parser = crate::cli::parse_duration)]
    pub dead_man: Duration,

    /// Without an answer this long, exit with an error.
    #[arg(long, default_value = "60s", value_parser = crate::cli::parse_duration)]
    pub give_up: Duration,

    /// Also keep this generator's own record of each run: `json=FILE`,
    /// `csv=FILE`, `hlog=FILE`, `influx=FILE` (repeatable; every run it takes
    /// part in, one after the other: use --once for one run per file).
    #[arg(long = "out")]
    pub outputs: Vec<String>,
}

/// `squall generator`.
pub(crate) async fn generator(args: GeneratorArgs) -> Result<u8> {
    let url = args.coordinator.trim_end_matches('/').to_string();
    if !url.starts_with("http://") {
        return Err(InvalidInput(format!(
            "--coordinator {url:?} must be an http:// URL, e.g. http://127.0.0.1:7400"
        ))
        .into());
    }
    let token = squall_http::token_from(args.token_file.as_deref())
        .map_err(|e| InvalidInput(format!("cannot read the token: {e}")))?;
    let index = match args.index {
        Some(i) => Some(i),
        None => match std::env::var("JOB_COMPLETION_INDEX") {
            Ok(v) => Some(v.trim().parse::<u64>().map_err(|_| {
                InvalidInput(format!("$JOB_COMPLETION_INDEX {v:?} is not a number"))
            })?),
            Err(_) => None,
        },
    };
    let name = args.name.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "generator".into());
        format!("{host}-{}", std::process::id())
    });
    let outputs = args
        .outputs
        .iter()
        .map(|o| crate::cmd::load::parse_output(o))
        .collect::<Result<Vec<_>, _>>()?;
    let (tap, record) = if outputs.is_empty() {
        (None, None)
    } else {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Some(tx), Some(tokio::spawn(keep_record(outputs, rx))))
    };
    let cfg = GeneratorConfig {
        coordinator: url.clone(),
        token,
        name: name.clone(),
        index,
        threads: args.threads,
        once: args.once,
        dead_man: args.dead_man,
        give_up: args.give_up,
        tap,
    };
    eprintln!("squall generator {name}: coordinator {url}");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        let mut last_retry: Option<String> = None;
        while let Some(e) = rx.recv().await {
            let line = match e {
                GeneratorEvent::Registered { id } => format!("registered as {id}"),
                GeneratorEvent::Retrying { error } => {
                    // One line per distinct trouble, not one per second.
                    if last_retry.as_deref() == Some(error.as_str()) {
                        continue;
                    }
                    last_retry = Some(error.clone());
                    format!("retrying: {error}")
                }
                GeneratorEvent::Assigned { run, index, count } => {
                    format!("run {run}: segment {}/{count}", index + 1)
                }
                GeneratorEvent::PlanRefused { error } => format!("plan refused: {error}"),
                GeneratorEvent::Started {
                    late_ms,
                    clock_offset_ms,
                } => format!(
                    "started ({late_ms:.1} ms after the shared instant; clock offset {clock_offset_ms:.1} ms)"
                ),
                GeneratorEvent::Stopping { why } => format!("stopping: {why}"),
                GeneratorEvent::Finished { run, seconds } => {
                    last_retry = None;
                    format!("run {run}: finished, {seconds} s reported and acknowledged")
                }
            };
            eprintln!("squall generator: {line}");
        }
    });
    let mut signals = crate::signals::StopSignals::new();
    let outcome = tokio::select! {
        r = squall_fleet::generator::run(cfg, tx) => r,
        _ = signals.next() => {
            eprintln!("squall generator: stopping");
            return Ok(exit::INTERRUPTED);
        }
    };
    let _ = printer.await;
    if let Some(record) = record {
        record.await??;
    }
    match outcome {
        Ok(()) => Ok(exit::OK),
        Err(e) => Err(anyhow::anyhow!(e)),
    }
}

/// Writes the generator's own seconds to its outputs; the files are
/// finished when the tap closes (the generator exited).
async fn keep_record(
    outputs: Vec<(squall_report::OutputKind, std::path::PathBuf)>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<squall_metrics::Snapshot>,
) -> Result<()> {
    let start_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let mut sinks = Vec::new();
    for (kind, path) in &outputs {
        sinks.push(squall_report::open(*kind, path, start_unix)?);
    }
    let mut total: Option<squall_metrics::Interval> = None;
    let mut measured_ms = 0;
    while let Some(snap) = rx.recv().await {
        total
            .get_or_insert_with(|| snap.interval.empty_like())
            .merge(&snap.interval);
        measured_ms = snap.start_ms + snap.length_ms;
        for s in sinks.iter_mut() {
            s.second(&snap)?;
        }
    }
    let total = total.unwrap_or_default();
    let summary = squall_report::Summary::new(&total, start_unix, measured_ms as f64 / 1000.0);
    for s in sinks.iter_mut() {
        s.finish(&summary)?;
    }
    Ok(())
}

/// `squall fleet ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum FleetCommand {
    /// Kubernetes manifests for a fleet run: the coordinator (Deployment +
    /// Service) and the generators as an Indexed Job.
    K8s(K8sArgs),
}

#[derive(Args, Debug)]
pub(crate) struct K8sArgs {
    /// The plan file the coordinator runs.
    pub plan: std::path::PathBuf,
    /// Generators (the Indexed Job's completions).
    #[arg(long, default_value_t = 3, value_parser = crate::cli::at_least_one)]
    pub generators: usize,
    /// Namespace.
    #[arg(long, default_value = "squall")]
    pub namespace: String,
    /// Container image with the squall binary.
    #[arg(long, default_value = "ghcr.io/squall/squall:latest")]
    pub image: String,
    /// Worker threads per generator (also its CPU request).
    #[arg(long, default_value_t = 2, value_parser = crate::cli::at_least_one)]
    pub threads: usize,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,
}

/// `squall fleet`.
pub(crate) async fn fleet(c: FleetCommand) -> Result<u8> {
    match c {
        FleetCommand::K8s(a) => k8s(a),
    }
}

fn k8s(a: K8sArgs) -> Result<u8> {
    let text = std::fs::read_to_string(&a.plan)
        .map_err(|e| InvalidInput(format!("{}: {e}", a.plan.display())))?;
    let parsed =
        squall_load::plan::parse_plan(&a.plan, &text).map_err(|e| InvalidInput(e.to_string()))?;
    // The targets are the cluster's names: the plan is compiled (and its
    // URLs resolved) by the coordinator's pod; here only its profile.
    let profile = squall_load::compile::load_profile(&parsed, &a.plan)
        .map_err(|e| InvalidInput(e.to_string()))?;
    let mut files = std::collections::BTreeMap::new();
    let name = a
        .plan
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan.yaml".into());
    if let squall_fleet::PlanPayload::File { feeders, .. } =
        squall_fleet::PlanPayload::file(&a.plan, text.clone(), &parsed, false, false)
            .with_context(|| format!("{}: reading its feeder files", a.plan.display()))?
    {
        files = feeders;
    }
    let yaml = squall_fleet::k8s::manifests(&squall_fleet::k8s::K8sSpec {
        namespace: a.namespace,
        image: a.image,
        generators: a.generators,
        threads: a.threads,
        plan_name: name,
        plan_text: text,
        feeders: files,
        plan_length: profile.duration(),
    })
    .map_err(|e| InvalidInput(e.to_string()))?;
    match &a.output {
        Some(p) => {
            std::fs::write(p, yaml).with_context(|| format!("cannot write {}", p.display()))?;
            eprintln!("squall fleet k8s: wrote {}", p.display());
        }
        None => print!("{yaml}"),
    }
    Ok(exit::OK)
}
