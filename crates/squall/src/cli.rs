//! The command line's top level (each subcommand's arguments live in its
//! `cmd/` module) and the value parsers they share.

use clap::{Parser, Subcommand};

/// Resilience experiments in one binary: load, faults, a system to break, and a report.
#[derive(Parser, Debug)]
#[command(name = "squall", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Generate HTTP load: a URL (quick mode, like wrk) or a plan file (YAML/JSON).
    ///
    /// Without --rate, each connection sends its next request as soon as the
    /// last one is answered (closed model, like wrk). With --rate N, requests
    /// start N times per second whatever the server does (open model), and
    /// latency is measured from each request's intended start.
    Load(Box<crate::cmd::load::LoadArgs>),
    /// Simulated microservices to break (MicroSim's call-tree protocol).
    #[command(subcommand)]
    Sim(crate::cmd::sim::SimCommand),
    /// Chaos Toolkit experiments, unchanged: run them natively, or validate them.
    Chaos(crate::cmd::chaos::ChaosArgs),
    /// Run a whole experiment: workload, scheduled faults, goals; writes a report.
    Run(crate::cmd::run::RunArgs),
    /// The experiment executor as a service: stored, versioned experiments,
    /// runs started and stopped over HTTP, live events, reports (127.0.0.1:8888).
    Serve(crate::cmd::serve::ServeArgs),
    /// Experiments in sequence, resumable, with reports (JSON, HTML, JUnit) in a
    /// directory or S3-compatible storage.
    #[command(subcommand)]
    Suite(crate::cmd::suite::SuiteCommand),
    /// A load generator of a fleet: connects to a coordinator (`squall load
    /// --fleet`, `squall serve`), runs its segment of each run it is given
    /// and reports every second.
    Generator(crate::cmd::fleet::GeneratorArgs),
    /// Fleet helpers: Kubernetes manifests for a fleet run.
    #[command(subcommand)]
    Fleet(crate::cmd::fleet::FleetCommand),
    /// Start a simulated shop and run an experiment on it with load and faults (no setup).
    Demo(crate::cmd::run::DemoArgs),
    /// A TCP proxy that injects network faults, driven by Toxiproxy's HTTP API
    /// (127.0.0.1:8474), plus Squall's host and process faults under /squall/.
    Proxy(crate::cmd::fault::ProxyArgs),
    /// Host and process faults (CPU, memory, pause, kill, restart), each a lease
    /// that ends by itself; and the kill switch of a running `squall proxy`.
    #[command(subcommand)]
    Fault(crate::cmd::fault::FaultCommand),
}

pub(crate) fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

pub(crate) fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

pub(crate) fn at_least_one_u64(s: &str) -> Result<u64, String> {
    at_least_one(s).map(|n| n as u64)
}

pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    squall_load::duration::parse_duration(s).map_err(|e| e.to_string())
}
