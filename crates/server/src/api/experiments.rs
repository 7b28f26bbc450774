//! Experiments, versions and documents. A document is checked on the way
//! in by the same code `squall run` uses, every problem located; a version
//! that has been run is frozen (a new version is made to change it).

use std::path::Path;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use squall_executor::execute::{ExecuteError, check_document};

use super::{ApiError, Shared, body, views};
use crate::store::{Deleted, VersionRow};

/// The name problems are reported under (`experiment.yaml:3:5: ...`).
pub(super) fn file_name(text: &str) -> &'static Path {
    Path::new(if text.trim_start().starts_with('{') {
        "experiment.json"
    } else {
        "experiment.yaml"
    })
}

/// A document that passed its check.
pub(super) struct Checked {
    /// What people should know (ignored keys, what `--allow-commands` would refuse...).
    pub(super) warnings: Vec<String>,
    /// The document as JSON, for the start's policy checks.
    pub(super) doc: serde_json::Value,
}

/// Checks a document: its warnings, or a 400 listing every problem. On a
/// blocking thread: compiling a workload resolves its host names.
pub(super) async fn checked(text: &str, allow_commands: bool) -> Result<Checked, ApiError> {
    let text = text.to_string();
    tokio::task::spawn_blocking(move || check_blocking(&text, allow_commands))
        .await
        .map_err(|e| ApiError::Internal(format!("the check failed: {e}")))?
}

fn check_blocking(text: &str, allow_commands: bool) -> Result<Checked, ApiError> {
    let file = file_name(text);
    let doc = match squall_executor::document::parse(file, text) {
        Ok((_, doc)) => doc,
        Err(e) => return Err(invalid(vec![e.to_string()])),
    };
    if !allow_commands && let Some(why) = crate::policy::sim_file(&doc) {
        return Err(ApiError::Forbidden {
            message: why.clone(),
            errors: vec![why],
        });
    }
    let mut warnings = match check_document(file, text) {
        Ok(w) => w,
        Err(ExecuteError::Invalid(errors)) => return Err(invalid(errors)),
        Err(e) => return Err(ApiError::bad(Some("document"), e.to_string())),
    };
    if !allow_commands {
        warnings.extend(
            crate::policy::needs_commands(&doc)
                .into_iter()
                .map(|w| format!("{w} (it would be refused at start)")),
        );
    }
    Ok(Checked { warnings, doc })
}

/// A 400 listing every located problem of the document.
fn invalid(errors: Vec<String>) -> ApiError {
    ApiError::Bad {
        message: format!(
            "the experiment is not valid ({} problem{})",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        ),
        field: Some("document".into()),
        errors,
    }
}

pub(super) async fn find_version(
    s: &Shared,
    id: &str,
    version: &str,
) -> Result<VersionRow, ApiError> {
    let v = body::version(version)?;
    s.store
        .version(id, v)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("experiment {id} has no version {v}")))
}

fn created(location: String, body: serde_json::Value) -> Response {
    let mut r = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// `POST /api/v1/validate`: a document checked without storing it.
pub(super) async fn validate(State(s): State<Shared>, b: Bytes) -> Result<Response, ApiError> {
    let text = body::text(b)?;
    if text.trim().is_empty() {
        return Err(ApiError::bad(
            Some("document"),
            "the body must be an experiment document",
        ));
    }
    Ok(match checked(&text, s.allow_commands).await {
        Ok(Checked { warnings, doc }) => {
            Json(json!({"valid": true, "errors": [], "warnings": warnings, "document": doc}))
                .into_response()
        }
        Err(ApiError::Bad {
            errors, message, ..
        }) => {
            let errors = if errors.is_empty() {
                vec![message]
            } else {
                errors
            };
            Json(json!({"valid": false, "errors": errors, "warnings": []})).into_response()
        }
        Err(e) => return Err(e),
    })
}

pub(super) async fn list(State(s): State<Shared>) -> Result<Response, ApiError> {
    let out: Vec<_> = s
        .store
        .experiment_summaries()
        .await?
        .iter()
        .map(|(e, versions, latest)| views::experiment(e, *versions as usize, latest.as_ref()))
        .collect();
    Ok(Json(out).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewExperiment {
    name: String,
    document: String,
}

pub(super) async fn create(State(s): State<Shared>, b: Bytes) -> Result<Response, ApiError> {
    let req: NewExperiment = body::object(&b)?;
    let name = body::name("name", &req.name)?;
    body::no_nul(Some("document"), &req.document)?;
    let warnings = checked(&req.document, s.allow_commands).await?.warnings;
    let e = s.store.create_experiment(&name, &req.document).await?;
    let mut view = views::experiment(&e, 1, None);
    view["warnings"] = warnings.into();
    Ok(created(format!("/api/v1/experiments/{}", e.id), view))
}

pub(super) async fn get(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let e = s
        .store
        .experiment(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no experiment {id}")))?;
    let versions = s.store.versions(&id).await?.len();
    let latest = s.store.runs(Some(&id), None, 1).await?;
    Ok(Json(views::experiment(&e, versions, latest.first())).into_response())
}

pub(super) async fn delete(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    remove_experiment(&s, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Refuses a change to an experiment while one of its runs is in flight.
pub(super) fn not_busy(s: &Shared, id: &str) -> Result<(), ApiError> {
    if s.runner.busy(id) {
        return Err(ApiError::Conflict(format!(
            "experiment {id} has a run in progress; stop it first"
        )));
    }
    Ok(())
}

/// Deletes an experiment with its versions and runs (both APIs' route).
pub(super) async fn remove_experiment(s: &Shared, id: &str) -> Result<(), ApiError> {
    not_busy(s, id)?;
    if !s.store.delete_experiment(id).await? {
        return Err(ApiError::NotFound(format!("no experiment {id}")));
    }
    Ok(())
}

pub(super) async fn versions(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    if s.store.experiment(&id).await?.is_none() {
        return Err(ApiError::NotFound(format!("no experiment {id}")));
    }
    let mut out = Vec::new();
    for v in s.store.versions(&id).await? {
        let runs = s.store.run_count(&id, v.version).await?;
        out.push(views::version(&v, runs, false));
    }
    Ok(Json(out).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct NewVersion {
    /// The version to copy (default: the latest).
    from: Option<i64>,
    /// A new document (default: the copied version's).
    document: Option<String>,
}

pub(super) async fn new_version(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
    b: Bytes,
) -> Result<Response, ApiError> {
    let req: NewVersion = if b.iter().all(u8::is_ascii_whitespace) {
        NewVersion::default()
    } else {
        body::object(&b)?
    };
    let all = s.store.versions(&id).await?;
    let Some(latest) = all.last() else {
        return Err(ApiError::NotFound(format!("no experiment {id}")));
    };
    let from = req.from.unwrap_or(latest.version);
    let warnings = match &req.document {
        Some(d) => {
            body::no_nul(Some("document"), d)?;
            checked(d, s.allow_commands).await?.warnings
        }
        None => Vec::new(),
    };
    let v = s
        .store
        .new_version(&id, from, req.document.as_deref())
        .await?
        .ok_or_else(|| {
            ApiError::bad(
                Some("from"),
                format!("experiment {id} has no version {from}"),
            )
        })?;
    let mut view = views::version(&v, 0, true);
    view["warnings"] = warnings.into();
    Ok(created(
        format!("/api/v1/experiments/{id}/versions/{}", v.version),
        view,
    ))
}

pub(super) async fn version(
    State(s): State<Shared>,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let v = find_version(&s, &id, &version).await?;
    let runs = s.store.run_count(&id, v.version).await?;
    Ok(Json(views::version(&v, runs, true)).into_response())
}

pub(super) async fn delete_version(
    State(s): State<Shared>,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let v = find_version(&s, &id, &version).await?;
    not_busy(&s, &id)?;
    // Here a resource never vanishes as a side effect (MiSArch's route
    // deletes the experiment with its last version; this one refuses).
    match s.store.delete_version(&id, v.version, false).await? {
        Deleted::Gone => {}
        Deleted::Absent => {
            return Err(ApiError::NotFound(format!(
                "experiment {id} has no version {}",
                v.version
            )));
        }
        Deleted::Last => {
            return Err(ApiError::Conflict(format!(
                "version {} is the last version of experiment {id}; delete the experiment instead",
                v.version
            )));
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn document(
    State(s): State<Shared>,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let v = find_version(&s, &id, &version).await?;
    let kind = if v.document.trim_start().starts_with('{') {
        "application/json"
    } else {
        "application/yaml"
    };
    Ok(([(header::CONTENT_TYPE, kind)], v.document).into_response())
}

pub(super) async fn put_document(
    State(s): State<Shared>,
    UrlPath((id, version)): UrlPath<(String, String)>,
    b: Bytes,
) -> Result<Response, ApiError> {
    let v = find_version(&s, &id, &version).await?;
    let text = body::text(b)?;
    let warnings = checked(&text, s.allow_commands).await?.warnings;
    if !s.store.set_document(&id, v.version, &text).await? {
        return Err(ApiError::Conflict(format!(
            "version {} has been run and is frozen; create a new version (POST /api/v1/experiments/{id}/versions)",
            v.version
        )));
    }
    Ok(Json(json!({"version": v.version, "warnings": warnings})).into_response())
}
