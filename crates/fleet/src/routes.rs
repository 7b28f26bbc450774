//! The coordinator's HTTP routes (under `/api/v1/fleet/`), for `squall
//! serve` and `squall load --fleet` alike. Who may call is the host's
//! business (its door checks the Host header and the token).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use squall_http::Access;

use crate::coordinator::{CallRefused, Coordinator};
use crate::protocol::{Clock, Hello, Report};

/// The largest report body: a generator sends at most
/// [`crate::generator::MAX_SECONDS_PER_REPORT`] seconds at once.
pub const MAX_REPORT_BYTES: usize = 32 * 1024 * 1024;

/// The fleet routes.
pub fn router(c: Arc<Coordinator>) -> Router {
    Router::new()
        .route("/api/v1/fleet/clock", get(clock))
        .route("/api/v1/fleet/generators", post(register).get(list))
        .route("/api/v1/fleet/generators/{id}/next", get(next))
        .route(
            "/api/v1/fleet/generators/{id}/report",
            post(report).layer(DefaultBodyLimit::max(MAX_REPORT_BYTES)),
        )
        .with_state(c)
}

/// The fleet routes behind `access` (Host header, token): for a coordinator
/// that is not inside `squall serve` (whose own door guards them there).
pub fn guarded(c: Arc<Coordinator>, access: Arc<Access>) -> Router {
    router(c).layer(middleware::from_fn(move |req: Request, next: Next| {
        let access = access.clone();
        async move {
            let authority = req.uri().authority().map(|a| a.as_str().to_string());
            match access.check(req.headers(), authority.as_deref()) {
                Ok(()) => next.run(req).await,
                Err(r) => problem(
                    StatusCode::from_u16(r.status).unwrap_or(StatusCode::FORBIDDEN),
                    &r.message,
                ),
            }
        }
    }))
}

fn problem(status: StatusCode, detail: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("error"),
            "status": status.as_u16(),
            "detail": detail,
            "error": detail,
        })
        .to_string(),
    )
        .into_response()
}

impl IntoResponse for CallRefused {
    fn into_response(self) -> Response {
        let status = match &self {
            CallRefused::Bad(_) => StatusCode::BAD_REQUEST,
            CallRefused::UnknownGenerator(_) => StatusCode::NOT_FOUND,
            CallRefused::Gone(_) => StatusCode::GONE,
            CallRefused::Conflict(_) => StatusCode::CONFLICT,
        };
        problem(status, &self.to_string())
    }
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, CallRefused> {
    b.map(|Json(v)| v)
        .map_err(|e| CallRefused::Bad(e.body_text()))
}

async fn clock() -> Json<Clock> {
    Json(Clock {
        unix_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0,
    })
}

async fn register(
    State(c): State<Arc<Coordinator>>,
    b: Result<Json<Hello>, JsonRejection>,
) -> Result<Response, CallRefused> {
    let w = c.register(body(b)?)?;
    Ok((StatusCode::CREATED, Json(w)).into_response())
}

async fn list(State(c): State<Arc<Coordinator>>) -> Response {
    Json(json!({ "generators": c.generators() })).into_response()
}

#[derive(Deserialize)]
struct Known {
    known: Option<u64>,
}

async fn next(
    State(c): State<Arc<Coordinator>>,
    Path(id): Path<String>,
    Query(q): Query<Known>,
) -> Result<Response, CallRefused> {
    Ok(Json(c.next(&id, q.known).await?).into_response())
}

async fn report(
    State(c): State<Arc<Coordinator>>,
    Path(id): Path<String>,
    b: Result<Json<Report>, JsonRejection>,
) -> Result<Response, CallRefused> {
    Ok(Json(c.report(&id, body(b)?)?).into_response())
}
