//! The end-of-run summary table.

use std::fmt::Write;

use squall_report::Summary;
use squall_report::record_types::RequestRecord;

fn ms(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}s", v / 1000.0)
    } else if v >= 1.0 {
        format!("{v:.2}ms")
    } else {
        format!("{:.0}us", v * 1000.0)
    }
}

fn row(o: &mut String, label: &str, r: &RequestRecord, duration_s: f64, service: bool) {
    let p = if service {
        &r.service_ms
    } else {
        &r.latency_ms
    };
    let rate = if duration_s > 0.0 {
        r.requests as f64 / duration_s
    } else {
        0.0
    };
    let failed = if r.requests == 0 {
        0.0
    } else {
        r.failed as f64 * 100.0 / r.requests as f64
    };
    let (count, rate, failed) = if service {
        (String::new(), String::new(), String::new())
    } else {
        (
            r.requests.to_string(),
            format!("{rate:.1}"),
            format!("{failed:.2}%"),
        )
    };
    let _ = writeln!(
        o,
        "  {label:<28} {count:>10} {rate:>10} {failed:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        ms(p.p50),
        ms(p.p90),
        ms(p.p95),
        ms(p.p99),
        ms(p.p999),
        ms(p.max)
    );
}

fn trunc(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// Renders the summary for a terminal or a log.
pub(crate) fn render(s: &Summary, label: &str, aborted_by: Option<&str>) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "\nsquall load: {label}");
    let _ = writeln!(
        o,
        "  ended: {} after {:.1}s{}",
        s.ended,
        s.duration_s,
        aborted_by
            .map(|t| format!(" (threshold {t})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        o,
        "\n  {:<28} {:>10} {:>10} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "request", "count", "rate/s", "failed", "p50", "p90", "p95", "p99", "p99.9", "max"
    );
    row(&mut o, "all (latency)", &s.overall, s.duration_s, false);
    row(&mut o, "all (service time)", &s.overall, s.duration_s, true);
    if s.by_name.len() > 1 {
        for r in &s.by_name {
            row(&mut o, &trunc(&r.name, 28), r, s.duration_s, false);
        }
    }
    let e = &s.overall.errors;
    let _ = writeln!(
        o,
        "\n  errors: connect {}, timeout {}, status {}, check {}, protocol {}",
        e.connect, e.timeout, e.status, e.check, e.protocol
    );
    let statuses: Vec<String> = s
        .overall
        .statuses
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    if !statuses.is_empty() {
        let _ = writeln!(o, "  statuses: {}", statuses.join(", "));
    }
    let it = &s.iterations;
    let _ = writeln!(
        o,
        "  iterations: {} started, {} completed, {} interrupted, {} late, {} dropped",
        it.started, it.completed, it.interrupted, it.late, it.dropped
    );
    let _ = writeln!(
        o,
        "  data: {:.1} MB in, {:.1} MB out; generator utilization peak {:.2}{}",
        s.overall.bytes_in as f64 / 1e6,
        s.overall.bytes_out as f64 / 1e6,
        s.peak_utilization,
        if s.peak_utilization > 0.8 {
            " (above 0.8: the generator may have limited the load)"
        } else {
            ""
        }
    );
    if it.late > 0 || it.dropped > 0 {
        let _ = writeln!(
            o,
            "  warning: {} iterations started late and {} were dropped (the target or the generator could not keep up); latency includes the wait",
            it.late, it.dropped
        );
    }
    if s.overall.requests > 0 && s.overall.failed == s.overall.requests {
        let _ = writeln!(
            o,
            "  warning: every request failed; without a threshold the exit code is still 0 (add --threshold 'http_req_failed=rate<0.01' to fail the run)"
        );
    } else if s.overall.requests == 0 {
        let _ = writeln!(o, "  warning: no request completed");
    }
    if !s.checks.is_empty() {
        let _ = writeln!(o, "\n  checks:");
        for c in &s.checks {
            let mark = if c.fails == 0 { "ok  " } else { "FAIL" };
            let _ = writeln!(
                o,
                "    {mark} {}  ({} passed, {} failed)",
                c.name, c.passes, c.fails
            );
        }
    }
    if !s.thresholds.is_empty() {
        let _ = writeln!(o, "\n  thresholds:");
        for t in &s.thresholds {
            let mark = if t.passed { "ok  " } else { "FAIL" };
            let _ = writeln!(
                o,
                "    {mark} {} {}  (observed {})",
                t.metric,
                t.expr,
                squall_load::threshold::display_observed(&t.metric, &t.expr, t.observed)
            );
        }
    }
    if !s.error_samples.is_empty() {
        let _ = writeln!(o, "\n  first errors:");
        for e in &s.error_samples {
            let _ = writeln!(o, "    {e}");
        }
    }
    o
}

/// The fleet's part of the summary: each generator and what happened to it.
pub(crate) fn render_fleet(f: &squall_fleet::FleetSummary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "\n  fleet: {} generators", f.count);
    for g in &f.generators {
        let state = if g.lost {
            "LOST"
        } else if g.ended {
            "finished"
        } else {
            "did not finish"
        };
        let _ = writeln!(
            o,
            "    {}/{} {:<24} {:>4} s  utilization peak {:.2}{}  {state}",
            g.index + 1,
            f.count,
            trunc(&g.name, 24),
            g.seconds,
            g.max_utilization,
            if g.max_utilization > squall_fleet::coordinator::BUSY_ABOVE {
                " (above 0.8)"
            } else {
                ""
            },
        );
    }
    if let Some(why) = &f.failure {
        let _ = writeln!(o, "  fleet failed: {why}");
    }
    o
}
