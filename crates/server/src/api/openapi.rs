//! The OpenAPI document of the API, kept beside the code it describes and
//! checked against the running server by the schemathesis test.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The document (OpenAPI 3.0).
pub(super) const OPENAPI: &str = include_str!("../../openapi.json");

pub(super) async fn document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
