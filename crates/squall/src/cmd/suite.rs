//! `squall suite`: run a suite of experiments, resume one that was stopped
//! or cut short, list the runs in a store, show one or compare two.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use squall_executor::event::Event;
use squall_suite::runner::{self, RunLocation, Settings, SuiteError, SuiteEvent};
use squall_suite::state::{ItemStatus, SuiteState, SuiteStatus};
use squall_suite::store::{S3Settings, Store};

use crate::exit::{self, InvalidInput};
use crate::signals::StopSignals;

#[derive(Subcommand, Debug)]
pub(crate) enum SuiteCommand {
    /// Run the experiments of a suite file one after another; exits 0 when
    /// all passed, 3 when one failed, 130 when stopped (then `resume`).
    Run(RunArgs),
    /// Go on with a suite run that was stopped or cut short (completed
    /// experiments are not run again).
    Resume(ResumeArgs),
    /// The suite runs in a store, oldest first (incomplete ones say so).
    List(ListArgs),
    /// One run's report, or two runs side by side.
    Show(ShowArgs),
}

#[derive(Args, Debug)]
pub(crate) struct StoreArgs {
    /// Where suite runs are kept: a directory or s3://bucket/prefix
    /// (credentials and region from the AWS_* variables).
    #[arg(long, default_value = "suites")]
    store: String,

    /// An S3-compatible endpoint (http:// allowed), instead of AWS_ENDPOINT_URL.
    #[arg(long)]
    s3_endpoint: Option<String>,
}

impl StoreArgs {
    fn open(&self) -> Result<(Store, S3Settings)> {
        let s3 = S3Settings {
            endpoint: self.s3_endpoint.clone(),
        };
        Ok((Store::open(&self.store, &s3)?, s3))
    }
}

#[derive(Args, Debug)]
pub(crate) struct RunOpts {
    /// Local directory for the run directories while they are written
    /// (each is then copied into the store).
    #[arg(long, default_value = "runs")]
    runs_dir: PathBuf,

    /// Load-generator worker threads.
    #[arg(long, default_value_t = 1, value_parser = crate::cli::at_least_one)]
    threads: usize,

    /// Seed for every random draw.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// The suite file (YAML).
    suite: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    opts: RunOpts,
}

#[derive(Args, Debug)]
pub(crate) struct ResumeArgs {
    /// The run: SUITE/RUN_ID as `squall suite list` prints it.
    run: String,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    opts: RunOpts,
}

#[derive(Args, Debug)]
pub(crate) struct ListArgs {
    /// Only this suite's runs.
    #[arg(long)]
    suite: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args, Debug)]
pub(crate) struct ShowArgs {
    /// One run (SUITE/RUN_ID), or two to compare.
    #[arg(num_args = 1..=2, required = true)]
    runs: Vec<String>,
    #[command(flatten)]
    store: StoreArgs,
}

pub(crate) async fn run(cmd: SuiteCommand) -> Result<u8> {
    // reqwest (S3 and URL sources) uses rustls with the provider the
    // binary picks: ring, as the rest of squall.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cmd {
        SuiteCommand::Run(a) => {
            let text = std::fs::read_to_string(&a.suite)
                .map_err(|e| InvalidInput(format!("{}: cannot read: {e}", a.suite.display())))?;
            let (store, s3) = a.store.open()?;
            // Checked before anything runs, every problem located.
            squall_suite::spec::parse(&a.suite, &text).map_err(|e| {
                InvalidInput(format!(
                    "{} is not a valid suite ({} problem{}):\n  {}",
                    a.suite.display(),
                    e.len(),
                    if e.len() == 1 { "" } else { "s" },
                    e.join("\n  ")
                ))
            })?;
            let (settings, printer) = settings(&a.opts, s3).await;
            let result = runner::start(store, &a.suite, &text, &settings).await;
            drop(settings);
            let _ = printer.await;
            let (at, state) = result.map_err(invalid)?;
            Ok(finish(&at, &state))
        }
        SuiteCommand::Resume(a) => {
            let (store, s3) = a.store.open()?;
            let at = location(store, &a.run)?;
            let (settings, printer) = settings(&a.opts, s3).await;
            let result = runner::resume(at.clone(), &settings).await;
            drop(settings);
            let _ = printer.await;
            let state = result.map_err(invalid)?;
            Ok(finish(&at, &state))
        }
        SuiteCommand::List(a) => {
            let (store, _) = a.store.open()?;
            let runs = squall_suite::catalog::list(&store, a.suite.as_deref()).await?;
            if runs.is_empty() {
                println!("no suite runs in {}", a.store.store);
            }
            for r in runs {
                println!(
                    "{}/{}  {}",
                    r.suite,
                    r.run_id,
                    r.verdict
                        .as_deref()
                        .unwrap_or("incomplete (running, stopped or cut short: resume it)")
                );
            }
            Ok(exit::OK)
        }
        SuiteCommand::Show(a) => {
            let (store, _) = a.store.open()?;
            let mut summaries = Vec::new();
            for r in &a.runs {
                let at = location(store.clone(), r)?;
                let s = squall_suite::catalog::summary(&at).await?.ok_or_else(|| {
                    InvalidInput(format!(
                        "{}: no suite report (the run is incomplete: `squall suite resume {r}`)",
                        at.describe()
                    ))
                })?;
                summaries.push(s);
            }
            if let [a, b] = &summaries[..] {
                for line in squall_suite::catalog::compare(a, b) {
                    println!("{line}");
                }
            } else {
                let s = &summaries[0];
                println!("{} {}: {:?}", s.suite, s.run_id, s.status);
                for i in &s.items {
                    println!(
                        "  {:>2}. {:<24} {:<12} {}",
                        i.index,
                        i.name,
                        i.status.as_str(),
                        i.verdict.as_deref().or(i.error.as_deref()).unwrap_or("")
                    );
                }
            }
            Ok(exit::OK)
        }
    }
}

/// `SUITE/RUN_ID` in the store.
fn location(store: Store, run: &str) -> Result<RunLocation> {
    let parts: Vec<&str> = run.trim_matches('/').split('/').collect();
    if parts.len() != 2 || parts.iter().any(|p| p.is_empty() || *p == "..") {
        return Err(InvalidInput(format!(
            "{run:?}: expected SUITE/RUN_ID, as `squall suite list` prints it"
        ))
        .into());
    }
    Ok(RunLocation {
        store,
        dir: format!("{}/{}", parts[0], parts[1]),
    })
}

fn invalid(e: SuiteError) -> anyhow::Error {
    match e {
        SuiteError::Invalid(errors) => {
            InvalidInput(format!("not a valid suite:\n  {}", errors.join("\n  "))).into()
        }
        SuiteError::NotResumable(m) => InvalidInput(m).into(),
        e => anyhow::Error::new(e).context("the suite could not go on"),
    }
}

async fn settings(opts: &RunOpts, s3: S3Settings) -> (Settings, tokio::task::JoinHandle<()>) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut s = StopSignals::new();
        s.next().await;
        eprintln!(
            "\nsquall: stopping the suite (the running experiment reverts its faults; `squall suite resume` goes on)"
        );
        let _ = stop_tx.send(true);
    });
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            print_event(&e);
        }
    });
    let settings = Settings {
        runs_dir: opts.runs_dir.clone(),
        threads: opts.threads,
        seed: opts.seed,
        stop: stop_rx,
        agent: Some(crate::cmd::fault::run_agent().await),
        coordinator: None,
        s3,
        events: tx,
        documents: Default::default(),
        on_state: None,
        remove_run_dirs: false,
    };
    (settings, printer)
}

fn print_event(e: &SuiteEvent) {
    match e {
        SuiteEvent::Started {
            index,
            name,
            attempt,
        } => eprintln!(
            "squall suite: [{index}] {name}{}",
            if *attempt > 1 {
                format!(" (attempt {attempt})")
            } else {
                String::new()
            }
        ),
        SuiteEvent::Engine(Event::Warning(w)) => eprintln!("  warning: {w}"),
        SuiteEvent::Engine(Event::Note { t, kind, text }) => {
            eprintln!("  [{t:>7.2}s] {kind:<6} {text}")
        }
        SuiteEvent::Engine(Event::Fault { t, fault, active }) => {
            let (kind, text) = squall_executor::event::fault_note(fault, *active);
            eprintln!("  [{t:>7.2}s] {kind:<6} {text}")
        }
        SuiteEvent::Engine(_) => {}
        SuiteEvent::Ended {
            index,
            name,
            status,
            detail,
        } => eprintln!(
            "squall suite: [{index}] {name}: {} ({detail})",
            status.as_str()
        ),
        SuiteEvent::Pause(d) => eprintln!("squall suite: pause {}", humantime::format_duration(*d)),
        SuiteEvent::Resumed(m) => eprintln!("squall suite: {m}"),
    }
}

/// Prints where the run is and how it ended; its exit code.
fn finish(at: &RunLocation, state: &SuiteState) -> u8 {
    println!();
    for i in &state.items {
        let last = i.last();
        println!(
            "  {:>2}. {:<24} {:<12} {}",
            i.index,
            i.name,
            i.status.as_str(),
            last.and_then(|a| a.verdict.clone().or(a.error.clone()))
                .unwrap_or_default()
        );
    }
    let run = at.dir.clone();
    match state.status {
        SuiteStatus::Passed => {
            println!("suite {run}: passed; reports in {}", at.describe());
            exit::OK
        }
        SuiteStatus::Failed => {
            let n = state
                .items
                .iter()
                .filter(|i| i.status != ItemStatus::Passed)
                .count();
            println!(
                "suite {run}: failed ({n} not passed); reports in {}",
                at.describe()
            );
            squall_executor::outcome::exit::GOALS_FAILED
        }
        SuiteStatus::Interrupted | SuiteStatus::Running => {
            println!("suite {run}: stopped; go on with `squall suite resume {run}`");
            squall_executor::outcome::exit::INTERRUPTED
        }
    }
}
