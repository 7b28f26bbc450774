//! Simulated microservices to break: MicroSim's call-tree protocol, a
//! topology file for plain traffic, faults with caps, and persistent faults
//! with leases that end them even if nobody calls back.
//!
//! # Layout
//! - [`topology`]: the topology file, parsed and validated with locations.
//! - [`tree`]: MicroSim's request and response trees.
//! - [`fault`]: fault types and their validated arguments;
//!   [`deterioration`]: MiSArch's failure model among them.
//! - [`limits`]: caps on memory, CPU, depth, fan-out, durations and leases;
//!   [`millis`]: durations as the files write them.
//! - [`resources`]: memory and CPU held by faults, always released.
//! - [`leases`]: persistent faults switched on over HTTP.
//! - [`service`]: one service's state and request dispatch, parent of what
//!   it dispatches to: `tree_exec` and `plain` run the two kinds of
//!   requests, [`service::admin`] is its `/_sim/` API.
//! - [`control`]: the control plane for the whole topology.
//! - [`microsim`]: MicroSim's `Simulation` and `LoadGenerator` resources;
//!   [`loadgen`] runs a `LoadGenerator` as MicroSim's operator would.
//! - [`k8s`]: Kubernetes manifests running each service on its own.
//! - `serve`: accept loops; [`up`] starts everything in one process;
//!   [`single`] runs one service alone; [`supervisor`] runs one process per
//!   service and restarts the ones that exit, keeping their state in
//!   [`supervision`] for the control plane.

// Libraries do not print: the binary decides what people see.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod control;
pub mod deterioration;
pub mod fault;
pub mod http_util;
pub mod k8s;
pub mod leases;
pub mod limits;
pub mod loadgen;
pub mod microsim;
pub mod millis;
pub mod resources;
mod serve;
pub mod service;
pub mod single;
pub mod supervision;
pub mod supervisor;
pub mod topology;
pub mod tree;
mod up;

pub use single::{RunningService, SingleOptions, serve_one};
pub use supervisor::{Supervised, SupervisorEvent, supervise};
pub use topology::{Topology, TopologyError};

/// The built-in shop topology (gateway, catalog, cart, payment), used by
/// `squall sim up --demo` and `squall demo`.
pub const SHOP: &str = include_str!("../assets/shop.yaml");
pub use up::{RunningSim, SimOptions, up};
