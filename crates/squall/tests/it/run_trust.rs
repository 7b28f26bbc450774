//! `squall run` never reports what did not happen: faults refused by their
//! injector stop the run before it starts (located), a fault that fails
//! when due makes the run `invalid`, goals with no data say so, and an
//! experiment without goals does not pass as a success.

use std::time::{Duration, Instant};

use crate::run::{experiment, run_dir, run_exp, simple_workload, spawn_run};
use crate::sim_util::*;
use crate::util::*;

const ONE_SERVICE: &str = "services:\n  - {name: a, limits: {max_lease: 2s}}\n";

#[test]
fn faults_the_injector_would_refuse_stop_the_run_before_it_starts() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", ONE_SERVICE), &[]);
    let a = sim.url("a").to_string();
    let sim_fault = |kind: &str, args: &str| {
        format!("  - {{at: 1s, for: 1s, fault: {{type: {kind}, url: \"{a}\", args: {args}}}}}\n")
    };
    let host_fault = |f: &str| format!("  - {{at: 1s, for: 1s, fault: {f}}}\n");
    let faults = [
        sim_fault("latency", "{dleay: 100}"),
        sim_fault("latency", "{delay: \"300\"}"),
        sim_fault("latency", "{delay: -5}"),
        sim_fault("latncy", "{delay: 5}"),
        sim_fault("error", "{status: 999}"),
        // Over the service's lease cap of 2 s.
        format!(
            "  - {{at: 0s, for: 3s, fault: {{type: latency, url: \"{a}\", args: {{delay: 5}}}}}}\n"
        ),
        host_fault("{type: stress-cpu, args: {cores: 0}}"),
        host_fault("{type: pause, args: {name: squall-no-such-process}}"),
        host_fault("{type: kill, args: {pid: 999999}}"),
    ];
    let body = format!(
        "title: refused\n{}faults:\n{}",
        simple_workload(&a, 2),
        faults.concat()
    );
    let exp = experiment(dir.path(), &body);
    let runs = dir.path().join("runs");
    let out = run_exp(&exp, &runs, Duration::from_secs(30));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("9 problems"), "{t}");
    // Each located at its line and field; lines count from 1 (title, 4
    // workload lines, `faults:`), so faults[i] is on line 7 + i.
    for needle in [
        "exp.yaml:7:",
        "faults[0].fault.args.dleay: latency: unknown argument \"dleay\"",
        "exp.yaml:8:",
        "faults[1].fault.args.delay: latency: argument \"delay\" must be a non-negative number, got \"300\"",
        "faults[2].fault.args.delay: latency: argument \"delay\" must be a non-negative number, got -5",
        "exp.yaml:10:",
        "faults[3].fault.type: fault type \"latncy\" is not implemented",
        "faults[4].fault.args.status: error: status must be within 400..599, got 999",
        "faults[5].for: lease 3000 ms exceeds the cap of 2000 ms",
        "faults[6].fault.args.cores: expected at least 1 core",
        "faults[7].fault.args.name: no process is named `squall-no-such-process`",
        "faults[8].fault.args.pid: no process has pid 999999",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in {t}");
    }
    assert!(
        !runs.exists(),
        "no run directory for a run that did not start"
    );
    let h = http("GET", &format!("{a}/_sim/faults/history"), None).json();
    assert_eq!(h.as_array().unwrap().len(), 0, "nothing injected: {h}");
}

#[test]
fn the_sim_validates_a_fault_without_applying_it() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", ONE_SERVICE), &[]);
    let a = sim.url("a");
    let ok = http(
        "POST",
        &format!("{a}/_sim/faults/validate"),
        Some(r#"{"type": "latency", "args": {"delay": 10}, "lease": 1000}"#),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["valid"], true);
    let bad = http(
        "POST",
        &format!("{a}/_sim/faults/validate"),
        Some(r#"{"type": "latncy", "args": {}, "lease": 1000}"#),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.json()["field"], "type", "{}", bad.body);
    let put = http(
        "PUT",
        &format!("{a}/_sim/faults"),
        Some(r#"{"type": "latncy", "args": {}, "lease": 1000}"#),
    );
    assert_eq!(
        put.json()["field"],
        "type",
        "PUT names the field too: {}",
        put.body
    );
    let active = http("GET", &format!("{a}/_sim/faults"), None).json();
    assert_eq!(active.as_array().unwrap().len(), 0, "{active}");
}

#[test]
fn a_fault_that_fails_when_due_makes_the_run_invalid() {
    let dir = tempdir();
    let target = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: t}\n"),
        &[],
    );
    let victim = Sim::start(&write(dir.path(), "v.yaml", ONE_SERVICE), &[]);
    let (t, v) = (target.url("t").to_string(), victim.url("a").to_string());
    let exp = experiment(
        dir.path(),
        &format!(
            "title: vanishing injector\n{}faults:\n  - {{name: late, at: 2500ms, for: 1s, fault: {{type: latency, url: \"{v}\", args: {{delay: 5}}}}}}\n\
             goals:\n  - {{name: fast, metric: http_req_duration, condition: p(95)<5s}}\n",
            simple_workload(&t, 4)
        ),
    );
    let runs = dir.path().join("runs");
    let child = spawn_run(&exp, &runs);
    // The run directory exists once every check passed; then the service
    // that should take the fault goes away.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !runs.exists() || std::fs::read_dir(&runs).unwrap().next().is_none() {
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(victim);
    let out = child.wait_with_output().unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(6), "{t}");
    assert!(t.contains("INVALID"), "{t}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir(&runs).join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["verdict"], "invalid");
    let f = &report["faults"][0];
    assert!(f["injected_s"].is_null(), "{f}");
    assert!(f["error"].as_str().unwrap().contains("_sim/faults"), "{f}");
    // The chart does not shade a window for a fault that was not applied.
    let html = std::fs::read_to_string(run_dir(&runs).join("report.html")).unwrap();
    assert!(!html.contains("fill=\"#f4b400\""), "a window is shaded");
    assert!(html.contains("not applied"));
}

#[test]
fn warnings_come_before_the_run_and_no_goals_is_not_a_pass() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", ONE_SERVICE), &[]);
    let a = sim.url("a").to_string();
    let exp = experiment(
        dir.path(),
        &format!(
            "title: no goals\ngoal: typo\n{}faults:\n  - {{at: 1s, for: 1500ms, fault: {{type: latency, url: \"{a}\", args: {{delay: 1}}}}}}\n",
            simple_workload(&a, 2)
        ),
    );
    let runs = dir.path().join("runs");
    let out = squall()
        .args([
            "run",
            exp.to_str().unwrap(),
            "--runs-dir",
            runs.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{err}{stdout}");
    let starts = err.find("main run starts").expect(&err);
    for w in [
        "top-level key \"goal\"",
        "ends at 2s 500ms but the workload ends at 2s",
        "has no goals",
    ] {
        let at = err
            .find(w)
            .unwrap_or_else(|| panic!("no warning {w:?} in {err}"));
        assert!(at < starts, "warning {w:?} printed after the start: {err}");
    }
    assert!(
        stdout.contains("NO GOALS (the experiment has no goals; nothing was checked)"),
        "{stdout}"
    );
    assert!(!stdout.contains("PASSED"), "{stdout}");
}

#[test]
fn goals_on_a_phase_without_requests_have_no_data_and_agree() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", ONE_SERVICE), &[]);
    let a = sim.url("a").to_string();
    // The fault ends with the workload, so the phase after it is empty.
    let exp = experiment(
        dir.path(),
        &format!(
            "title: empty phase\n{}faults:\n  - {{name: f, at: 500ms, for: 1500ms, fault: {{type: latency, url: \"{a}\", args: {{delay: 1}}}}}}\n\
             goals:\n  - {{name: latency after, metric: http_req_duration, condition: p(95)<1s, phase: after, fault: f}}\n\
             \x20 - {{name: errors after, metric: http_req_failed, condition: rate<0.01, phase: after, fault: f}}\n\
             \x20 - {{name: latency overall, metric: http_req_duration, condition: p(95)<5s}}\n",
            simple_workload(&a, 2)
        ),
    );
    let runs = dir.path().join("runs");
    let out = run_exp(&exp, &runs, Duration::from_secs(30));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "no data is not a pass: {t}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir(&runs).join("report.json")).unwrap())
            .unwrap();
    let goals = report["goals"].as_array().unwrap();
    for g in &goals[..2] {
        assert_eq!(g["no_data"], true, "{g}");
        assert_eq!(g["passed"], false, "{g}");
    }
    assert_eq!(goals[2]["passed"], true, "{}", goals[2]);
    assert_eq!(goals[2]["no_data"], false, "{}", goals[2]);
    assert!(t.contains("NO DATA"), "{t}");
}
