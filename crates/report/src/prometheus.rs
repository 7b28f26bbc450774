//! Prometheus text exposition of a run in progress.
//!
//! Counters are cumulative since the start; latency is exposed as a summary
//! with exact HDR quantiles over the whole run, plus gauges for the last
//! second. Written by hand: the format is small and this keeps HDR quantiles
//! exact instead of re-bucketing them.

use std::fmt::Write;

use squall_http::prometheus::label_value as label;
use squall_metrics::{Interval, Snapshot};

/// Renders the exposition text for the cumulative interval and the last second.
pub fn render(total: &Interval, last: Option<&Snapshot>) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# HELP squall_http_requests_total Requests finished, by request name."
    );
    let _ = writeln!(o, "# TYPE squall_http_requests_total counter");
    for r in &total.requests {
        let _ = writeln!(
            o,
            "squall_http_requests_total{{name=\"{}\"}} {}",
            label(&r.name),
            r.requests
        );
    }
    let _ = writeln!(
        o,
        "# HELP squall_http_errors_total Failed requests, by request name and kind."
    );
    let _ = writeln!(o, "# TYPE squall_http_errors_total counter");
    for r in &total.requests {
        for k in squall_metrics::ErrorKind::ALL {
            let _ = writeln!(
                o,
                "squall_http_errors_total{{name=\"{}\",kind=\"{}\"}} {}",
                label(&r.name),
                k,
                r.errors[k.index()]
            );
        }
    }
    let _ = writeln!(
        o,
        "# HELP squall_http_latency_seconds Latency from intended start (coordinated-omission corrected)."
    );
    let _ = writeln!(o, "# TYPE squall_http_latency_seconds summary");
    for r in &total.requests {
        let n = label(&r.name);
        for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
            let v = r.latency.percentile(q * 100.0) as f64 / 1e6;
            let _ = writeln!(
                o,
                "squall_http_latency_seconds{{name=\"{n}\",quantile=\"{q}\"}} {v}"
            );
        }
        let sum = r.latency.mean() * r.latency.len() as f64 / 1e6;
        let _ = writeln!(o, "squall_http_latency_seconds_sum{{name=\"{n}\"}} {sum}");
        let _ = writeln!(
            o,
            "squall_http_latency_seconds_count{{name=\"{n}\"}} {}",
            r.latency.len()
        );
    }
    let it = &total.iterations;
    let _ = writeln!(o, "# HELP squall_iterations_total Iterations by outcome.");
    let _ = writeln!(o, "# TYPE squall_iterations_total counter");
    for (k, v) in [
        ("started", it.started),
        ("completed", it.completed),
        ("interrupted", it.interrupted),
        ("late", it.late),
        ("dropped", it.dropped),
    ] {
        let _ = writeln!(o, "squall_iterations_total{{outcome=\"{k}\"}} {v}");
    }
    if let Some(s) = last {
        let _ = writeln!(o, "# HELP squall_vus Busy virtual users.");
        let _ = writeln!(o, "# TYPE squall_vus gauge");
        let _ = writeln!(o, "squall_vus {}", s.vus);
        let _ = writeln!(o, "# HELP squall_in_flight Requests in flight.");
        let _ = writeln!(o, "# TYPE squall_in_flight gauge");
        let _ = writeln!(o, "squall_in_flight {}", s.in_flight);
        let _ = writeln!(
            o,
            "# HELP squall_generator_utilization Busiest worker thread's CPU share over the last second."
        );
        let _ = writeln!(o, "# TYPE squall_generator_utilization gauge");
        let _ = writeln!(o, "squall_generator_utilization {}", s.utilization);
        let _ = writeln!(
            o,
            "# HELP squall_http_request_rate Requests per second over the last second."
        );
        let _ = writeln!(o, "# TYPE squall_http_request_rate gauge");
        let _ = writeln!(o, "squall_http_request_rate {}", s.request_rate());
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_counters_and_quantiles() {
        let mut i = Interval::new(&["GET \"x\"".to_string()], &[]);
        i.requests[0].requests = 3;
        i.requests[0].latency.record_us(2000);
        let text = render(&i, None);
        assert!(
            text.contains("squall_http_requests_total{name=\"GET \\\"x\\\"\"} 3"),
            "{text}"
        );
        assert!(
            text.contains(
                "squall_http_latency_seconds{name=\"GET \\\"x\\\"\",quantile=\"0.99\"} 0.002"
            ),
            "{text}"
        );
    }
}
