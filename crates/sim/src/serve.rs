//! Serving services and the control plane, shared by every mode (the
//! accept loop with back-off is `squall_http::accept_loop`).

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::control::Control;
use crate::service::{Outcome, Service};

/// The connection ended without a response (the `abort` fault).
#[derive(Debug)]
struct Aborted;

impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("aborted by fault")
    }
}

impl std::error::Error for Aborted {}

/// Serves one service until `stop` turns true; connections in flight end then too.
pub(crate) async fn serve_service(l: TcpListener, svc: Arc<Service>, stop: watch::Receiver<bool>) {
    crate::service::pubsub::start(&svc);
    let conn_stop = stop.clone();
    squall_http::accept_loop(l, stop, move |stream| {
        let svc = svc.clone();
        let mut stop = conn_stop.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |req| {
                let svc = svc.clone();
                async move {
                    match svc.handle(req).await {
                        Outcome::Respond(r) => Ok(r),
                        // Failing the service future makes hyper drop the
                        // connection without writing a response.
                        Outcome::Abort => Err(Aborted),
                    }
                }
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), handler);
            tokio::select! {
                _ = conn => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        });
    })
    .await;
}

/// Serves the control plane until `stop` turns true.
pub(crate) async fn serve_control(
    l: TcpListener,
    control: Arc<Control>,
    stop: watch::Receiver<bool>,
) {
    if let Ok(a) = l.local_addr() {
        let _ = control.listen.set(a);
    }
    squall_http::accept_loop(l, stop, move |stream| {
        let control = control.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |req| {
                let c = control.clone();
                async move { Ok::<_, std::convert::Infallible>(c.handle(req).await) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), handler)
                .await;
        });
    })
    .await;
}

/// Binds a listener, naming what it is for in the error.
pub(crate) async fn bind(what: &str, addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("{what}: cannot bind {addr}: {e}")))
}
