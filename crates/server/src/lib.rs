//! `squall serve`: the experiment executor as a service. Experiments and
//! their versions are stored (SQLite by default, PostgreSQL by URL), runs
//! are started and stopped over HTTP and go through the same engine as
//! `squall run` (same run directory, same report), every event of a run is
//! stored and streamed (SSE with ids), and MiSArch's executor routes are
//! served beside squall's own API.
//!
//! # Layout
//! - [`store`]: the database (experiments, versions, runs, events; migrations).
//! - [`runner`]: the runs in flight (start, stop, follow).
//! - [`events`]: engine events as clients see them (SSE names and payloads).
//! - [`recover`]: runs a crash left in flight, closed at start.
//! - [`policy`]: what a document started over HTTP may not do without a flag.
//! - [`suites`]: suites of experiments run by the server (`squall suite`'s state machine).
//! - [`api`]: the routes, the door (Host, token, CORS) and the error shape.

// Libraries do not print: the binary decides what people see.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod api;
pub mod events;
pub mod policy;
pub mod recover;
pub mod runner;
pub mod store;
pub mod suites;

use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Serves `router` on `listener` until `stop` turns true, with squall's
/// accept loop (back-off when accepting fails).
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    stop: watch::Receiver<bool>,
) -> u64 {
    let service = TowerToHyperService::new(router);
    let builder = Arc::new(hyper_util::server::conn::auto::Builder::new(
        TokioExecutor::new(),
    ));
    squall_http::accept_loop(listener, stop, move |stream| {
        let service = service.clone();
        let builder = builder.clone();
        tokio::spawn(async move {
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        });
    })
    .await
}
