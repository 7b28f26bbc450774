//! The system's own metrics, from a Prometheus server that scrapes it.
//!
//! Each query is sent to the server before the run starts (`/api/v1/query`):
//! one Prometheus refuses, or that gives a range vector, stops the run,
//! located at its field, so a goal on it cannot silently judge nothing.
//! After the run (and a wait for the last scrape) each query runs with
//! `/api/v1/query_range` over the warm-up and the main run; the series go
//! to `prometheus.json`, the report's charts and the `prometheus:NAME`
//! goals. No token is sent: the operator's squall token is not for
//! third-party servers.

use std::collections::BTreeMap;
use std::time::Duration;

use hyper::Method;
use squall_report::run_report::{QueryRecord, QuerySeries};

use crate::document::PrometheusSection;
use crate::inject::HttpClient;
use crate::problem::Problem;

/// Prometheus refuses a range with more points per series than this.
pub const MAX_POINTS: f64 = 11_000.0;

/// A Prometheus section ready to use.
#[derive(Clone, Debug)]
pub struct PreparedPrometheus {
    /// Base URL without a trailing slash.
    pub url: String,
    /// Resolution of the series.
    pub step: Duration,
    /// Wait after the run before querying.
    pub wait: Duration,
    /// The queries, in document order.
    pub queries: Vec<PreparedQuery>,
}

/// One named query.
#[derive(Clone, Debug)]
pub struct PreparedQuery {
    /// Name for goals and charts.
    pub name: String,
    /// PromQL.
    pub query: String,
    /// Unit for the chart.
    pub unit: Option<String>,
}

/// Checks the section's fields; `run_s` is the warm-up plus the main run,
/// to keep the series within what Prometheus answers.
pub fn prepare(s: &PrometheusSection, run_s: f64, errors: &mut Vec<Problem>) -> PreparedPrometheus {
    let url = s.url.trim_end_matches('/').to_string();
    if !url.starts_with("http://") {
        errors.push(Problem::at(
            "prometheus.url",
            format!(
                "{:?}: give the server's plain http:// address (https is not supported here)",
                s.url
            ),
        ));
    }
    let step = s.step.map(|d| d.get()).unwrap_or(Duration::from_secs(1));
    if step < Duration::from_millis(100) {
        errors.push(Problem::at("prometheus.step", "must be at least 100ms"));
    } else if run_s / step.as_secs_f64() > MAX_POINTS {
        errors.push(Problem::at(
            "prometheus.step",
            format!(
                "{} s of run at this step is more than the {MAX_POINTS} points per series Prometheus answers; make the step longer",
                run_s.round()
            ),
        ));
    }
    if s.queries.is_empty() {
        errors.push(Problem::at("prometheus.queries", "give at least one query"));
    }
    let mut queries: Vec<PreparedQuery> = Vec::new();
    for (i, q) in s.queries.iter().enumerate() {
        let valid = !q.name.is_empty()
            && q.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            errors.push(Problem::at(
                format!("prometheus.queries[{i}].name"),
                format!("{:?}: use letters, digits, `_`, `-` and `.`", q.name),
            ));
        } else if queries.iter().any(|o| o.name == q.name) {
            errors.push(Problem::at(
                format!("prometheus.queries[{i}].name"),
                format!("{:?} is used by another query", q.name),
            ));
        }
        if q.query.trim().is_empty() {
            errors.push(Problem::at(
                format!("prometheus.queries[{i}].query"),
                "empty",
            ));
        }
        queries.push(PreparedQuery {
            name: q.name.clone(),
            query: q.query.clone(),
            unit: q.unit.clone(),
        });
    }
    PreparedPrometheus {
        url,
        step,
        wait: s.wait.map(|d| d.get()).unwrap_or(Duration::from_secs(2)),
        queries,
    }
}

fn encode(pairs: &[(&str, &str)]) -> String {
    let mut f = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        f.append_pair(k, v);
    }
    f.finish()
}

/// Why a query got no data.
#[derive(Debug, thiserror::Error)]
enum PromError {
    /// No Prometheus answered (not there, not Prometheus).
    #[error("{0}")]
    NoServer(String),
    /// Prometheus answered and refused the query.
    #[error("Prometheus refused it ({status} {kind}): {message}")]
    Refused {
        status: u16,
        kind: String,
        message: String,
    },
}

/// Prometheus' answer: its data, or why there is none.
async fn get(c: &HttpClient, url: &str) -> Result<serde_json::Value, PromError> {
    let (status, text) =
        squall_http::client::call_as(c, Method::GET, url, None, Duration::from_secs(10), None)
            .await
            .map_err(|e| PromError::NoServer(e.to_string()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
        PromError::NoServer(format!(
            "answered {status} with something that is not Prometheus' JSON: {}",
            text.chars().take(120).collect::<String>()
        ))
    })?;
    if v["status"] == "success" {
        return Ok(v["data"].clone());
    }
    Err(PromError::Refused {
        status,
        kind: v["errorType"].as_str().unwrap_or("error").to_string(),
        message: v["error"].as_str().unwrap_or(&text).to_string(),
    })
}

/// Sends each query once before the run: problems (the server does not
/// answer, a query is refused or is a range vector) stop the run;
/// a query with no series now is a warning.
pub async fn check(p: &PreparedPrometheus, c: &HttpClient) -> (Vec<Problem>, Vec<String>) {
    let (mut problems, mut warnings) = (Vec::new(), Vec::new());
    for (i, q) in p.queries.iter().enumerate() {
        let url = format!(
            "{}/api/v1/query?{}",
            p.url,
            encode(&[("query", q.query.as_str())])
        );
        match get(c, &url).await {
            Err(e @ PromError::Refused { .. }) => problems.push(Problem::at(
                format!("prometheus.queries[{i}].query"),
                e.to_string(),
            )),
            Err(e @ PromError::NoServer(_)) => {
                problems.push(Problem::at("prometheus.url", e.to_string()));
                // The server is not there: the other queries would say the same.
                break;
            }
            Ok(data) => match data["resultType"].as_str() {
                Some("matrix") => problems.push(Problem::at(
                    format!("prometheus.queries[{i}].query"),
                    "a range vector cannot be drawn over time; wrap it in a function such as rate(...) or avg_over_time(...)",
                )),
                Some("string") => problems.push(Problem::at(
                    format!("prometheus.queries[{i}].query"),
                    "a string is not a series",
                )),
                Some("vector") if data["result"].as_array().is_none_or(Vec::is_empty) => {
                    warnings.push(format!(
                        "prometheus query {:?} ({}) has no series right now; goals on it have no data unless series appear during the run",
                        q.name, q.query
                    ))
                }
                _ => {}
            },
        }
    }
    (problems, warnings)
}

/// Runs every query over `[start, end]` (Unix seconds) at the step; times
/// in the records are relative to `zero` (the main run's start).
pub async fn query_range(
    p: &PreparedPrometheus,
    c: &HttpClient,
    start: f64,
    end: f64,
    zero: f64,
) -> Vec<QueryRecord> {
    let mut out = Vec::new();
    for q in &p.queries {
        let (s, e, st) = (
            format!("{start:.3}"),
            format!("{end:.3}"),
            format!("{}", p.step.as_secs_f64()),
        );
        let url = format!(
            "{}/api/v1/query_range?{}",
            p.url,
            encode(&[
                ("query", q.query.as_str()),
                ("start", &s),
                ("end", &e),
                ("step", &st)
            ])
        );
        let mut rec = QueryRecord {
            name: q.name.clone(),
            query: q.query.clone(),
            unit: q.unit.clone(),
            error: None,
            series: Vec::new(),
        };
        match get(c, &url).await {
            Ok(data) => rec.series = matrix(&data, zero),
            Err(e) => rec.error = Some(e.to_string()),
        }
        out.push(rec);
    }
    out
}

/// The series of a `matrix` answer; values come as strings, and NaN or
/// infinite ones (a rate over nothing) are left out.
fn matrix(data: &serde_json::Value, zero: f64) -> Vec<QuerySeries> {
    let Some(result) = data["result"].as_array() else {
        return Vec::new();
    };
    result
        .iter()
        .map(|s| {
            let labels: BTreeMap<String, String> = s["metric"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            let points = s["values"]
                .as_array()
                .map(|vs| {
                    vs.iter()
                        .filter_map(|pair| {
                            let t = pair[0].as_f64()?;
                            let v: f64 = pair[1].as_str()?.parse().ok()?;
                            v.is_finite()
                                .then_some(((t - zero) * 1000.0).round() / 1000.0)
                                .map(|t| (t, v))
                        })
                        .collect()
                })
                .unwrap_or_default();
            QuerySeries { labels, points }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_answer_becomes_series_relative_to_the_start() {
        let data = serde_json::json!({"resultType": "matrix", "result": [
            {"metric": {"job": "sim"}, "values": [[100.0, "1.5"], [101.0, "NaN"], [102.0, "+Inf"], [103.0, "2"]]},
            {"metric": {}, "values": [[99.5, "0"]]}
        ]});
        let s = matrix(&data, 100.0);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].labels["job"], "sim");
        assert_eq!(s[0].points, vec![(0.0, 1.5), (3.0, 2.0)]);
        assert_eq!(s[1].points, vec![(-0.5, 0.0)]);
        assert_eq!(s[1].label_text("cpu"), "cpu");
        assert_eq!(s[0].label_text("cpu"), "{job=\"sim\"}");
    }

    #[test]
    fn fields_are_checked_before_anything_is_sent() {
        let s: PrometheusSection = yaml_serde::from_str(
            "url: https://p:9090\nstep: 10ms\nqueries:\n  - {name: 'a b', query: up}\n  - {name: up, query: ' '}\n  - {name: up, query: up}\n",
        )
        .unwrap();
        let mut errors = Vec::new();
        prepare(&s, 60.0, &mut errors);
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        let joined = text.join("\n");
        for want in [
            "prometheus.url",
            "prometheus.step",
            "prometheus.queries[0].name",
            "prometheus.queries[1].query",
            "prometheus.queries[2].name",
        ] {
            assert!(joined.contains(want), "{want} in {joined}");
        }
        let s: PrometheusSection =
            yaml_serde::from_str("url: http://p:9090\nqueries: [{name: up, query: up}]\n").unwrap();
        let mut errors = Vec::new();
        prepare(&s, 12_000.0, &mut errors);
        assert_eq!(errors.len(), 1, "12,000 points at 1 s: {errors:?}");
    }
}
