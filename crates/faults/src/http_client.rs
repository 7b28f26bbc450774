//! The one HTTP call the faults crate makes itself: deleting a remote lease
//! during recovery.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// `DELETE url` with a 2 s timeout; the status code on an answer.
pub(crate) async fn delete(url: &str) -> Result<u16, String> {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = hyper::Request::delete(url)
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(2), client.request(req)).await {
        Ok(Ok(resp)) => Ok(resp.status().as_u16()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out after 2 s".into()),
    }
}
