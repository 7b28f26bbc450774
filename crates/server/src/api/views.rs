//! The JSON a client gets for each stored thing, with links to what it can
//! do next, so a script (or the UI) never builds URLs by hand.

use serde_json::{Value, json};

use crate::store::{ExperimentRow, RunRow, VersionRow};

/// An experiment.
pub(super) fn experiment(e: &ExperimentRow, versions: usize, latest_run: Option<&RunRow>) -> Value {
    json!({
        "id": e.id,
        "name": e.name,
        "created_ms": e.created_ms,
        "versions": versions,
        "latest_run": latest_run.map(run),
        "links": {
            "self": format!("/api/v1/experiments/{}", e.id),
            "versions": format!("/api/v1/experiments/{}/versions", e.id),
        },
    })
}

/// A version (with its document when asked).
pub(super) fn version(v: &VersionRow, runs: i64, with_document: bool) -> Value {
    let base = format!(
        "/api/v1/experiments/{}/versions/{}",
        v.experiment_id, v.version
    );
    let mut out = json!({
        "experiment_id": v.experiment_id,
        "version": v.version,
        "created_ms": v.created_ms,
        "runs": runs,
        "frozen": runs > 0,
        "links": {
            "self": base,
            "document": format!("{base}/document"),
            "runs": format!("{base}/runs"),
        },
    });
    if with_document {
        out["document"] = v.document.clone().into();
    }
    out
}

/// A run.
pub(super) fn run(r: &RunRow) -> Value {
    let base = format!("/api/v1/runs/{}", r.id);
    json!({
        "id": r.id,
        "experiment_id": r.experiment_id,
        "version": r.version,
        "status": r.status,
        "verdict": r.verdict,
        "exit_code": r.exit_code,
        "error": r.error,
        "created_ms": r.created_ms,
        "ended_ms": r.ended_ms,
        "links": {
            "self": base,
            "stop": format!("{base}/stop"),
            "events": format!("{base}/events"),
            "metrics": format!("{base}/metrics"),
            "report": format!("{base}/report"),
            "report_html": format!("{base}/report.html"),
            "files": format!("{base}/files"),
        },
    })
}
