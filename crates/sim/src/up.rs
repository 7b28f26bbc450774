//! Starting a topology in one process: every service on its own listener
//! (127.0.0.1 by default), plus the control plane.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::control::Control;
use crate::service::{Outcome, Service};
use crate::topology::Topology;

/// How to start a topology.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Address every service binds (default 127.0.0.1).
    pub bind: IpAddr,
    /// Seed of every random draw (probabilities, jitter, error rates).
    pub seed: u64,
    /// Control-plane address (default 127.0.0.1, any free port).
    pub control: SocketAddr,
}

impl Default for SimOptions {
    fn default() -> Self {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        Self {
            bind: lo,
            seed: 1,
            control: SocketAddr::new(lo, 0),
        }
    }
}

/// A running topology.
pub struct RunningSim {
    /// Services in topology order with their addresses.
    pub services: Vec<(String, SocketAddr)>,
    /// The control plane's address.
    pub control: SocketAddr,
    handles: Vec<Arc<Service>>,
    shutdown: watch::Sender<bool>,
}

impl RunningSim {
    /// Stops accepting, and ends every persistent fault.
    pub fn shutdown(&self) {
        for s in &self.handles {
            s.leases.clear();
        }
        let _ = self.shutdown.send(true);
    }

    /// The running service called `name`.
    pub fn service(&self, name: &str) -> Option<&Arc<Service>> {
        self.handles.iter().find(|s| s.name == name)
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The connection ended without a response (the `abort` fault).
#[derive(Debug)]
struct Aborted;

impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("aborted by fault")
    }
}

impl std::error::Error for Aborted {}

/// Binds every service and the control plane, then serves in the background.
pub async fn up(topology: &Topology, opts: &SimOptions) -> std::io::Result<RunningSim> {
    let mut listeners = Vec::new();
    for s in &topology.services {
        let addr = SocketAddr::new(opts.bind, s.port.unwrap_or(0));
        let l = TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("{}: cannot bind {addr}: {e}", s.name))
        })?;
        listeners.push(l);
    }
    let directory = Arc::new(RwLock::new(BTreeMap::new()));
    let mut services = Vec::new();
    for (s, l) in topology.services.iter().zip(&listeners) {
        let addr = l.local_addr()?;
        directory
            .write()
            .expect("directory lock")
            .insert(s.name.clone(), addr);
        let limits = topology.limits.get(&s.name).cloned().unwrap_or_default();
        services.push(Arc::new(Service::new(
            s.clone(),
            addr,
            limits,
            directory.clone(),
            opts.seed,
        )));
    }
    let control_listener = TcpListener::bind(opts.control).await?;
    let control_addr = control_listener.local_addr()?;
    let (tx, rx) = watch::channel(false);
    for (svc, l) in services.iter().zip(listeners) {
        tokio::spawn(serve_service(l, svc.clone(), rx.clone()));
    }
    let control = Arc::new(Control {
        services: services
            .iter()
            .map(|s| (s.name.clone(), s.clone()))
            .collect(),
        client: crate::http_util::client(),
    });
    tokio::spawn(serve_control(control_listener, control, rx));
    Ok(RunningSim {
        services: services.iter().map(|s| (s.name.clone(), s.addr)).collect(),
        control: control_addr,
        handles: services,
        shutdown: tx,
    })
}

async fn serve_service(l: TcpListener, svc: Arc<Service>, mut stop: watch::Receiver<bool>) {
    loop {
        let (stream, _) = tokio::select! {
            r = l.accept() => match r { Ok(x) => x, Err(_) => continue },
            _ = stop.wait_for(|s| *s) => return,
        };
        let _ = stream.set_nodelay(true);
        let svc = svc.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |req| {
                let svc = svc.clone();
                async move {
                    match svc.handle(req).await {
                        Outcome::Respond(r) => Ok(r),
                        Outcome::Abort => Err(Aborted),
                    }
                }
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), handler);
            let mut stop = stop;
            tokio::select! {
                _ = conn => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        });
    }
}

async fn serve_control(l: TcpListener, control: Arc<Control>, mut stop: watch::Receiver<bool>) {
    loop {
        let (stream, _) = tokio::select! {
            r = l.accept() => match r { Ok(x) => x, Err(_) => continue },
            _ = stop.wait_for(|s| *s) => return,
        };
        let control = control.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |req| {
                let c = control.clone();
                async move { Ok::<_, std::convert::Infallible>(c.handle(req).await) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), handler)
                .await;
        });
    }
}
