//! One OS process per service, supervised: a service that exits (the
//! `crash` fault, a bug, a signal) is restarted with back-off; stopping
//! ends every child and waits for it, and children die with the supervisor
//! even when it is killed with SIGKILL (parent-death signal), so nothing is
//! left orphaned.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::control::Control;
use crate::serve::bind;
use crate::serve::serve_control;
use crate::supervision::Supervision;
use crate::topology::Topology;
use crate::up::SimOptions;

/// Environment variable naming the supervisor's pid, so a child can check
/// that the parent-death signal was armed before its parent could die.
pub const PARENT_PID_ENV: &str = "SQUALL_SIM_PARENT_PID";

/// What a child needs to be started.
#[derive(Clone, Debug)]
pub struct Launch {
    /// Service name.
    pub service: String,
    /// Address it must listen on.
    pub addr: SocketAddr,
    /// Every service's address, itself included.
    pub peers: BTreeMap<String, SocketAddr>,
}

/// Something that happened to a child, for the operator's log.
#[derive(Clone, Debug)]
pub enum SupervisorEvent {
    /// A child started.
    Started {
        /// The service's name.
        service: String,
        /// The child's pid (0 if unknown).
        pid: u32,
    },
    /// A child exited while it should have been running; it will restart.
    Exited {
        /// The service's name.
        service: String,
        /// Its exit status, or the error that kept it from starting.
        status: String,
        /// Back-off before the restart.
        restart_in: Duration,
    },
    /// A child could not be started at all.
    SpawnFailed {
        /// The service's name.
        service: String,
        /// The spawn error.
        error: String,
    },
}

/// A supervised topology.
pub struct Supervised {
    /// Services in topology order with their addresses.
    pub services: Vec<(String, SocketAddr)>,
    /// The control plane's address.
    pub control: SocketAddr,
    /// Process state of every service.
    pub state: Arc<Supervision>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Supervised {
    /// Ends every child (SIGTERM, then SIGKILL after 3 s) and waits for all.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Starts one process per service with `launcher`, waits until each
/// accepts connections, and serves the control plane in this process.
pub async fn supervise<F>(
    topology: &Topology,
    opts: &SimOptions,
    launcher: F,
    events: mpsc::UnboundedSender<SupervisorEvent>,
) -> std::io::Result<Supervised>
where
    F: Fn(&Launch) -> Command + Send + Sync + 'static,
{
    let peers = reserve_ports(topology, opts)?;
    let directory: BTreeMap<String, String> = peers
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    let control_listener = bind("control plane", opts.control).await?;
    let control_addr = control_listener.local_addr()?;
    let state = Arc::new(Supervision::default());
    let (stop, stop_rx) = watch::channel(false);
    let launcher = Arc::new(launcher);
    let mut tasks = Vec::new();
    let mut services = Vec::new();
    for s in &topology.services {
        let launch = Launch {
            service: s.name.clone(),
            addr: peers[&s.name],
            peers: peers.clone(),
        };
        services.push((s.name.clone(), launch.addr));
        tasks.push(tokio::spawn(keep_running(
            launch,
            launcher.clone(),
            state.clone(),
            events.clone(),
            stop_rx.clone(),
        )));
    }
    let control = Arc::new(Control::new(
        Arc::new(RwLock::new(directory)),
        opts.seed,
        Some(state.clone()),
    ));
    tokio::spawn(serve_control(control_listener, control, stop_rx));
    let running = Supervised {
        services,
        control: control_addr,
        state,
        stop,
        tasks,
    };
    for (name, addr) in &running.services {
        if !accepts_within(*addr, Duration::from_secs(10)).await {
            let err = std::io::Error::other(format!(
                "{name} did not start listening on {addr} within 10 s"
            ));
            running.shutdown().await;
            return Err(err);
        }
    }
    Ok(running)
}

/// Picks every service's address: the topology's port, or a free one.
/// All listeners are held until every port is known, so no two services
/// get the same port; they are then released for the children to bind.
fn reserve_ports(
    topology: &Topology,
    opts: &SimOptions,
) -> std::io::Result<BTreeMap<String, SocketAddr>> {
    let mut held = Vec::new();
    let mut out = BTreeMap::new();
    for s in &topology.services {
        let want = SocketAddr::new(opts.bind, s.port.unwrap_or(0));
        let l = std::net::TcpListener::bind(want).map_err(|e| {
            std::io::Error::new(e.kind(), format!("{}: cannot bind {want}: {e}", s.name))
        })?;
        out.insert(s.name.clone(), l.local_addr()?);
        held.push(l);
    }
    Ok(out)
}

async fn accepts_within(addr: SocketAddr, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Runs one service until stopped, restarting it whenever it exits.
async fn keep_running<F>(
    launch: Launch,
    launcher: Arc<F>,
    state: Arc<Supervision>,
    events: mpsc::UnboundedSender<SupervisorEvent>,
    mut stop: watch::Receiver<bool>,
) where
    F: Fn(&Launch) -> Command + Send + Sync + 'static,
{
    let name = launch.service.clone();
    let mut failures_in_a_row = 0u32;
    while !*stop.borrow() {
        let mut cmd = launcher(&launch);
        cmd.kill_on_drop(true)
            .env(PARENT_PID_ENV, std::process::id().to_string());
        let started = tokio::time::Instant::now();
        let outcome = match cmd.spawn() {
            Ok(mut child) => {
                let pid = child.id().unwrap_or(0);
                state.update(&name, |s| s.pid = pid);
                let _ = events.send(SupervisorEvent::Started {
                    service: name.clone(),
                    pid,
                });
                tokio::select! {
                    status = child.wait() => match status {
                        Ok(s) if s.code() == Some(crate::service::CRASH_EXIT_CODE) => {
                            format!("{s} (the crash fault)")
                        }
                        Ok(s) => s.to_string(),
                        Err(e) => e.to_string(),
                    },
                    _ = stopped(&mut stop) => {
                        terminate(&mut child).await;
                        return;
                    }
                }
            }
            Err(e) => {
                let _ = events.send(SupervisorEvent::SpawnFailed {
                    service: name.clone(),
                    error: e.to_string(),
                });
                e.to_string()
            }
        };
        // Back off on crash loops; a child that ran for a while restarts at once.
        if started.elapsed() > Duration::from_secs(10) {
            failures_in_a_row = 0;
        }
        let restart_in = Duration::from_millis(100 * (1u64 << failures_in_a_row.min(5)));
        failures_in_a_row += 1;
        state.update(&name, |s| {
            s.pid = 0;
            s.restarts += 1;
        });
        let _ = events.send(SupervisorEvent::Exited {
            service: name.clone(),
            status: outcome,
            restart_in,
        });
        tokio::select! {
            _ = tokio::time::sleep(restart_in) => {}
            _ = stopped(&mut stop) => return,
        }
    }
}

/// Resolves once stop is asked (the guard `wait_for` returns is not `Send`).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// SIGTERM so the child clears its faults, then SIGKILL if it lingers.
async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
    }
    if tokio::time::timeout(Duration::from_secs(3), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// Called first thing in a child: ask the kernel for SIGTERM when the
/// supervisor dies, and exit at once if it already has.
pub fn die_with_parent() -> std::io::Result<()> {
    let Some(expected) = std::env::var(PARENT_PID_ENV)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return Ok(());
    };
    nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)?;
    if nix::unistd::getppid().as_raw() != expected {
        std::process::exit(0);
    }
    Ok(())
}
