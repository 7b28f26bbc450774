//! Prometheus text exposition of a run in progress, following Prometheus'
//! conventions so its own tools work on it (`promtool check metrics` is
//! clean):
//!
//! - latency is a **histogram** with classic buckets for HTTP latencies,
//!   so generators' series can be summed and `histogram_quantile` works
//!   across a fleet (a summary's quantiles cannot be added);
//! - counters are cumulative since the start and each counts one thing
//!   (iterations started, completed, interrupted, dropped, late are separate
//!   counters, not overlapping values of one label), so `sum()` means
//!   something; rates are left to `rate()`;
//! - units in the names (`_seconds`, `_ratio`) and a `squall_build_info`.
//!
//! Written by hand: the format is small.

use std::fmt::Write;

use squall_http::prometheus::label_value as label;
use squall_metrics::{Interval, Snapshot};

/// Upper bounds (seconds) of the latency histogram's buckets.
pub const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn head(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

/// What a metrics endpoint shows while a run goes.
#[derive(Clone, Debug)]
pub struct LiveFigures {
    /// Everything measured so far.
    pub total: Interval,
    /// The last merged second.
    pub last: Option<Snapshot>,
    /// Put on every sample as `run_id`, so the runs one Prometheus scrapes
    /// one after another are told apart (counters restart with each run).
    pub run_id: String,
    /// The experiment's faults (`squall run`), each with whether it is in
    /// force now.
    pub faults: Vec<FaultGauge>,
}

/// One scheduled fault as the `squall_fault_active` gauge shows it.
#[derive(Clone, Debug)]
pub struct FaultGauge {
    /// The fault's name in the experiment.
    pub name: String,
    /// Its type.
    pub kind: String,
    /// What it acts on.
    pub target: String,
    /// Applied and not yet confirmed reverted.
    pub active: bool,
}

impl LiveFigures {
    /// Nothing measured yet.
    pub fn new(total: Interval, run_id: impl Into<String>) -> Self {
        LiveFigures {
            total,
            last: None,
            run_id: run_id.into(),
            faults: Vec::new(),
        }
    }

    /// The exposition text: the run's figures, the fault gauges, and the
    /// run id on every sample.
    pub fn render(&self) -> String {
        let mut o = render(&self.total, self.last.as_ref());
        if !self.faults.is_empty() {
            head(
                &mut o,
                "squall_fault_active",
                "gauge",
                "1 while the scheduled fault is applied (from the injector's confirmation to the confirmed revert), else 0.",
            );
            for f in &self.faults {
                let _ = writeln!(
                    o,
                    "squall_fault_active{{fault=\"{}\",type=\"{}\",target=\"{}\"}} {}",
                    label(&f.name),
                    label(&f.kind),
                    label(&f.target),
                    u8::from(f.active)
                );
            }
        }
        with_label(&o, "run_id", &self.run_id)
    }
}

/// `text` with `key="value"` added first to every sample's labels.
fn with_label(text: &str, key: &str, value: &str) -> String {
    let pair = format!("{key}=\"{}\"", label(value));
    let mut o = String::with_capacity(text.len() + text.lines().count() * (pair.len() + 3));
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            o.push_str(line);
        } else {
            let at = line.find(['{', ' ']).unwrap_or(line.len());
            let (name, rest) = line.split_at(at);
            o.push_str(name);
            match rest.strip_prefix('{') {
                Some(labels) if labels.starts_with('}') => {
                    let _ = write!(o, "{{{pair}{labels}");
                }
                Some(labels) => {
                    let _ = write!(o, "{{{pair},{labels}");
                }
                None => {
                    let _ = write!(o, "{{{pair}}}{rest}");
                }
            }
        }
        o.push('\n');
    }
    o
}

/// Renders the exposition text for the cumulative interval and the last second.
pub fn render(total: &Interval, last: Option<&Snapshot>) -> String {
    let mut o = String::new();
    head(
        &mut o,
        "squall_build_info",
        "gauge",
        "Squall's version; always 1.",
    );
    let _ = writeln!(
        o,
        "squall_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    head(
        &mut o,
        "squall_http_requests_total",
        "counter",
        "Requests finished, by request name.",
    );
    for r in &total.requests {
        let _ = writeln!(
            o,
            "squall_http_requests_total{{name=\"{}\"}} {}",
            label(&r.name),
            r.requests
        );
    }
    head(
        &mut o,
        "squall_http_errors_total",
        "counter",
        "Failed requests, by request name and kind (each failed request counts once).",
    );
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
    head(
        &mut o,
        "squall_http_request_duration_seconds",
        "histogram",
        "Latency from the intended start (coordinated-omission corrected).",
    );
    for r in &total.requests {
        let n = label(&r.name);
        for le in BUCKETS {
            let upto = r.latency.count_in(0, (le * 1e6) as u64 + 1);
            let _ = writeln!(
                o,
                "squall_http_request_duration_seconds_bucket{{name=\"{n}\",le=\"{le}\"}} {upto}"
            );
        }
        let count = r.latency.len();
        let _ = writeln!(
            o,
            "squall_http_request_duration_seconds_bucket{{name=\"{n}\",le=\"+Inf\"}} {count}"
        );
        let sum = r.latency.mean() * count as f64 / 1e6;
        let _ = writeln!(
            o,
            "squall_http_request_duration_seconds_sum{{name=\"{n}\"}} {sum}"
        );
        let _ = writeln!(
            o,
            "squall_http_request_duration_seconds_count{{name=\"{n}\"}} {count}"
        );
    }
    let it = &total.iterations;
    for (name, v, help) in [
        (
            "squall_iterations_started_total",
            it.started,
            "Iterations started.",
        ),
        (
            "squall_iterations_completed_total",
            it.completed,
            "Iterations that ran to their end.",
        ),
        (
            "squall_iterations_interrupted_total",
            it.interrupted,
            "Iterations cut short by the end of the run.",
        ),
        (
            "squall_iterations_dropped_total",
            it.dropped,
            "Iterations due but never started (open model).",
        ),
        (
            "squall_iterations_late_total",
            it.late,
            "Iterations started late (open model).",
        ),
    ] {
        head(&mut o, name, "counter", help);
        let _ = writeln!(o, "{name} {v}");
    }
    if let Some(s) = last {
        head(&mut o, "squall_vus", "gauge", "Busy virtual users.");
        let _ = writeln!(o, "squall_vus {}", s.vus);
        head(
            &mut o,
            "squall_in_flight_requests",
            "gauge",
            "Requests in flight.",
        );
        let _ = writeln!(o, "squall_in_flight_requests {}", s.in_flight);
        head(
            &mut o,
            "squall_generator_utilization_ratio",
            "gauge",
            "Busiest worker thread's CPU share over the last second.",
        );
        let _ = writeln!(o, "squall_generator_utilization_ratio {}", s.utilization);
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
        // 2 ms falls in the 2.5 ms bucket and every one above it.
        let n = "name=\"GET \\\"x\\\"\"";
        for (le, want) in [("0.001", 0), ("0.0025", 1), ("10", 1), ("+Inf", 1)] {
            let line =
                format!("squall_http_request_duration_seconds_bucket{{{n},le=\"{le}\"}} {want}");
            assert!(text.contains(&line), "{line} in {text}");
        }
        assert!(text.contains("squall_build_info{version="), "{text}");
    }

    #[test]
    fn every_sample_carries_the_run_id_and_faults_show_in_force() {
        let mut l = LiveFigures::new(Interval::new(&["a".to_string()], &[]), "r\"1");
        l.faults.push(FaultGauge {
            name: "slow db".into(),
            kind: "latency".into(),
            target: "db".into(),
            active: true,
        });
        let text = l.render();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.contains("{run_id=\"r\\\"1\""), "{line}");
        }
        assert!(text.contains(
            "squall_fault_active{run_id=\"r\\\"1\",fault=\"slow db\",type=\"latency\",target=\"db\"} 1"
        ), "{text}");
        assert!(
            text.contains("squall_iterations_started_total{run_id=\"r\\\"1\"} 0"),
            "{text}"
        );
    }
}
