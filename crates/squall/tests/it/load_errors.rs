//! Exit codes, bad input and interruption.

use std::time::Duration;

use crate::util::*;

#[test]
fn thresholds_decide_the_exit_code() {
    let srv = TestServer::start(Behaviour::default());
    let url = srv.url("/");
    let ok = run(
        &[
            "load",
            &url,
            "-n",
            "50",
            "-c",
            "2",
            "-q",
            "--threshold",
            "http_req_duration=p(95)<5s",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let fail = run(
        &[
            "load",
            &url,
            "-n",
            "50",
            "-c",
            "2",
            "-q",
            "--threshold",
            "http_req_duration=p(95)<0.001ms",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(fail.status.code(), Some(99), "{}", text(&fail));
    let stdout = String::from_utf8_lossy(&fail.stdout);
    assert!(
        stdout.contains("FAIL http_req_duration p(95)<0.001ms"),
        "{}",
        text(&fail)
    );
    // The observed value with its unit, as k6 prints it (a local p95 is
    // microseconds or milliseconds).
    let observed = stdout
        .split("(observed ")
        .nth(1)
        .unwrap_or("")
        .split(')')
        .next()
        .unwrap_or("");
    assert!(
        observed.ends_with("µs") || observed.ends_with("ms"),
        "{stdout}"
    );
    let failed_rate = run(
        &[
            "load",
            &srv.url("/missing"),
            "-n",
            "20",
            "-c",
            "2",
            "-q",
            "--threshold",
            "http_req_failed=rate<0.5",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(
        failed_rate.status.code(),
        Some(99),
        "{}",
        text(&failed_rate)
    );
    assert!(
        String::from_utf8_lossy(&failed_rate.stdout).contains("status 20"),
        "{}",
        text(&failed_rate)
    );
}

#[test]
fn abort_on_fail_stops_the_run_early() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    let plan = write(
        dir.path(),
        "plan.yaml",
        &format!(
            "base_url: {}\nscenarios:\n  - name: s\n    steps:\n      - request: {{url: /missing}}\n\
             load:\n  model: open\n  max_vus: 5\n  stages:\n    - {{rate: 50, for: 20s}}\n\
             thresholds:\n  http_req_failed:\n    - {{threshold: 'rate<0.1', abort_on_fail: true, delay_abort_eval: 1s}}\n",
            srv.url("")
        ),
    );
    let start = std::time::Instant::now();
    let out = run(
        &["load", plan.to_str().unwrap(), "-q"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "abort took {:?}",
        start.elapsed()
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ended: aborted"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_unreachable_target_is_counted_as_connect_errors() {
    // Port 1 on loopback: nothing listens there.
    let out = run(
        &["load", "http://127.0.0.1:1/", "-d", "1s", "-c", "2", "-q"],
        Duration::from_secs(30),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout.contains("errors: connect "), "{stdout}");
    assert!(!stdout.contains("errors: connect 0,"), "{stdout}");
    assert!(
        stdout.contains("Connection refused"),
        "first error is shown: {stdout}"
    );
}

#[test]
fn plan_errors_name_file_line_and_field() {
    let dir = tempdir();
    let plan = write(
        dir.path(),
        "bad.yaml",
        "base_url: http://127.0.0.1:1\nscenarios:\n  - name: s\n    steps:\n      - request: {url: /, timeout: soon}\nload: {model: closed, stages: [{users: 1, for: 1s}]}\n",
    );
    let out = run(&["load", plan.to_str().unwrap()], Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:5:"), "{err}");
    assert!(
        err.contains("scenarios[0].steps[0].request.timeout"),
        "{err}"
    );
    assert!(err.contains("invalid duration \"soon\""), "{err}");

    let plan = write(
        dir.path(),
        "vars.yaml",
        "base_url: http://127.0.0.1:1\nscenarios:\n  - name: s\n    steps:\n      - request: {url: '/u/${who}'}\n      - request: {url: '/v', method: 'GE T'}\nload: {model: open, stages: [{users: 1, for: 1s}]}\n",
    );
    let out = run(&["load", plan.to_str().unwrap()], Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("vars.yaml"), "{err}");
}

#[test]
fn validation_reports_every_problem_at_once() {
    let dir = tempdir();
    let plan = write(
        dir.path(),
        "many.yaml",
        "base_url: http://127.0.0.1:1\nscenarios:\n  - name: s\n    steps:\n      - request: {url: '/u/${who}'}\n      - request: {url: '/v', method: 'GE T'}\nload: {model: closed, stages: [{burst: 3}]}\nthresholds:\n  http_req_duraton: ['p(95)<1s']\n",
    );
    let out = run(&["load", plan.to_str().unwrap()], Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("4 problems:"), "{err}");
    assert!(!err.contains("::"), "{err}");
    assert!(
        err.contains("scenarios[0].steps[0].request.url: variable `${who}` is never set"),
        "{err}"
    );
    assert!(
        err.contains("scenarios[0].steps[1].request.method"),
        "{err}"
    );
    assert!(
        err.contains("load.stages[0]: `burst` only exists in the open model"),
        "{err}"
    );
    assert!(
        err.contains("thresholds.http_req_duraton[0]: unknown metric"),
        "{err}"
    );
}

#[test]
fn sigint_stops_gracefully_and_writes_every_output() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    let json = dir.path().join("o.json");
    let csv = dir.path().join("o.csv");
    let child = squall()
        .args([
            "load",
            &srv.url("/"),
            "--rate",
            "100",
            "-d",
            "60s",
            "-c",
            "4",
            "-q",
        ])
        .arg("--out")
        .arg(format!("json={}", json.display()))
        .arg("--out")
        .arg(format!("csv={}", csv.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let start = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "stopping took {:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ended: interrupted"),
        "{}",
        text(&out)
    );
    let doc = read_json(&json);
    assert_eq!(doc["summary"]["ended"], "interrupted");
    let sent = doc["summary"]["overall"]["requests"].as_u64().unwrap();
    assert!(sent >= 200, "about 2.5 s at 100/s, got {sent}");
    assert_eq!(
        sent,
        srv.requests(),
        "every request the server saw is in the output"
    );
    let rows = std::fs::read_to_string(&csv).unwrap().lines().count();
    assert!(rows >= 3, "csv has {rows} lines");
}

#[test]
fn bad_flags_are_usage_errors() {
    let out = run(
        &["load", "http://127.0.0.1:1/", "--rate", "-5"],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = run(
        &["load", "http://127.0.0.1:1/", "--out", "xml=f"],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown output kind"),
        "{}",
        text(&out)
    );
    let out = run(&["load", "ftp://127.0.0.1:1/"], Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = run(&["load", "--help"], Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--rate"));
    let out = run(&["--version"], Duration::from_secs(10));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("squall "));
}

/// Inputs that used to connect to port 80, spin a CPU, eat memory or send
/// injected headers: each is a located usage error (exit 2) before any
/// request.
#[test]
fn bad_input_is_refused_before_any_request() {
    let dir = tempdir();
    let deep = write(
        dir.path(),
        "deep.yaml",
        &format!(
            "scenarios: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    );
    let named_all = write(
        dir.path(),
        "all.yaml",
        "scenarios: [{name: s, steps: [{request: {name: all, url: \"http://127.0.0.1:1/\"}}]}]\nload: {model: closed, stages: [{users: 1, for: 1s}]}\n",
    );
    let burst = write(
        dir.path(),
        "burst.yaml",
        "scenarios: [{name: s, steps: [{request: {url: \"http://127.0.0.1:1/\"}}]}]\nload: {model: open, stages: [{burst: 1000000000000}]}\n",
    );
    let u = "http://127.0.0.1:1/";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["http://127.0.0.1:99999/"],
            "port \"99999\" is not a number from 1 to 65535",
        ),
        (vec!["http://127.0.0.1:65536/"], "port \"65536\""),
        (vec!["http://127.0.0.1:abc/"], "port \"abc\""),
        (vec!["http://127.0.0.1:-1/"], "port \"-1\""),
        (vec!["http://127.0.0.1:/"], "port \"\""),
        (vec!["127.0.0.1:8080/"], "write \"http://127.0.0.1:8080/\""),
        (
            vec![u, "--rate", "1e9"],
            "over the limit of 1000000 arrivals per second",
        ),
        (vec![u, "-c", "100000000"], "over the limit of 100000 users"),
        (
            vec![u, "-H", "X-A: a\r\nInjected: yes"],
            "a header value cannot contain CR, LF or NUL",
        ),
        (vec![u, "-H", "X A: b"], "is not a valid header name"),
        (vec![u, "--threads", "0"], "must be at least 1"),
        (vec![u, "-n", "0"], "must be at least 1"),
        (vec![deep.to_str().unwrap()], "nested more than 128 levels"),
        (vec![named_all.to_str().unwrap()], "`all` is reserved"),
        (
            vec![burst.to_str().unwrap()],
            "over the limit of 1000000 iterations at once",
        ),
    ];
    for (args, needle) in cases {
        let mut full = vec!["load"];
        full.extend(&args);
        full.extend(["-d", "1s"]);
        let out = run(&full, Duration::from_secs(20));
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {t}");
        assert!(t.contains(needle), "{args:?}: missing {needle:?} in {t}");
        assert!(!t.contains("::"), "{args:?}: {t}");
    }
}
