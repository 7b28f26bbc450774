//! `squall run` and `squall demo`: run an experiment, show it as it goes,
//! print the summary and the report's path, and exit with the verdict.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use squall_executor::event::Event;
use squall_executor::execute::{ExecuteError, Request, execute};

use crate::cli::{DemoArgs, RunArgs, RunCommon};
use crate::exit::{self, InvalidInput};
use crate::signals::StopSignals;

const DEMO: &str = include_str!("../assets/demo-experiment.yaml");
const DEMO_QUICK: &str = include_str!("../assets/demo-experiment-quick.yaml");

pub async fn run(args: RunArgs) -> Result<u8> {
    let text = std::fs::read_to_string(&args.experiment)
        .map_err(|e| InvalidInput(format!("{}: cannot read: {e}", args.experiment.display())))?;
    go(args.experiment, text, args.common).await
}

pub async fn demo(args: DemoArgs) -> Result<u8> {
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
        while let Some(e) = rx.recv().await {
            render(&e, quiet, tty);
        }
    });
    let live = match common.metrics_listen {
        None => None,
        Some(addr) => {
            let live: crate::load_cmd::LiveState = std::sync::Arc::new(std::sync::Mutex::new((
                squall_metrics::Interval::new(&[], &[]),
                None,
            )));
            let bound = crate::metrics_server::start(addr, live.clone())
                .await
                .map_err(|e| anyhow::anyhow!("cannot serve metrics on {addr}: {e}"))?;
            eprintln!("squall: Prometheus metrics at http://{bound}/metrics");
            Some(live)
        }
    };
    let req = Request {
        file: file.clone(),
        text,
        runs_dir: common.runs_dir,
        threads: common.threads.max(1),
        seed: common.seed,
        stop: stop_rx,
        live,
        agent: Some(crate::fault_cmd::run_agent().await),
    };
    let result = execute(req, tx).await;
    let _ = printer.await;
    match result {
        Ok(done) => {
            for w in &done.warnings {
                eprintln!("squall: warning: {w}");
            }
            println!();
            print!("{}", done.summary);
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

fn render(e: &Event, quiet: bool, tty: bool) {
    match e {
        Event::Note { t, kind, text } => eprintln!("[{t:>7.2}s] {kind:<6} {text}"),
        Event::Second { phase, row } if !quiet => {
            // On a terminal every second; in logs every fifth.
            let whole = row.end_s.round() as i64;
            if tty || whole % 5 == 0 {
                eprintln!(
                    "[{:>7.2}s] {:<22} {:>6.0} req/s  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  errors {:>4} ({:.1}%)",
                    row.end_s,
                    phase,
                    row.rps,
                    row.p50_ms,
                    row.p95_ms,
                    row.p99_ms,
                    row.failed,
                    row.error_rate * 100.0
                );
            }
        }
        Event::Second { .. } => {}
    }
}
