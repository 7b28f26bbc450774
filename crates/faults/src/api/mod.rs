//! The control API of `squall proxy` (127.0.0.1:8474 by default): Toxiproxy's
//! routes plus Squall's `/squall/` routes, on one hyper server.

mod http;
mod squall;
mod toxiproxy;

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use toxiproxy::TOXIPROXY_VERSION;

use crate::agent::Agent;
use crate::error::FaultError;

/// Who may call the API and what it may do.
#[derive(Clone, Debug)]
pub struct ApiOptions {
    /// The door: `Host` names and the bearer token.
    pub access: squall_http::Access,
    /// Whether `restart` faults (which run a shell command) are accepted.
    /// Off by default: a local caller must not get a shell through the API.
    pub allow_commands: bool,
}

/// Serves the API on `listener` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    agent: Arc<Agent>,
    options: ApiOptions,
    stop: watch::Receiver<bool>,
) {
    let options = Arc::new(options);
    squall_http::accept_loop(listener, stop, move |stream| {
        let (agent, options) = (agent.clone(), options.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let (agent, options) = (agent.clone(), options.clone());
                async move { Ok::<_, Infallible>(handle(&agent, &options, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    })
    .await;
}

async fn handle(
    agent: &Agent,
    options: &ApiOptions,
    req: Request<Incoming>,
) -> Response<http::Body> {
    let (parts, body) = req.into_parts();
    if let Err(r) = options
        .access
        .check(&parts.headers, parts.uri.authority().map(|a| a.as_str()))
    {
        return http::error(&if r.status == 401 {
            FaultError::Unauthorized(r.message)
        } else {
            FaultError::Forbidden(r.message)
        });
    }
    // As Toxiproxy does: a web page must not be able to inject faults
    // through the visitor's browser.
    let browser = parts
        .headers
        .get(hyper::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.starts_with("Mozilla/"));
    if browser {
        return http::error(&FaultError::Forbidden("user agent not allowed".into()));
    }
    let path = parts.uri.path().to_string();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let routed = if segs.first() == Some(&"squall") {
        squall::route(agent, options.allow_commands, &parts.method, &segs, body).await
    } else {
        toxiproxy::route(agent, &parts.method, &segs, body).await
    };
    routed.unwrap_or_else(|| {
        http::error(&FaultError::NotFound(format!(
            "no route {} {}",
            parts.method, path
        )))
    })
}
