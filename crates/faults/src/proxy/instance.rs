//! One proxy: a listener, an upstream, whether it is enabled, and its toxics,
//! which its live connections watch.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::link::{self, Traffic};
use super::toxic::{Toxic, ToxicView};
use crate::error::FaultError;

/// How long a new connection waits for the upstream before it is closed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A proxy in the registry.
pub struct Proxy {
    /// Unique name.
    pub name: String,
    state: Mutex<State>,
    toxics: watch::Sender<Arc<Vec<Toxic>>>,
    /// Bytes carried.
    pub traffic: Arc<Traffic>,
    /// Connections accepted since creation.
    pub accepted: Arc<AtomicU64>,
}

struct State {
    listen: String,
    upstream: String,
    enabled: bool,
    running: Option<Running>,
}

struct Running {
    accept: JoinHandle<()>,
    /// The listening socket (a second descriptor of it), shut down when
    /// the proxy is disabled: aborting the accept task closes its listener
    /// only when the runtime next drops the task, after the API has already
    /// answered "disabled" — and a connection could still be accepted.
    listening: std::os::fd::OwnedFd,
    kill: watch::Sender<bool>,
    upstream: watch::Sender<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        let _ = nix::sys::socket::shutdown(
            self.listening.as_raw_fd(),
            nix::sys::socket::Shutdown::Both,
        );
        self.accept.abort();
        let _ = self.kill.send(true);
    }
}

/// A proxy as Toxiproxy's API shows it.
#[derive(Serialize)]
pub struct ProxyView {
    name: String,
    listen: String,
    upstream: String,
    enabled: bool,
    toxics: Vec<ToxicView>,
}

impl Proxy {
    /// Creates a proxy and, when enabled, binds its listener; `listen`
    /// becomes the bound address (so `127.0.0.1:0` shows the real port).
    pub async fn start(
        name: String,
        listen: String,
        upstream: String,
        enabled: bool,
    ) -> Result<Arc<Proxy>, FaultError> {
        let (toxics, _) = watch::channel(Arc::new(Vec::new()));
        let p = Arc::new(Proxy {
            name,
            state: Mutex::new(State {
                listen,
                upstream,
                enabled: false,
                running: None,
            }),
            toxics,
            traffic: Arc::new(Traffic::default()),
            accepted: Arc::new(AtomicU64::new(0)),
        });
        if enabled {
            p.enable().await?;
        }
        Ok(p)
    }

    /// The JSON view.
    pub fn view(&self) -> ProxyView {
        let s = self.state.lock().expect("proxy state");
        ProxyView {
            name: self.name.clone(),
            listen: s.listen.clone(),
            upstream: s.upstream.clone(),
            enabled: s.enabled,
            toxics: ordered(&self.toxics.borrow()),
        }
    }

    /// Listen address, upstream, enabled.
    pub fn config(&self) -> (String, String, bool) {
        let s = self.state.lock().expect("proxy state");
        (s.listen.clone(), s.upstream.clone(), s.enabled)
    }

    /// Binds the listener and starts accepting; a no-op when enabled.
    pub async fn enable(&self) -> Result<(), FaultError> {
        let listen = {
            let s = self.state.lock().expect("proxy state");
            if s.enabled {
                return Ok(());
            }
            s.listen.clone()
        };
        let listener = TcpListener::bind(&listen).await.map_err(|e| {
            FaultError::Conflict(format!(
                "proxy {}: cannot listen on {listen}: {e}",
                self.name
            ))
        })?;
        let bound = listener
            .local_addr()
            .map_err(|e| FaultError::Io(e.to_string()))?;
        let listening = {
            use std::os::fd::AsFd;
            listener
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| FaultError::Io(e.to_string()))?
        };
        let mut s = self.state.lock().expect("proxy state");
        let (kill, kill_rx) = watch::channel(false);
        let (up_tx, up_rx) = watch::channel(s.upstream.clone());
        let accept = tokio::spawn(accept_loop(
            listener,
            up_rx,
            self.toxics.subscribe(),
            kill_rx,
            self.traffic.clone(),
            self.accepted.clone(),
        ));
        s.listen = bound.to_string();
        s.enabled = true;
        s.running = Some(Running {
            accept,
            listening,
            kill,
            upstream: up_tx,
        });
        Ok(())
    }

    /// Stops listening and closes every connection (the proxy is "down").
    pub fn disable(&self) {
        let mut s = self.state.lock().expect("proxy state");
        s.enabled = false;
        s.running = None;
    }

    /// Changes the listen address and/or upstream. A new listen address
    /// rebinds (closing connections); a new upstream applies to new
    /// connections.
    pub async fn reconfigure(
        &self,
        listen: Option<String>,
        upstream: Option<String>,
    ) -> Result<(), FaultError> {
        let rebind = {
            let mut s = self.state.lock().expect("proxy state");
            if let Some(u) = upstream {
                s.upstream = u.clone();
                if let Some(r) = &s.running {
                    let _ = r.upstream.send(u);
                }
            }
            match listen {
                Some(l) if l != s.listen => {
                    s.listen = l;
                    s.enabled
                }
                _ => false,
            }
        };
        if rebind {
            self.disable();
            self.enable().await?;
        }
        Ok(())
    }

    /// The toxics in force, in order.
    pub fn toxics(&self) -> Arc<Vec<Toxic>> {
        self.toxics.borrow().clone()
    }

    /// Replaces the toxics; live connections pick the change up at once.
    pub fn set_toxics(&self, t: Vec<Toxic>) {
        self.toxics.send_replace(Arc::new(t));
    }

    /// Edits the toxic list under the watch's lock, so two edits cannot lose
    /// each other.
    pub fn edit_toxics<R>(&self, f: impl FnOnce(&mut Vec<Toxic>) -> R) -> R {
        let mut out = None;
        self.toxics.send_modify(|cur| {
            let mut v = (**cur).clone();
            out = Some(f(&mut v));
            *cur = Arc::new(v);
        });
        out.expect("edit ran")
    }

    /// Connections accepted.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

/// Toxiproxy lists upstream toxics first, then downstream, each in the
/// order they were added.
pub fn ordered(toxics: &[Toxic]) -> Vec<ToxicView> {
    let mut v: Vec<&Toxic> = toxics.iter().collect();
    v.sort_by_key(|t| t.stream != super::toxic::Stream::Upstream);
    v.into_iter().map(Toxic::view).collect()
}

async fn accept_loop(
    listener: TcpListener,
    upstream: watch::Receiver<String>,
    toxics: watch::Receiver<Arc<Vec<Toxic>>>,
    kill: watch::Receiver<bool>,
    traffic: Arc<Traffic>,
    accepted: Arc<AtomicU64>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        accepted.fetch_add(1, Ordering::Relaxed);
        let addr = upstream.borrow().clone();
        let toxics = toxics.clone();
        let kill = kill.clone();
        let traffic = traffic.clone();
        tokio::spawn(async move {
            let up = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr)).await {
                Ok(Ok(s)) => s,
                // The upstream is down: the client sees its connection closed.
                _ => return,
            };
            link::run(client, up, toxics, kill, traffic).await;
        });
    }
}
