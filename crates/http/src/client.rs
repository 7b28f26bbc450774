//! One small HTTP client call for squall talking to its own kind of APIs
//! (a simulator's admin API, `squall proxy`, Toxiproxy): JSON body, a
//! timeout, the operator's token, the status and the body as text back.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// An error with its causes, innermost last ("client error (Connect): tcp
/// connect error: Connection refused"): hyper's own message names only the
/// stage that failed.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        msg = format!("{msg}: {s}");
        cur = s.source();
    }
    msg
}

/// A pooled plain-HTTP client.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A fresh client.
pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Why a call got no answer.
#[derive(Debug, thiserror::Error)]
#[error("{method} {url}: {reason}")]
pub struct CallError {
    /// The method.
    pub method: Method,
    /// The URL.
    pub url: String,
    /// What went wrong.
    pub reason: String,
}

/// Adds the operator's token (`$SQUALL_TOKEN`), when set, to a request to
/// one of squall's APIs.
pub fn with_token(b: hyper::http::request::Builder) -> hyper::http::request::Builder {
    match crate::token_from(None) {
        Ok(Some(t)) => b.header("authorization", format!("Bearer {t}")),
        _ => b,
    }
}

/// Sends `body` (JSON) with `$SQUALL_TOKEN` when set; answers the status
/// and the body as text, or an error when there is no answer in `timeout`.
pub async fn call(
    c: &HttpClient,
    method: Method,
    url: &str,
    body: Option<String>,
    timeout: Duration,
) -> Result<(u16, String), CallError> {
    let token = crate::token_from(None).ok().flatten();
    call_as(c, method, url, body, timeout, token.as_deref()).await
}

/// [`call`] with a token given by the caller (none: no `Authorization`).
pub async fn call_as(
    c: &HttpClient,
    method: Method,
    url: &str,
    body: Option<String>,
    timeout: Duration,
    token: Option<&str>,
) -> Result<(u16, String), CallError> {
    let fail = |reason: String| CallError {
        method: method.clone(),
        url: url.to_string(),
        reason,
    };
    let mut b = Request::builder();
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let req = b
        .method(method.clone())
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| fail(e.to_string()))?;
    let resp = tokio::time::timeout(timeout, c.request(req))
        .await
        .map_err(|_| fail(format!("no answer within {} s", timeout.as_secs_f64())))?
        .map_err(|e| fail(e.to_string()))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| fail(e.to_string()))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
