//! JSON in and out for the control API: Toxiproxy's error shape
//! (`{"error": ..., "status": ...}`) for every failure, never a panic.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::Response;
use hyper::body::Incoming;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::FaultError;

/// Every response body.
pub type Body = BoxBody<Bytes, Infallible>;

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// A JSON response.
pub fn json<T: Serialize>(status: u16, v: &T) -> Response<Body> {
    let body = serde_json::to_vec(v).expect("plain data serializes");
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)).boxed())
        .expect("valid response parts")
}

/// A response with no body.
pub fn empty(status: u16) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Empty::new().boxed())
        .expect("valid response parts")
}

/// A text response.
pub fn text(status: u16, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)).boxed())
        .expect("valid response parts")
}

/// An error as Toxiproxy shapes it, plus the field when one is to blame.
pub fn error(e: &FaultError) -> Response<Body> {
    let status = e.status();
    let mut m = serde_json::Map::new();
    m.insert("error".into(), e.to_string().into());
    m.insert("status".into(), status.into());
    if let FaultError::Invalid { field, .. } = e {
        m.insert("field".into(), field.clone().into());
    }
    json(status, &m)
}

/// Reads a JSON body; an empty body reads as `{}` (Toxiproxy clients send
/// bodiless POSTs to `/reset`).
pub async fn read_json<T: DeserializeOwned>(body: Incoming) -> Result<T, FaultError> {
    let bytes = http_body_util::Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| FaultError::invalid("body", format!("cannot read the body: {e}")))?
        .to_bytes();
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        FaultError::invalid(
            if path == "." {
                "body".to_string()
            } else {
                path
            },
            format!("bad JSON: {}", e.into_inner()),
        )
    })
}
