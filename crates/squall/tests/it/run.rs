//! `squall run` and `squall demo`: the whole experiment over real sockets —
//! goals at their thresholds, the fault schedule seen from the simulator,
//! Ctrl-C and kill -9 mid-fault, bad documents, a dead target, and the
//! report (schema, Chromium).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::sim_util::*;
use crate::util::*;

/// The only run directory under `runs`.
pub(crate) fn run_dir(runs: &Path) -> PathBuf {
    // `grafana/` beside the runs is the provisioning directory.
    let dirs: Vec<PathBuf> = std::fs::read_dir(runs)
        .unwrap_or_else(|e| panic!("{}: {e}", runs.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("grafana"))
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

pub(crate) fn check_schema(report: &Path) {
    let schema = repo_root().join("docs/schemas/run-report.schema.json");
    python_ok(
        "import json,sys,jsonschema\n\
         s=json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2]))\n\
         jsonschema.Draft202012Validator.check_schema(s)\n\
         jsonschema.validate(d, s, cls=jsonschema.Draft202012Validator)",
        &[schema.to_str().unwrap(), report.to_str().unwrap()],
    );
}

pub(crate) fn goal<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["goals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no goal {name:?} in {}", report["goals"]))
}

/// Renders the page in headless Chromium: a screenshot and the DOM, and no
/// console errors.
fn render_in_chromium(html: &Path, dir: &Path) -> String {
    let Some(bin) = chromium() else {
        if std::env::var_os("SQUALL_SKIP_BROWSER").is_some() {
            return String::new();
        }
        panic!(
            "Chromium is needed to check the report (apt-get install chromium), or set SQUALL_SKIP_BROWSER=1"
        );
    };
    let url = format!("file://{}", html.display());
    let shot = dir.join("report.png");
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
    ];
    let profile = tempdir();
    let out = std::process::Command::new(&bin)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1200,2400")
        .arg(&url)
        .output()
        .expect("run chromium");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {stderr}");
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    assert!(
        png.len() > 20_000,
        "a page with content, not a blank one ({} bytes)",
        png.len()
    );
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    let dom = std::process::Command::new(&bin)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

#[test]
fn demo_quick_runs_end_to_end_and_writes_a_report_chromium_renders() {
    let dir = tempdir();
    let runs = dir.path().join("runs");
    let out = run(
        &["demo", "--quick", "--runs-dir", runs.to_str().unwrap()],
        Duration::from_secs(120),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "the demo completed: {t}");
    assert!(t.contains("one goal fails by design"), "{t}");
    assert!(t.contains("GOALS FAILED (4/5 goals held)"), "{t}");
    let run = run_dir(&runs);
    assert!(
        t.contains(&run.join("report.html").display().to_string()),
        "{t}"
    );
    check_schema(&run.join("report.json"));
    let r = read_json(&run.join("report.json"));
    assert_eq!(r["verdict"], "goals failed");
    assert_eq!(
        goal(&r, "p95 within 1.5x warm-up while payment is slow")["passed"],
        false
    );
    for g in [
        "checkout p95 under 500 ms",
        "p95 back to normal after payment recovers",
        "under 10 % errors overall",
    ] {
        assert_eq!(goal(&r, g)["passed"], true, "{g}: {}", goal(&r, g));
    }
    // Faults were applied on schedule (seen from squall's side here; the
    // simulator's side is checked below).
    for f in r["faults"].as_array().unwrap() {
        let drift = |a: &str, b: &str| (f[a].as_f64().unwrap() - f[b].as_f64().unwrap()).abs();
        assert!(drift("injected_s", "planned_start_s") < 0.05, "{f}");
        assert!(drift("reverted_s", "planned_end_s") < 0.05, "{f}");
    }
    // The latency during the payment fault shows it.
    let during = r["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "during slow payment")
        .unwrap();
    assert!(
        during["latency_ms"]["p95"].as_f64().unwrap() > 300.0,
        "{during}"
    );
    for f in [
        "report.html",
        "metrics.csv",
        "load.json",
        "latency.hlog",
        "metrics.influx",
        "summary.txt",
        "experiment.yaml",
    ] {
        assert!(run.join(f).exists(), "{f} written");
    }
    // The goals as JUnit, read by a real JUnit reader: five cases, the one
    // failing by design a failure.
    let junit = python_ok(
        "import sys\n\
         from junitparser import JUnitXml, Failure\n\
         x=JUnitXml.fromfile(sys.argv[1])\n\
         cases=[c for s in x for c in s]\n\
         failed=[c.name for c in cases if any(isinstance(r, Failure) for r in c.result)]\n\
         print(len(cases), '|'.join(failed))",
        &[run.join("junit.xml").to_str().unwrap()],
    );
    assert!(
        junit
            .trim()
            .starts_with("5 p95 within 1.5x warm-up while payment is slow ["),
        "{junit}"
    );
    let dash = read_json(&run.join("grafana-dashboard.json"));
    let titles: Vec<&str> = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect();
    for want in ["Latency (from intended start)", "Throughput", "Error rate"] {
        assert!(titles.contains(&want), "{want} in {titles:?}");
    }
    assert!(dash["time"]["from"].as_str().unwrap().ends_with('Z'));
    let influx = std::fs::read_to_string(run.join("metrics.influx")).unwrap();
    assert!(
        influx
            .lines()
            .any(|l| l.starts_with("squall_http,name=all ")),
        "the dashboard's measurement is there"
    );
    // The Chaos Toolkit part ran on the same clock: its method probe, 6 s in,
    // saw the payment latency fault in force; the hypothesis held before and after.
    let journal = read_json(&run.join("journal.json"));
    assert_eq!(journal["status"], "completed", "{journal}");
    assert_eq!(journal["deviated"], false);
    assert_eq!(journal["steady_states"]["before"]["steady_state_met"], true);
    assert_eq!(journal["steady_states"]["after"]["steady_state_met"], true);
    assert_eq!(journal["run"][0]["status"], "succeeded");
    assert_eq!(
        journal["run"][0]["output"]["body"][0]["type"], "latency",
        "{}",
        journal["run"][0]
    );
    assert_eq!(r["hypothesis"]["before"]["steady_state_met"], true);
    // Chaos Toolkit's own tooling reads the journal; and it does reject a
    // broken one, so this check can fail.
    chaos_report_accepts(&run.join("journal.json"))
        .unwrap_or_else(|e| panic!("chaos report rejected squall's journal:\n{e}"));
    let mut broken = journal.clone();
    broken.as_object_mut().unwrap().remove("run");
    let broken_path = dir.path().join("broken-journal.json");
    std::fs::write(&broken_path, broken.to_string()).unwrap();
    assert!(
        chaos_report_accepts(&broken_path).is_err(),
        "a journal without `run` is rejected"
    );
    let dom = render_in_chromium(&run.join("report.html"), dir.path());
    if !dom.is_empty() {
        assert!(dom.contains("id=\"verdict\""), "verdict rendered");
        assert!(dom.contains("GOALS FAILED"));
        assert!(
            dom.matches("<polyline").count() >= 5,
            "latency, throughput and error lines"
        );
        assert!(dom.contains("slow payment"), "fault windows labelled");
    }
}

const LATENCY_40: &str = "services:\n  - {name: slow, latency: 40ms}\n";

/// `squall run EXP --runs-dir RUNS -q` with a time limit.
pub(crate) fn run_exp(exp: &Path, runs: &Path, limit: Duration) -> std::process::Output {
    run(
        &[
            "run",
            exp.to_str().unwrap(),
            "--runs-dir",
            runs.to_str().unwrap(),
            "-q",
        ],
        limit,
    )
}

pub(crate) fn experiment(dir: &Path, body: &str) -> PathBuf {
    write(dir, "exp.yaml", body)
}

#[test]
fn goals_pass_and_fail_exactly_at_their_thresholds() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", LATENCY_40), &[]);
    let exp = experiment(
        dir.path(),
        &format!(
            "title: thresholds\n\
             workload:\n  base_url: {}\n  scenarios: [{{name: s, steps: [{{request: {{url: /}}}}]}}]\n  load: {{model: closed, stages: [{{users: 2, for: 3s}}]}}\n\
             goals:\n\
             \x20 - {{name: at least 40, metric: http_req_duration, condition: p(50)>=40ms}}\n\
             \x20 - {{name: under 45, metric: http_req_duration, condition: p(50)<45ms}}\n\
             \x20 - {{name: under 38, metric: http_req_duration, condition: p(50)<38ms}}\n\
             \x20 - {{name: no errors, metric: http_req_failed, condition: rate<0.01}}\n",
            sim.url("slow")
        ),
    );
    let runs = dir.path().join("runs");
    let out = run_exp(&exp, &runs, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let r = read_json(&run_dir(&runs).join("report.json"));
    let p50 = goal(&r, "under 45")["observed"].as_f64().unwrap();
    assert!(
        (40.0..45.0).contains(&p50),
        "the service sleeps 40 ms: p50 {p50}"
    );
    assert_eq!(goal(&r, "at least 40")["passed"], true);
    assert_eq!(goal(&r, "under 45")["passed"], true);
    assert_eq!(goal(&r, "under 38")["passed"], false);
    assert_eq!(goal(&r, "under 38")["bound"], 38.0);
    assert_eq!(goal(&r, "no errors")["passed"], true);
}

#[test]
fn faults_start_and_end_on_schedule_seen_from_the_simulator() {
    let dir = tempdir();
    let sim = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let a = sim.url("a").to_string();
    let exp = experiment(
        dir.path(),
        &format!(
            "title: schedule\n\
             workload:\n  base_url: {a}\n  scenarios: [{{name: s, steps: [{{request: {{url: /}}}}]}}]\n  load: {{model: open, max_vus: 20, stages: [{{rate: 50, for: 4s}}]}}\n\
             faults:\n\
             \x20 - {{name: one, at: 1s, for: 1s, fault: {{type: latency, url: \"{a}\", args: {{delay: 5}}}}}}\n\
             \x20 - {{name: two, at: 2500ms, for: 700ms, fault: {{type: error, url: \"{a}\", args: {{status: 503}}}}}}\n"
        ),
    );
    let runs = dir.path().join("runs");
    let out = run_exp(&exp, &runs, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = read_json(&run_dir(&runs).join("report.json"));
    let t0 = r["started_unix_ms"].as_i64().unwrap();
    let history = http("GET", &format!("{a}/_sim/faults/history"), None).json();
    let h = history.as_array().unwrap();
    assert_eq!(h.len(), 2, "{history}");
    for (rec, (at, end)) in h.iter().zip([(1000, 2000), (2500, 3200)]) {
        let start = rec["started_unix_ms"].as_i64().unwrap() - t0;
        let stop = rec["ended_unix_ms"].as_i64().unwrap() - t0;
        assert!(
            (start - at).abs() <= 50,
            "{rec}: started at {start} ms, planned {at}"
        );
        assert!(
            (stop - end).abs() <= 50,
            "{rec}: ended at {stop} ms, planned {end}"
        );
    }
    // The error fault shows in the measurements, and only while it was on.
    let during = r["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "during two")
        .unwrap();
    // Phases are whole seconds: the 700 ms fault covers most of its second.
    assert!(during["error_rate"].as_f64().unwrap() > 0.3, "{during}");
    let before = r["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "before two")
        .unwrap();
    assert_eq!(before["failed"], 0, "{before}");
    // The CSV says each second's phase of the schedule and the faults the
    // injector held for a real part of it (not the 3 ms of a revert that
    // lands in the next second), read back with Python's csv module.
    let csv = python_ok(
        "import csv,sys\n\
         rows=list(csv.DictReader(open(sys.argv[1])))\n\
         print('|'.join(r['phase']+'='+r['faults'] for r in rows))",
        &[run_dir(&runs).join("metrics.csv").to_str().unwrap()],
    );
    let rows: Vec<(&str, &str)> = csv
        .trim()
        .split('|')
        .map(|r| r.split_once('=').unwrap())
        .collect();
    assert_eq!(
        rows,
        vec![
            ("before", ""),
            ("during one", "one"),
            ("during two", "two"),
            ("after", "")
        ],
        "{csv}"
    );
}

/// Starts `squall run` in the background.
pub(crate) fn spawn_run(exp: &Path, runs: &Path) -> std::process::Child {
    squall()
        .args([
            "run",
            exp.to_str().unwrap(),
            "--runs-dir",
            runs.to_str().unwrap(),
            "-q",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Starts `squall run` and waits until its fault is on the service at `a`.
fn spawn_run_until_injected(exp: &Path, runs: &Path, a: &str) -> std::process::Child {
    let child = spawn_run(exp, runs);
    let deadline = Instant::now() + Duration::from_secs(15);
    while active_faults(a) == 0 {
        assert!(Instant::now() < deadline, "the fault was never injected");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn long_fault_experiment(dir: &Path, a: &str, fault_for: &str) -> PathBuf {
    experiment(
        dir,
        &format!(
            "title: long fault\n\
             workload:\n  base_url: {a}\n  scenarios: [{{name: s, steps: [{{request: {{url: /}}}}]}}]\n  load: {{model: open, max_vus: 20, stages: [{{rate: 20, for: 40s}}]}}\n\
             faults:\n  - {{name: slow, at: 500ms, for: {fault_for}, fault: {{type: latency, url: \"{a}\", args: {{delay: 1}}}}}}\n"
        ),
    )
}

pub(crate) fn active_faults(a: &str) -> usize {
    http("GET", &format!("{a}/_sim/faults"), None)
        .json()
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn ctrl_c_mid_fault_reverts_it_and_writes_what_was_measured() {
    let dir = tempdir();
    let sim = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let a = sim.url("a").to_string();
    let exp = long_fault_experiment(dir.path(), &a, "30s");
    let runs = dir.path().join("runs");
    let mut child = spawn_run_until_injected(&exp, &runs, &a);
    std::thread::sleep(Duration::from_millis(1500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "squall did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        active_faults(&a),
        0,
        "reverted at once, not left to its 30 s lease"
    );
    let run = run_dir(&runs);
    let r = read_json(&run.join("report.json"));
    assert_eq!(r["verdict"], "interrupted");
    assert!(r["faults"][0]["reverted_s"].as_f64().unwrap() < 10.0);
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert!(
        csv.lines().count() >= 2,
        "seconds measured before Ctrl-C are written"
    );
    check_schema(&run.join("report.json"));
}

#[test]
fn kill_9_mid_fault_leaves_it_to_the_lease_and_keeps_the_seconds_measured() {
    let dir = tempdir();
    let sim = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let a = sim.url("a").to_string();
    let exp = long_fault_experiment(dir.path(), &a, "3s");
    let runs = dir.path().join("runs");
    let mut child = spawn_run_until_injected(&exp, &runs, &a);
    let injected = Instant::now();
    std::thread::sleep(Duration::from_millis(1300));
    child.kill().unwrap(); // SIGKILL: squall cannot revert anything
    child.wait().unwrap();
    assert_eq!(
        active_faults(&a),
        1,
        "the fault outlives squall, held by the simulator's lease"
    );
    while active_faults(&a) != 0 {
        assert!(
            injected.elapsed() < Duration::from_secs(6),
            "the lease (3 s) did not end the fault"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let h = http("GET", &format!("{a}/_sim/faults/history"), None).json();
    assert_eq!(h[0]["ended_by"], "expired", "{h}");
    let csv = std::fs::read_to_string(run_dir(&runs).join("metrics.csv")).unwrap();
    assert!(
        csv.lines().count() >= 2,
        "the seconds measured before the kill are on disk: {csv}"
    );
}

#[test]
fn invalid_experiments_list_every_problem_with_its_place() {
    let dir = tempdir();
    let exp = experiment(
        dir.path(),
        "title: bad\nsim: demo\n\
         workload:\n  base_url: ${sim.gateway}\n  scenarios: [{name: s, steps: [{request: {url: /}}]}]\n  load: {model: closed, stages: [{users: 1, for: 1s}]}\n\
         faults:\n  - {at: 1s, for: 1s, fault: {type: latency, service: nope}}\n\
         \x20 - {at: 1s, for: 1s, fault: {type: stress-cpu, args: {cores: -1}}}\n\
         \x20 - {at: 1s, for: 1s, fault: {type: toxic, url: \"http://127.0.0.1:8474\", args: {proxy: p, type: lag}}}\n\
         \x20 - {at: 1s, for: 1s, fault: {type: toxic, url: \"http://127.0.0.1:8474\", args: {type: latency}}}\n\
         goals:\n  - {metric: http_req_duration, condition: p(95)<1s, phase: sometime}\n  - {metric: latency, condition: p(95)<1s}\n\
         abort:\n  - {metric: http_req_failed, condition: ratio>2}\n\
         method:\n  - {type: action, name: no-provider}\n",
    );
    let out = run(
        &[
            "run",
            exp.to_str().unwrap(),
            "--runs-dir",
            dir.path().join("runs").to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    for needle in [
        "8 problems",
        "exp.yaml:18:5: method[0](no-provider): an activity requires a provider",
        "faults[1].fault.args.cores: invalid value: integer `-1`",
        "faults[2].fault.args.type: unknown toxic type `lag`",
        "faults[3].fault.args.proxy: the name of the proxy",
        "faults[0].fault.service: no simulated service named \"nope\" (services: cart, catalog, gateway, payment)",
        "goals[0].phase: \"sometime\" is not one of overall, warmup, before, during, after",
        "goals[1].condition: unknown metric \"latency\"",
        "abort[0]",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in {t}");
    }
    assert!(
        !dir.path().join("runs").exists(),
        "nothing written for an invalid experiment"
    );
    // A typo inside a section is located by line and column.
    let exp = experiment(
        dir.path(),
        "title: typo\nfaults:\n  - {at: 1s, for: 1s, falt: {type: latency}}\n",
    );
    let out = run(&["run", exp.to_str().unwrap()], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("exp.yaml:3:"), "{}", text(&out));
    assert!(
        text(&out).contains("unknown field `falt`"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_dead_target_stops_the_run_before_any_fault() {
    let dir = tempdir();
    let sim = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let a = sim.url("a").to_string();
    let exp = experiment(
        dir.path(),
        &format!(
            "title: dead\ntarget: http://127.0.0.1:1/\n\
             workload:\n  base_url: http://127.0.0.1:1\n  scenarios: [{{name: s, steps: [{{request: {{url: /}}}}]}}]\n  load: {{model: closed, stages: [{{users: 1, for: 2s}}]}}\n\
             faults:\n  - {{at: 0s, for: 1s, fault: {{type: latency, url: \"{a}\", args: {{delay: 1}}}}}}\n"
        ),
    );
    let out = run(
        &[
            "run",
            exp.to_str().unwrap(),
            "--runs-dir",
            dir.path().join("runs").to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the target http://127.0.0.1:1/ does not answer"),
        "{}",
        text(&out)
    );
    let h = http("GET", &format!("{a}/_sim/faults/history"), None).json();
    assert_eq!(h.as_array().unwrap().len(), 0, "no fault injected: {h}");
}

#[test]
fn prometheus_metrics_are_served_while_the_experiment_runs() {
    use std::io::BufRead;
    let dir = tempdir();
    let sim = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let a = sim.url("a").to_string();
    let exp = long_fault_experiment(dir.path(), &a, "30s");
    let mut child = squall()
        .args(["run", exp.to_str().unwrap(), "--runs-dir"])
        .arg(dir.path().join("runs"))
        .args(["-q", "--metrics-listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("squall printed the metrics address")
            .unwrap();
        if let Some(u) = line.strip_prefix("squall: Prometheus metrics at ") {
            break u.to_string();
        }
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let body = loop {
        let b = http("GET", &url, None).body;
        let counted = b
            .lines()
            .filter(|l| l.starts_with("squall_http_requests_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum::<u64>();
        if counted > 0 {
            break b;
        }
        assert!(Instant::now() < deadline, "no requests counted: {b}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        body.contains("# TYPE squall_http_requests_total counter"),
        "{body}"
    );
    // The fault (0.5 s to 30.5 s) shows as in force once applied; every
    // sample carries the run directory's name as its run id.
    let run_id = run_dir(&dir.path().join("runs"))
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let active = format!(
        "squall_fault_active{{run_id=\"{run_id}\",fault=\"slow\",type=\"latency\",target=\"{a}\"}} 1"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let body = loop {
        let b = http("GET", &url, None).body;
        if b.contains(&active) {
            break b;
        }
        assert!(Instant::now() < deadline, "{active} not in {b}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        body.lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| l.contains(&format!("run_id=\"{run_id}\""))),
        "{body}"
    );
    promtool_check(&body);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert_eq!(active_faults(&a), 0);
}

pub(crate) fn simple_workload(a: &str, secs: u32) -> String {
    format!(
        "workload:\n  base_url: {a}\n  scenarios: [{{name: s, steps: [{{request: {{url: /}}}}]}}]\n  load: {{model: open, max_vus: 20, stages: [{{rate: 20, for: {secs}s}}]}}\n"
    )
}

#[test]
fn a_hypothesis_not_met_before_the_method_stops_the_run() {
    let dir = tempdir();
    let sim = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let a = sim.url("a").to_string();
    let exp = experiment(
        dir.path(),
        &format!(
            "title: not steady\n{}\
             faults:\n  - {{at: 4s, for: 1s, fault: {{type: latency, url: \"{a}\", args: {{delay: 1}}}}}}\n\
             steady-state-hypothesis:\n  title: a answers 201\n  probes:\n\
             \x20   - {{type: probe, name: a-201, tolerance: 201, provider: {{type: http, url: \"{a}/\"}}}}\n",
            simple_workload(&a, 20)
        ),
    );
    let runs = dir.path().join("runs");
    let out = run_exp(&exp, &runs, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let run = run_dir(&runs);
    let r = read_json(&run.join("report.json"));
    assert_eq!(r["verdict"], "hypothesis deviated");
    assert!(
        r["ended_early"]
            .as_str()
            .unwrap()
            .contains("not met before the method"),
        "{}",
        r["ended_early"]
    );
    assert!(
        r["duration_s"].as_f64().unwrap() < 10.0,
        "the load stopped early"
    );
    assert_eq!(
        read_json(&run.join("journal.json"))["steady_states"]["before"]["steady_state_met"],
        false
    );
    let h = http("GET", &format!("{a}/_sim/faults/history"), None).json();
    assert_eq!(
        h.as_array().unwrap().len(),
        0,
        "the fault at 4 s was never injected: {h}"
    );
}

#[test]
fn a_failing_action_still_ends_with_every_fault_reverted() {
    let dir = tempdir();
    let sim = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let a = sim.url("a").to_string();
    let exp = experiment(
        dir.path(),
        &format!(
            "title: failing action\n{}\
             faults:\n  - {{name: slow, at: 500ms, for: 60s, fault: {{type: latency, url: \"{a}\", args: {{delay: 1}}}}}}\n\
             method:\n\
             \x20 - {{type: action, name: call-nowhere, pauses: {{before: 1}}, provider: {{type: http, url: \"http://127.0.0.1:1/\", timeout: 2}}}}\n",
            simple_workload(&a, 3)
        ),
    );
    let runs = dir.path().join("runs");
    let out = run_exp(&exp, &runs, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let journal = read_json(&run_dir(&runs).join("journal.json"));
    assert_eq!(
        journal["run"][0]["status"], "failed",
        "{}",
        journal["run"][0]
    );
    assert_eq!(
        active_faults(&a),
        0,
        "the 60 s fault ended with the 3 s run"
    );
    let h = http("GET", &format!("{a}/_sim/faults/history"), None).json();
    assert_eq!(h[0]["ended_by"], "removed", "{h}");
}

/// A simulated service `a` behind proxy `front` of a `squall proxy`; the
/// proxy's URL.
fn sim_behind_a_proxy(dir: &Path) -> (Sim, crate::fault_util::Agent, String) {
    let sim = Sim::start(&write(dir, "t.yaml", "services:\n  - {name: a}\n"), &[]);
    let agent = crate::fault_util::Agent::start(&dir.join("state"));
    let upstream = sim.url("a").trim_start_matches("http://").to_string();
    let r = http(
        "POST",
        &agent.url("/proxies"),
        Some(&format!(
            r#"{{"name": "front", "listen": "127.0.0.1:0", "upstream": "{upstream}"}}"#
        )),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let front = format!("http://{}", r.json()["listen"].as_str().unwrap());
    (sim, agent, front)
}

#[test]
fn host_process_and_proxy_faults_are_scheduled_through_the_same_leases() {
    use crate::fault_util::{state, victim};
    let dir = tempdir();
    let (_sim, agent, front) = sim_behind_a_proxy(dir.path());
    let mut v = victim();
    let pid = v.id() as i32;
    let exp = experiment(
        dir.path(),
        &format!(
            "title: every injector\n{}\
             faults:\n\
             \x20 - {{name: slow link, at: 1s, for: 2s, fault: {{type: toxic, url: \"{api}\", args: {{proxy: front, type: latency, attributes: {{latency: 100}}}}}}}}\n\
             \x20 - {{name: frozen, at: 1s, for: 1s, fault: {{type: pause, args: {{pid: {pid}}}}}}}\n\
             \x20 - {{name: burn, at: 500ms, for: 1s, fault: {{type: stress-cpu, args: {{cores: 1, load: 0.3}}}}}}\n\
             goals:\n\
             \x20 - {{name: fast before, metric: http_req_duration, condition: p(50)<80ms, phase: before, fault: slow link}}\n\
             \x20 - {{name: slow during, metric: http_req_duration, condition: p(50)>=100ms, phase: during, fault: slow link}}\n",
            simple_workload(&front, 5),
            api = agent.api,
        ),
    );
    let runs = dir.path().join("runs");
    let watcher = std::thread::spawn(move || {
        let mut seen_stopped = false;
        for _ in 0..300 {
            seen_stopped |= state(pid) == Some('T');
            std::thread::sleep(Duration::from_millis(20));
        }
        seen_stopped
    });
    let out = run_exp(&exp, &runs, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        watcher.join().unwrap(),
        "the victim was paused during the run"
    );
    assert_eq!(state(pid), Some('S'), "and continued after it");
    let toxics = http("GET", &agent.url("/proxies/front/toxics"), None).json();
    assert_eq!(toxics, serde_json::json!([]), "the toxic was removed");
    let r = read_json(&run_dir(&runs).join("report.json"));
    for f in r["faults"].as_array().unwrap() {
        assert!(f["error"].is_null(), "{f}");
        let planned = f["planned_start_s"].as_f64().unwrap();
        let injected = f["injected_s"].as_f64().unwrap();
        assert!((injected - planned).abs() < 0.2, "{f}");
        assert!(
            f["reverted_s"].as_f64().unwrap() >= f["planned_end_s"].as_f64().unwrap() - 0.2,
            "{f}"
        );
    }
    assert_eq!(goal(&r, "fast before")["passed"], true);
    assert_eq!(
        goal(&r, "slow during")["passed"],
        true,
        "{}",
        goal(&r, "slow during")
    );
    let _ = v.kill();
    let _ = v.wait();
}

#[test]
fn after_kill_9_the_next_squall_deletes_the_faults_the_dead_one_left() {
    let dir = tempdir();
    let sim = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let a = sim.url("a").to_string();
    let exp = long_fault_experiment(dir.path(), &a, "30s");
    let state = dir.path().join("state");
    let mut child = squall()
        .env("SQUALL_STATE_DIR", &state)
        .args(["run", exp.to_str().unwrap(), "--runs-dir"])
        .arg(dir.path().join("runs"))
        .arg("-q")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while active_faults(&a) == 0 {
        assert!(Instant::now() < deadline, "the fault was never injected");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(
        active_faults(&a),
        1,
        "left behind, its lease has 29 s to go"
    );
    let out = squall()
        .args(["fault", "recover", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap();
    let t = text(&out);
    assert!(t.contains("DELETE") && t.contains("1 leftover"), "{t}");
    assert_eq!(active_faults(&a), 0, "the restarted squall ended it: {t}");
}

#[test]
fn an_abort_reverts_host_faults_and_toxics_at_once() {
    use crate::fault_util::{state, victim};
    let dir = tempdir();
    let (_sim, agent, front) = sim_behind_a_proxy(dir.path());
    let mut v = victim();
    let pid = v.id() as i32;
    let exp = experiment(
        dir.path(),
        &format!(
            "title: aborted\n{}\
             faults:\n\
             \x20 - {{name: link, at: 200ms, for: 30s, fault: {{type: toxic, url: \"{api}\", args: {{proxy: front, type: latency, attributes: {{latency: 1}}}}}}}}\n\
             \x20 - {{name: frozen, at: 200ms, for: 30s, fault: {{type: pause, args: {{pid: {pid}}}}}}}\n\
             abort:\n  - {{metric: http_req_failed, condition: rate>=0}}\n",
            simple_workload(&front, 30),
            api = agent.api,
        ),
    );
    let runs = dir.path().join("runs");
    let out = run_exp(&exp, &runs, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(5), "aborted: {}", text(&out));
    assert_eq!(state(pid), Some('S'), "the paused process was continued");
    assert_eq!(
        http("GET", &agent.url("/proxies/front/toxics"), None).json(),
        serde_json::json!([]),
        "the toxic was removed"
    );
    let r = read_json(&run_dir(&runs).join("report.json"));
    for f in r["faults"].as_array().unwrap() {
        assert!(
            f["injected_s"].is_number() && f["reverted_s"].as_f64().unwrap() < 10.0,
            "{f}"
        );
    }
    let _ = v.kill();
    let _ = v.wait();
}

#[test]
fn an_experiment_can_bring_its_own_proxy_for_network_faults() {
    let dir = tempdir();
    let sim = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let upstream = sim.url("a").trim_start_matches("http://").to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let front = format!("http://127.0.0.1:{port}");
    let exp = experiment(
        dir.path(),
        &format!(
            "title: own proxy\n\
             proxies:\n  - {{name: front, listen: \"127.0.0.1:{port}\", upstream: \"{upstream}\"}}\n{}\
             faults:\n\
             \x20 - {{name: slow link, at: 1s, for: 2s, fault: {{type: toxic, args: {{proxy: front, type: latency, attributes: {{latency: 100}}}}}}}}\n\
             goals:\n\
             \x20 - {{name: fast before, metric: http_req_duration, condition: p(50)<80ms, phase: before, fault: slow link}}\n\
             \x20 - {{name: slow during, metric: http_req_duration, condition: p(50)>=100ms, phase: during, fault: slow link}}\n",
            simple_workload(&front, 4),
        ),
    );
    let runs = dir.path().join("runs");
    let out = run_exp(&exp, &runs, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = read_json(&run_dir(&runs).join("report.json"));
    assert_eq!(goal(&r, "fast before")["passed"], true);
    assert_eq!(
        goal(&r, "slow during")["passed"],
        true,
        "{}",
        goal(&r, "slow during")
    );
    let f = &r["faults"][0];
    assert!(f["error"].is_null() && f["reverted_s"].is_number(), "{f}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the proxy is gone with the run"
    );
    // A toxic on a proxy the experiment does not declare is an error before anything runs.
    let bad = experiment(
        dir.path(),
        &format!(
            "title: no proxy\n{}faults:\n  - {{at: 1s, for: 1s, fault: {{type: toxic, args: {{proxy: nope, type: latency}}}}}}\n",
            simple_workload(&front, 2)
        ),
    );
    let out = run_exp(&bad, &runs, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(
            "faults[0].fault.args.proxy: \"nope\" is not one of the experiment's `proxies`"
        ),
        "{}",
        text(&out)
    );
}
