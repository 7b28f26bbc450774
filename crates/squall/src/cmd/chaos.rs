//! `squall chaos run|validate`: Chaos Toolkit experiments. Exit codes are
//! `chaos run`'s: 0 completed without deviation, 1 anything else (failed,
//! aborted, interrupted, deviated, invalid or unreadable experiment), 2 a
//! usage error (bad flag, bad `--var`, missing `--var-file`).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::{Args, Subcommand};
use squall_chaos::{Dry, HypothesisStrategy, RollbackStrategy, RunOptions, Vars};

use crate::chaos_log::{log, render};
use crate::exit::{self, InvalidInput};

/// `squall chaos [OPTIONS] COMMAND`: `chaos`'s own top-level options come
/// before the command, so a script can swap `chaos` for `squall chaos`.
#[derive(Args, Debug)]
pub(crate) struct ChaosArgs {
    /// Log at DEBUG level too (console and log file).
    #[arg(long)]
    pub verbose: bool,
    /// Accepted for `chaos` compatibility: squall never checks for a newer
    /// version online.
    #[arg(long)]
    pub no_version_check: bool,
    /// Where to write the log file (`chaos` writes ./chaostoolkit.log).
    #[arg(long, default_value = "chaostoolkit.log")]
    pub log_file: PathBuf,
    /// Write no log file.
    #[arg(long)]
    pub no_log_file: bool,
    /// The log file's format: `string` or `json` (one object per line).
    #[arg(long, default_value = "string", value_parser = ["string", "json"])]
    pub log_format: String,
    /// Chaos Toolkit's settings file; squall reads none of its sections
    /// (notifications, controls, vaults) and says which it ignores.
    #[arg(long)]
    pub settings: Option<PathBuf>,
    #[command(subcommand)]
    pub command: ChaosCommand,
}

#[derive(Subcommand, Debug)]
pub(crate) enum ChaosCommand {
    /// Run an experiment and write its journal (Chaos Toolkit's `chaos run`).
    Run(ChaosRunArgs),
    /// Check an experiment and report every problem at once (`chaos validate`).
    Validate {
        /// Experiment file (.json, .yaml, .yml) or http(s) URL.
        file: String,
        /// Do not verify the TLS certificate when SOURCE is an https URL.
        #[arg(long)]
        no_verify_tls: bool,
        /// A `.env` var-file whose variables `type: env` entries may read.
        #[arg(long = "var-file")]
        var_files: Vec<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub(crate) struct ChaosRunArgs {
    /// Experiment file (.json, .yaml, .yml) or http(s) URL.
    pub file: String,
    /// Do not verify the TLS certificate when the experiment is an https URL.
    #[arg(long)]
    pub no_verify_tls: bool,
    /// Where to write the journal.
    #[arg(long, default_value = "./journal.json")]
    pub journal_path: PathBuf,
    /// When to play the rollbacks: default, always, never, deviated.
    #[arg(long, value_parser = parse_rollback)]
    pub rollback_strategy: Option<RollbackStrategy>,
    /// When to check the steady-state hypothesis: default, before-method-only,
    /// after-method-only, during-method-only, continuously.
    #[arg(long, value_parser = parse_hypothesis)]
    pub hypothesis_strategy: Option<HypothesisStrategy>,
    /// Seconds between two hypothesis runs during the method.
    #[arg(long, default_value_t = 1.0)]
    pub hypothesis_frequency: f64,
    /// Stop at the first deviation seen during the method.
    #[arg(long)]
    pub fail_fast: bool,
    /// Configuration value NAME=VALUE or NAME:TYPE=VALUE (str, int, float, bytes, bool, json).
    #[arg(long = "var")]
    pub vars: Vec<String>,
    /// JSON/YAML file with `configuration` and `secrets`, or a `.env` file.
    #[arg(long = "var-file")]
    pub var_files: Vec<PathBuf>,
    /// Do not execute these activities (and skip their pauses): probes,
    /// actions, activities; or `pause` to execute everything without pauses.
    #[arg(long, value_parser = parse_dry)]
    pub dry: Option<Dry>,
    /// Skip validation.
    #[arg(long)]
    pub no_validation: bool,
    /// Chaos Toolkit's behaviour on Ctrl-C/SIGTERM: play the rollbacks only
    /// with `--rollback-strategy always` (squall plays them by default).
    #[arg(long)]
    pub no_rollbacks_on_interrupt: bool,
    /// A Chaos Toolkit control file: squall runs no controls, so one that
    /// declares any is refused before the run rather than ignored.
    #[arg(long = "control-file")]
    pub control_files: Vec<PathBuf>,
}

fn parse_rollback(s: &str) -> Result<RollbackStrategy, String> {
    s.parse()
}

fn parse_dry(s: &str) -> Result<Dry, String> {
    s.parse()
}

fn parse_hypothesis(s: &str) -> Result<HypothesisStrategy, String> {
    s.parse()
}

pub(crate) async fn run(args: ChaosArgs) -> Result<u8> {
    if !args.no_log_file {
        crate::chaos_log::open_file(&args.log_file, args.log_format == "json")
            .map_err(|e| InvalidInput(format!("--log-file {}: {e}", args.log_file.display())))?;
    }
    crate::chaos_log::set_verbose(args.verbose);
    crate::chaos_log::debug(&format!(
        "squall {} as chaostoolkit",
        env!("CARGO_PKG_VERSION")
    ));
    if let Some(path) = &args.settings {
        settings_note(path)?;
    }
    let cmd = args.command;
    match cmd {
        ChaosCommand::Validate {
            file,
            no_verify_tls,
            var_files,
        } => {
            let vars = read_vars(&[], &var_files)?;
            let Some(_) = load_and_validate(&file, !no_verify_tls, &vars).await else {
                return Ok(exit::ERROR);
            };
            log("INFO", "experiment syntax and semantic look valid");
            Ok(exit::OK)
        }
        ChaosCommand::Run(args) => run_experiment(args).await,
    }
}

/// `--settings`: read, so a missing or broken file is said; its sections
/// are `chaos`'s own (notifications, controls, vaults), which squall does
/// not act on: each one present is named in a warning before the run.
fn settings_note(path: &std::path::Path) -> Result<(), InvalidInput> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        // `chaos` goes on without a settings file.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            log("DEBUG", &format!("no settings file at {}", path.display()));
            return Ok(());
        }
        Err(e) => return Err(InvalidInput(format!("--settings {}: {e}", path.display()))),
    };
    let v: serde_json::Value = squall_diag::from_yaml(&text).map_err(|e| {
        InvalidInput(format!(
            "--settings {}:{} {}",
            path.display(),
            e.loc,
            e.message
        ))
    })?;
    for k in v
        .as_object()
        .map(|o| o.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        log(
            "WARNING",
            &format!(
                "settings {}: `{k}` is not acted on by squall chaos",
                path.display()
            ),
        );
    }
    Ok(())
}

/// `run --control-file`: a file that declares controls is refused (squall
/// runs none, and a control left out silently would change the run).
fn check_control_files(files: &[PathBuf]) -> Result<(), InvalidInput> {
    for f in files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| InvalidInput(format!("--control-file {}: {e}", f.display())))?;
        let v: serde_json::Value = squall_diag::from_yaml(&text).map_err(|e| {
            InvalidInput(format!(
                "--control-file {}:{} {}",
                f.display(),
                e.loc,
                e.message
            ))
        })?;
        let declares = match &v {
            serde_json::Value::Null => false,
            serde_json::Value::Array(a) => !a.is_empty(),
            serde_json::Value::Object(o) => !o.is_empty(),
            _ => true,
        };
        if declares {
            return Err(InvalidInput(format!(
                "--control-file {}: squall chaos runs no Chaos Toolkit controls; refusing rather than running without them",
                f.display()
            )));
        }
    }
    Ok(())
}

async fn run_experiment(args: ChaosRunArgs) -> Result<u8> {
    check_control_files(&args.control_files)?;
    let vars = read_vars(&args.vars, &args.var_files)?;
    let exp = if args.no_validation {
        match squall_chaos::load_source(&args.file, !args.no_verify_tls).await {
            Ok(e) => e,
            Err(e) => {
                log("ERROR", &e.to_string());
                return Ok(exit::ERROR);
            }
        }
    } else {
        match load_and_validate(&args.file, !args.no_verify_tls, &vars).await {
            Some(e) => e,
            None => return Ok(exit::ERROR),
        }
    };
    let opts = RunOptions {
        vars,
        hypothesis_strategy: args.hypothesis_strategy,
        rollback_strategy: args.rollback_strategy,
        frequency: args.hypothesis_frequency,
        fail_fast: args.fail_fast,
        rollbacks_on_interrupt: !args.no_rollbacks_on_interrupt,
        python: python(),
        dry: args.dry,
        skip_rollbacks: Default::default(),
    };
    let (tx, rx) = tokio::sync::watch::channel(0u32);
    let skip = opts.skip_rollbacks.clone();
    let signals = tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut stop = crate::signals::StopSignals::new();
        // Chaos Toolkit's extra signals: SIGUSR1 interrupts like SIGTERM;
        // SIGUSR2 interrupts and skips the rollbacks.
        let (mut usr1, mut usr2) = match (
            signal(SignalKind::user_defined1()),
            signal(SignalKind::user_defined2()),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            _ => loop {
                stop.next().await;
                tx.send_modify(|n| *n += 1);
            },
        };
        loop {
            tokio::select! {
                _ = stop.next() => {}
                _ = usr1.recv() => {}
                _ = usr2.recv() => skip.store(true, std::sync::atomic::Ordering::SeqCst),
            }
            tx.send_modify(|n| *n += 1);
        }
    });
    let journal = squall_chaos::run_experiment(&exp, &opts, Arc::new(render), rx).await;
    signals.abort();
    let journal = match journal {
        Ok(j) => j,
        Err(e) => {
            log("ERROR", &e.to_string());
            return Ok(exit::ERROR);
        }
    };
    if let Err(e) = squall_chaos::journal::write(&args.journal_path, &journal) {
        log(
            "ERROR",
            &format!(
                "cannot write the journal {}: {e}",
                args.journal_path.display()
            ),
        );
        return Ok(exit::ERROR);
    }
    let ok = journal["status"] == "completed" && journal["deviated"] == false;
    Ok(if ok { exit::OK } else { exit::ERROR })
}

fn read_vars(vars: &[String], files: &[PathBuf]) -> Result<Vars> {
    let mut v = Vars::default();
    for f in files {
        if let Some(warning) = v.add_file(f).map_err(|e| InvalidInput(e.to_string()))? {
            log("WARNING", &warning);
        }
    }
    for s in vars {
        v.add_var(s).map_err(|e| InvalidInput(e.to_string()))?;
    }
    Ok(v)
}

/// Loads and validates, logging every problem; None when the run must stop.
async fn load_and_validate(file: &str, verify_tls: bool, vars: &Vars) -> Option<serde_json::Value> {
    log("INFO", "Validating the experiment's syntax");
    let exp = match squall_chaos::load_source(file, verify_tls).await {
        Ok(e) => e,
        Err(e) => {
            log("ERROR", &e.to_string());
            return None;
        }
    };
    let mut issues = squall_chaos::validate(&exp, vars);
    match squall_chaos::provider::python_check::check(&exp, &python()) {
        Ok(more) => issues.extend(more),
        Err(why) => log("WARNING", &format!("python activities not checked: {why}")),
    }
    if issues.is_empty() {
        return Some(exp);
    }
    log("ERROR", &format!("{file}: {} problem(s):", issues.len()));
    for i in &issues {
        log("ERROR", &format!("  {i}"));
    }
    None
}

/// The interpreter for `python` providers.
fn python() -> String {
    squall_chaos::provider::python::interpreter()
}
