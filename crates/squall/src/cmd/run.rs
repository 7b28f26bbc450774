//! `squall run` and `squall demo`: run an experiment, show it as it goes,
//! print the summary and the report's path, and exit with the verdict.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use squall_executor::event::Event;
use squall_executor::execute::{ExecuteError, Request, execute};

use crate::exit::{self, InvalidInput};
use crate::signals::StopSignals;

#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// Experiment file (YAML or JSON): a Chaos Toolkit experiment plus workload, faults, goals.
    pub experiment: std::path::PathBuf,

    #[command(flatten)]
    pub common: RunCommon,
}

#[derive(Args, Debug)]
pub(crate) struct DemoArgs {
    /// A shorter demo (about 25 s) with the same shape.
    #[arg(long)]
    pub quick: bool,

    #[command(flatten)]
    pub common: RunCommon,
}

#[derive(Args, Debug)]
pub(crate) struct RunCommon {
    /// Directory that receives one sub-directory per run.
    #[arg(long, default_value = "runs")]
    pub runs_dir: std::path::PathBuf,

    /// Load-generator worker threads.
    #[arg(long, default_value_t = 1, value_parser = crate::cli::at_least_one)]
    pub threads: usize,

    /// Seed for every random draw (load and simulator).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// No per-second lines; only the summary.
    #[arg(short, long)]
    pub quiet: bool,

    #[command(flatten)]
    pub metrics: crate::metrics_server::MetricsArgs,
}

pub(super) const DEMO: &str = include_str!("../../assets/demo-experiment.yaml");
pub(super) const DEMO_QUICK: &str = include_str!("../../assets/demo-experiment-quick.yaml");

pub(crate) async fn run(args: RunArgs) -> Result<u8> {
    let text = std::fs::read_to_string(&args.experiment)
        .map_err(|e| InvalidInput(format!("{}: cannot read: {e}", args.experiment.display())))?;
    go(args.experiment, text, args.common).await
}

pub(crate) async fn demo(args: DemoArgs) -> Result<u8> {
    let (name, text) = if args.quick {
        ("<demo --quick>", DEMO_QUICK)
    } else {
        ("<demo>", DEMO)
    };
    eprintln!(
        "squall demo: a simulated shop on 127.0.0.1, load, a slow payment service and an error burst"
    );
    let code = go(PathBuf::from(name), text.to_string(), args.common).await?;
    // One goal is meant to fail: the demo worked when the run completed.
    if code == squall_executor::outcome::exit::GOALS_FAILED {
        println!(
            "(one goal fails by design: the demo shows a pass and a fail; `squall run` exits 3 here)"
        );
        return Ok(exit::OK);
    }
    Ok(code)
}

async fn go(file: PathBuf, text: String, common: RunCommon) -> Result<u8> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut s = StopSignals::new();
        s.next().await;
        eprintln!("\nsquall: stopping (reverting every fault, writing what was measured)");
        let _ = stop_tx.send(true);
    });
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let quiet = common.quiet;
    let tty = std::io::stderr().is_terminal();
    let printer = tokio::spawn(async move {
        let mut window = Window::default();
        while let Some(e) = rx.recv().await {
            render(&e, quiet, tty, &mut window);
        }
    });
    let live: Option<crate::cmd::load::LiveState> = common.metrics.metrics_listen.map(|_| {
        std::sync::Arc::new(std::sync::Mutex::new(
            squall_report::prometheus::LiveFigures::new(
                squall_metrics::Interval::new(&[], &[]),
                "",
            ),
        ))
    });
    let served = match &live {
        Some(l) => common.metrics.start(l.clone()).await?,
        None => None,
    };
    let req = Request {
        file: file.clone(),
        text,
        runs_dir: common.runs_dir,
        threads: common.threads.max(1),
        seed: common.seed,
        stop: stop_rx,
        live,
        agent: Some(crate::cmd::fault::run_agent().await),
        coordinator: None,
    };
    let result = execute(req, tx).await;
    let _ = printer.await;
    match result {
        Ok(done) => {
            for w in &done.warnings {
                eprintln!("squall: could not write an output: {w}");
            }
            println!();
            print!("{}", done.summary);
            if let Some(m) = &served
                && done.report.verdict != "interrupted"
            {
                m.linger().await;
            }
            Ok(done.report.exit_code)
        }
        Err(ExecuteError::Invalid(errors)) => {
            let n = errors.len();
            Err(InvalidInput(format!(
                "{} is not a valid experiment ({n} problem{}):\n  {}",
                display(&file),
                if n == 1 { "" } else { "s" },
                errors.join("\n  ")
            ))
            .into())
        }
        Err(e) => {
            eprintln!("squall: {e}");
            Ok(exit::ERROR)
        }
    }
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Progress seconds not printed yet: on a terminal every second is
/// printed; in logs one line per 5 s covers all five seconds (requests and
/// errors summed, latencies of the worst second), so an error burst in
/// between is never hidden.
#[derive(Default)]
struct Window {
    start_s: Option<f64>,
    requests: u64,
    failed: u64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
}

fn render(e: &Event, quiet: bool, tty: bool, w: &mut Window) {
    match e {
        Event::Warning(text) => eprintln!("squall: warning: {text}"),
        Event::Note { t, kind, text } => eprintln!("[{t:>7.2}s] {kind:<6} {text}"),
        // The terminal shows goals once, judged at the end.
        Event::Goals { .. } => {}
        Event::Fault { t, fault, active } => {
            let (kind, text) = squall_executor::event::fault_note(fault, *active);
            eprintln!("[{t:>7.2}s] {kind:<6} {text}")
        }
        Event::Second { phase, row } if !quiet => {
            let start = *w.start_s.get_or_insert(row.start_s);
            w.requests += row.requests;
            w.failed += row.failed;
            w.p50_ms = w.p50_ms.max(row.p50_ms);
            w.p95_ms = w.p95_ms.max(row.p95_ms);
            w.p99_ms = w.p99_ms.max(row.p99_ms);
            let whole = row.end_s.round() as i64;
            if tty || whole % 5 == 0 {
                let secs = (row.end_s - start).max(1e-3);
                eprintln!(
                    "[{:>7.2}s] {:<22} {:>6.0} req/s  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  errors {:>4} ({:.1}%){}",
                    row.end_s,
                    phase,
                    w.requests as f64 / secs,
                    w.p50_ms,
                    w.p95_ms,
                    w.p99_ms,
                    w.failed,
                    if w.requests == 0 {
                        0.0
                    } else {
                        w.failed as f64 * 100.0 / w.requests as f64
                    },
                    if tty {
                        String::new()
                    } else {
                        format!("  (last {secs:.0} s; latency of the worst second)")
                    }
                );
                *w = Window::default();
            }
        }
        Event::Second { .. } | Event::RunDir(_) => {}
    }
}
