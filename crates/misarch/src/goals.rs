//! MiSArch's goals: `{metric, threshold, color}` with one of the 27 labels
//! of Gatling's global statistics, as squall goals on the same figures.
//!
//! | label | squall metric and aggregate |
//! | --- | --- |
//! | percentage reqs with resp. time t < 800 ms | `http_req_duration{expected_response:true}` `share(<800ms)` |
//! | percentage reqs with resp. time 800 ms < t < 1200 ms | ... `share(800ms..1200ms)` |
//! | percentage reqs with resp. time t > 1200 ms | ... `share(>=1200ms)` |
//! | percentage failed requests, percentage mean requests/sec ko | `http_req_ko` `rate` |
//! | percentage mean requests/sec ok | `http_req_ko` `rate` (ok = 100 − failed) |
//! | min / mean / max response time [ok / ko] | `http_req_duration[{expected_response:...}]` `min` / `avg` / `max` |
//! | 50th / 75th / 95th / 99th percentile response time [ok / ko] | ... `p(50)` ... `p(99)` |
//!
//! The original treats every goal as an upper bound (violated when the
//! value exceeds the threshold), also for "higher is better" figures, so a
//! goal of 90 % of requests under 800 ms is violated by 95 %. Here those
//! two (`t < 800 ms` and `requests/sec ok`) are lower bounds. Automatic
//! goals (`steadyState`) are the steady-state run's values × `factor` for
//! times and × 1 for percentages, as in the original, with the same
//! directions.

use serde_json::{Value, json};

/// The 27 labels, in the original's order.
pub const LABELS: [&str; 27] = [
    "percentage reqs with resp. time t < 800 ms",
    "percentage reqs with resp. time 800 ms < t < 1200 ms",
    "percentage reqs with resp. time t > 1200 ms",
    "percentage failed requests",
    "percentage mean requests/sec ok",
    "percentage mean requests/sec ko",
    "min response time",
    "min response time ok",
    "min response time ko",
    "mean response time",
    "mean response time ok",
    "mean response time ko",
    "max response time",
    "max response time ok",
    "max response time ko",
    "50th percentile response time",
    "50th percentile response time ok",
    "50th percentile response time ko",
    "75th percentile response time",
    "75th percentile response time ok",
    "75th percentile response time ko",
    "95th percentile response time",
    "95th percentile response time ok",
    "95th percentile response time ko",
    "99th percentile response time",
    "99th percentile response time ok",
    "99th percentile response time ko",
];

/// How a label reads in squall.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// Metric key with its tags.
    pub metric: String,
    /// Aggregate (`p(95)`, `share(<800ms)`, `rate`).
    pub agg: String,
    /// Percent (0..100) rather than milliseconds.
    pub percent: bool,
    /// Higher is better (a lower bound).
    pub higher_is_better: bool,
    /// The threshold is of the ok share, checked on the failed share.
    pub complement: bool,
}

/// The squall figure of a MiSArch label.
pub fn figure(label: &str) -> Option<Figure> {
    let ok = "http_req_duration{expected_response:true}";
    let pct = |metric: &str, agg: &str, higher: bool, complement: bool| Figure {
        metric: metric.into(),
        agg: agg.into(),
        percent: true,
        higher_is_better: higher,
        complement,
    };
    Some(match label {
        "percentage reqs with resp. time t < 800 ms" => pct(ok, "share(<800ms)", true, false),
        "percentage reqs with resp. time 800 ms < t < 1200 ms" => {
            pct(ok, "share(800ms..1200ms)", false, false)
        }
        "percentage reqs with resp. time t > 1200 ms" => pct(ok, "share(>=1200ms)", false, false),
        "percentage failed requests" | "percentage mean requests/sec ko" => {
            pct("http_req_ko", "rate", false, false)
        }
        "percentage mean requests/sec ok" => pct("http_req_ko", "rate", true, true),
        _ => {
            let (base, tag) = match label.rsplit_once(' ') {
                Some((b, "ok")) => (b, Some(true)),
                Some((b, "ko")) => (b, Some(false)),
                _ => (label, None),
            };
            let agg = match base {
                "min response time" => "min",
                "mean response time" => "avg",
                "max response time" => "max",
                "50th percentile response time" => "p(50)",
                "75th percentile response time" => "p(75)",
                "95th percentile response time" => "p(95)",
                "99th percentile response time" => "p(99)",
                _ => return None,
            };
            Figure {
                metric: match tag {
                    None => "http_req_duration".into(),
                    Some(t) => format!("http_req_duration{{expected_response:{t}}}"),
                },
                agg: agg.into(),
                percent: false,
                higher_is_better: false,
                complement: false,
            }
        }
    })
}

/// MiSArch's goals (`config.goals`) as squall goals; empty thresholds are
/// skipped with a warning (the frontend starts new goals empty).
pub fn manual(goals: &Value, warnings: &mut Vec<String>) -> Result<Vec<Value>, Vec<String>> {
    let Some(list) = goals.as_array() else {
        return Err(vec!["config.goals: must be a list".into()]);
    };
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (i, g) in list.iter().enumerate() {
        let at = format!("config.goals[{i}]");
        let label = g.get("metric").and_then(Value::as_str).unwrap_or("");
        let Some(f) = figure(label) else {
            errors.push(format!(
                "{at}.metric: {label:?} is not one of MiSArch's 27 goal metrics"
            ));
            continue;
        };
        let raw = match g.get("threshold") {
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        if raw.is_empty() {
            warnings.push(format!("{at}: {label:?} has no threshold; not checked"));
            continue;
        }
        let Some(t) = raw
            .parse::<f64>()
            .ok()
            .filter(|t| t.is_finite() && *t >= 0.0)
        else {
            errors.push(format!("{at}.threshold: {raw:?} is not a number"));
            continue;
        };
        if f.percent && t > 100.0 {
            errors.push(format!("{at}.threshold: {t} is a percentage (0..100)"));
            continue;
        }
        if out.iter().any(|o: &Value| o["name"] == label) {
            errors.push(format!("{at}.metric: {label:?} has a goal already"));
            continue;
        }
        let (op, bound) = match (f.percent, f.complement, f.higher_is_better) {
            (true, true, _) => ("<=", format!("{}%", 100.0 - t)),
            (true, false, true) => (">=", format!("{t}%")),
            (true, false, false) => ("<=", format!("{t}%")),
            (false, _, _) => ("<=", format!("{t}ms")),
        };
        out.push(json!({"name": label, "metric": f.metric, "condition": format!("{}{op}{bound}", f.agg)}));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Every label as a goal relative to the steady-state baseline: times ×
/// `factor`, percentages × 1.
pub fn automatic(factor: f64) -> Vec<Value> {
    LABELS
        .iter()
        .map(|label| {
            let f = figure(label).expect("every label has a figure");
            let k = if f.percent { 1.0 } else { factor };
            let op = if f.higher_is_better && !f.complement { ">=" } else { "<=" };
            json!({"name": label, "metric": f.metric, "condition": format!("{}{op}{k}*baseline", f.agg)})
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_has_a_figure_and_thresholds_become_conditions() {
        for l in LABELS {
            assert!(figure(l).is_some(), "{l}");
        }
        let mut w = Vec::new();
        let g = manual(
            &json!([
                {"metric": "max response time", "threshold": "2000", "color": "red"},
                {"metric": "percentage reqs with resp. time t < 800 ms", "threshold": "90", "color": "#000000"},
                {"metric": "percentage mean requests/sec ok", "threshold": "99", "color": "green"},
                {"metric": "95th percentile response time ko", "threshold": "", "color": "blue"}
            ]),
            &mut w,
        )
        .unwrap();
        assert_eq!(
            g[0],
            json!({"name": "max response time", "metric": "http_req_duration", "condition": "max<=2000ms"})
        );
        assert_eq!(
            g[1]["condition"], "share(<800ms)>=90%",
            "higher is better: a lower bound"
        );
        assert_eq!(g[1]["metric"], "http_req_duration{expected_response:true}");
        assert_eq!(
            g[2],
            json!({"name": "percentage mean requests/sec ok", "metric": "http_req_ko", "condition": "rate<=1%"})
        );
        assert_eq!(g.len(), 3);
        assert!(w[0].contains("no threshold"));
        let e = manual(&json!([{"metric": "max latency", "threshold": "1"}, {"metric": "percentage failed requests", "threshold": "150"}]), &mut w).unwrap_err();
        assert_eq!(e.len(), 2);
        let auto = automatic(1.5);
        assert_eq!(auto.len(), 27);
        assert_eq!(auto[12]["condition"], "max<=1.5*baseline");
        assert_eq!(auto[0]["condition"], "share(<800ms)>=1*baseline");
    }
}
