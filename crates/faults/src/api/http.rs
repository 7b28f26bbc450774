//! The control API's side of `squall_http::respond`: fault errors in the
//! shared error shape (`{"error", "status", "field"}`, Toxiproxy's plus the
//! field), bodies read as Toxiproxy clients send them.

use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use squall_http::respond::{ApiError, Problem};
pub(super) use squall_http::respond::{Body, empty, error, json, text};

use crate::error::FaultError;

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

impl ApiError for FaultError {
    fn status(&self) -> u16 {
        FaultError::status(self)
    }
    fn field(&self) -> Option<&str> {
        match self {
            FaultError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// Reads a JSON body; an empty body reads as `{}` (Toxiproxy clients send
/// bodiless POSTs to `/reset`).
pub(super) async fn read_json<T: DeserializeOwned>(body: Incoming) -> Result<T, FaultError> {
    squall_http::respond::read_json(body, MAX_BODY, Some(b"{}"))
        .await
        .map_err(|p: Problem| {
            FaultError::invalid(p.field.unwrap_or_else(|| "body".into()), p.message)
        })
}
