//! A Grafana dashboard for one run, ready to import: InfluxQL panels over
//! the run's `metrics.influx` line-protocol file (measurement
//! `squall_http`), with the datasource as an import-time input and the
//! time range set to the run's own window.

use serde_json::{Value, json};

use crate::html::unix_ms_text;
use crate::run_report::RunReport;

fn iso(ms: u64) -> String {
    // "2026-11-23 02:52:46 UTC" -> "2026-11-23T02:52:46Z"
    unix_ms_text(ms).replace(' ', "T").replace("TUTC", "Z")
}

fn panel(id: u32, title: &str, unit: &str, fields: &[(&str, &str)], x: u32, y: u32) -> Value {
    let targets: Vec<Value> = fields
        .iter()
        .enumerate()
        .map(|(i, (field, alias))| {
            json!({
                "refId": char::from(b'A' + i as u8).to_string(),
                "datasource": {"type": "influxdb", "uid": "${DS_INFLUXDB}"},
                "rawQuery": true,
                "resultFormat": "time_series",
                "query": format!("SELECT mean(\"{field}\") AS \"{alias}\" FROM \"squall_http\" WHERE \"name\" = 'all' AND $timeFilter GROUP BY time(1s) fill(null)"),
            })
        })
        .collect();
    json!({
        "id": id,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "influxdb", "uid": "${DS_INFLUXDB}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": targets,
    })
}

/// The dashboard JSON for `r`.
pub fn dashboard(r: &RunReport) -> Value {
    // Points are stamped at the end of each second, a few ms after it;
    // the range is written in whole seconds, so it ends at the next whole
    // second after the run, plus one, to include the last point.
    let end = r.started_unix_ms + (r.duration_s * 1000.0).ceil() as u64;
    let end = end.div_ceil(1000) * 1000 + 1000;
    let faults: Vec<String> = r
        .faults
        .iter()
        .map(|f| {
            format!(
                "{} ({} on {}) {:.0}s-{:.0}s",
                f.name, f.kind, f.target, f.planned_start_s, f.planned_end_s
            )
        })
        .collect();
    json!({
        "__inputs": [{
            "name": "DS_INFLUXDB",
            "label": "InfluxDB",
            "description": "InfluxDB (InfluxQL) holding this run's metrics.influx",
            "type": "datasource",
            "pluginId": "influxdb",
            "pluginName": "InfluxDB",
        }],
        "title": format!("squall: {}", r.title),
        "uid": null,
        "tags": ["squall"],
        "timezone": "utc",
        "schemaVersion": 39,
        "editable": true,
        "time": {"from": iso(r.started_unix_ms), "to": iso(end.max(r.started_unix_ms + 1000))},
        "description": format!("Verdict: {}. Faults: {}", r.verdict, if faults.is_empty() { "none".into() } else { faults.join("; ") }),
        "panels": [
            panel(1, "Latency (from intended start)", "ms", &[("latency_p50_ms", "p50"), ("latency_p95_ms", "p95"), ("latency_p99_ms", "p99")], 0, 0),
            panel(2, "Throughput", "reqps", &[("requests", "requests/s")], 12, 0),
            panel(3, "Failed requests", "short", &[("failed", "failed/s")], 0, 8),
            panel(4, "Errors by kind", "short", &[("err_connect", "connect"), ("err_timeout", "timeout"), ("err_status", "status"), ("err_check", "check"), ("err_protocol", "protocol")], 12, 8),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_range_includes_the_last_second() {
        let r = RunReport {
            started_unix_ms: 1_700_000_000_400,
            duration_s: 10.004,
            ..Default::default()
        };
        let d = dashboard(&r);
        // The last point is stamped at 1_700_000_010_404 ms, i.e. 22:13:30.404 UTC.
        assert_eq!(d["time"]["from"], "2023-11-14T22:13:20Z");
        assert_eq!(d["time"]["to"], "2023-11-14T22:13:32Z");
    }
}
