//! Calls to remote injectors: a simulated service's `/_sim/faults` lease
//! API and a Toxiproxy-compatible API's toxics. Every fault is given as a
//! lease of the fault's length, so the injector ends it by itself even if
//! squall dies; the explicit revert at the end is idempotent (a lease
//! already gone is fine). Calls go through `squall_http::client` (timeout,
//! the operator's token).

use std::time::Duration;

use hyper::Method;
pub use squall_http::client::{HttpClient, client};

/// Something went wrong talking to an injector.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InjectError(pub String);

/// One call with a 5 s timeout: the status and the body as text.
pub async fn call(
    c: &HttpClient,
    method: Method,
    url: &str,
    body: Option<String>,
) -> Result<(u16, String), InjectError> {
    squall_http::client::call(c, method, url, body, Duration::from_secs(5))
        .await
        .map_err(|e| InjectError(e.to_string()))
}

/// Puts a fault on the service at `base` for `lease`; returns the lease id.
pub async fn inject(
    c: &HttpClient,
    base: &str,
    kind: &str,
    args: &serde_json::Map<String, serde_json::Value>,
    lease: Duration,
) -> Result<String, InjectError> {
    let body = serde_json::json!({"type": kind, "args": args, "lease": lease.as_millis() as u64});
    let url = format!("{}/_sim/faults", base.trim_end_matches('/'));
    let (status, text) = call(c, Method::PUT, &url, Some(body.to_string())).await?;
    if status != 201 {
        return Err(InjectError(format!(
            "{url} refused the fault ({status}): {text}"
        )));
    }
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| InjectError(format!("{url}: answer is not JSON: {e}")))?;
    v["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| InjectError(format!("{url}: answer has no lease id: {text}")))
}

/// Ends a lease early; a lease that already ended is not an error.
pub async fn revert(c: &HttpClient, base: &str, id: &str) -> Result<(), InjectError> {
    let url = format!("{}/_sim/faults/{id}", base.trim_end_matches('/'));
    match call(c, Method::DELETE, &url, None).await? {
        (200 | 404, _) => Ok(()),
        (s, text) => Err(InjectError(format!("{url}: {s} {text}"))),
    }
}

/// Clears every persistent fault on a service (leftovers of an earlier run).
pub async fn clear(c: &HttpClient, base: &str) -> Result<usize, InjectError> {
    let url = format!("{}/_sim/faults", base.trim_end_matches('/'));
    let (status, text) = call(c, Method::DELETE, &url, None).await?;
    if status != 200 {
        return Err(InjectError(format!("{url}: {status} {text}")));
    }
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    Ok(v["cleared"].as_u64().unwrap_or(0) as usize)
}

/// Whether `url` answers an HTTP GET at all (any status).
pub async fn answers(c: &HttpClient, url: &str) -> Result<u16, InjectError> {
    call(c, Method::GET, url, None).await.map(|(s, _)| s)
}

/// Adds a toxic on a Toxiproxy-compatible API with a lease (`ttl_ms`,
/// honoured by `squall proxy`; Toxiproxy ignores it and the toxic then ends
/// only when squall removes it).
pub async fn add_toxic(
    c: &HttpClient,
    api: &str,
    proxy: &str,
    body: &serde_json::Value,
    lease: Duration,
) -> Result<(), InjectError> {
    let mut body = body.clone();
    body["ttl_ms"] = (lease.as_millis() as u64).into();
    let url = format!("{api}/proxies/{proxy}/toxics");
    match call(c, Method::POST, &url, Some(body.to_string())).await? {
        (200 | 201, _) => Ok(()),
        (s, text) => Err(InjectError(format!(
            "{url} refused the toxic ({s}): {text}"
        ))),
    }
}

/// Removes a toxic; one already gone is not an error.
pub async fn remove_toxic(
    c: &HttpClient,
    api: &str,
    proxy: &str,
    name: &str,
) -> Result<(), InjectError> {
    let url = format!("{api}/proxies/{proxy}/toxics/{name}");
    match call(c, Method::DELETE, &url, None).await? {
        (200 | 204 | 404, _) => Ok(()),
        (s, text) => Err(InjectError(format!("{url}: {s} {text}"))),
    }
}

/// Removes the toxics an earlier squall run left on a proxy (their names
/// start with `prefix`); answers how many.
pub async fn clear_toxics(
    c: &HttpClient,
    api: &str,
    proxy: &str,
    prefix: &str,
) -> Result<usize, InjectError> {
    let url = format!("{api}/proxies/{proxy}/toxics");
    let (status, text) = call(c, Method::GET, &url, None).await?;
    if status != 200 {
        return Err(InjectError(format!("{url}: {status} {text}")));
    }
    let list: Vec<serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| InjectError(format!("{url}: answer is not a JSON list: {e}")))?;
    let mut n = 0;
    for t in list {
        if let Some(name) = t["name"].as_str().filter(|n| n.starts_with(prefix)) {
            remove_toxic(c, api, proxy, name).await?;
            n += 1;
        }
    }
    Ok(n)
}
