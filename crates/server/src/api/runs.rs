//! Runs: start one of a version, follow it, stop it, read what it wrote.
//! The files of a run are served only by the names its directory lists,
//! so no path from a request ever reaches the file system.

use std::path::PathBuf;

use axum::Json;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::experiments::{checked, find_version};
use super::{ApiError, Shared, views};
use crate::store::RunRow;

/// The most runs one list returns.
const MAX_LIST: i64 = 1000;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    limit: Option<i64>,
}

/// The `limit` of a list (default 100, at most `MAX_LIST`).
pub(super) fn limit(q: &ListQuery) -> Result<i64, ApiError> {
    match q.limit {
        None => Ok(100),
        Some(n) if (1..=MAX_LIST).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad(
            Some("limit"),
            format!("{n} is out of range (1..={MAX_LIST})"),
        )),
    }
}

pub(super) async fn list(
    State(s): State<Shared>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let runs = s.store.runs(None, None, limit(&q)?).await?;
    Ok(Json(runs.iter().map(views::run).collect::<Vec<_>>()).into_response())
}

pub(super) async fn of_version(
    State(s): State<Shared>,
    UrlPath((id, version)): UrlPath<(String, String)>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let v = find_version(&s, &id, &version).await?;
    let runs = s.store.runs(Some(&id), Some(v.version), limit(&q)?).await?;
    Ok(Json(runs.iter().map(views::run).collect::<Vec<_>>()).into_response())
}

/// Starts a run of a stored version (shared with MiSArch's start routes).
pub(super) async fn start_version(s: &Shared, id: &str, version: &str) -> Result<RunRow, ApiError> {
    let v = find_version(s, id, version).await?;
    let run = super::misarch::run_text(s, id, &v).await?;
    let doc = checked(&run.text, s.allow_commands).await?.doc;
    if !s.allow_commands {
        let refused = crate::policy::needs_commands(&doc);
        if !refused.is_empty() {
            return Err(ApiError::Forbidden {
                message: "the experiment runs code or acts on processes on this machine, which squall serve refuses unless started with --allow-commands".into(),
                errors: refused,
            });
        }
    }
    let outside = crate::policy::targets_outside(&doc, &s.allowed_targets);
    if !outside.is_empty() {
        return Err(ApiError::Forbidden {
            message: "the experiment addresses hosts this server may not target".into(),
            errors: outside,
        });
    }
    Ok(s.runner.start(id, v.version, v.document, run).await?)
}

pub(super) async fn start(
    State(s): State<Shared>,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let run = start_version(&s, &id, &version).await?;
    let mut r = (StatusCode::CREATED, Json(views::run(&run))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/runs/{}", run.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

pub(super) async fn find(s: &Shared, id: &str) -> Result<RunRow, ApiError> {
    s.store
        .run(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no run {id}")))
}

pub(super) async fn get(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(views::run(&find(&s, &id).await?)).into_response())
}

pub(super) async fn stop(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let run = find(&s, &id).await?;
    if !s.runner.stop(&id) {
        return Err(ApiError::Conflict(format!(
            "run {id} is not in progress (it is {})",
            run.status.as_str()
        )));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": id, "stopping": true})),
    )
        .into_response())
}

/// Every second measured so far (also after a crash: they are stored as
/// they come).
pub(super) async fn metrics(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    find(&s, &id).await?;
    let seconds: Vec<Value> = s
        .store
        .events(&id, 0, Some("second"))
        .await?
        .iter()
        .filter_map(|e| serde_json::from_str(&e.data).ok())
        .collect();
    Ok(Json(seconds).into_response())
}

async fn run_dir(s: &Shared, id: &str) -> Result<PathBuf, ApiError> {
    let run = find(s, id).await?;
    run.dir.map(PathBuf::from).ok_or_else(|| {
        ApiError::NotFound(format!(
            "run {id} has no run directory (it is {})",
            run.status.as_str()
        ))
    })
}

/// The names in a run directory (plain files only).
fn listing(dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            let name = e.file_name().into_string().ok()?;
            (meta.is_file() && !name.ends_with(".tmp")).then_some((name, meta.len()))
        })
        .collect();
    out.sort();
    out
}

async fn serve_file(s: &Shared, id: &str, name: &str) -> Result<Response, ApiError> {
    let dir = run_dir(s, id).await?;
    if !listing(&dir).iter().any(|(n, _)| n == name) {
        let hint = if matches!(name, "report.json" | "report.html") {
            " yet (the run has not ended)"
        } else {
            ""
        };
        return Err(ApiError::NotFound(format!(
            "run {id} has no file {name:?}{hint}"
        )));
    }
    let bytes = tokio::fs::read(dir.join(name))
        .await
        .map_err(|e| ApiError::NotFound(format!("{name}: {e}")))?;
    let kind = match name.rsplit('.').next() {
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        Some("csv") => "text/csv",
        Some("yaml") => "application/yaml",
        Some("txt" | "influx" | "hlog") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
}

pub(super) async fn report_json(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    serve_file(&s, &id, "report.json").await
}

pub(super) async fn report_html(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    serve_file(&s, &id, "report.html").await
}

pub(super) async fn files(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let dir = run_dir(&s, &id).await?;
    let out: Vec<Value> = listing(&dir)
        .into_iter()
        .map(|(name, bytes)| json!({"name": name, "bytes": bytes, "url": format!("/api/v1/runs/{id}/files/{name}")}))
        .collect();
    Ok(Json(out).into_response())
}

pub(super) async fn file(
    State(s): State<Shared>,
    UrlPath((id, name)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    serve_file(&s, &id, &name).await
}
