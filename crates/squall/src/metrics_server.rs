//! `--metrics-listen`: Prometheus exposition of the run in progress.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::load_cmd::LiveState;

/// Binds `addr` and serves `/metrics` until the process exits; returns the bound address.
pub async fn start(
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
                        let text = {
                            let g = state.lock().expect("metrics lock");
                            squall_report::prometheus::render(&g.0, g.1.as_ref())
                        };
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
