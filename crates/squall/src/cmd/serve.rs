//! `squall serve`: the experiment executor as a service (see
//! `squall_server`). This module reads the flags, recovers what a crash
//! left (faults first, then runs), and serves until Ctrl-C or SIGTERM,
//! when every run in flight is stopped (faults reverted, reports written).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use squall_server::runner::{Runner, RunnerConfig};
use squall_server::store::Store;

use crate::exit::{self, InvalidInput};
use crate::signals::StopSignals;

#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// Address to listen on. Beyond loopback a token is required.
    #[arg(long, default_value = "127.0.0.1:8888")]
    pub listen: SocketAddr,

    /// Directory for the SQLite database (squall.db) and run directories (runs/).
    #[arg(long, default_value = "squall-data")]
    pub data_dir: PathBuf,

    /// PostgreSQL instead of SQLite: postgres://user:password@host/db (run
    /// directories stay in --data-dir).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,

    /// Runs in flight at most; more starts answer 429.
    #[arg(long, default_value_t = 4, value_parser = crate::cli::at_least_one)]
    pub max_runs: usize,

    /// Load-generator threads per run.
    #[arg(long, default_value_t = 1, value_parser = crate::cli::at_least_one)]
    pub threads: usize,

    /// Seed for every random draw (load and simulator).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Let experiments started over HTTP run Chaos Toolkit process/python
    /// providers and process faults (pause, kill, restart). Needs a token.
    #[arg(long)]
    pub allow_commands: bool,

    /// A host beyond loopback that runs may address (repeatable); when
    /// given, a document naming any other host is refused at start (403).
    #[arg(long = "allow-target", value_name = "HOST")]
    pub allow_targets: Vec<String>,

    /// A web origin allowed to call the API from a browser (CORS), e.g.
    /// http://localhost:5173 for MiSArch's frontend (repeatable).
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,

    #[command(flatten)]
    pub door: crate::door::DoorArgs,
}

pub(crate) async fn run(args: ServeArgs) -> Result<u8> {
    let access = args.door.access(args.listen)?;
    if args.allow_commands && !access.has_token() {
        return Err(InvalidInput(format!(
            "--allow-commands lets API callers run commands on this machine, so it needs a token: --token-file FILE or {}",
            squall_http::access::TOKEN_ENV
        ))
        .into());
    }
    if let Some(url) = &args.database
        && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        return Err(InvalidInput(format!(
            "--database {url:?}: expected postgres://... (SQLite is the default, in --data-dir)"
        ))
        .into());
    }
    // Absolute, so stored run directories stay valid whatever the cwd.
    let data_dir = std::path::absolute(&args.data_dir)
        .with_context(|| format!("--data-dir {}", args.data_dir.display()))?;
    let runs_dir = data_dir.join("runs");
    std::fs::create_dir_all(&runs_dir)
        .with_context(|| format!("cannot create {}", runs_dir.display()))?;
    // Faults a crashed squall left are reverted before anything else.
    let agent = crate::cmd::fault::run_agent().await;
    let store = Store::open(args.database.as_deref(), &data_dir)
        .await
        .context("cannot open the database")?;
    for run in squall_server::recover::interrupted_runs(&store)
        .await
        .context("cannot close the runs a previous server left")?
    {
        eprintln!(
            "squall serve: run {} (experiment {} v{}) was in progress when the server stopped; marked interrupted, its seconds kept",
            run.id, run.experiment_id, run.version
        );
    }
    let fleet = squall_fleet::Coordinator::new(squall_fleet::CoordinatorConfig::default());
    let suites_dir = data_dir.join("suites");
    let suites = squall_server::suites::Suites::new(
        store.clone(),
        squall_server::suites::SuitesConfig {
            dir: suites_dir.clone(),
            runs_dir: data_dir.join("suite-runs"),
            threads: args.threads,
            seed: args.seed,
            coordinator: Some(fleet.clone()),
        },
        agent.clone(),
    );
    let runner = Runner::new(
        store.clone(),
        RunnerConfig {
            runs_dir,
            threads: args.threads,
            seed: args.seed,
            max_runs: args.max_runs,
            coordinator: Some(fleet.clone()),
        },
        agent,
    );
    let state = Arc::new(squall_server::api::AppState {
        store: store.clone(),
        runner: runner.clone(),
        suites: suites.clone(),
        suites_dir,
        allow_commands: args.allow_commands,
        allowed_targets: args.allow_targets.clone(),
        token_required: access.has_token(),
        templates: templates(),
        fleet,
    });
    // reqwest (suite sources from URLs and S3) uses rustls with ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    for note in squall_server::api::resume_cut_short(state.clone()).await {
        eprintln!("squall serve: {note}");
    }
    let router = squall_server::api::router(state, Arc::new(access), &args.cors_origins);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "squall serve: http://{addr}/api/v1/ ({} database{}; OpenAPI at /api/v1/openapi.json)",
        store.backend(),
        if args.database.is_none() {
            format!(" {}", data_dir.join("squall.db").display())
        } else {
            String::new()
        }
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(squall_server::serve(listener, router, stop_rx));
    let mut signals = StopSignals::new();
    signals.next().await;
    // No new connection, and no new run on the ones still open.
    let _ = stop_tx.send(true);
    let _ = server.await;
    let n = runner.in_flight() + suites.in_flight();
    suites.stop_all();
    if n > 0 {
        eprintln!(
            "squall serve: stopping {n} run(s): reverting faults, writing reports (Ctrl-C again to quit at once)"
        );
    }
    let suites_done = async {
        while suites.in_flight() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    tokio::select! {
        _ = async { tokio::join!(runner.stop_all(), suites_done) } => {}
        _ = signals.next() => {
            eprintln!("squall serve: quitting; the next start closes the runs left in flight");
            return Ok(exit::ERROR);
        }
    }
    store.close().await;
    Ok(exit::OK)
}

/// What the UI offers to start an experiment from: the demo shop's
/// experiments (the ones `squall demo` runs).
fn templates() -> Vec<squall_server::api::Template> {
    let t = |id: &str, title: &str, document: &str| squall_server::api::Template {
        id: id.into(),
        title: title.into(),
        document: document.into(),
    };
    vec![
        t(
            "demo-quick",
            "Demo shop, quick: a slow payment service and an error burst (about 25 s)",
            super::run::DEMO_QUICK,
        ),
        t(
            "demo",
            "Demo shop: the full `squall demo` experiment (about 2 min)",
            super::run::DEMO,
        ),
        t("empty", "A blank experiment against the demo shop", EMPTY),
    ]
}

/// The smallest useful experiment: the shop, a steady load, one goal.
const EMPTY: &str = "title: New experiment\nsim: demo\nworkload:\n  base_url: ${sim.gateway}\n  scenarios:\n    - name: browse\n      steps:\n        - request: {name: home, url: /}\n  load:\n    model: open\n    max_vus: 100\n    stages:\n      - {rate: 20, for: 20s}\ngoals:\n  - {name: p95 under 200 ms, metric: http_req_duration, condition: p(95)<200ms}\n";
