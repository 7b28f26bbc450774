//! `--metrics-listen`: Prometheus exposition of the run in progress, and of
//! its final figures for `--metrics-linger` after it ends: a scraper that
//! comes every 15 s would otherwise never see the last seconds.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::cmd::load::LiveState;

/// The flags of the metrics endpoint, shared by `squall load` and `squall run`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct MetricsArgs {
    /// Serve Prometheus metrics at this address while running, e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,

    /// After a run that was not interrupted, keep serving its final figures
    /// this long, so a scraper gets them (Ctrl-C ends it; 0 exits at once).
    #[arg(long, default_value = "20s", value_parser = crate::cli::parse_duration)]
    pub metrics_linger: std::time::Duration,

    #[command(flatten)]
    pub door: crate::door::DoorArgs,
}

/// A running endpoint.
pub(crate) struct Served {
    /// Where it listens.
    pub addr: SocketAddr,
    linger: std::time::Duration,
}

impl MetricsArgs {
    /// Starts the endpoint when `--metrics-listen` is given.
    pub(crate) async fn start(&self, state: LiveState) -> anyhow::Result<Option<Served>> {
        let Some(addr) = self.metrics_listen else {
            return Ok(None);
        };
        let bound = start(addr, self.door.access(addr)?, state)
            .await
            .map_err(|e| anyhow::anyhow!("cannot serve metrics on {addr}: {e}"))?;
        eprintln!("squall: Prometheus metrics at http://{bound}/metrics");
        Ok(Some(Served {
            addr: bound,
            linger: self.metrics_linger,
        }))
    }
}

impl Served {
    /// Keeps serving the final figures for the linger, or until Ctrl-C.
    pub(crate) async fn linger(&self) {
        if self.linger.is_zero() {
            return;
        }
        eprintln!(
            "squall: serving the final metrics at http://{}/metrics for {} (Ctrl-C ends this)",
            self.addr,
            humantime::format_duration(self.linger)
        );
        let mut signals = crate::signals::StopSignals::new();
        tokio::select! {
            _ = tokio::time::sleep(self.linger) => {}
            _ = signals.next() => {}
        }
    }
}

/// Binds `addr` and serves `/metrics` until the process exits; returns the bound address.
pub(crate) async fn start(
    addr: SocketAddr,
    access: squall_http::Access,
    state: LiveState,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let access = std::sync::Arc::new(access);
    // No stop: it serves until the process exits (the sender is dropped).
    let (_, never) = tokio::sync::watch::channel(false);
    tokio::spawn(squall_http::accept_loop(listener, never, move |stream| {
        let state = state.clone();
        let access = access.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let state = state.clone();
                let access = access.clone();
                async move {
                    let refused =
                        access.check(req.headers(), req.uri().authority().map(|a| a.as_str()));
                    let resp = if let Err(r) = refused {
                        Response::builder()
                            .status(r.status)
                            .body(Full::new(Bytes::from(format!("{}\n", r.message))))
                    } else if req.uri().path() == "/metrics" {
                        let text = state.lock().expect("metrics lock").render();
                        Response::builder()
                            .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
                            .body(Full::new(Bytes::from(text)))
                    } else {
                        Response::builder()
                            .status(StatusCode::NOT_FOUND)
                            .body(Full::new(Bytes::from_static(b"try /metrics\n")))
                    };
                    Ok::<_, Infallible>(resp.expect("static response parts are valid"))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }));
    Ok(bound)
}
