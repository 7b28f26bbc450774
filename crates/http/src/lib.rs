//! What every squall HTTP server shares, so that each one behaves the same
//! at its door:
//!
//! - [`access`]: who may call it. The `Host` header must name this machine
//!   (loopback names, the address it listens on) or a name the operator
//!   allowed, which defeats DNS rebinding from a web page; beyond loopback,
//!   and for APIs that can run commands, a bearer token is required.
//! - [`accept`]: an accept loop that backs off when accepting fails (out of
//!   file descriptors) instead of spinning or giving up.
//! - [`prometheus`]: label values escaped the same way everywhere.

#![warn(missing_docs)]

pub mod accept;
pub mod access;
pub mod prometheus;

pub use accept::accept_loop;
pub use access::{Access, AccessError, Refusal, token_from};
