//! The one HTTP call the faults crate makes itself: deleting a remote lease
//! during recovery (with the operator's token, through `squall-http`).

use std::time::Duration;

/// `DELETE url` with a 2 s timeout; the status code on an answer.
pub(crate) async fn delete(url: &str) -> Result<u16, String> {
    let client = squall_http::client::client();
    squall_http::client::call(
        &client,
        hyper::Method::DELETE,
        url,
        None,
        Duration::from_secs(2),
    )
    .await
    .map(|(status, _)| status)
    .map_err(|e| e.to_string())
}
