//! `squall chaos`: real experiments against real HTTP servers and processes
//! on 127.0.0.1, the journal read back as JSON, exit codes, interruption, and
//! the conformance harness against the real Chaos Toolkit.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::*;

const LIMIT: Duration = Duration::from_secs(30);

/// Writes an experiment, runs `squall chaos run` on it, returns (exit code, journal, output).
fn chaos_run(dir: &Path, exp: &Value, extra: &[&str]) -> (Option<i32>, Option<Value>, String) {
    let file = write(dir, "exp.json", &exp.to_string());
    let journal = dir.join("journal.json");
    let mut args = vec![
        "chaos",
        "run",
        file.to_str().unwrap(),
        "--journal-path",
        journal.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args, LIMIT);
    let j = journal.exists().then(|| read_json(&journal));
    (out.status.code(), j, text(&out))
}

fn shape(srv: &TestServer, probe_path: &str) -> Value {
    json!({
        "title": "bench shape on ${host}",
        "description": "one http probe, one process action, one rollback",
        "configuration": {"host": "127.0.0.1", "base": srv.url("")},
        "steady-state-hypothesis": {"title": "up", "probes": [
            {"type": "probe", "name": "home", "tolerance": 200,
             "provider": {"type": "http", "url": format!("${{base}}{probe_path}")}}]},
        "method": [{"type": "action", "name": "say", "provider": {"type": "process", "path": "echo", "arguments": ["hi", "${host}"]}}],
        "rollbacks": [{"type": "action", "name": "undo", "provider": {"type": "process", "path": "true"}}],
        "x-unknown": {"kept": true}
    })
}

#[test]
fn a_completed_run_writes_chaostoolkits_journal() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    let (code, j, out) = chaos_run(dir.path(), &shape(&srv, "/"), &[]);
    assert_eq!(code, Some(0), "{out}");
    let j = j.expect("journal written");
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "chaoslib-version",
            "platform",
            "node",
            "experiment",
            "start",
            "status",
            "deviated",
            "steady_states",
            "run",
            "rollbacks",
            "end",
            "duration"
        ]
    );
    assert_eq!(j["status"], "completed");
    assert_eq!(j["deviated"], false);
    assert_eq!(j["experiment"]["title"], "bench shape on 127.0.0.1");
    assert_eq!(j["experiment"]["x-unknown"], json!({"kept": true}));
    assert_eq!(j["experiment"]["dry"], Value::Null);
    assert_eq!(
        j["experiment"]["method"][0]["provider"]["arguments"][1], "${host}",
        "the journal keeps raw activities"
    );
    for when in ["before", "after"] {
        let s = &j["steady_states"][when];
        assert_eq!(s["steady_state_met"], true, "{when}: {s}");
        assert_eq!(s["probes"][0]["output"]["status"], 200);
        assert_eq!(s["probes"][0]["output"]["body"], "ok");
        assert_eq!(s["probes"][0]["output"]["headers"]["x-session"], "s-99");
        assert_eq!(s["probes"][0]["tolerance_met"], true);
    }
    let run0 = &j["run"][0];
    let keys: Vec<&str> = run0
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["activity", "output", "start", "status", "end", "duration"]
    );
    assert_eq!(
        run0["output"],
        json!({"status": 0, "stdout": "hi 127.0.0.1\n", "stderr": ""})
    );
    assert_eq!(j["rollbacks"][0]["status"], "succeeded");
    assert_eq!(
        srv.requests(),
        2,
        "the probe ran before and after the method"
    );
    assert!(out.contains("INFO] Action: say"), "{out}");
    assert!(out.contains("INFO] Rollback: undo"), "{out}");
}

#[test]
fn a_deviation_exits_1_and_a_gate_not_met_exits_0_with_rollbacks() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    // Not met before the method: completed, no method, rollbacks played, exit 0 (as chaos does).
    let (code, j, out) = chaos_run(dir.path(), &shape(&srv, "/missing"), &[]);
    let j = j.unwrap();
    assert_eq!(
        (code, j["status"].as_str(), j["deviated"].as_bool()),
        (Some(0), Some("completed"), Some(false)),
        "{out}"
    );
    assert_eq!(j["run"], json!([]));
    assert_eq!(j["rollbacks"].as_array().unwrap().len(), 1);
    // Met before, not after: deviated, exit 1.
    let flag = dir.path().join("flag");
    std::fs::write(&flag, "").unwrap();
    let exp = json!({"title": "t", "description": "d",
        "steady-state-hypothesis": {"title": "flag", "probes": [{"type": "probe", "name": "flag", "tolerance": 0,
            "provider": {"type": "process", "path": "test", "arguments": ["-f", flag.to_str().unwrap()]}}]},
        "method": [{"type": "action", "name": "rm", "provider": {"type": "process", "path": "rm", "arguments": [flag.to_str().unwrap()]}}]});
    let (code, j, out) = chaos_run(dir.path(), &exp, &[]);
    let j = j.unwrap();
    assert_eq!(
        (code, j["status"].as_str(), j["deviated"].as_bool()),
        (Some(1), Some("completed"), Some(true)),
        "{out}"
    );
    assert_eq!(
        j["steady_states"]["after"]["probes"][0]["output"]["status"],
        1
    );
}

#[test]
fn validate_reports_every_problem_with_its_place() {
    let dir = tempdir();
    let file = write(
        dir.path(),
        "bad.yaml",
        "title: t\nmethod:\n  - type: action\n    name: a\n    provider: {type: http}\n  - ref: nowhere\nsteady-state-hypothesis:\n  title: h\n  probes:\n    - {type: probe, name: p, provider: {type: process, path: true}, tolerance: 1.5}\n",
    );
    let out = run(&["chaos", "validate", file.to_str().unwrap()], LIMIT);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    for want in [
        "description: experiment requires a description",
        "method[0](a).provider: a HTTP activity must have a URL",
        "method[1]: referenced activity 'nowhere' could not be found in the experiment",
        "steady-state-hypothesis.probes[0](p).tolerance: hypothesis probe tolerance must either be",
    ] {
        assert!(t.contains(want), "missing {want:?} in\n{t}");
    }
    let good = write(
        dir.path(),
        "good.json",
        r#"{"title": "t", "description": "d", "method": []}"#,
    );
    let out = run(&["chaos", "validate", good.to_str().unwrap()], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let broken = write(dir.path(), "broken.json", "{\n  \"title\": ,\n}");
    let out = run(&["chaos", "validate", broken.to_str().unwrap()], LIMIT);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("broken.json:2:"), "{}", text(&out));
}

#[test]
fn usage_errors_exit_2_like_click() {
    let dir = tempdir();
    let file = write(
        dir.path(),
        "e.json",
        r#"{"title": "t", "description": "d", "method": []}"#,
    );
    let f = file.to_str().unwrap();
    for args in [
        vec!["chaos", "run", f, "--var", "x:int=abc"],
        vec!["chaos", "run", f, "--var", "novalue"],
        vec!["chaos", "run", f, "--var-file", "/nonexistent/vars.json"],
        vec!["chaos", "run", f, "--rollback-strategy", "sometimes"],
        vec!["chaos", "run", f, "--hypothesis-strategy", "rarely"],
    ] {
        let out = run(&args, LIMIT);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
    let missing = run(&["chaos", "run", "/nonexistent/e.json"], LIMIT);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
}

/// Starts a run whose only action sleeps, sends `sig` once it started, returns the journal.
fn interrupted(sig: nix::sys::signal::Signal, extra: &[&str]) -> Value {
    let dir = tempdir();
    let started = dir.path().join("started");
    let undone = dir.path().join("undone");
    let exp = json!({"title": "t", "description": "d",
        "method": [{"type": "action", "name": "sleep", "provider": {"type": "process", "path": "sh",
            "arguments": ["-c", format!("touch {}; sleep 20", started.display())]}}],
        "rollbacks": [{"type": "action", "name": "undo", "provider": {"type": "process", "path": "touch",
            "arguments": [undone.to_str().unwrap()]}}]});
    let file = write(dir.path(), "exp.json", &exp.to_string());
    let journal = dir.path().join("journal.json");
    let mut child = squall()
        .args([
            "chaos",
            "run",
            file.to_str().unwrap(),
            "--journal-path",
            journal.to_str().unwrap(),
        ])
        .args(extra)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !started.exists() {
        assert!(t0.elapsed() < LIMIT, "the action never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
    let status = child.wait().unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "the interruption did not stop the 20 s action"
    );
    assert_eq!(status.code(), Some(1));
    let j = read_json(&journal);
    assert_eq!(
        j["rollbacks"].as_array().unwrap().len() == 1,
        undone.exists(),
        "journal and world agree"
    );
    j
}

#[test]
fn ctrl_c_writes_an_interrupted_journal_and_rolls_back_by_default() {
    let j = interrupted(nix::sys::signal::Signal::SIGINT, &[]);
    assert_eq!(j["status"], "interrupted");
    assert!(
        j["run"][0].get("status").is_none(),
        "an interrupted activity has no status: {}",
        j["run"][0]
    );
    assert_eq!(j["rollbacks"][0]["status"], "succeeded");
}

#[test]
fn sigterm_with_the_chaos_toolkit_flag_skips_the_rollbacks() {
    let j = interrupted(
        nix::sys::signal::Signal::SIGTERM,
        &["--no-rollbacks-on-interrupt"],
    );
    assert_eq!(j["status"], "interrupted");
    assert_eq!(j["rollbacks"], json!([]));
    let j = interrupted(
        nix::sys::signal::Signal::SIGTERM,
        &[
            "--no-rollbacks-on-interrupt",
            "--rollback-strategy",
            "always",
        ],
    );
    assert_eq!(j["rollbacks"].as_array().unwrap().len(), 1);
}

#[test]
fn a_missing_python_is_a_clear_activity_failure() {
    let dir = tempdir();
    let exp = json!({"title": "t", "description": "d", "method": [
        {"type": "action", "name": "py", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}]});
    let file = write(dir.path(), "exp.json", &exp.to_string());
    let journal = dir.path().join("journal.json");
    let out = squall()
        .args([
            "chaos",
            "run",
            file.to_str().unwrap(),
            "--journal-path",
            journal.to_str().unwrap(),
        ])
        .env("SQUALL_PYTHON", "/nonexistent/python3")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "a failed action does not fail the run: {}",
        text(&out)
    );
    let j = read_json(&journal);
    assert_eq!(j["run"][0]["status"], "failed");
    let exc = j["run"][0]["exception"][0].as_str().unwrap();
    assert!(
        exc.contains("needs a Python interpreter") && exc.contains("SQUALL_PYTHON"),
        "{exc}"
    );
}

/// The conformance harness: every fixture in tests/chaos-conformance with the
/// real `chaos` (installed by scripts/test from tests/requirements.txt) and
/// with this squall, journals compared.
#[test]
fn conformance_with_chaostoolkit() {
    let root = repo_root();
    let out = std::process::Command::new(python())
        .arg(root.join("tests/chaos-conformance/run.py"))
        .args(["--squall", env!("CARGO_BIN_EXE_squall")])
        .output()
        .expect("python runs");
    let t = text(&out);
    assert!(
        out.status.success(),
        "conformance harness failed (run scripts/test to install chaostoolkit):\n{t}"
    );
    assert!(t.contains("fixtures conform"), "{t}");
}

/// Squall's simulator is driven with the plain `http` provider: the method
/// injects a fault through the control API, the hypothesis after the method
/// sees it (deviated), and the rollback clears it.
#[test]
fn a_sim_fault_injected_by_the_method_is_cleared_by_the_rollback() {
    use crate::sim_util::{Sim, http};
    let dir = tempdir();
    let sim = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - name: a\n"),
        &[],
    );
    let exp = json!({"title": "payment errors", "description": "d",
        "configuration": {"svc": format!("{}/", sim.url("a")), "control": sim.control},
        "steady-state-hypothesis": {"title": "a answers", "probes": [
            {"type": "probe", "name": "a-ok", "tolerance": 200, "provider": {"type": "http", "url": "${svc}", "timeout": 5}}]},
        "method": [{"type": "action", "name": "inject-503", "provider": {"type": "http", "method": "PUT",
            "url": "${control}/services/a/faults", "headers": {"Content-Type": "application/json"},
            "arguments": {"type": "error", "args": {"status": 503}, "lease": "60s"}}}],
        "rollbacks": [{"type": "action", "name": "clear", "provider": {"type": "http", "method": "DELETE",
            "url": "${control}/services/a/faults"}}]});
    let (code, j, out) = chaos_run(dir.path(), &exp, &[]);
    let j = j.expect("journal");
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        (j["status"].as_str(), j["deviated"].as_bool()),
        (Some("completed"), Some(true))
    );
    assert_eq!(j["run"][0]["output"]["status"], 201, "{}", j["run"][0]);
    assert_eq!(
        j["steady_states"]["after"]["probes"][0]["output"]["status"],
        503
    );
    assert_eq!(j["rollbacks"][0]["status"], "succeeded");
    assert_eq!(
        http("GET", &format!("{}/", sim.url("a")), None).status,
        200,
        "the rollback cleared the fault"
    );
}

/// A first Ctrl-C stops the method and starts the rollbacks; a second one
/// stops the rollbacks too (the journal is still written).
#[test]
fn a_second_ctrl_c_interrupts_the_rollbacks() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let dir = tempdir();
    let (acting, undoing) = (dir.path().join("acting"), dir.path().join("undoing"));
    let slow = |marker: &Path| json!(["-c", format!("touch {}; sleep 20", marker.display())]);
    let exp = json!({"title": "t", "description": "d",
        "method": [{"type": "action", "name": "act", "provider": {"type": "process", "path": "sh", "arguments": slow(&acting)}}],
        "rollbacks": [{"type": "action", "name": "undo", "provider": {"type": "process", "path": "sh", "arguments": slow(&undoing)}},
                      {"type": "action", "name": "never", "provider": {"type": "process", "path": "true"}}]});
    let file = write(dir.path(), "exp.json", &exp.to_string());
    let journal = dir.path().join("journal.json");
    let mut child = squall()
        .args([
            "chaos",
            "run",
            file.to_str().unwrap(),
            "--journal-path",
            journal.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(child.id() as i32);
    let t0 = std::time::Instant::now();
    for marker in [&acting, &undoing] {
        while !marker.exists() {
            assert!(t0.elapsed() < LIMIT, "{} never started", marker.display());
            std::thread::sleep(Duration::from_millis(10));
        }
        kill(pid, Signal::SIGINT).unwrap();
    }
    assert_eq!(child.wait().unwrap().code(), Some(1));
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "the rollback was not interrupted"
    );
    let j = read_json(&journal);
    assert_eq!(j["status"], "interrupted");
    let rollbacks = j["rollbacks"].as_array().unwrap();
    assert_eq!(
        rollbacks.len(),
        1,
        "the second rollback never started: {rollbacks:?}"
    );
    assert!(rollbacks[0].get("status").is_none(), "{}", rollbacks[0]);
}

/// `chaos`'s own options before the command, and `run --control-file`, so
/// a script can swap `chaos` for `squall chaos`: the log file as `chaos`
/// writes it (string or JSON lines), settings read and their sections
/// named, a control file that declares controls refused before the run.
#[test]
fn chaos_toolkits_top_level_options_are_accepted() {
    let dir = tempdir();
    let exp = write(
        dir.path(),
        "e.json",
        r#"{"title": "options", "description": "d", "method": [{"type": "action", "name": "noop", "provider": {"type": "process", "path": "true"}}]}"#,
    );
    let settings = write(
        dir.path(),
        "settings.yaml",
        "notifications:\n  - type: plugin\n    module: x\n",
    );
    let controls = write(dir.path(), "controls.json", "{}");
    let log = dir.path().join("ctk.log");
    let journal = dir.path().join("journal.json");
    let out = run(
        &[
            "chaos",
            "--no-version-check",
            "--verbose",
            "--log-file",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "--settings",
            settings.to_str().unwrap(),
            "run",
            "--control-file",
            controls.to_str().unwrap(),
            "--journal-path",
            journal.to_str().unwrap(),
            exp.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("`notifications` is not acted on by squall chaos"),
        "{}",
        text(&out)
    );
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!(lines.iter().any(|l| l["levelname"] == "DEBUG"), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "Running experiment: options"),
        "{lines:?}"
    );
    assert_eq!(read_json(&journal)["status"], "completed");

    // The default string format, and --no-log-file.
    let out = run(
        &[
            "chaos",
            "--log-file",
            log.to_str().unwrap(),
            "run",
            "--journal-path",
            journal.to_str().unwrap(),
            exp.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let first = std::fs::read_to_string(&log).unwrap();
    assert!(
        first.contains(" INFO] Running experiment: options"),
        "{first}"
    );
    assert!(
        !first.contains(" DEBUG]") || first.contains("DEBUG] squall"),
        "DEBUG only in the file"
    );
    let quiet = dir.path().join("none.log");
    let out = run(
        &[
            "chaos",
            "--no-log-file",
            "--log-file",
            quiet.to_str().unwrap(),
            "run",
            "--journal-path",
            journal.to_str().unwrap(),
            exp.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!quiet.exists());

    // Controls are not run, so a file declaring some is refused.
    let controls = write(
        dir.path(),
        "controls2.json",
        r#"{"my-control": {"provider": {"type": "python", "module": "x"}}}"#,
    );
    let out = run(
        &[
            "chaos",
            "--no-log-file",
            "run",
            "--control-file",
            controls.to_str().unwrap(),
            exp.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("runs no Chaos Toolkit controls"),
        "{}",
        text(&out)
    );
}
