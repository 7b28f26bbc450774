//! Command-line definitions.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

/// Resilience experiments in one binary: load, faults, a system to break, and a report.
#[derive(Parser, Debug)]
#[command(name = "squall", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate HTTP load: a URL (quick mode, like wrk) or a plan file (YAML/JSON).
    ///
    /// Without --rate, each connection sends its next request as soon as the
    /// last one is answered (closed model, like wrk). With --rate N, requests
    /// start N times per second whatever the server does (open model), and
    /// latency is measured from each request's intended start.
    Load(LoadArgs),
    /// Simulated microservices to break (MicroSim's call-tree protocol).
    #[command(subcommand)]
    Sim(SimCommand),
    /// Chaos Toolkit experiments, unchanged: run them natively, or validate them.
    #[command(subcommand)]
    Chaos(crate::chaos_cmd::ChaosCommand),
    /// Run a whole experiment: workload, scheduled faults, goals; writes a report.
    Run(RunArgs),
    /// Start a simulated shop and run an experiment on it with load and faults (no setup).
    Demo(DemoArgs),
    /// A TCP proxy that injects network faults, driven by Toxiproxy's HTTP API
    /// (127.0.0.1:8474), plus Squall's host and process faults under /squall/.
    Proxy(crate::fault_cmd::ProxyArgs),
    /// Host and process faults (CPU, memory, pause, kill, restart), each a lease
    /// that ends by itself; and the kill switch of a running `squall proxy`.
    #[command(subcommand)]
    Fault(crate::fault_cmd::FaultCommand),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Experiment file (YAML or JSON): a Chaos Toolkit experiment plus workload, faults, goals.
    pub experiment: std::path::PathBuf,

    #[command(flatten)]
    pub common: RunCommon,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// A shorter demo (about 25 s) with the same shape.
    #[arg(long)]
    pub quick: bool,

    #[command(flatten)]
    pub common: RunCommon,
}

#[derive(Args, Debug)]
pub struct RunCommon {
    /// Directory that receives one sub-directory per run.
    #[arg(long, default_value = "runs")]
    pub runs_dir: std::path::PathBuf,

    /// Load-generator worker threads.
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
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

#[derive(Subcommand, Debug)]
pub enum SimCommand {
    /// Start every service of a topology (in this process, or one process each with
    /// --processes), plus a control API; Ctrl-C stops them.
    Up(SimUpArgs),
    /// Check a topology file and report every problem with its line.
    Validate {
        /// Topology file (YAML or JSON).
        topology: std::path::PathBuf,
    },
    /// Run one service of a topology on its own: what --processes and Kubernetes run.
    Service(SimServiceArgs),
    /// Write Kubernetes manifests (ConfigMap, and a Deployment and Service per service).
    K8s(SimK8sArgs),
}

#[derive(Args, Debug)]
pub struct SimServiceArgs {
    /// Service name from the topology.
    pub name: String,

    /// Topology file (YAML or JSON).
    #[arg(required_unless_present = "demo")]
    pub topology: Option<std::path::PathBuf>,

    /// Use the built-in shop topology.
    #[arg(long)]
    pub demo: bool,

    /// Address to listen on [default: 127.0.0.1 and the topology's port, else 8080].
    #[arg(long)]
    pub listen: Option<SocketAddr>,

    /// Where another service listens, NAME=HOST:PORT (repeatable); services not
    /// given are found by their Kubernetes DNS name and port.
    #[arg(long = "peer", value_name = "NAME=HOST:PORT")]
    pub peers: Vec<String>,

    /// Seed for every random draw.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Something restarts this process when it exits, so the crash fault may end it.
    #[arg(long)]
    pub supervised: bool,
}

#[derive(Args, Debug)]
pub struct SimK8sArgs {
    /// Topology file (YAML or JSON).
    #[arg(required_unless_present = "demo")]
    pub topology: Option<std::path::PathBuf>,

    /// Use the built-in shop topology.
    #[arg(long)]
    pub demo: bool,

    /// Container image with `squall` on its PATH.
    #[arg(long, default_value = concat!("squall:", env!("CARGO_PKG_VERSION")))]
    pub image: String,

    /// Namespace to put in every manifest.
    #[arg(long)]
    pub namespace: Option<String>,

    /// Name of the system (ConfigMap prefix and part-of label).
    #[arg(long, default_value = "squall-sim")]
    pub system: String,

    /// Seed for every random draw.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Write here instead of standard output.
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct SimUpArgs {
    /// Topology file (YAML or JSON).
    #[arg(required_unless_present = "demo")]
    pub topology: Option<std::path::PathBuf>,

    /// Use the built-in shop topology (gateway, catalog, cart, payment).
    #[arg(long)]
    pub demo: bool,

    /// Address the services bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,

    /// Control-plane address.
    #[arg(long, default_value = "127.0.0.1:7700")]
    pub control: SocketAddr,

    /// Seed for every random draw (route probabilities, jitter, error rates).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// One OS process per service, supervised: services that exit are restarted
    /// (so the crash fault is available), and Ctrl-C stops them all.
    #[arg(long)]
    pub processes: bool,
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Target URL (quick mode) or plan file (plan mode).
    #[arg(required_unless_present = "demo")]
    pub target: Option<String>,

    /// Start a built-in demo server on 127.0.0.1 and run a short demo plan against it.
    #[arg(long)]
    pub demo: bool,

    /// Connections: users (closed model) or the cap on concurrent requests (open model).
    #[arg(short = 'c', long, default_value_t = 50)]
    pub connections: u64,

    /// How long to run (quick mode), e.g. 30s, 1m.
    #[arg(short = 'd', long, default_value = "10s", value_parser = parse_duration)]
    pub duration: std::time::Duration,

    /// Open model: requests per second.
    #[arg(long)]
    pub rate: Option<f64>,

    /// Send exactly this many requests, then stop (quick mode).
    #[arg(short = 'n', long, value_parser = at_least_one_u64)]
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
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// Worker threads, each with its own event loop and connections.
    #[arg(long, default_value_t = default_threads(), value_parser = at_least_one)]
    pub threads: usize,

    /// Use HTTP/2 (h2c with prior knowledge on http://, ALPN on https://).
    #[arg(long)]
    pub http2: bool,

    /// Accept any TLS certificate (self-signed test servers).
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Run only segment i of n of the plan (fleets), e.g. 2/4.
    #[arg(long, default_value = "1/1")]
    pub segment: squall_load::Segment,

    /// Threshold `METRIC=EXPR`, e.g. `http_req_duration=p(95)<300ms` (repeatable; added to the plan's).
    #[arg(long = "threshold")]
    pub thresholds: Vec<String>,

    /// Write an output: `json=FILE`, `csv=FILE`, `hlog=FILE`, `influx=FILE` (repeatable).
    #[arg(long = "out")]
    pub outputs: Vec<String>,

    #[command(flatten)]
    pub metrics: crate::metrics_server::MetricsArgs,

    /// Seed for random choices (think times, feeders).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// No live progress and no periodic lines; only the summary.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn at_least_one_u64(s: &str) -> Result<u64, String> {
    at_least_one(s).map(|n| n as u64)
}

pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    squall_load::duration::parse_duration(s)
}
