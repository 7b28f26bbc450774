//! k6's end-of-test summary file (`k6 run --summary-export FILE`), so the
//! scripts and CI steps that read k6's file read squall's unchanged:
//! `metrics.<name>` with k6's shapes (trends `avg`/`min`/`med`/`max`/
//! `p(90)`/`p(95)` in ms, counters `count`/`rate`, rates `passes`/`fails`/
//! `value`, gauges `value`/`min`/`max`) and each threshold under its
//! metric as k6 writes it there (`true` when it failed).
//!
//! Only what squall measures is written: k6's `http_req_blocked`,
//! `http_req_sending`, `http_req_receiving` and `http_req_tls_handshaking`
//! are left out rather than filled with guesses.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use squall_metrics::Snapshot;

use crate::record::{PercentilesMs, RequestRecord};
use crate::{OutputError, Sink, Summary};

/// Writes the file at the end of the run; watches the seconds for the
/// users gauge.
pub struct SummaryExportSink {
    path: PathBuf,
    vus: Option<(u64, u64, u64)>,
    vus_max: u64,
}

impl SummaryExportSink {
    /// A sink writing `path` at the end; `vus_max` is the plan's peak.
    pub fn new(path: &Path, vus_max: u64) -> Self {
        SummaryExportSink {
            path: path.to_path_buf(),
            vus: None,
            vus_max,
        }
    }
}

impl Sink for SummaryExportSink {
    fn second(&mut self, snap: &Snapshot) -> Result<(), OutputError> {
        let v = snap.vus;
        self.vus = Some(match self.vus {
            None => (v, v, v),
            Some((_, lo, hi)) => (v, lo.min(v), hi.max(v)),
        });
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), OutputError> {
        let doc = export(summary, self.vus.unwrap_or_default(), self.vus_max);
        let text = serde_json::to_string_pretty(&doc).expect("plain data");
        std::fs::write(&self.path, text + "\n").map_err(OutputError::at(&self.path))
    }
}

fn trend(p: &PercentilesMs) -> Value {
    json!({"avg": p.mean, "min": p.min, "med": p.p50, "max": p.max, "p(90)": p.p90, "p(95)": p.p95})
}

fn counter(n: u64, secs: f64) -> Value {
    json!({"count": n, "rate": n as f64 / secs})
}

fn rate(passes: u64, fails: u64) -> Value {
    let all = passes + fails;
    json!({"passes": passes, "fails": fails, "value": if all == 0 { 0.0 } else { passes as f64 / all as f64 }})
}

/// Failed requests as k6 counts them: not failed checks.
fn k6_failed(r: &RequestRecord) -> u64 {
    r.failed - r.errors.check
}

/// The k6 summary document of `s`; `vus` is (last, min, max).
pub fn export(s: &Summary, vus: (u64, u64, u64), vus_max: u64) -> Value {
    let secs = s.duration_s.max(1e-9);
    let o = &s.overall;
    let mut metrics = Map::new();
    let mut put = |k: String, v: Value| {
        metrics.insert(k, v);
    };
    put("http_reqs".into(), counter(o.requests, secs));
    put("http_req_duration".into(), trend(&o.latency_ms));
    put("http_req_waiting".into(), trend(&o.ttfb_ms));
    put("http_req_connecting".into(), trend(&o.connect_ms));
    put(
        "http_req_failed".into(),
        rate(k6_failed(o), o.requests - k6_failed(o)),
    );
    put("data_received".into(), counter(o.bytes_in, secs));
    put("data_sent".into(), counter(o.bytes_out, secs));
    put("iterations".into(), counter(s.iterations.completed, secs));
    put(
        "dropped_iterations".into(),
        counter(s.iterations.dropped, secs),
    );
    put(
        "iteration_duration".into(),
        trend(&s.iterations.duration_ms),
    );
    put(
        "vus".into(),
        json!({"value": vus.0, "min": vus.1, "max": vus.2}),
    );
    put(
        "vus_max".into(),
        json!({"value": vus_max, "min": vus_max, "max": vus_max}),
    );
    let (passes, fails) = s
        .checks
        .iter()
        .fold((0, 0), |(p, f), c| (p + c.passes, f + c.fails));
    if passes + fails > 0 {
        put("checks".into(), rate(passes, fails));
    }
    // k6's sub-metrics: one per request name.
    for r in &s.by_name {
        put(
            format!("http_req_duration{{name:{}}}", r.name),
            trend(&r.latency_ms),
        );
        put(
            format!("http_reqs{{name:{}}}", r.name),
            counter(r.requests, secs),
        );
        put(
            format!("http_req_failed{{name:{}}}", r.name),
            rate(k6_failed(r), r.requests - k6_failed(r)),
        );
    }
    // squall's own metrics, under their own names.
    put("http_req_service_time".into(), trend(&o.service_ms));
    put("http_req_ko".into(), rate(o.failed, o.requests - o.failed));
    for t in &s.thresholds {
        let m = metrics.entry(t.metric.clone()).or_insert_with(|| json!({}));
        if let Some(obj) = m.as_object_mut() {
            let th = obj.entry("thresholds").or_insert_with(|| json!({}));
            th[t.expr.as_str()] = json!(!t.passed);
        }
    }
    json!({
        "root_group": {"name": "", "path": "", "id": "d41d8cd98f00b204e9800998ecf8427e", "groups": {}, "checks": checks(s)},
        "options": {"summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)"], "summaryTimeUnit": "", "noColor": false},
        "state": {"isStdOutTTY": false, "isStdErrTTY": false, "testRunDurationMs": s.duration_s * 1000.0},
        "metrics": metrics,
    })
}

fn checks(s: &Summary) -> Value {
    let mut m = Map::new();
    for c in &s.checks {
        m.insert(
            c.name.clone(),
            json!({"name": c.name, "path": format!("::{}", c.name), "id": "", "passes": c.passes, "fails": c.fails}),
        );
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{CheckRecord, ThresholdOutcome};

    #[test]
    fn k6_shapes_and_failed_thresholds_are_true() {
        let mut s = Summary::new(&squall_metrics::Interval::new(&[], &[]), 0.0, 2.0);
        s.overall.requests = 10;
        s.overall.failed = 3;
        s.overall.errors.check = 1;
        s.overall.bytes_in = 500;
        s.checks.push(CheckRecord {
            name: "home: status == 200".into(),
            passes: 9,
            fails: 1,
        });
        s.thresholds.push(ThresholdOutcome {
            metric: "http_req_failed".into(),
            expr: "rate<0.1".into(),
            observed: 0.2,
            passed: false,
        });
        s.thresholds.push(ThresholdOutcome {
            metric: "http_req_duration".into(),
            expr: "p(95)<300".into(),
            observed: 1.0,
            passed: true,
        });
        let d = export(&s, (2, 0, 4), 8);
        let m = &d["metrics"];
        assert_eq!(m["http_reqs"]["count"], 10);
        assert_eq!(m["http_reqs"]["rate"], 5.0);
        assert_eq!(
            m["http_req_failed"]["passes"], 2,
            "the failed check is not counted"
        );
        assert_eq!(m["http_req_failed"]["value"], 0.2);
        assert_eq!(m["http_req_failed"]["thresholds"]["rate<0.1"], true);
        assert_eq!(m["http_req_duration"]["thresholds"]["p(95)<300"], false);
        assert_eq!(m["checks"]["value"], 0.9);
        assert_eq!(m["data_received"]["rate"], 250.0);
        assert_eq!(m["vus"]["max"], 4);
        assert_eq!(m["vus_max"]["value"], 8);
        assert!(
            m.get("http_req_blocked").is_none(),
            "not measured, not written"
        );
    }
}
