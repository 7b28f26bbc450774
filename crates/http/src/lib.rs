//! What every squall HTTP server shares, so that each one behaves the same
//! at its door and in its answers:
//!
//! - [`access`]: who may call it. The `Host` header must name this machine
//!   (loopback names, the address it listens on) or a name the operator
//!   allowed, which defeats DNS rebinding from a web page; beyond loopback,
//!   and for APIs that can run commands, a bearer token is required.
//! - [`accept`]: an accept loop that backs off when accepting fails (out of
//!   file descriptors) instead of spinning or giving up.
//! - [`prometheus`]: label values escaped the same way everywhere.
//! - [`respond`]: JSON responses, one error shape (`ApiError` -> response),
//!   bodies read with a size cap and the field to blame.
//! - [`client`]: one call with a timeout and the operator's token.
//! - [`pod`]: the hardening of every pod squall generates for Kubernetes.
//! - [`tls`]: one TLS client configuration, with one "accept any
//!   certificate" verifier for self-signed test servers.

// Libraries do not print: the binary decides what people see.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod accept;
pub mod access;
pub mod client;
pub mod pod;
pub mod prometheus;
pub mod respond;
pub mod tls;

pub use accept::accept_loop;
pub use access::{Access, AccessError, Refusal, token_from};
