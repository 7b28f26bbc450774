//! One error shape for every answer that is not a success: an RFC 9457
//! problem document (`application/problem+json`), with squall's `error`
//! and `field` beside `detail` (the shape of squall's other APIs) and, for
//! an invalid experiment, every located problem in `errors`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::runner::StartError;
use crate::store::StoreError;

/// The largest error body read back to be rewritten as a problem.
const MAX_REWRITE: usize = 64 * 1024;

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong; `errors` lists every located problem.
    #[error("{message}")]
    Bad {
        /// Summary.
        message: String,
        /// The field to blame.
        field: Option<String>,
        /// Every problem (`file:line:col: field: message`).
        errors: Vec<String>,
    },
    /// Allowed only with a server flag.
    #[error("{message}")]
    Forbidden {
        /// Summary.
        message: String,
        /// Each field that needs the flag.
        errors: Vec<String>,
    },
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    /// Not in this state.
    #[error("{0}")]
    Conflict(String),
    /// Too many runs at once.
    #[error("{0}")]
    TooMany(String),
    /// The database failed (the server's fault, not the caller's).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server cannot take it now (shutting down).
    #[error("{0}")]
    Unavailable(String),
    /// Something failed on the server's side (not the caller's input).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 about one field.
    pub fn bad(field: Option<&str>, message: impl Into<String>) -> Self {
        ApiError::Bad {
            message: message.into(),
            field: field.map(str::to_string),
            errors: Vec::new(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Bad { .. } => StatusCode::BAD_REQUEST,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Store(_) | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StartError> for ApiError {
    fn from(e: StartError) -> Self {
        match e {
            StartError::Busy(_) | StartError::Changed => ApiError::Conflict(e.to_string()),
            StartError::Closing => ApiError::Unavailable(e.to_string()),
            StartError::Internal(_) => ApiError::Internal(e.to_string()),
            StartError::Full(_) => ApiError::TooMany(e.to_string()),
            StartError::Store(s) => ApiError::Store(s),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (field, errors) = match &self {
            ApiError::Bad { field, errors, .. } => (field.clone(), errors.clone()),
            ApiError::Forbidden { errors, .. } => (None, errors.clone()),
            _ => (None, Vec::new()),
        };
        problem(self.status(), &self.to_string(), field.as_deref(), &errors)
    }
}

/// A problem document.
pub(super) fn problem(
    status: StatusCode,
    detail: &str,
    field: Option<&str>,
    errors: &[String],
) -> Response {
    let mut body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "error": detail,
    });
    if let Some(f) = field {
        body["field"] = f.into();
    }
    if !errors.is_empty() {
        body["errors"] = errors.into();
    }
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// Rewrites the errors axum makes itself (unknown route, wrong method,
/// unreadable path or query, body over the limit) as problem documents,
/// so that every error a client sees has one shape.
pub(super) async fn uniform_errors(r: Response) -> Response {
    let status = r.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return r;
    }
    let is_problem = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if is_problem {
        return r;
    }
    let (parts, body) = r.into_parts();
    let text = axum::body::to_bytes(body, MAX_REWRITE)
        .await
        .unwrap_or_default();
    let mut detail = String::from_utf8_lossy(&text).trim().to_string();
    if detail.is_empty() {
        detail = match status {
            StatusCode::NOT_FOUND => {
                "no such route (the API is described at /api/v1/openapi.json)".into()
            }
            StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method".into(),
            _ => status.canonical_reason().unwrap_or("error").into(),
        };
    }
    let mut out = problem(status, &detail, None, &[]);
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}
