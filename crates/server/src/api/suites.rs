//! Suites over HTTP: `squall suite`'s state machine run by the server.
//! The suite file names stored experiments (`experiment:ID` or
//! `experiment:ID/vN`), URLs or `s3://` objects; every experiment is read
//! and checked (with the same rules as a run's start) before the suite
//! starts. Paths on the server's disk need `--allow-commands`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::experiments::checked;
use super::runs::{ListQuery, limit};
use super::{ApiError, Shared, body};
use crate::store::SuiteRow;
use crate::suites::SuiteStartError;

impl From<SuiteStartError> for ApiError {
    fn from(e: SuiteStartError) -> Self {
        match e {
            SuiteStartError::Invalid(errors) => ApiError::Bad {
                message: "the suite is not valid".into(),
                field: Some("suite".into()),
                errors,
            },
            SuiteStartError::Busy(_) | SuiteStartError::Ended(_) => {
                ApiError::Conflict(e.to_string())
            }
            SuiteStartError::Files(m) => ApiError::Internal(m),
            SuiteStartError::Store(e) => ApiError::Store(e),
        }
    }
}

fn view(r: &SuiteRow, live: bool) -> Value {
    let base = format!("/api/v1/suites/{}", r.id);
    json!({
        "id": r.id,
        "name": r.name,
        "status": r.status,
        "running_here": live,
        "created_ms": r.created_ms,
        "ended_ms": r.ended_ms,
        "state": serde_json::from_str::<Value>(&r.state).unwrap_or(Value::Null),
        "links": {
            "self": base,
            "events": format!("{base}/events"),
            "stop": format!("{base}/stop"),
            "resume": format!("{base}/resume"),
            "junit": format!("{base}/junit.xml"),
            "report": format!("{base}/report"),
        },
    })
}

/// Reads and checks every experiment the suite names; located problems.
pub(crate) async fn documents(s: &Shared, text: &str) -> Result<BTreeMap<usize, String>, ApiError> {
    let suite =
        squall_suite::spec::parse(std::path::Path::new("suite.yaml"), text).map_err(|errors| {
            ApiError::Bad {
                message: "the suite is not valid".into(),
                field: Some("suite".into()),
                errors,
            }
        })?;
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    let mut refused = Vec::new();
    for (i, item) in suite.spec.experiments.iter().enumerate() {
        let at = format!("experiments[{i}].source");
        let src = item.source.as_str();
        let text = if let Some(rest) = src.strip_prefix("experiment:") {
            let (id, version) = match rest.split_once("/v") {
                Some((id, v)) => match v.parse::<i64>() {
                    Ok(v) => (id, Some(v)),
                    Err(_) => {
                        problems.push(format!(
                            "{at}: {src:?}: expected experiment:ID or experiment:ID/vN"
                        ));
                        continue;
                    }
                },
                None => (rest, None),
            };
            let v = match version {
                Some(v) => s.store.version(id, v).await?,
                None => match s.store.versions(id).await?.last() {
                    Some(last) => s.store.version(id, last.version).await?,
                    None => None,
                },
            };
            match v {
                Some(v) => v.document,
                None => {
                    problems.push(format!("{at}: no stored experiment {src:?}"));
                    continue;
                }
            }
        } else if src.starts_with("http://") || src.starts_with("https://") || s.allow_commands {
            // A URL; a path or an S3 object (read with the server's own
            // credentials) only when callers are trusted.
            // URLs go only where runs may go (--allow-target).
            let outside =
                crate::policy::targets_outside(&json!({ "source": src }), &s.allowed_targets);
            if !outside.is_empty() {
                refused.extend(outside.into_iter().map(|o| format!("experiments[{i}].{o}")));
                continue;
            }
            match squall_suite::source::read(src, std::path::Path::new("."), &Default::default())
                .await
            {
                Ok((_, t)) => t,
                Err(e) => {
                    problems.push(format!("{at}: {e}"));
                    continue;
                }
            }
        } else {
            refused.push(format!(
                "{at}: {src:?}: squall serve reads no file of its disk and no S3 object with its credentials for a caller; name a stored experiment (experiment:ID) or a URL, or start the server with --allow-commands"
            ));
            continue;
        };
        let raw = text;
        let text = match squall_suite::source::with_vars(&raw, &item.vars) {
            Ok(t) => t,
            Err(e) => {
                problems.extend(e.into_iter().map(|m| format!("experiments[{i}].{m}")));
                continue;
            }
        };
        let doc: Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        } else {
            yaml_serde::from_str(&text).unwrap_or(Value::Null)
        };
        if squall_suite::runner::is_plain_chaos(&doc) {
            let issues = squall_chaos::validate(&doc, &squall_chaos::Vars::default());
            problems.extend(issues.iter().map(|p| format!("experiments[{i}]: {p}")));
        } else {
            match checked(&text, s.allow_commands).await {
                Ok(_) => {}
                Err(ApiError::Bad {
                    errors, message, ..
                }) => {
                    let list = if errors.is_empty() {
                        vec![message]
                    } else {
                        errors
                    };
                    problems.extend(list.into_iter().map(|p| format!("experiments[{i}]: {p}")));
                }
                Err(ApiError::Forbidden { errors, .. }) => {
                    refused.extend(errors.into_iter().map(|p| format!("experiments[{i}]: {p}")));
                }
                Err(e) => return Err(e),
            }
        }
        refused.extend(
            crate::policy::targets_outside(&doc, &s.allowed_targets)
                .into_iter()
                .map(|p| format!("experiments[{i}]: {p}")),
        );
        if !s.allow_commands {
            refused.extend(
                crate::policy::needs_commands(&doc)
                    .into_iter()
                    .map(|p| format!("experiments[{i}]: {p}")),
            );
        }
        out.insert(i, raw);
    }
    if !problems.is_empty() {
        return Err(ApiError::Bad {
            message: format!("{} experiment problem(s)", problems.len()),
            field: Some("suite".into()),
            errors: problems,
        });
    }
    if !refused.is_empty() {
        return Err(ApiError::Forbidden {
            message: "the suite names what this server may not run without --allow-commands or --allow-target".into(),
            errors: refused,
        });
    }
    Ok(out)
}

/// `POST /api/v1/suites`: the suite file in the body (YAML).
pub(super) async fn start(State(s): State<Shared>, b: Bytes) -> Result<Response, ApiError> {
    let text = body::text(b)?;
    let docs = documents(&s, &text).await?;
    let row = s.suites.start(&text, docs).await?;
    let mut r = (StatusCode::CREATED, Json(view(&row, true))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/suites/{}", row.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

pub(super) async fn list(
    State(s): State<Shared>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let rows = s.store.suites(limit(&q)?).await?;
    Ok(Json(
        rows.iter()
            .map(|r| view(r, s.suites.is_live(&r.id)))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

pub(super) async fn find(s: &Shared, id: &str) -> Result<SuiteRow, ApiError> {
    s.store
        .suite(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no suite run {id}")))
}

pub(super) async fn get(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let r = find(&s, &id).await?;
    Ok(Json(view(&r, s.suites.is_live(&id))).into_response())
}

pub(super) async fn stop(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    find(&s, &id).await?;
    if !s.suites.stop(&id) {
        return Err(ApiError::Conflict(format!("suite run {id} is not running")));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": id, "stopping": true})),
    )
        .into_response())
}

pub(super) async fn resume(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let r = find(&s, &id).await?;
    let state: Value = serde_json::from_str(&r.state).unwrap_or(Value::Null);
    let text = state["suite_text"].as_str().unwrap_or_default().to_string();
    let docs = documents(&s, &text).await?;
    s.suites.resume(&r, docs).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": id, "resuming": true})),
    )
        .into_response())
}

/// A file of the suite run's folder (`junit.xml`, `suite-report.json`).
async fn file(s: &Shared, id: &str, name: &str, media: &'static str) -> Result<Response, ApiError> {
    let r = find(s, id).await?;
    let path = s.suites_dir.join(&r.name).join(&r.id).join(name);
    match tokio::fs::read(&path).await {
        Ok(b) => Ok(([(header::CONTENT_TYPE, media)], b).into_response()),
        Err(_) => Err(ApiError::NotFound(format!(
            "suite run {id} has no {name} yet (it is written when the suite ends)"
        ))),
    }
}

pub(super) async fn junit(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    file(&s, &id, "junit.xml", "application/xml").await
}

pub(super) async fn report(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    file(&s, &id, "suite-report.json", "application/json").await
}

pub(super) async fn events(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    find(&s, &id).await?;
    let live = s.suites.follow(&id);
    Ok(super::sse::stream(s, id, &headers, live))
}

/// Resumes this server's suite runs a crash left running (at start).
pub async fn resume_cut_short(s: Shared) -> Vec<String> {
    let mut notes = Vec::new();
    let Ok(rows) = s.store.suites_cut_short().await else {
        return notes;
    };
    for r in rows {
        let state: Value = serde_json::from_str(&r.state).unwrap_or(Value::Null);
        let text = state["suite_text"].as_str().unwrap_or_default().to_string();
        let outcome = match documents(&s, &text).await {
            Ok(docs) => s.suites.resume(&r, docs).await.map_err(ApiError::from),
            Err(e) => Err(e),
        };
        notes.push(match outcome {
            Ok(()) => format!("suite run {} ({}) was cut short: resumed", r.id, r.name),
            Err(e) => {
                let _ = s
                    .store
                    .update_suite(&r.id, "interrupted", &r.state, None)
                    .await;
                format!(
                    "suite run {} ({}) was cut short and cannot resume: {e}",
                    r.id, r.name
                )
            }
        });
    }
    notes
}
