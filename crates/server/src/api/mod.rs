//! The HTTP API: squall's own under `/api/v1/` (documented by
//! `/api/v1/openapi.json`) and MiSArch's executor routes beside it, behind
//! one door (Host check, token, CORS) and one error shape.

mod body;
mod experiments;
mod misarch;
mod openapi;
mod problem;
mod runs;
mod sse;
mod suites;
mod topology;
mod ui;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use squall_http::Access;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::runner::Runner;
use crate::store::Store;

pub use problem::ApiError;
pub use suites::resume_cut_short;

/// The largest request body (an experiment document, a MiSArch part).
pub const MAX_BODY: usize = 1024 * 1024;

/// What the handlers share.
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The runs in flight.
    pub runner: Arc<Runner>,
    /// The suites in flight.
    pub suites: Arc<crate::suites::Suites>,
    /// Where suite runs keep their files (`<data>/suites`).
    pub suites_dir: std::path::PathBuf,
    /// Whether documents may run code or act on processes here.
    pub allow_commands: bool,
    /// Hosts beyond loopback runs may address (empty: no limit).
    pub allowed_targets: Vec<String>,
    /// Whether calls need the token (the health check says so, so the UI
    /// asks for it before its first call instead of after a 401).
    pub token_required: bool,
    /// Documents people start new experiments from (`GET /api/v1/templates`).
    pub templates: Vec<Template>,
    /// The fleet coordinator: generators register under `/api/v1/fleet/`.
    pub fleet: Arc<squall_fleet::Coordinator>,
}

/// A document to start an experiment from.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Template {
    /// Short name (`demo-quick`).
    pub id: String,
    /// What it is.
    pub title: String,
    /// The document.
    pub document: String,
}

/// Shared state as handlers receive it.
pub type Shared = Arc<AppState>;

/// The whole API.
pub fn router(state: Shared, access: Arc<Access>, cors_origins: &[String]) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi::document))
        .route("/validate", post(experiments::validate))
        .route("/templates", get(templates))
        .route(
            "/experiments",
            get(experiments::list).post(experiments::create),
        )
        .route(
            "/experiments/{id}",
            get(experiments::get).delete(experiments::delete),
        )
        .route(
            "/experiments/{id}/versions",
            get(experiments::versions).post(experiments::new_version),
        )
        .route(
            "/experiments/{id}/versions/{version}",
            get(experiments::version).delete(experiments::delete_version),
        )
        .route(
            "/experiments/{id}/versions/{version}/document",
            get(experiments::document).put(experiments::put_document),
        )
        .route(
            "/experiments/{id}/versions/{version}/topology",
            get(topology::get),
        )
        .route(
            "/experiments/{id}/versions/{version}/runs",
            get(runs::of_version).post(runs::start),
        )
        .route("/suites", get(suites::list).post(suites::start))
        .route("/suites/{id}", get(suites::get))
        .route("/suites/{id}/stop", post(suites::stop))
        .route("/suites/{id}/resume", post(suites::resume))
        .route("/suites/{id}/events", get(suites::events))
        .route("/suites/{id}/junit.xml", get(suites::junit))
        .route("/suites/{id}/report", get(suites::report))
        .route("/runs", get(runs::list))
        .route("/runs/{run}", get(runs::get))
        .route("/runs/{run}/stop", post(runs::stop))
        .route("/runs/{run}/events", get(sse::events))
        .route("/runs/{run}/metrics", get(runs::metrics))
        .route("/runs/{run}/report", get(runs::report_json))
        .route("/runs/{run}/report.html", get(runs::report_html))
        .route("/runs/{run}/files", get(runs::files))
        .route("/runs/{run}/files/{name}", get(runs::file));
    let origins: Vec<HeaderValue> = cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([header::LOCATION]);
    let fleet = squall_fleet::routes::router(state.fleet.clone());
    Router::new()
        .nest("/api/v1", api)
        .merge(misarch::routes())
        .merge(ui::routes())
        .fallback(not_found)
        .with_state(state)
        .merge(fleet)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::map_response(problem::uniform_errors))
        .layer(middleware::from_fn_with_state(
            Arc::new(Door {
                access,
                origins: cors_origins.to_vec(),
            }),
            door,
        ))
        .layer(cors)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route (the API is described at /api/v1/openapi.json)".into())
}

async fn templates(State(s): State<Shared>) -> Response {
    axum::Json(&s.templates).into_response()
}

async fn health(State(s): State<Shared>) -> Response {
    axum::Json(serde_json::json!({
        "status": "ok",
        "database": s.store.backend(),
        "runs_in_flight": s.runner.in_flight(),
        "token_required": s.token_required,
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

/// Who may call: the `Access` guard and the browser origins allowed.
struct Door {
    access: Arc<Access>,
    origins: Vec<String>,
}

/// Host check for every request; the token for all but the health check
/// (probes reach it without one), CORS preflights (browsers send no
/// credentials there) and the UI's static files (they hold no data; the
/// page asks for the token). A request that changes something and comes from a
/// web page of another origin is refused: on loopback without a token, a
/// page could otherwise POST to the API (a "simple" cross-site request
/// needs no preflight).
async fn door(State(door): State<Arc<Door>>, req: Request, next: Next) -> Response {
    let authority = req.uri().authority().map(|a| a.as_str().to_string());
    let headers = req.headers();
    let path = req.uri().path();
    let open = req.method() == Method::OPTIONS
        || path == "/api/v1/health"
        || (req.method() == Method::GET && ui::is_ui_path(path));
    let checked = if open {
        door.access.check_host(headers, authority.as_deref())
    } else {
        door.access.check(headers, authority.as_deref())
    };
    let refused = |status: StatusCode, message: &str| problem::problem(status, message, None, &[]);
    if let Err(refusal) = checked {
        let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::FORBIDDEN);
        return refused(status, &refusal.message);
    }
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes && let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or(authority.as_deref());
        let same = host.is_some_and(|h| {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(h)
        });
        if !same && !door.origins.iter().any(|o| o == origin) {
            return refused(
                StatusCode::FORBIDDEN,
                &format!(
                    "requests from the web origin {origin} are not allowed (squall serve --cors-origin {origin} allows them)"
                ),
            );
        }
    }
    next.run(req).await
}
