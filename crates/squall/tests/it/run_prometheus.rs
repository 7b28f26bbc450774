//! `squall run` with a `prometheus` section, against Debian's Prometheus
//! started by the test and scraping a simulated service: the series over
//! the run are stored and drawn, goals judge them per phase, and queries
//! Prometheus refuses stop the run before it starts.

use std::time::Duration;

use crate::prometheus_util::Prometheus;
use crate::run::{check_schema, experiment, goal, run_dir, run_exp};
use crate::sim_util::*;
use crate::util::*;

const ONE: &str = "services:\n  - name: catalog\n";

fn section(url: &str) -> String {
    format!(
        "prometheus:\n  url: {url}\n  wait: 2s\n  queries:\n\
         \x20   - {{name: leaked, query: 'squall_sim_leaked_bytes{{job=\"sim\"}}', unit: bytes}}\n\
         \x20   - {{name: rss, query: 'process_resident_memory_bytes{{job=\"sim\"}}', unit: bytes}}\n\
         \x20   - {{name: cpu, query: 'rate(process_cpu_seconds_total{{job=\"sim\"}}[5s])', unit: cores}}\n"
    )
}

#[test]
fn series_from_prometheus_are_stored_drawn_and_judged_per_phase() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", ONE), &[]);
    let a = sim.url("catalog").to_string();
    let prom = Prometheus::scraping_sim(dir.path(), &[a.trim_start_matches("http://")]);
    assert_eq!(
        prom.wait_for("squall_sim_leaked_bytes").as_deref(),
        Some("0"),
        "scraped before the run"
    );
    let exp = experiment(
        dir.path(),
        &format!(
            "title: memory seen by prometheus\ntarget: {a}/\n\
             workload:\n  base_url: {a}\n  scenarios: [{{name: s, steps: [{{request: {{url: /}}}}]}}]\n  load: {{model: open, max_vus: 10, stages: [{{rate: 20, for: 9s}}]}}\n\
             warmup: {{for: 2s, rate: 10}}\n\
             faults:\n  - {{name: hog, at: 3s, for: 3s, fault: {{type: artificial-memory, url: \"{a}\", args: {{bytes: 33554432}}}}}}\n\
             {}\
             goals:\n\
             \x20 - {{name: none held before, metric: 'prometheus:leaked', condition: max<1, phase: before}}\n\
             \x20 - {{name: none held in warm-up, metric: 'prometheus:leaked', condition: max<1, phase: warmup}}\n\
             \x20 - {{name: under 1 MB during, metric: 'prometheus:leaked', condition: max<1000000, phase: during}}\n\
             \x20 - {{name: released after, metric: 'prometheus:leaked', condition: last<1, phase: after}}\n\
             \x20 - {{name: rss within 20x warm-up, metric: 'prometheus:rss', condition: max<20*baseline}}\n",
            section(&prom.url)
        ),
    );
    let runs = dir.path().join("runs");
    let out = run_exp(&exp, &runs, Duration::from_secs(90));
    assert_eq!(out.status.code(), Some(3), "one goal fails: {}", text(&out));
    let d = run_dir(&runs);
    let r = read_json(&d.join("report.json"));
    check_schema(&d.join("report.json"));
    for g in [
        "none held before",
        "none held in warm-up",
        "released after",
        "rss within 20x warm-up",
    ] {
        assert_eq!(goal(&r, g)["passed"], true, "{g}: {}", goal(&r, g));
    }
    let during = goal(&r, "under 1 MB during");
    assert_eq!(during["passed"], false);
    assert_eq!(during["no_data"], false);
    assert_eq!(during["observed"].as_f64(), Some(33554432.0), "{during}");
    let rss = goal(&r, "rss within 20x warm-up");
    assert!(
        rss["bound"].as_f64().unwrap() > 20.0 * 1024.0 * 1024.0,
        "the bound is 20 x the warm-up's resident memory: {rss}"
    );

    // The stored series cover the warm-up and the main run at 1 s steps.
    let stored = read_json(&d.join("prometheus.json"));
    let queries = stored["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 3);
    let leaked = &queries[0];
    assert_eq!(leaked["name"], "leaked");
    assert_eq!(leaked["series"][0]["labels"]["job"], "sim");
    let points: Vec<(f64, f64)> = leaked["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    let first = points.first().unwrap().0;
    let last = points.last().unwrap().0;
    assert!(
        (-2.5..=-1.5).contains(&first),
        "starts with the warm-up: {first}"
    );
    let duration = r["duration_s"].as_f64().unwrap();
    assert!(
        last > duration - 1.0 && last <= duration,
        "ends with the run ({duration} s): {last}"
    );
    assert!(
        points
            .windows(2)
            .all(|w| (w[1].0 - w[0].0 - 1.0).abs() < 1e-6),
        "1 s steps: {points:?}"
    );
    let held: Vec<f64> = points
        .iter()
        .filter(|(t, _)| (4.5..=6.0).contains(t))
        .map(|p| p.1)
        .collect();
    assert!(
        !held.is_empty() && held.iter().all(|v| *v == 33554432.0),
        "the fault's bytes while it held: {points:?}"
    );
    let cpu = &queries[2];
    assert!(
        cpu["error"].is_null() && !cpu["series"].as_array().unwrap().is_empty(),
        "{cpu}"
    );
    assert_eq!(r["prometheus"].as_array().unwrap().len(), 3);
    let html = std::fs::read_to_string(d.join("report.html")).unwrap();
    assert!(html.contains("Prometheus: leaked") && html.contains("Prometheus: cpu"));
    let summary = std::fs::read_to_string(d.join("summary.txt")).unwrap();
    assert!(summary.contains("under 1 MB during"), "{summary}");
}

#[test]
fn queries_prometheus_refuses_stop_the_run_before_it_starts() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", ONE), &[]);
    let a = sim.url("catalog").to_string();
    let prom = Prometheus::scraping_sim(dir.path(), &[a.trim_start_matches("http://")]);
    let head = format!(
        "title: t\ntarget: {a}/\n\
         workload:\n  base_url: {a}\n  scenarios: [{{name: s, steps: [{{request: {{url: /}}}}]}}]\n  load: {{model: closed, stages: [{{users: 1, for: 1s}}]}}\n"
    );
    let runs = dir.path().join("runs");
    let refused = |body: &str| {
        let exp = experiment(dir.path(), &format!("{head}{body}"));
        let out = run_exp(&exp, &runs, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(!runs.exists(), "nothing ran: {}", text(&out));
        text(&out)
    };
    // A goal on a query the section does not have, located at its field.
    let t = refused(&format!(
        "{}goals:\n  - {{metric: 'prometheus:memory', condition: max<1}}\n",
        section(&prom.url)
    ));
    assert!(
        t.contains("exp.yaml:")
            && t.contains("goals[0].metric: no Prometheus query named \"memory\""),
        "{t}"
    );
    // PromQL Prometheus cannot parse, and a range vector, located at each query.
    let t = refused(&format!(
        "prometheus:\n  url: {}\n  queries:\n    - {{name: a, query: 'rate(up[5s'}}\n    - {{name: b, query: 'up[5s]'}}\n",
        prom.url
    ));
    assert!(
        t.contains("prometheus.queries[0].query: Prometheus refused it (400 bad_data)"),
        "{t}"
    );
    assert!(
        t.contains("prometheus.queries[1].query: a range vector"),
        "{t}"
    );
    // No Prometheus there.
    let t = refused(&format!(
        "prometheus:\n  url: http://127.0.0.1:{}\n  queries: [{{name: a, query: up}}]\n",
        free_port()
    ));
    assert!(t.contains("prometheus.url: GET http://127.0.0.1:"), "{t}");
}
