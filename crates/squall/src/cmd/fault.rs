//! `squall proxy` (the fault agent: Toxiproxy's API plus Squall's fault
//! routes) and `squall fault` (host and process faults for humans, run in the
//! foreground until their lease ends or Ctrl-C).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use squall_faults::guardian::GuardianLauncher;
use squall_faults::ledger::{self, Ledger};
use squall_faults::proxy::{ProxyOptions, ProxyRequest};
use squall_faults::{Agent, HostFault, Injector, Limits};

use crate::exit;
use crate::signals::StopSignals;

#[derive(Args, Debug)]
pub(crate) struct ProxyArgs {
    /// Address of the control API (Toxiproxy's default port).
    #[arg(long, default_value = "127.0.0.1:8474")]
    pub listen: SocketAddr,

    /// Create proxies from a JSON file at start (Toxiproxy's `-config`: a list of
    /// {name, listen, upstream, enabled}).
    #[arg(long)]
    pub config: Option<PathBuf>,

    /// Let proxies listen on addresses other than loopback.
    #[arg(long)]
    pub allow_remote_listen: bool,

    /// Accept `restart` faults, which run a shell command, over the API
    /// (off by default; requires a token).
    #[arg(long)]
    pub allow_commands: bool,

    #[command(flatten)]
    pub door: crate::door::DoorArgs,

    /// Threads that carry traffic [default: one per core].
    #[arg(long)]
    pub threads: Option<usize>,

    /// Lease of a toxic added without `ttl_ms`, and of a disabled proxy: it ends by itself then.
    #[arg(long, default_value = "1h", value_parser = crate::cli::parse_duration)]
    pub toxic_lease: Duration,

    #[command(flatten)]
    pub caps: Caps,
}

/// Caps and the ledger, shared by `squall proxy` and `squall fault`.
#[derive(Args, Debug)]
pub(crate) struct Caps {
    /// Where the lease ledger lives [default: $SQUALL_STATE_DIR, $XDG_STATE_HOME/squall or ~/.local/state/squall].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,

    /// Longest lease any fault may have.
    #[arg(long, default_value = "1h", value_parser = crate::cli::parse_duration)]
    pub max_duration: Duration,

    /// Most CPU cores stress may burn at once [default: all cores].
    #[arg(long)]
    pub max_cpu_cores: Option<usize>,

    /// Most memory stress may hold at once, e.g. 512MiB [default: half of what is available].
    #[arg(long, value_parser = parse_size)]
    pub max_memory: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum FaultCommand {
    /// Burn CPU: --cores threads at --load share each, for --for.
    StressCpu {
        #[arg(long, default_value_t = 1)]
        cores: usize,
        /// Share of each core, in (0, 1].
        #[arg(long, default_value_t = 1.0)]
        load: f64,
        #[command(flatten)]
        lease: LeaseArgs,
    },
    /// Hold memory (resident) for --for.
    StressMemory {
        /// Bytes, e.g. 256MiB.
        #[arg(long, value_parser = parse_size, required_unless_present = "percent")]
        size: Option<u64>,
        /// Or a percent of the memory available now.
        #[arg(long, conflicts_with = "size")]
        percent: Option<f64>,
        #[command(flatten)]
        lease: LeaseArgs,
    },
    /// Stop a process (SIGSTOP) for --for; it is continued at the end whatever happens.
    Pause {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        lease: LeaseArgs,
    },
    /// Send a signal to a process.
    Kill {
        #[command(flatten)]
        target: TargetArgs,
        /// Signal name or number.
        #[arg(long, default_value = "TERM")]
        signal: String,
        #[command(flatten)]
        caps: Caps,
    },
    /// Signal a process, then start it again with a command.
    Restart {
        #[command(flatten)]
        target: TargetArgs,
        /// Signal name or number.
        #[arg(long, default_value = "TERM")]
        signal: String,
        /// Shell command that starts the service again.
        #[arg(long)]
        command: String,
        /// How long to wait for the old process to exit.
        #[arg(long, default_value = "5s", value_parser = crate::cli::parse_duration)]
        grace: Duration,
        #[command(flatten)]
        caps: Caps,
    },
    /// List the faults a running `squall proxy` holds (a table with local
    /// times; --json for the API's answer).
    List {
        #[arg(long, default_value = "http://127.0.0.1:8474")]
        api: String,
        /// Print the API's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revert one fault (by id), or every fault with --all, on a running `squall proxy`.
    Revert {
        /// Fault id.
        #[arg(required_unless_present = "all")]
        id: Option<String>,
        #[arg(long)]
        all: bool,
        #[arg(long, default_value = "http://127.0.0.1:8474")]
        api: String,
    },
    /// The kill switch: revert every fault of a running `squall proxy` and refuse new ones
    /// (--release accepts them again).
    Halt {
        #[arg(long)]
        release: bool,
        #[arg(long, default_value = "http://127.0.0.1:8474")]
        api: String,
        /// Print the API's JSON instead of a sentence.
        #[arg(long)]
        json: bool,
    },
    /// Revert what crashed squall processes left behind (from their ledgers).
    Recover {
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Internal: continues a paused process when its pauser dies or its lease ends.
    #[command(hide = true)]
    Guardian {
        #[arg(long)]
        pid: i32,
        #[arg(long)]
        start_ticks: u64,
        #[arg(long)]
        deadline_unix_ms: u64,
    },
}

#[derive(Args, Debug)]
pub(crate) struct LeaseArgs {
    /// How long the fault lasts (its lease), e.g. 30s.
    #[arg(long = "for", value_parser = crate::cli::parse_duration)]
    pub duration: Duration,
    #[command(flatten)]
    pub caps: Caps,
}

#[derive(Args, Debug)]
pub(crate) struct TargetArgs {
    /// Process id.
    #[arg(long, required_unless_present = "name", conflicts_with = "name")]
    pub pid: Option<i32>,
    /// Process name (must match exactly one process unless --all).
    #[arg(long)]
    pub name: Option<String>,
    /// Act on every process with that name.
    #[arg(long, requires = "name")]
    pub all: bool,
}

/// Parses `512MiB`, `1G`, `1000`.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 512MiB)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1048576.0,
        "g" | "gb" => 1e9,
        "gib" => 1073741824.0,
        other => {
            return Err(format!(
                "unknown size unit `{other}` (use B, KB, KiB, MB, MiB, GB, GiB)"
            ));
        }
    };
    Ok((n * mult) as u64)
}

impl Caps {
    fn limits(&self) -> Limits {
        let mut l = Limits {
            max_duration: self.max_duration,
            ..Limits::default()
        };
        if let Some(c) = self.max_cpu_cores {
            l.max_cpu_cores = c;
        }
        if let Some(m) = self.max_memory {
            l.max_memory_bytes = m;
        }
        l
    }

    fn state_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(ledger::default_state_dir)
    }

    /// Recovers leftovers, then opens this process's ledger and agent.
    async fn agent(&self, options: ProxyOptions) -> anyhow::Result<Arc<Agent>> {
        let dir = self.state_dir();
        report_leftovers(&dir).await;
        let ledger = open_ledger(&dir)
            .with_context(|| format!("cannot use the state directory {}", dir.display()))?;
        let injector = Injector::new(self.limits(), Some(ledger));
        Ok(Agent::new(injector, options, guardian()))
    }
}

/// The injectors `squall run` uses for host and process faults: with a
/// ledger in the default state directory (after recovering what dead squall
/// processes left there) and a guardian; without a ledger when that
/// directory cannot be used.
pub(crate) async fn run_agent() -> Arc<Agent> {
    let dir = ledger::default_state_dir();
    report_leftovers(&dir).await;
    let ledger = match open_ledger(&dir) {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!(
                "squall: no lease ledger ({}: {e}); faults still end at their leases",
                dir.display()
            );
            None
        }
    };
    Agent::new(
        Injector::new(Limits::default(), ledger),
        ProxyOptions::default(),
        guardian(),
    )
}

fn guardian() -> Option<GuardianLauncher> {
    std::env::current_exe()
        .ok()
        .map(|program| GuardianLauncher {
            program,
            args: vec!["fault".into(), "guardian".into()],
        })
}

async fn report_leftovers(dir: &std::path::Path) {
    let found = ledger::recover(dir).await;
    for l in &found.leftovers {
        eprintln!(
            "squall: left by pid {}: {} on {} ({}): {}",
            l.owner_pid, l.lease.kind, l.lease.target, l.lease.id, l.outcome
        );
    }
    for p in &found.unreadable {
        eprintln!(
            "squall: unreadable lease ledger {} (left in place)",
            p.display()
        );
    }
}

/// This process's ledger in `dir`, reporting failed writes on stderr.
fn open_ledger(dir: &std::path::Path) -> std::io::Result<Ledger> {
    Ok(Ledger::open(dir)?.on_error(|m| eprintln!("squall: {m}")))
}

/// `squall proxy`.
pub(crate) async fn proxy(args: ProxyArgs) -> anyhow::Result<u8> {
    let options = ProxyOptions {
        default_lease: args.toxic_lease,
        allow_remote_listen: args.allow_remote_listen,
    };
    let agent = args.caps.agent(options).await?;
    if let Some(path) = &args.config {
        let text =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let reqs: Vec<ProxyRequest> = serde_json::from_slice(&text).map_err(|e| {
            exit::InvalidInput(format!("{}: line {}: {e}", path.display(), e.line()))
        })?;
        agent
            .proxies
            .populate(reqs)
            .await
            .map_err(|e| exit::InvalidInput(format!("{}: {e}", path.display())))?;
    }
    // The door already holds the token when one was given.
    let access = args.door.access(args.listen)?;
    if args.allow_commands && !access.has_token() {
        return Err(exit::InvalidInput(format!(
            "--allow-commands lets API callers run shell commands, so it needs a token: --token-file FILE or {}",
            squall_http::access::TOKEN_ENV
        ))
        .into());
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!(
        "squall proxy: API on http://{} (Toxiproxy {} compatible; Squall faults under /squall/)",
        listener.local_addr()?,
        squall_faults::api::TOXIPROXY_VERSION
    );
    for (name, p) in agent.proxies.list() {
        eprintln!("  proxy {name}: {}", serde_json::to_string(&p)?);
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let options = squall_faults::api::ApiOptions {
        access,
        allow_commands: args.allow_commands,
    };
    let server = tokio::spawn(squall_faults::api::serve(
        listener,
        agent.clone(),
        options,
        stop_rx,
    ));
    StopSignals::new().next().await;
    let _ = stop_tx.send(true);
    let _ = server.await;
    let n = agent.injector.revert_all(true);
    eprintln!("squall proxy: stopped; {n} fault(s) reverted");
    Ok(exit::OK)
}

/// `squall fault ...`.
pub(crate) async fn fault(cmd: FaultCommand) -> anyhow::Result<u8> {
    match cmd {
        FaultCommand::StressCpu { cores, load, lease } => {
            let f = HostFault::StressCpu {
                cores,
                load,
                duration_ms: lease.duration.as_millis() as u64,
            };
            hold(f, &lease.caps).await
        }
        FaultCommand::StressMemory {
            size,
            percent,
            lease,
        } => {
            let f = HostFault::StressMemory {
                bytes: size,
                percent,
                duration_ms: lease.duration.as_millis() as u64,
            };
            hold(f, &lease.caps).await
        }
        FaultCommand::Pause { target, lease } => {
            let f = HostFault::Pause {
                pid: target.pid,
                name: target.name,
                all: target.all,
                duration_ms: lease.duration.as_millis() as u64,
            };
            hold(f, &lease.caps).await
        }
        FaultCommand::Kill {
            target,
            signal,
            caps,
        } => {
            let f = HostFault::Kill {
                pid: target.pid,
                name: target.name,
                all: target.all,
                signal: Some(signal),
            };
            hold(f, &caps).await
        }
        FaultCommand::Restart {
            target,
            signal,
            command,
            grace,
            caps,
        } => {
            let f = HostFault::Restart {
                pid: target.pid,
                name: target.name,
                all: target.all,
                signal: Some(signal),
                command,
                grace_ms: Some(grace.as_millis() as u64),
            };
            hold(f, &caps).await
        }
        FaultCommand::List { api, json } => {
            let (_, body) = call(&api, hyper::Method::GET, "/squall/faults", None).await?;
            if json {
                println!("{body}");
            } else {
                print!("{}", crate::fault_table::render(&body)?);
            }
            Ok(exit::OK)
        }
        FaultCommand::Revert { id, all, api } => {
            let path = match (&id, all) {
                (_, true) => "/squall/faults".to_string(),
                (Some(id), false) => format!("/squall/faults/{id}"),
                (None, false) => bail!("give a fault id or --all"),
            };
            let (_, body) = call(&api, hyper::Method::DELETE, &path, None).await?;
            println!("{}", if body.is_empty() { "reverted" } else { &body });
            Ok(exit::OK)
        }
        FaultCommand::Halt { release, api, json } => {
            let method = if release {
                hyper::Method::DELETE
            } else {
                hyper::Method::POST
            };
            let (_, body) = call(&api, method, "/squall/halt", None).await?;
            if json {
                println!("{body}");
            } else {
                let v: serde_json::Value = serde_json::from_str(&body)?;
                match v["reverted"].as_u64() {
                    Some(n) => println!(
                        "halted: {n} fault(s) reverted; new faults are refused until `squall fault halt --release`"
                    ),
                    None => println!("released: new faults are accepted again"),
                }
            }
            Ok(exit::OK)
        }
        FaultCommand::Recover { state_dir } => {
            let dir = state_dir.unwrap_or_else(ledger::default_state_dir);
            let found = ledger::recover(&dir).await;
            for p in &found.unreadable {
                println!("unreadable ledger {} (left in place)", p.display());
            }
            let found = found.leftovers;
            for l in &found {
                println!(
                    "pid {}: {} on {} ({}): {}",
                    l.owner_pid, l.lease.kind, l.lease.target, l.lease.id, l.outcome
                );
            }
            println!("{} leftover fault(s) in {}", found.len(), dir.display());
            Ok(exit::OK)
        }
        FaultCommand::Guardian {
            pid,
            start_ticks,
            deadline_unix_ms,
        } => {
            let what = tokio::task::spawn_blocking(move || {
                squall_faults::guardian::run(pid, start_ticks, deadline_unix_ms)
            })
            .await?;
            eprintln!("squall guardian: {what}");
            Ok(exit::OK)
        }
    }
}

/// Applies a fault here and holds it until its leases end or Ctrl-C.
async fn hold(f: HostFault, caps: &Caps) -> anyhow::Result<u8> {
    let agent = caps.agent(ProxyOptions::default()).await?;
    // A refusal (bad value, over a cap, no such process, halted) is the
    // caller's to fix: exit 2, like any invalid input.
    let applied = agent.apply(f).await.map_err(|e| match e {
        squall_faults::FaultError::Io(_) => anyhow::Error::new(e),
        e => anyhow::Error::new(exit::InvalidInput(e.to_string())),
    })?;
    for l in &applied.leases {
        eprintln!(
            "squall fault: {} on {} ({}), ends in {} ms",
            l.kind,
            l.target,
            l.id,
            l.deadline_unix_ms.saturating_sub(l.started_unix_ms)
        );
    }
    if !applied.signalled.is_empty() {
        eprintln!("squall fault: signalled pid(s) {:?}", applied.signalled);
    }
    if let Some(pid) = applied.started_pid {
        eprintln!("squall fault: restart command started as pid {pid}");
    }
    let mut signals = StopSignals::new();
    loop {
        if agent.injector.list().is_empty() {
            return Ok(exit::OK);
        }
        tokio::select! {
            _ = signals.next() => {
                let n = agent.injector.revert_all(true);
                eprintln!("squall fault: interrupted; {n} fault(s) reverted");
                return Ok(exit::INTERRUPTED);
            }
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

/// One call to a running agent's API; non-2xx answers are errors with the body.
async fn call(
    api: &str,
    method: hyper::Method,
    path: &str,
    body: Option<String>,
) -> anyhow::Result<(u16, String)> {
    let url = format!("{}{path}", api.trim_end_matches('/'));
    let (status, text) = squall_http::client::call(
        &squall_http::client::client(),
        method,
        &url,
        body,
        Duration::from_secs(10),
    )
    .await?;
    if !(200..300).contains(&status) {
        bail!("{url} answered {status}: {text}");
    }
    Ok((status, text))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5GB").unwrap(), 1_500_000_000);
        assert!(parse_size("12 parsecs").is_err());
    }
}
