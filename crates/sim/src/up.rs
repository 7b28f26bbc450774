//! Starting a topology in one process: every service on its own listener
//! (127.0.0.1 by default), plus the control plane.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use crate::control::Control;
use crate::serve::{bind, serve_control, serve_service};
use crate::service::Service;
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

/// Binds every service and the control plane, then serves in the background.
pub async fn up(topology: &Topology, opts: &SimOptions) -> std::io::Result<RunningSim> {
    let mut listeners = Vec::new();
    for s in &topology.services {
        let addr = SocketAddr::new(opts.bind, s.port.unwrap_or(0));
        listeners.push(bind(&s.name, addr).await?);
    }
    let directory = Arc::new(RwLock::new(BTreeMap::new()));
    let mut services = Vec::new();
    for (s, l) in topology.services.iter().zip(&listeners) {
        let addr = l.local_addr()?;
        directory
            .write()
            .expect("directory lock")
            .insert(s.name.clone(), addr.to_string());
        let limits = topology.limits.get(&s.name).cloned().unwrap_or_default();
        services.push(Arc::new(Service::new(
            s.clone(),
            addr,
            limits,
            directory.clone(),
            opts.seed,
            false,
        )));
    }
    let control_listener = bind("control plane", opts.control).await?;
    let control_addr = control_listener.local_addr()?;
    let (tx, rx) = watch::channel(false);
    for (svc, l) in services.iter().zip(listeners) {
        tokio::spawn(serve_service(l, svc.clone(), rx.clone()));
    }
    let control = Arc::new(Control::new(directory, opts.seed, None));
    tokio::spawn(serve_control(control_listener, control, rx));
    Ok(RunningSim {
        services: services.iter().map(|s| (s.name.clone(), s.addr)).collect(),
        control: control_addr,
        handles: services,
        shutdown: tx,
    })
}
