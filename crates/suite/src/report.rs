//! The suite report: each experiment's outcome with its key figures (from
//! its own report), as JSON and as one self-contained HTML page.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};
use squall_report::html::esc;
use squall_report::run_report::RunReport;

use crate::state::{ItemStatus, SuiteState, SuiteStatus};

/// One experiment in the suite report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ItemSummary {
    /// Position, from 1.
    pub index: usize,
    /// Name.
    pub name: String,
    /// Where it was read from.
    pub source: String,
    /// How it ended.
    pub status: ItemStatus,
    /// Attempts made.
    pub attempts: usize,
    /// The run's verdict.
    pub verdict: Option<String>,
    /// Why it could not run.
    pub error: Option<String>,
    /// Seconds the attempt that counts took.
    pub seconds: Option<f64>,
    /// Goals held / goals.
    pub goals_held: Option<(usize, usize)>,
    /// Requests of the main run.
    pub requests: Option<u64>,
    /// p95 latency of the main run, ms.
    pub p95_ms: Option<f64>,
    /// Share of failed requests.
    pub error_rate: Option<f64>,
    /// Where its files are.
    pub files: Option<String>,
}

/// The suite report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    /// `squall-suite-report/1`.
    pub schema: String,
    /// Suite name.
    pub suite: String,
    /// Run id.
    pub run_id: String,
    /// The verdict.
    pub status: SuiteStatus,
    /// Unix ms.
    pub started_ms: u64,
    /// Unix ms.
    pub ended_ms: Option<u64>,
    /// Times it was resumed.
    pub resumed: u32,
    /// The experiments.
    pub items: Vec<ItemSummary>,
}

/// The summary of a run from its state and its items' reports.
pub fn summary(state: &SuiteState, reports: &BTreeMap<usize, RunReport>) -> Summary {
    let items = state
        .items
        .iter()
        .map(|i| {
            let last = i.last();
            let r = reports.get(&i.index);
            let overall = r.and_then(|r| r.phases.iter().find(|p| p.phase == "overall"));
            ItemSummary {
                index: i.index,
                name: i.name.clone(),
                source: i.source.clone(),
                status: i.status,
                attempts: i.attempts.len(),
                verdict: last.and_then(|a| a.verdict.clone()),
                error: last.and_then(|a| a.error.clone()),
                seconds: last.and_then(|a| {
                    a.ended_ms
                        .map(|e| e.saturating_sub(a.started_ms) as f64 / 1000.0)
                }),
                goals_held: r.map(|r| (r.goals.iter().filter(|g| g.passed).count(), r.goals.len())),
                requests: overall.map(|p| p.requests),
                p95_ms: overall.filter(|p| p.requests > 0).map(|p| p.latency_ms.p95),
                error_rate: overall.filter(|p| p.requests > 0).map(|p| p.error_rate),
                files: last.and_then(|a| a.stored_at.clone()),
            }
        })
        .collect();
    Summary {
        schema: "squall-suite-report/1".into(),
        suite: state.suite.clone(),
        run_id: state.run_id.clone(),
        status: state.status,
        started_ms: state.started_ms,
        ended_ms: state.ended_ms,
        resumed: state.resumed,
        items,
    }
}

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "&ndash;".into())
}

/// One HTML page, no script, no network.
pub fn html(s: &Summary) -> String {
    let mut h = String::new();
    let class = match s.status {
        SuiteStatus::Passed => "pass",
        SuiteStatus::Failed => "fail",
        _ => "warn",
    };
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{} - squall suite</title>\
<style>body{{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}}main{{max-width:1100px;margin:0 auto;padding:24px}}\
.v{{padding:12px 16px;border-radius:8px;font-size:20px;font-weight:600}}.pass{{background:#e3f5e8;color:#14632e}}.fail{{background:#fde7e7;color:#8c1d1d}}.warn{{background:#fff4dc;color:#7a5200}}\
table{{border-collapse:collapse;width:100%;background:#fff;margin-top:16px}}th,td{{padding:6px 10px;border-bottom:1px solid #e4e7ec;text-align:left}}th{{background:#eef1f5}}td.n{{text-align:right}}</style></head><body><main>\
<h1>{}</h1><p>run {} &middot; resumed {} time(s)</p><div class=\"v {class}\" id=\"verdict\">{}</div>\
<table><tr><th>#</th><th>experiment</th><th>status</th><th>verdict</th><th>attempts</th><th>goals held</th><th>requests</th><th>p95</th><th>errors</th><th>seconds</th><th>files</th></tr>",
        esc(&s.suite),
        esc(&s.suite),
        esc(&s.run_id),
        s.resumed,
        format!("{:?}", s.status).to_uppercase()
    );
    for i in &s.items {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}<br><small>{}</small></td><td>{:?}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><small>{}</small></td></tr>",
            i.index,
            esc(&i.name),
            esc(&i.source),
            i.status,
            esc(i.verdict.as_deref().or(i.error.as_deref()).unwrap_or("")),
            i.attempts,
            opt(i.goals_held, |(a, b)| format!("{a}/{b}")),
            opt(i.requests, |v| v.to_string()),
            opt(i.p95_ms, |v| format!("{v:.1} ms")),
            opt(i.error_rate, |v| format!("{:.2} %", v * 100.0)),
            opt(i.seconds, |v| format!("{v:.1}")),
            esc(i.files.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table></main></body></html>\n");
    h
}
