//! `squall sim`: start a topology (one process or supervised processes),
//! run one service alone, validate a topology, or write Kubernetes manifests.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use squall_sim::k8s::ManifestOptions;
use squall_sim::single::DEFAULT_PORT;
use squall_sim::supervisor::{Launch, die_with_parent};
use squall_sim::{SimOptions, SingleOptions, SupervisorEvent, Topology};

use crate::exit::{self, InvalidInput};
use crate::signals::StopSignals;

use squall_sim::SHOP;

#[derive(Subcommand, Debug)]
pub(crate) enum SimCommand {
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
pub(crate) struct SimServiceArgs {
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
pub(crate) struct SimK8sArgs {
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
pub(crate) struct SimUpArgs {
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

pub(crate) async fn run(cmd: SimCommand) -> Result<u8> {
    match cmd {
        SimCommand::Validate { topology } => {
            let (t, _) = load(Some(&topology), false)?;
            println!("{}: ok, {} services", topology.display(), t.services.len());
            Ok(exit::OK)
        }
        SimCommand::Up(args) if args.processes => up_processes(args).await,
        SimCommand::Up(args) => up_in_process(args).await,
        SimCommand::Service(args) => service(args).await,
        SimCommand::K8s(args) => {
            let (topology, text) = load(args.topology.as_deref(), args.demo)?;
            let opts = ManifestOptions {
                image: args.image,
                namespace: args.namespace,
                system: args.system,
                seed: args.seed,
            };
            let yaml = squall_sim::k8s::manifests(&topology, &text, &opts).map_err(InvalidInput)?;
            match args.output {
                Some(path) => {
                    std::fs::write(&path, yaml)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("squall sim: wrote {}", path.display());
                }
                None => print!("{yaml}"),
            }
            Ok(exit::OK)
        }
    }
}

/// The topology and its text, from a file or the built-in shop.
fn load(path: Option<&Path>, demo: bool) -> Result<(Topology, String)> {
    let (path, text) = if demo {
        (Path::new("<shop topology>").to_path_buf(), SHOP.to_string())
    } else {
        let path = path.expect("clap requires a topology unless --demo");
        let text = std::fs::read_to_string(path)
            .map_err(|e| InvalidInput(format!("{}: cannot read: {e}", path.display())))?;
        (path.to_path_buf(), text)
    };
    let t = Topology::parse(&path, &text).map_err(|e| InvalidInput(e.to_string()))?;
    for note in &t.notes {
        eprintln!("squall sim: note: {note}");
    }
    Ok((t, text))
}

async fn up_in_process(args: SimUpArgs) -> Result<u8> {
    let (topology, _) = load(args.topology.as_deref(), args.demo)?;
    let opts = SimOptions {
        bind: args.bind,
        seed: args.seed,
        control: args.control,
    };
    let sim = squall_sim::up(&topology, &opts)
        .await
        .context("cannot start the topology")?;
    print_table(&sim.services, sim.control, args.seed, "in this process");
    StopSignals::new().next().await;
    eprintln!("squall sim: stopping; every persistent fault is cleared");
    sim.shutdown();
    Ok(exit::OK)
}

async fn up_processes(args: SimUpArgs) -> Result<u8> {
    let (topology, _) = load(args.topology.as_deref(), args.demo)?;
    let opts = SimOptions {
        bind: args.bind,
        seed: args.seed,
        control: args.control,
    };
    let exe = std::env::current_exe().context("cannot find the squall binary to start services")?;
    let source: Option<PathBuf> = args.topology.clone();
    let seed = args.seed;
    let launcher = move |l: &Launch| {
        let mut c = tokio::process::Command::new(&exe);
        c.stdout(std::process::Stdio::null());
        c.args(["sim", "service", &l.service]);
        match &source {
            Some(p) => c.arg(p),
            None => c.arg("--demo"),
        };
        c.args([
            "--listen",
            &l.addr.to_string(),
            "--seed",
            &seed.to_string(),
            "--supervised",
        ]);
        for (name, addr) in &l.peers {
            c.arg("--peer").arg(format!("{name}={addr}"));
        }
        c
    };
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let log = tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            match e {
                SupervisorEvent::Started { service, pid } => {
                    eprintln!("squall sim: {service} started (pid {pid})")
                }
                SupervisorEvent::Exited {
                    service,
                    status,
                    restart_in,
                } => eprintln!(
                    "squall sim: {service} exited ({status}); restarting in {} ms",
                    restart_in.as_millis()
                ),
                SupervisorEvent::SpawnFailed { service, error } => {
                    eprintln!("squall sim: {service} could not start: {error}")
                }
            }
        }
    });
    let sim = squall_sim::supervise(&topology, &opts, launcher, tx)
        .await
        .context("cannot start the topology")?;
    print_table(
        &sim.services,
        sim.control,
        args.seed,
        "one process each, supervised",
    );
    StopSignals::new().next().await;
    eprintln!("squall sim: stopping every service process");
    sim.shutdown().await;
    log.abort();
    Ok(exit::OK)
}

fn print_table(
    services: &[(String, std::net::SocketAddr)],
    control: std::net::SocketAddr,
    seed: u64,
    how: &str,
) {
    println!(
        "squall sim: {} services, {how} (seed {seed})",
        services.len()
    );
    for (name, addr) in services {
        println!("  {name:<16} http://{addr}/");
    }
    println!(
        "  {:<16} http://{control}/  (GET /services, GET /health, POST /tree, /services/NAME/faults)",
        "control"
    );
}

async fn service(args: SimServiceArgs) -> Result<u8> {
    die_with_parent().context("cannot arm the parent-death signal")?;
    let (topology, _) = load(args.topology.as_deref(), args.demo)?;
    let mut peers = BTreeMap::new();
    for p in &args.peers {
        let (name, addr) = p
            .split_once('=')
            .ok_or_else(|| InvalidInput(format!("--peer {p:?}: expected NAME=HOST:PORT")))?;
        peers.insert(name.to_string(), addr.to_string());
    }
    let port = topology
        .services
        .iter()
        .find(|s| s.name == args.name)
        .and_then(|s| s.port)
        .unwrap_or(DEFAULT_PORT);
    let listen = args.listen.unwrap_or_else(|| ([127, 0, 0, 1], port).into());
    let opts = SingleOptions {
        listen,
        peers,
        seed: args.seed,
        supervised: args.supervised,
    };
    let svc = match squall_sim::serve_one(&topology, &args.name, &opts).await {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(InvalidInput(e.to_string()).into());
        }
        Err(e) => return Err(e).context("cannot start the service"),
    };
    println!("squall sim: {} on http://{}/", args.name, svc.addr);
    StopSignals::new().next().await;
    svc.shutdown();
    Ok(exit::OK)
}
