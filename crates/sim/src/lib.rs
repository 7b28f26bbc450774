//! Simulated microservices to break: MicroSim's call-tree protocol, a
//! topology file for plain traffic, faults with caps, and persistent faults
//! with leases that end them even if nobody calls back.
//!
//! # Layout
//! - [`topology`]: the topology file, parsed and validated with locations.
//! - [`tree`]: MicroSim's request and response trees.
//! - [`fault`]: fault types and their validated arguments.
//! - [`limits`]: caps on memory, CPU, depth, fan-out, durations and leases.
//! - [`resources`]: memory and CPU held by faults, always released.
//! - [`leases`]: persistent faults switched on over HTTP.
//! - [`service`]: one service's state and request dispatch; `tree_exec` and
//!   `plain` run the two kinds of requests; [`admin`] is its `/_sim/` API.
//! - [`control`]: the control plane for the whole topology.
//! - [`up`]: starting everything in one process.

pub mod admin;
pub mod control;
pub mod fault;
pub mod http_util;
pub mod leases;
pub mod limits;
mod plain;
pub mod resources;
pub mod service;
pub mod topology;
pub mod tree;
mod tree_exec;
mod up;

pub use topology::{Topology, TopologyError};
pub use up::{RunningSim, SimOptions, up};
