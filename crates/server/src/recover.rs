//! At start: runs that were in flight when the server died (`kill -9`, a
//! crash, a power cut) are closed as `interrupted`. Their faults were
//! reverted by the lease ledger before this (the binary recovers it first;
//! faults on simulated services end at their leases), and what they
//! measured is kept: every second stored so far becomes the report's
//! series, written into the run directory when the run had one.

use std::path::Path;

use serde_json::Value;
use squall_report::run_report::{
    EntryKind, RUN_REPORT_SCHEMA, RunReport, SeriesPoint, TimelineEntry,
};

use crate::store::{RunRow, RunStatus, Store, StoreError, StoredEvent};

/// Why the runs are closed.
const REASON: &str =
    "the server stopped while the run was in progress; it was closed when the server started again";

/// Closes every run left in flight; returns them.
pub async fn interrupted_runs(store: &Store) -> Result<Vec<RunRow>, StoreError> {
    let found = store.unfinished_runs().await?;
    for run in &found {
        let events = store.events(&run.id, 0, None).await?;
        // The engine may have written its report before the crash: then
        // the run ended, and its own verdict stands.
        let written = run
            .dir
            .as_ref()
            .and_then(|d| std::fs::read(Path::new(d).join("report.json")).ok())
            .and_then(|b| serde_json::from_slice::<RunReport>(&b).ok());
        let (status, verdict, code, why) = match &written {
            Some(r) => (
                RunStatus::Completed,
                r.verdict.clone(),
                i64::from(r.exit_code),
                None,
            ),
            None => {
                if let Some(dir) = &run.dir {
                    // Best effort: the run directory may be gone; the
                    // database keeps the seconds either way.
                    let dir = Path::new(dir);
                    let report = report_of(run, &events);
                    let summary = squall_executor::outcome::summary_text(&report, dir);
                    let grafana = squall_report::grafana::DashboardContext {
                        run_id: dir
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        ..Default::default()
                    };
                    let _ =
                        squall_executor::execute::write_report(dir, &report, &summary, &grafana);
                }
                let code = i64::from(squall_executor::outcome::exit::INTERRUPTED);
                (
                    RunStatus::Interrupted,
                    "interrupted".to_string(),
                    code,
                    Some(REASON),
                )
            }
        };
        store
            .run_ended(&run.id, status, Some(&verdict), Some(code), why)
            .await?;
        let ended = StoredEvent {
            seq: events.last().map_or(0, |e| e.seq) + 1,
            name: "ended".into(),
            data: serde_json::json!({
                "status": status.as_str(),
                "verdict": verdict,
                "exit_code": code,
                "error": why,
                "report": run.dir.as_ref().map(|_| format!("/api/v1/runs/{}/report", run.id)),
            })
            .to_string(),
        };
        store.append_event(&run.id, &ended).await?;
    }
    Ok(found)
}

/// A report of what was stored: the seconds and the timeline, no goals
/// (they were never evaluated; the verdict says so).
fn report_of(run: &RunRow, events: &[StoredEvent]) -> RunReport {
    let mut series = Vec::new();
    let mut timeline = Vec::new();
    for e in events {
        let Ok(v) = serde_json::from_str::<Value>(&e.data) else {
            continue;
        };
        let num = |k: &str| v.get(k).and_then(Value::as_f64);
        if e.name == "second" {
            series.push(SeriesPoint {
                t: num("end_s").unwrap_or(0.0),
                rps: num("rps").unwrap_or(0.0),
                failed: num("failed").unwrap_or(0.0) as u64,
                error_rate: num("error_rate").unwrap_or(0.0),
                p50_ms: num("p50_ms"),
                p95_ms: num("p95_ms"),
                p99_ms: num("p99_ms"),
            });
        } else if let Ok(kind) = serde_json::from_value::<EntryKind>(Value::String(e.name.clone()))
        {
            timeline.push(TimelineEntry {
                t: num("t").unwrap_or(0.0),
                kind,
                text: v
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
    }
    timeline.push(TimelineEntry {
        t: series.last().map_or(0.0, |p| p.t),
        kind: EntryKind::Abort,
        text: REASON.into(),
    });
    RunReport {
        schema: RUN_REPORT_SCHEMA.into(),
        title: format!(
            "run {} of experiment {} v{}",
            run.id, run.experiment_id, run.version
        ),
        experiment_file: "experiment".into(),
        verdict: "interrupted".into(),
        exit_code: squall_executor::outcome::exit::INTERRUPTED,
        ended_early: Some(REASON.into()),
        started_unix_ms: run.created_ms.max(0) as u64,
        duration_s: series.last().map_or(0.0, |p| p.t),
        series,
        timeline,
        ..RunReport::default()
    }
}
