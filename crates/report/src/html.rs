//! `report.html`: one self-contained page (inline CSS and SVG, no script,
//! no network) with the verdict first, then goals, charts with fault
//! windows shaded, phases, faults, hypothesis and the timeline.

use std::fmt::Write;

use crate::run_report::{RunReport, SeriesPoint};

/// Escapes text for HTML (also used by the suite report): XML's escape
/// serves HTML as well.
pub use crate::junit_out::xml_esc as esc;

fn num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}\
main{max-width:1100px;margin:0 auto;padding:24px}h1{margin:0 0 4px;font-size:24px}h2{font-size:18px;margin:28px 0 10px}\
.sub{color:#5b6475;font-size:14px}.verdict{padding:14px 18px;border-radius:8px;font-size:20px;font-weight:600;margin:16px 0}\
.pass{background:#e3f5e8;color:#14632e}.fail{background:#fde7e7;color:#8c1d1d}.warn{background:#fff4dc;color:#7a5200}\
table{border-collapse:collapse;width:100%;background:#fff;font-size:14px}th,td{padding:6px 10px;border-bottom:1px solid #e4e7ec;text-align:left}\
th{background:#eef1f5}td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#14632e;font-weight:600}.ko{color:#a11d1d;font-weight:600}\
.chart{background:#fff;border:1px solid #e4e7ec;border-radius:6px;margin:10px 0;padding:8px}.legend{font-size:12px;color:#5b6475}\
.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}";

/// Renders the report page.
pub fn render(r: &RunReport) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{} - squall report</title><style>{STYLE}</style></head><body><main>",
        esc(&r.title)
    );
    let _ = write!(
        h,
        "<h1>{}</h1><div class=\"sub\">{} &middot; main run {:.1} s &middot; {}</div>",
        esc(&r.title),
        esc(&r.experiment_file),
        r.duration_s,
        esc(&unix_ms_text(r.started_unix_ms))
    );
    let class = match r.verdict.as_str() {
        "passed" => "pass",
        "interrupted" | "no goals" => "warn",
        _ => "fail",
    };
    let passed = r.goals.iter().filter(|g| g.passed).count();
    let _ = write!(
        h,
        "<div class=\"verdict {class}\" id=\"verdict\">{} &mdash; {passed} of {} goals held{}</div>",
        esc(&r.verdict.to_uppercase()),
        r.goals.len(),
        r.ended_early
            .as_ref()
            .map(|e| format!("; ended early: {}", esc(e)))
            .unwrap_or_default()
    );
    for why in &r.invalid_because {
        let _ = write!(h, "<p class=\"ko\">invalid: {}</p>", esc(why));
    }
    goals_table(&mut h, r);
    charts(&mut h, r);
    phases_table(&mut h, r);
    faults_table(&mut h, r);
    hypothesis(&mut h, r);
    timeline(&mut h, r);
    if !r.files.is_empty() {
        h.push_str("<h2>Files</h2><table><tr><th>what</th><th>file</th></tr>");
        for (k, v) in &r.files {
            let _ = write!(
                h,
                "<tr><td>{}</td><td><a href=\"{}\">{}</a></td></tr>",
                esc(k),
                esc(v),
                esc(v)
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</main></body></html>\n");
    h
}

fn goals_table(h: &mut String, r: &RunReport) {
    h.push_str("<h2>Goals</h2><table id=\"goals\"><tr><th>goal</th><th>phase</th><th>condition</th><th>measured</th><th>bound</th><th>result</th><th>detail</th></tr>");
    if r.goals.is_empty() {
        h.push_str("<tr><td colspan=\"7\">no goals</td></tr>");
    }
    for g in &r.goals {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
            esc(&g.name),
            esc(&g.phase),
            esc(&g.condition),
            g.observed.map(num).unwrap_or_else(|| "&ndash;".into()),
            num(g.bound),
            if g.passed { "ok" } else { "ko" },
            g.result_label(),
            esc(&g.detail)
        );
    }
    h.push_str("</table>");
}

/// One line of a chart: label, colour, and `(t, value)` points; a value
/// of `None` (a second without requests for a latency) breaks the line.
struct Line {
    name: String,
    color: &'static str,
    points: Vec<(f64, Option<f64>)>,
}

impl Line {
    fn of(
        name: &str,
        color: &'static str,
        r: &RunReport,
        f: fn(&SeriesPoint) -> Option<f64>,
    ) -> Self {
        Line {
            name: name.to_string(),
            color,
            points: r.series.iter().map(|p| (p.t, f(p))).collect(),
        }
    }
}

const PALETTE: [&str; 6] = [
    "#1a73e8", "#e8710a", "#188038", "#c5221f", "#9334e6", "#007b83",
];

/// A line chart with fault windows shaded; the x axis starts at 0, or
/// earlier when a line has warm-up points.
fn chart(h: &mut String, r: &RunReport, title: &str, unit: &str, lines: &[Line]) {
    let (w, ht, l, b, t) = (1040.0, 220.0, 56.0, 26.0, 10.0);
    let pw = w - l - 10.0;
    let ph = ht - b - t;
    let all_t = || {
        lines
            .iter()
            .flat_map(|line| line.points.iter().map(|p| p.0))
    };
    let xmin = all_t().fold(0.0f64, f64::min);
    let xmax = all_t().fold(r.duration_s, f64::max).max(xmin + 1.0);
    let ymax = lines
        .iter()
        .flat_map(|line| line.points.iter().filter_map(|p| p.1))
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.1;
    let x = |v: f64| l + (v - xmin) / (xmax - xmin) * pw;
    let y = |v: f64| t + ph - v / ymax * ph;
    let _ = write!(
        h,
        "<div class=\"chart\"><svg viewBox=\"0 0 {w} {ht}\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    // Only windows the injector confirmed: a fault that was not applied
    // is not drawn as if it had been (the faults table says why).
    for f in &r.faults {
        let Some(s) = f.injected_s else { continue };
        let e = f.reverted_s.unwrap_or(f.planned_end_s);
        let _ = write!(
            h,
            "<rect x=\"{:.1}\" y=\"{t}\" width=\"{:.1}\" height=\"{ph}\" fill=\"#f4b400\" fill-opacity=\"0.18\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"11\" fill=\"#7a5200\">{}</text>",
            x(s),
            (x(e.min(xmax)) - x(s)).max(1.0),
            x(s) + 3.0,
            t + 12.0,
            esc(&f.name)
        );
    }
    for i in 0..=4 {
        let v = ymax * f64::from(i) / 4.0;
        let _ = write!(
            h,
            "<line x1=\"{l}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#e4e7ec\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6475\">{}</text>",
            l + pw,
            y(v),
            y(v),
            l - 4.0,
            y(v) + 4.0,
            num(v)
        );
    }
    let step = (((xmax - xmin) / 10.0).ceil()).max(1.0);
    let mut tick = (xmin / step).ceil() * step;
    while tick <= xmax {
        let _ = write!(
            h,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6475\">{}s</text>",
            x(tick),
            ht - 8.0,
            tick
        );
        tick += step;
    }
    for line in lines {
        // One polyline per run of points with a value: no data is a gap.
        for run in line
            .points
            .split(|p| p.1.is_none())
            .filter(|s| !s.is_empty())
        {
            let pts: Vec<String> = run
                .iter()
                .filter_map(|(pt, v)| v.map(|v| format!("{:.1},{:.1}", x(*pt), y(v))))
                .collect();
            let _ = write!(
                h,
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\" points=\"{}\"/>",
                line.color,
                pts.join(" ")
            );
        }
    }
    h.push_str("</svg><div class=\"legend\">");
    let _ = write!(h, "<span><b>{}</b> ({})</span>", esc(title), esc(unit));
    for line in lines {
        let _ = write!(
            h,
            "<span><i class=\"sw\" style=\"background:{}\"></i>{}</span>",
            line.color,
            esc(&line.name)
        );
    }
    h.push_str("<span><i class=\"sw\" style=\"background:#f4b40055\"></i>fault in force</span></div></div>");
}

fn charts(h: &mut String, r: &RunReport) {
    h.push_str("<h2>Over time</h2>");
    if r.series.is_empty() {
        h.push_str("<p>No measurements.</p>");
    } else {
        chart(
            h,
            r,
            "Latency",
            "ms, from intended start",
            &[
                Line::of("p50", "#1a73e8", r, |p| p.p50_ms),
                Line::of("p95", "#e8710a", r, |p| p.p95_ms),
                Line::of("p99", "#c5221f", r, |p| p.p99_ms),
            ],
        );
        chart(
            h,
            r,
            "Throughput",
            "requests/s",
            &[Line::of("requests/s", "#188038", r, |p| Some(p.rps))],
        );
        chart(
            h,
            r,
            "Errors",
            "failed requests per second",
            &[Line::of("failed", "#c5221f", r, |p| Some(p.failed as f64))],
        );
    }
    prometheus_charts(h, r);
}

/// One chart per Prometheus query of the experiment, its series as lines
/// (at most six; the rest are named as left out).
fn prometheus_charts(h: &mut String, r: &RunReport) {
    for q in &r.prometheus {
        let title = format!("Prometheus: {}", q.name);
        let _ = write!(
            h,
            "<h3>{}</h3><p><code>{}</code></p>",
            esc(&title),
            esc(&q.query)
        );
        if let Some(e) = &q.error {
            let _ = write!(
                h,
                "<p class=\"ko\">The query failed after the run: {}</p>",
                esc(e)
            );
            continue;
        }
        if q.series.is_empty() {
            h.push_str("<p>Prometheus answered no series for the run's window.</p>");
            continue;
        }
        let lines: Vec<Line> = q
            .series
            .iter()
            .take(PALETTE.len())
            .zip(PALETTE)
            .map(|(s, color)| Line {
                name: s.label_text(&q.name),
                color,
                points: s.points.iter().map(|(t, v)| (*t, Some(*v))).collect(),
            })
            .collect();
        chart(h, r, &title, q.unit.as_deref().unwrap_or("value"), &lines);
        if q.series.len() > PALETTE.len() {
            let _ = write!(
                h,
                "<p>{} more series are in prometheus.json.</p>",
                q.series.len() - PALETTE.len()
            );
        }
    }
}

fn phases_table(h: &mut String, r: &RunReport) {
    h.push_str("<h2>Phases</h2><table><tr><th>phase</th><th>seconds</th><th>requests</th><th>req/s</th><th>errors</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr>");
    for p in r.warmup.iter().chain(r.phases.iter()) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{:.1}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({:.2}%)</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&p.phase),
            p.seconds,
            p.requests,
            num(p.rps),
            p.failed,
            p.error_rate * 100.0,
            num(p.latency_ms.p50),
            num(p.latency_ms.p95),
            num(p.latency_ms.p99),
            num(p.latency_ms.max)
        );
    }
    h.push_str("</table>");
}

fn faults_table(h: &mut String, r: &RunReport) {
    h.push_str("<h2>Faults</h2><table><tr><th>fault</th><th>type</th><th>target</th><th>planned</th><th>applied</th><th>problem</th></tr>");
    if r.faults.is_empty() {
        h.push_str("<tr><td colspan=\"6\">no faults</td></tr>");
    }
    for f in &r.faults {
        let applied = match (f.injected_s, f.reverted_s) {
            (Some(a), Some(b)) => format!("{a:.3} s &ndash; {b:.3} s"),
            (Some(a), None) => format!("{a:.3} s &ndash; (lease expiry)"),
            _ => "not applied".into(),
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1} s &ndash; {:.1} s</td><td>{applied}</td><td>{}</td></tr>",
            esc(&f.name),
            esc(&f.kind),
            esc(&f.target),
            f.planned_start_s,
            f.planned_end_s,
            esc(f.error.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table>");
}

fn hypothesis(h: &mut String, r: &RunReport) {
    if r.hypothesis.is_empty() {
        return;
    }
    h.push_str(
        "<h2>Steady-state hypothesis</h2><table><tr><th>when</th><th>met</th><th>probes</th></tr>",
    );
    for (when, v) in &r.hypothesis {
        let met = v.get("steady_state_met").and_then(|m| m.as_bool());
        let probes: Vec<String> = v
            .get("probes")
            .and_then(|p| p.as_array())
            .map(|a| {
                a.iter()
                    .map(|p| {
                        format!(
                            "{}: {}",
                            p.pointer("/activity/name")
                                .and_then(|n| n.as_str())
                                .unwrap_or("?"),
                            if p.get("tolerance_met")
                                .and_then(|t| t.as_bool())
                                .unwrap_or(false)
                            {
                                "ok"
                            } else {
                                "not met"
                            }
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
            esc(when),
            if met == Some(true) { "ok" } else { "ko" },
            match met {
                Some(true) => "yes",
                Some(false) => "no",
                None => "not run",
            },
            esc(&probes.join("; "))
        );
    }
    h.push_str("</table>");
}

fn timeline(h: &mut String, r: &RunReport) {
    h.push_str(
        "<h2>Timeline</h2><table id=\"timeline\"><tr><th>t (s)</th><th>kind</th><th>what</th></tr>",
    );
    for e in &r.timeline {
        let _ = write!(
            h,
            "<tr><td class=\"n\">{:.3}</td><td>{}</td><td>{}</td></tr>",
            e.t,
            esc(e.kind.as_str()),
            esc(&e.text)
        );
    }
    h.push_str("</table>");
}

/// `2026-11-23 02:52:46 UTC` from ms since the epoch (no time-zone database needed).
pub fn unix_ms_text(ms: u64) -> String {
    let secs = ms / 1000;
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_escaping() {
        assert_eq!(unix_ms_text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(unix_ms_text(1_795_402_366_000), "2026-11-23 02:52:46 UTC");
        assert_eq!(
            esc("<a href='x'>&</a>"),
            "&lt;a href=&apos;x&apos;&gt;&amp;&lt;/a&gt;"
        );
    }
}
