//! A Grafana dashboard for one run: what the HTML report shows, over the
//! run's `metrics.influx` loaded into an InfluxDB (InfluxQL) database.
//!
//! - Fault windows are region annotations read from the `squall_faults`
//!   measurement, which the run appends to `metrics.influx` once it knows
//!   when each fault was really applied and reverted ([`fault_lines`]).
//! - Goal bounds are thresholds (dashed lines) on the panels of their metric.
//! - Latency percentiles, throughput, errors, a panel per request name
//!   (repeated over the `name` variable), the generator's utilization, and
//!   the experiment's Prometheus queries when it has any.
//! - `datasource` (and `prometheus`) are datasource variables, so the same
//!   JSON works imported by hand and mounted by provisioning; `__requires`
//!   names what it needs.
//! - A collapsed row repeats the main panels shifted by `$shift`, the
//!   offset to an earlier run of the same experiment (as the MiSArch
//!   executor compares runs): both runs side by side on one time axis.

use serde_json::{Value, json};

use crate::html::unix_ms_text;
use crate::influx::escape_tag;
use crate::run_report::RunReport;

/// What the dashboard needs besides the report.
#[derive(Clone, Debug, Default)]
pub struct DashboardContext {
    /// The run's id (its directory's name), for the uid and title.
    pub run_id: String,
    /// The workload's request names, one panel each.
    pub request_names: Vec<String>,
    /// Earlier runs of the same experiment: id and start (ms since the
    /// epoch), most recent first.
    pub earlier: Vec<(String, u64)>,
}

fn iso(ms: u64) -> String {
    // "2026-11-23 02:52:46 UTC" -> "2026-11-23T02:52:46Z"
    unix_ms_text(ms).replace(' ', "T").replace("TUTC", "Z")
}

const INFLUX: &str = "${datasource}";
const PROMETHEUS: &str = "${prometheus}";

fn influx_ds() -> Value {
    json!({"type": "influxdb", "uid": INFLUX})
}

/// One InfluxQL target.
fn target(ref_id: usize, select: &str, alias: &str, from: &str, filter: &str) -> Value {
    json!({
        "refId": char::from(b'A' + ref_id as u8).to_string(),
        "datasource": influx_ds(),
        "rawQuery": true,
        "resultFormat": "time_series",
        "alias": alias,
        "query": format!("SELECT {select} AS \"{alias}\" FROM \"{from}\" WHERE {filter}$timeFilter GROUP BY time(1s) fill(null)"),
    })
}

/// A time series panel; `bounds` become dashed threshold lines.
fn panel(
    title: &str,
    unit: &str,
    targets: Vec<Value>,
    bounds: &[f64],
    grid: (u32, u32, u32),
) -> Value {
    let mut steps = vec![json!({"color": "green", "value": null})];
    let mut sorted = bounds.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    steps.extend(sorted.iter().map(|b| json!({"color": "red", "value": b})));
    json!({
        "type": "timeseries",
        "title": title,
        "datasource": targets.first().map_or_else(influx_ds, |t| t["datasource"].clone()),
        "gridPos": {"h": 8, "w": grid.2, "x": grid.0, "y": grid.1},
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "custom": {
                    "spanNulls": false,
                    "thresholdsStyle": {"mode": if bounds.is_empty() { "off" } else { "dashed" }},
                },
                "thresholds": {"mode": "absolute", "steps": steps},
            },
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": true}, "tooltip": {"mode": "multi", "sort": "none"}},
        "targets": targets,
    })
}

/// Goal bounds for one metric, in the panel's unit: latency goals are in
/// ms, error rates a share; only goals on all requests (no `{...}` filter).
fn bounds(r: &RunReport, metric: &str) -> Vec<f64> {
    r.goals
        .iter()
        .filter(|g| {
            let m = g.condition.split_whitespace().next().unwrap_or("");
            m == metric && !g.condition.contains('{')
        })
        .map(|g| g.bound)
        .filter(|b| b.is_finite())
        .collect()
}

fn row(title: &str, y: u32, collapsed: bool, panels: Vec<Value>) -> Value {
    let mut row = json!({
        "type": "row",
        "title": title,
        "collapsed": collapsed,
        "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
        "panels": [],
    });
    if collapsed {
        row["panels"] = Value::Array(panels);
    }
    row
}

/// The main panels of the run (latency, throughput, errors, generator), at `y`.
fn main_panels(r: &RunReport, y: u32) -> Vec<Value> {
    let all = "\"name\" = 'all' AND ";
    let mut panels = vec![
        panel(
            "Latency (from intended start)",
            "ms",
            vec![
                target(0, "mean(\"latency_p50_ms\")", "p50", "squall_http", all),
                target(1, "mean(\"latency_p95_ms\")", "p95", "squall_http", all),
                target(2, "mean(\"latency_p99_ms\")", "p99", "squall_http", all),
            ],
            &bounds(r, "http_req_duration"),
            (0, y, 12),
        ),
        panel(
            "Throughput",
            "reqps",
            vec![target(
                0,
                "sum(\"requests\")",
                "requests/s",
                "squall_http",
                all,
            )],
            &[],
            (12, y, 12),
        ),
        panel(
            "Error rate",
            "percentunit",
            vec![target(
                0,
                "sum(\"failed\") / sum(\"requests\")",
                "failed share",
                "squall_http",
                all,
            )],
            &[bounds(r, "http_req_failed"), bounds(r, "http_req_ko")].concat(),
            (0, y + 8, 12),
        ),
        panel(
            "Errors by kind",
            "short",
            vec![
                target(0, "sum(\"err_connect\")", "connect", "squall_http", all),
                target(1, "sum(\"err_timeout\")", "timeout", "squall_http", all),
                target(2, "sum(\"err_status\")", "status", "squall_http", all),
                target(3, "sum(\"err_check\")", "check", "squall_http", all),
                target(4, "sum(\"err_protocol\")", "protocol", "squall_http", all),
            ],
            &[],
            (12, y + 8, 12),
        ),
        panel(
            "Generator utilization (busiest worker)",
            "percentunit",
            vec![target(
                0,
                "mean(\"utilization\")",
                "utilization",
                "squall_generator",
                "",
            )],
            &[],
            (0, y + 16, 12),
        ),
        panel(
            "Virtual users, in flight, late and dropped iterations",
            "short",
            vec![
                target(0, "mean(\"vus\")", "vus", "squall_generator", ""),
                target(
                    1,
                    "mean(\"in_flight\")",
                    "in flight",
                    "squall_generator",
                    "",
                ),
                target(
                    2,
                    "sum(\"iterations_late\")",
                    "late",
                    "squall_generator",
                    "",
                ),
                target(
                    3,
                    "sum(\"iterations_dropped\")",
                    "dropped",
                    "squall_generator",
                    "",
                ),
            ],
            &[],
            (12, y + 16, 12),
        ),
    ];
    panels[2]["description"] = json!(
        "Failed requests over requests, failed checks included (squall's error rate, \
         http_req_ko). A bound of an http_req_failed goal (k6's meaning: without failed \
         checks) is drawn on it too."
    );
    panels
}

/// The dashboard JSON for `r`.
pub fn dashboard(r: &RunReport, ctx: &DashboardContext) -> Value {
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
    let mut panels = vec![row("The run", 0, false, Vec::new())];
    panels.extend(main_panels(r, 1));
    let mut y = 25;
    if !ctx.request_names.is_empty() {
        panels.push(row("Request $name", y, false, Vec::new()));
        let by_name = "\"name\" =~ /^$name$/ AND ";
        let mut p = panel(
            "$name: latency and throughput",
            "ms",
            vec![
                target(
                    0,
                    "mean(\"latency_p95_ms\")",
                    "p95 ms",
                    "squall_http",
                    by_name,
                ),
                target(
                    1,
                    "mean(\"latency_p99_ms\")",
                    "p99 ms",
                    "squall_http",
                    by_name,
                ),
                target(2, "sum(\"requests\")", "requests/s", "squall_http", by_name),
                target(3, "sum(\"failed\")", "failed/s", "squall_http", by_name),
            ],
            &[],
            (0, y + 1, 12),
        );
        p["repeat"] = json!("name");
        p["repeatDirection"] = json!("h");
        p["maxPerRow"] = json!(2);
        // Counts on a right axis of their own.
        p["fieldConfig"]["overrides"] = json!([{
            "matcher": {"id": "byRegexp", "options": "requests/s|failed/s"},
            "properties": [{"id": "unit", "value": "reqps"}, {"id": "custom.axisPlacement", "value": "right"}],
        }]);
        panels.push(p);
        y += 9;
    }
    if !r.prometheus.is_empty() {
        panels.push(row("The system (Prometheus)", y, false, Vec::new()));
        y += 1;
        for (i, q) in r.prometheus.iter().enumerate() {
            let metric = format!("prometheus:{}", q.name);
            let mut p = panel(
                &format!("{} ({})", q.name, q.query),
                q.unit.as_deref().map_or("short", grafana_unit),
                vec![json!({
                    "refId": "A",
                    "datasource": {"type": "prometheus", "uid": PROMETHEUS},
                    "expr": q.query,
                    "legendFormat": "__auto",
                    "range": true,
                })],
                &bounds(r, &metric),
                ((i as u32 % 2) * 12, y + (i as u32 / 2) * 8, 12),
            );
            p["interval"] = json!("1s");
            panels.push(p);
        }
        y += r.prometheus.len().div_ceil(2) as u32 * 8;
    }
    if !ctx.earlier.is_empty() {
        // Grafana's panel time shift moves the whole query window back by
        // `$shift`: the earlier run's seconds line up with this one's.
        let twins: Vec<Value> = main_panels(r, y + 1)
            .into_iter()
            .map(|mut p| {
                p["timeShift"] = json!("$shift");
                let t = p["title"].as_str().unwrap_or_default().to_string();
                p["title"] = json!(format!("{t}, earlier run"));
                p
            })
            .collect();
        panels.push(row(
            "Compared with an earlier run (shifted by $shift)",
            y,
            true,
            twins,
        ));
    }
    for (i, p) in panels.iter_mut().enumerate() {
        p["id"] = json!(i + 1);
        if let Some(children) = p["panels"].as_array_mut() {
            for (j, c) in children.iter_mut().enumerate() {
                c["id"] = json!(100 + j);
            }
        }
    }
    let datasource = |name: &str, label: &str, plugin: &str| {
        json!({
            "name": name,
            "label": label,
            "type": "datasource",
            "query": plugin,
            "current": {},
            "hide": 0,
            "refresh": 1,
            "options": [],
        })
    };
    let mut variables = vec![datasource("datasource", "InfluxDB", "influxdb")];
    if !r.prometheus.is_empty() {
        variables.push(datasource("prometheus", "Prometheus", "prometheus"));
    }
    if !ctx.request_names.is_empty() {
        let options: Vec<Value> = ctx
            .request_names
            .iter()
            .map(|n| json!({"text": n, "value": n, "selected": true}))
            .collect();
        variables.push(json!({
            "name": "name",
            "label": "Request",
            "type": "custom",
            "query": ctx.request_names.iter().map(|n| n.replace(',', "\\,")).collect::<Vec<_>>().join(","),
            "multi": true,
            "includeAll": true,
            "current": {"text": ["All"], "value": ["$__all"]},
            "options": options,
            "hide": 0,
        }));
    }
    if let Some((first_id, first)) = ctx.earlier.first() {
        let shift = |ms: &u64| format!("{}s", r.started_unix_ms.saturating_sub(*ms) / 1000);
        let options: Vec<Value> = ctx
            .earlier
            .iter()
            .enumerate()
            .map(|(i, (id, ms))| json!({"text": format!("{id} ({} earlier)", shift(ms)), "value": shift(ms), "selected": i == 0}))
            .collect();
        variables.push(json!({
            "name": "shift",
            "label": "Earlier run",
            "type": "custom",
            "query": ctx.earlier.iter().map(|(_, ms)| shift(ms)).collect::<Vec<_>>().join(","),
            "current": {"text": format!("{first_id} ({} earlier)", shift(first)), "value": shift(first)},
            "options": options,
            "hide": 0,
        }));
    }
    let mut requires = vec![
        json!({"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"}),
        json!({"type": "datasource", "id": "influxdb", "name": "InfluxDB", "version": "1.0.0"}),
        json!({"type": "panel", "id": "timeseries", "name": "Time series", "version": ""}),
    ];
    if !r.prometheus.is_empty() {
        requires.push(json!({"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"}));
    }
    json!({
        "__requires": requires,
        "title": format!("squall: {} ({})", r.title, if ctx.run_id.is_empty() { iso(r.started_unix_ms) } else { ctx.run_id.clone() }),
        "uid": uid(&ctx.run_id),
        "tags": ["squall", r.verdict.clone()],
        "timezone": "utc",
        "schemaVersion": 39,
        "editable": true,
        "graphTooltip": 1,
        "time": {"from": iso(r.started_unix_ms), "to": iso(end.max(r.started_unix_ms + 1000))},
        "description": format!("Verdict: {}. Faults: {}", r.verdict, if faults.is_empty() { "none".into() } else { faults.join("; ") }),
        "annotations": {"list": [
            {
                "builtIn": 1,
                "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                "enable": true,
                "hide": true,
                "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts",
                "type": "dashboard",
            },
            {
                "name": "Faults",
                "datasource": influx_ds(),
                "enable": true,
                "hide": false,
                "iconColor": "rgba(244, 180, 0, 0.35)",
                "query": FAULT_QUERY,
                "target": {"query": FAULT_QUERY, "rawQuery": true, "resultFormat": "table", "refId": "Anno"},
                "titleColumn": "title",
                "textColumn": "text",
                "tagsColumn": "type",
                "mappings": {
                    "title": {"source": "field", "value": "title"},
                    "text": {"source": "field", "value": "text"},
                    "timeEnd": {"source": "field", "value": "end_ms"},
                    "tags": {"source": "field", "value": "type"},
                },
            },
        ]},
        "templating": {"list": variables},
        "panels": panels,
    })
}

/// The annotation query: each applied fault, from injection to revert.
pub const FAULT_QUERY: &str =
    "SELECT \"title\", \"text\", \"type\", \"end_ms\" FROM \"squall_faults\" WHERE $timeFilter";

/// Grafana's unit id for a unit written in an experiment.
fn grafana_unit(u: &str) -> &str {
    match u {
        "bytes" => "bytes",
        "seconds" | "s" => "s",
        "ms" => "ms",
        "percent" => "percent",
        "ratio" | "share" => "percentunit",
        "cores" | "" => "short",
        "reqps" | "requests/s" => "reqps",
        other => other,
    }
}

/// A uid Grafana accepts (≤ 40 characters of letters, digits, `-`, `_`).
fn uid(run_id: &str) -> Value {
    if run_id.is_empty() {
        return Value::Null;
    }
    let clean: String = run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let tail: String = clean
        .chars()
        .rev()
        .take(34)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    json!(format!("squall{tail}"))
}

/// The run's applied faults as InfluxDB line protocol (`squall_faults`,
/// stamped at the injection, `end_ms` the confirmed revert or the planned
/// end), for the dashboard's annotation query. Faults that were not
/// applied have no window and no line.
pub fn fault_lines(r: &RunReport) -> Vec<String> {
    r.faults
        .iter()
        .filter_map(|f| {
            let start = f.injected_s?;
            let end = f.reverted_s.unwrap_or(f.planned_end_s);
            let at_ms = |s: f64| r.started_unix_ms as i64 + (s * 1000.0).round() as i64;
            let text = format!("{} on {}", f.kind, f.target);
            Some(format!(
                "squall_faults,fault={} title=\"{}\",text=\"{}\",type=\"{}\",end_ms={}i {}",
                escape_tag(&f.name),
                field(&f.name),
                field(&text),
                field(&f.kind),
                at_ms(end),
                at_ms(start) as i128 * 1_000_000
            ))
        })
        .collect()
}

/// A string field value escaped for line protocol.
fn field(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', " ")
}

/// The files of a provisioning directory a stock Grafana mounts: the
/// datasources (InfluxDB database `squall` at `influx_url`, and Prometheus
/// when given) and a dashboard provider reading `dashboards` (an absolute
/// path: a container mounts the directory at the same path).
pub fn provisioning(
    influx_url: &str,
    prometheus_url: Option<&str>,
    dashboards: &std::path::Path,
) -> Vec<(&'static str, String)> {
    let mut ds = format!(
        "# Written by squall. Load a run's metrics with:\n\
         #   curl -XPOST '{influx_url}/query' --data-urlencode 'q=CREATE DATABASE squall'\n\
         #   curl -XPOST '{influx_url}/write?db=squall&precision=ns' --data-binary @runs/RUN/metrics.influx\n\
         apiVersion: 1\n\
         datasources:\n\
         \x20 - name: squall-influxdb\n\
         \x20   uid: squall-influxdb\n\
         \x20   type: influxdb\n\
         \x20   access: proxy\n\
         \x20   url: {influx_url}\n\
         \x20   isDefault: true\n\
         \x20   jsonData:\n\
         \x20     dbName: squall\n\
         \x20     httpMode: POST\n"
    );
    if let Some(p) = prometheus_url {
        ds.push_str(&format!(
            "  - name: squall-prometheus\n    uid: squall-prometheus\n    type: prometheus\n    access: proxy\n    url: {p}\n"
        ));
    }
    vec![
        ("provisioning/datasources/squall.yaml", ds),
        (
            "provisioning/dashboards/squall.yaml",
            format!(
                "# Written by squall: every run's dashboard, from the dashboards directory.\n\
                 apiVersion: 1\n\
                 providers:\n\
                 \x20 - name: squall\n\
                 \x20   folder: squall\n\
                 \x20   type: file\n\
                 \x20   disableDeletion: false\n\
                 \x20   updateIntervalSeconds: 10\n\
                 \x20   allowUiUpdates: true\n\
                 \x20   options:\n\
                 \x20     path: {}\n",
                serde_json::to_string(&dashboards.display().to_string()).expect("a string")
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_report::{FaultRecord, GoalRecord};

    #[test]
    fn the_time_range_includes_the_last_second() {
        let r = RunReport {
            started_unix_ms: 1_700_000_000_400,
            duration_s: 10.004,
            ..Default::default()
        };
        let d = dashboard(&r, &DashboardContext::default());
        // The last point is stamped at 1_700_000_010_404 ms, i.e. 22:13:30.404 UTC.
        assert_eq!(d["time"]["from"], "2023-11-14T22:13:20Z");
        assert_eq!(d["time"]["to"], "2023-11-14T22:13:32Z");
    }

    #[test]
    fn goals_are_thresholds_and_faults_are_annotation_lines() {
        let r = RunReport {
            started_unix_ms: 1_700_000_000_000,
            duration_s: 10.0,
            goals: vec![
                GoalRecord {
                    condition: "http_req_duration p(95)<300ms".into(),
                    bound: 300.0,
                    ..Default::default()
                },
                GoalRecord {
                    condition: "http_req_duration{name:a} p(95)<100ms".into(),
                    bound: 100.0,
                    ..Default::default()
                },
            ],
            faults: vec![
                FaultRecord {
                    name: "slow \"db\"".into(),
                    kind: "latency".into(),
                    target: "db".into(),
                    injected_s: Some(2.0),
                    reverted_s: Some(5.5),
                    ..Default::default()
                },
                FaultRecord {
                    name: "never".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let d = dashboard(&r, &DashboardContext::default());
        let steps = &d["panels"][1]["fieldConfig"]["defaults"]["thresholds"]["steps"];
        assert_eq!(steps.as_array().unwrap().len(), 2, "{steps}");
        assert_eq!(steps[1]["value"], 300.0);
        let lines = fault_lines(&r);
        assert_eq!(
            lines,
            vec![
                "squall_faults,fault=slow\\ \"db\" title=\"slow \\\"db\\\"\",text=\"latency on db\",type=\"latency\",end_ms=1700000005500i 1700000002000000000"
            ]
        );
    }

    #[test]
    fn an_earlier_run_gives_the_shift_and_a_row_of_twins() {
        let r = RunReport {
            started_unix_ms: 1_700_000_600_000,
            ..Default::default()
        };
        let ctx = DashboardContext {
            run_id: "t-20231114-221320".into(),
            request_names: vec!["home".into()],
            earlier: vec![("t-1".into(), 1_700_000_000_000)],
        };
        let d = dashboard(&r, &ctx);
        let shift = d["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "shift")
            .unwrap();
        assert_eq!(shift["current"]["value"], "600s");
        let last = d["panels"].as_array().unwrap().last().unwrap();
        assert_eq!(last["type"], "row");
        assert_eq!(last["panels"][0]["timeShift"], "$shift");
        assert_eq!(d["uid"], "squallt-20231114-221320");
    }
}
