//! Small HTTP helpers shared by the data plane, the admin API and the
//! control plane: JSON responses, JSON errors, a throttled body, the client.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::client::legacy::Client as LegacyClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

/// Every response body.
pub use squall_http::respond::Body;

/// The client services use to call each other (pooled keep-alive).
pub type Client = LegacyClient<HttpConnector, Full<Bytes>>;

/// Builds the shared client.
pub fn client() -> Client {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    LegacyClient::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

/// Refuses an admin or control-plane request whose `Host` is not this
/// machine, a topology service or an allowed host (DNS rebinding from a web
/// page), or that lacks the token (`$SQUALL_TOKEN`, required when the
/// server listens beyond loopback). The data plane is not guarded: it is
/// the system under test.
pub fn refused<B>(
    req: &Request<B>,
    listen: std::net::SocketAddr,
    directory: &crate::service::Directory,
) -> Option<Response<Body>> {
    let names: Vec<String> = directory
        .read()
        .expect("directory lock")
        .keys()
        .cloned()
        .chain(crate::service::allowed_hosts().iter().cloned())
        .collect();
    let token = squall_http::token_from(None).ok().flatten();
    // Health and metrics are read by probes and scrapers that carry no
    // token (Kubernetes, Prometheus): Host check only.
    let read_only = req.method() == hyper::Method::GET
        && matches!(req.uri().path(), "/_sim/health" | "/_sim/metrics");
    let authority = req.uri().authority().map(|a| a.as_str());
    let checked = if read_only {
        squall_http::Access::hosts_only(&names).check_host(req.headers(), authority)
    } else {
        match squall_http::Access::new(listen, &names, token) {
            Err(e) => Err(squall_http::Refusal {
                status: 401,
                message: e.to_string(),
            }),
            Ok(a) => a.check(req.headers(), authority),
        }
    };
    checked.err().map(|r| error(r.status, r.message, None))
}

/// Adds the operator's token to a call to another service's admin API.
pub use squall_http::client::with_token;

/// A JSON response.
pub use squall_http::respond::json;

/// A JSON error `{"error": message, "status": status, "field": field}`.
pub fn error(status: u16, message: impl Into<String>, field: Option<&str>) -> Response<Body> {
    squall_http::respond::error(&squall_http::respond::Problem {
        status,
        message: message.into(),
        field: field.map(str::to_string),
    })
}

/// A plain-text response.
pub fn text(status: u16, body: impl Into<Bytes>) -> Response<Body> {
    squall_http::respond::text(status, "text/plain; charset=utf-8", body)
}

/// Reads a JSON body; on failure returns (message, field path) for a 400.
pub async fn read_json<T: DeserializeOwned>(
    req: Request<Incoming>,
    max: usize,
) -> Result<T, (String, Option<String>)> {
    squall_http::respond::read_json(req.into_body(), max, None)
        .await
        .map_err(|p| (p.message, p.field.filter(|f| f != "body")))
}

/// A body sent at a fixed rate, in ten slices per second.
pub struct SlowBody {
    data: Bytes,
    chunk: usize,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl SlowBody {
    /// Wraps `data` to be sent at `bytes_per_sec`.
    pub fn new(data: Bytes, bytes_per_sec: u64) -> Self {
        Self {
            data,
            chunk: (bytes_per_sec / 10).max(1) as usize,
            sleep: None,
        }
    }
}

impl hyper::body::Body for SlowBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.data.is_empty() {
            return Poll::Ready(None);
        }
        if let Some(s) = self.sleep.as_mut()
            && s.as_mut().poll(cx).is_pending()
        {
            return Poll::Pending;
        }
        let n = self.chunk.min(self.data.len());
        let part = self.data.split_to(n);
        self.sleep = Some(Box::pin(tokio::time::sleep(Duration::from_millis(100))));
        Poll::Ready(Some(Ok(Frame::data(part))))
    }
}

use std::future::Future as _;
