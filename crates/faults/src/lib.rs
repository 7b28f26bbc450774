//! Fault injectors with leases.
//!
//! Every fault squall applies is a lease held by the process that applied
//! it: the injector reverts it at its deadline by itself, whatever happens to
//! whoever asked ([`lease`]; the lease as data, shared with the ledger, in
//! [`lease_info`]). The ledger on disk lets the next squall revert
//! what a crashed one left ([`ledger`]); a guardian process continues paused
//! processes even after `kill -9` ([`guardian`]).
//!
//! The injectors: a TCP proxy with Toxiproxy's toxics and HTTP API
//! ([`proxy`], [`api`]), CPU and memory stress ([`stress`]), and process
//! signals ([`process`]), gathered behind one [`agent::Agent`].

// Libraries do not print: the binary decides what people see.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod agent;
pub mod api;
pub mod error;
pub mod guardian;
mod http_client;
pub mod lease;
pub mod lease_info;
pub mod ledger;
pub mod process;
pub mod procfs;
pub mod proxy;
pub mod stress;

pub use agent::{Agent, Applied, HostFault};
pub use error::FaultError;
pub use lease::{Injector, LeaseInfo, Limits, Recovery, Undo};
