//! One service of a topology in its own process: what the supervisor
//! (`sim up --processes`) and Kubernetes (`sim k8s`) run.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use crate::serve::bind;
use crate::serve::serve_service;
use crate::service::Service;
use crate::topology::Topology;

/// Port a service listens on when the topology gives none and no address
/// is passed (the port in generated Kubernetes manifests).
pub const DEFAULT_PORT: u16 = 8080;

/// How to run a single service.
#[derive(Clone, Debug)]
pub struct SingleOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the other services are (`name` -> `host:port`); services not
    /// named here are found by their Kubernetes DNS name.
    pub peers: BTreeMap<String, String>,
    /// Seed of every random draw.
    pub seed: u64,
    /// A supervisor restarts this process, so `crash` may exit it.
    pub supervised: bool,
}

/// A service running on its own.
pub struct RunningService {
    /// Its address.
    pub addr: SocketAddr,
    /// The service, for its leases.
    pub service: Arc<Service>,
    stop: watch::Sender<bool>,
}

impl RunningService {
    /// Stops accepting and ends every persistent fault.
    pub fn shutdown(&self) {
        self.service.leases.clear();
        let _ = self.stop.send(true);
    }
}

/// The Kubernetes name of a service: RFC 1123 labels allow only lowercase
/// letters, digits and `-`, so `service_1` becomes `service-1`.
pub fn dns_name(service: &str) -> String {
    let mut s: String = service
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .collect();
    s = s.trim_matches('-').to_string();
    s.truncate(63);
    s
}

/// The in-cluster address of every service: its DNS name and port.
pub fn cluster_directory(topology: &Topology) -> BTreeMap<String, String> {
    topology
        .services
        .iter()
        .map(|s| {
            let port = s.port.unwrap_or(DEFAULT_PORT);
            (s.name.clone(), format!("{}:{port}", dns_name(&s.name)))
        })
        .collect()
}

/// Starts the service `name` of `topology` alone.
pub async fn serve_one(
    topology: &Topology,
    name: &str,
    opts: &SingleOptions,
) -> std::io::Result<RunningService> {
    let Some(spec) = topology.services.iter().find(|s| s.name == name) else {
        let known: Vec<&str> = topology.services.iter().map(|s| s.name.as_str()).collect();
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "no service named {name:?} in the topology (services: {})",
                known.join(", ")
            ),
        ));
    };
    let listener = bind(name, opts.listen).await?;
    let addr = listener.local_addr()?;
    let mut dir = cluster_directory(topology);
    dir.extend(opts.peers.clone());
    let limits = topology.limits.get(name).cloned().unwrap_or_default();
    let service = Arc::new(Service::new(
        spec.clone(),
        addr,
        limits,
        Arc::new(RwLock::new(dir)),
        opts.seed,
        opts.supervised,
    ));
    let (tx, rx) = watch::channel(false);
    tokio::spawn(serve_service(listener, service.clone(), rx));
    Ok(RunningService {
        addr,
        service,
        stop: tx,
    })
}

#[cfg(test)]
mod tests {
    use super::dns_name;

    #[test]
    fn dns_names_are_rfc1123_labels() {
        assert_eq!(dns_name("service_1"), "service-1");
        assert_eq!(dns_name("Payment.API"), "payment-api");
        assert_eq!(dns_name("_x_"), "x");
    }
}
