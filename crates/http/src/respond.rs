//! Responses and request bodies as every squall API writes and reads them:
//! JSON with one error shape, `{"error": message, "status": code, "field":
//! path}` (Toxiproxy's shape, plus the field to blame), so a client learns
//! the same way from every squall server what it did wrong.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::Response;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Every response body.
pub type Body = BoxBody<Bytes, Infallible>;

/// An error an API answers with: its status and, when one field is to
/// blame, that field's path. Implemented by each API's error type, turned
/// into a response in one place ([`error`]).
pub trait ApiError: std::fmt::Display {
    /// The HTTP status.
    fn status(&self) -> u16;
    /// The field to blame (`args.delay`, `lease`), if one is.
    fn field(&self) -> Option<&str> {
        None
    }
}

/// A client mistake about one field, or about the request as a whole.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Problem {
    /// HTTP status (4xx).
    pub status: u16,
    /// What was expected.
    pub message: String,
    /// The field to blame.
    pub field: Option<String>,
}

impl Problem {
    /// A 400 about `field`.
    pub fn bad(field: Option<&str>, message: impl Into<String>) -> Self {
        Problem {
            status: 400,
            message: message.into(),
            field: field.map(str::to_string),
        }
    }
}

impl ApiError for Problem {
    fn status(&self) -> u16 {
        self.status
    }
    fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

/// A JSON response.
pub fn json<T: Serialize>(status: u16, v: &T) -> Response<Body> {
    let body = serde_json::to_vec(v).expect("plain data serializes");
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)).boxed())
        .expect("valid response parts")
}

/// A text response of `content_type`.
pub fn text(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(body.into()).boxed())
        .expect("valid response parts")
}

/// A response with no body.
pub fn empty(status: u16) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Empty::new().boxed())
        .expect("valid response parts")
}

/// The JSON error response for `e`.
pub fn error(e: &(impl ApiError + ?Sized)) -> Response<Body> {
    let status = e.status();
    let mut m = serde_json::Map::new();
    m.insert("error".into(), e.to_string().into());
    m.insert("status".into(), status.into());
    if let Some(f) = e.field() {
        m.insert("field".into(), f.into());
    }
    json(status, &m)
}

/// Reads a JSON body of at most `max` bytes; a blank body reads as
/// `blank` when given (Toxiproxy clients POST without a body). A body that
/// does not parse is a 400 naming the field (`serde_path_to_error`).
pub async fn read_json<T: DeserializeOwned, B>(
    body: B,
    max: usize,
    blank: Option<&[u8]>,
) -> Result<T, Problem>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let bytes = http_body_util::Limited::new(body, max)
        .collect()
        .await
        .map_err(|e| {
            Problem::bad(
                Some("body"),
                format!("cannot read the body (at most {max} bytes): {e}"),
            )
        })?
        .to_bytes();
    let bytes: &[u8] = match blank {
        Some(b) if bytes.iter().all(u8::is_ascii_whitespace) => b,
        _ => &bytes,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        Problem::bad(
            Some(if path == "." { "body" } else { &path }),
            format!("invalid JSON body: {}", e.into_inner()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_are_read_with_the_field_to_blame() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            lease: u64,
        }
        let e = read_json::<T, _>(
            Full::new(Bytes::from_static(b"{\"lease\": \"x\"}")),
            100,
            None,
        )
        .await
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("lease"));
        assert_eq!(e.status, 400);
        let e = read_json::<T, _>(Full::new(Bytes::from(vec![b' '; 200])), 100, None)
            .await
            .unwrap_err();
        assert!(e.message.contains("at most 100 bytes"), "{e}");
        let ok: serde_json::Value = read_json(Full::new(Bytes::new()), 100, Some(b"{}"))
            .await
            .unwrap();
        assert_eq!(ok, serde_json::json!({}));
    }

    #[tokio::test]
    async fn errors_have_one_shape() {
        let r = error(&Problem::bad(Some("args.delay"), "must be a number"));
        assert_eq!(r.status(), 400);
        let b = r.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": "must be a number", "status": 400, "field": "args.delay"})
        );
    }
}
