//! Open and closed models: counts the server sees, coordinated omission, segments.

use std::time::Duration;

use crate::util::*;

#[test]
fn open_model_sends_exactly_the_scheduled_requests() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    let json = dir.path().join("out.json");
    let out = run(
        &[
            "load",
            &srv.url("/"),
            "--rate",
            "200",
            "-d",
            "5s",
            "-c",
            "20",
            "-q",
            "--out",
            &format!("json={}", json.display()),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let seen = srv.requests();
    assert!((999..=1001).contains(&seen), "server saw {seen} requests");
    let doc = read_json(&json);
    assert_eq!(
        doc["summary"]["overall"]["requests"].as_u64().unwrap(),
        seen
    );
    assert_eq!(doc["summary"]["iterations"]["dropped"], 0);
}

#[test]
fn corrected_latency_shows_stalls_that_service_time_hides() {
    // The server pauses everything for 1 s every 300 requests. With only 2
    // connections, requests due during the pause wait for a connection: the
    // latency from their intended start shows the pause, the service time
    // (what wrk would report) does not.
    let srv = TestServer::start(Behaviour {
        stall_every: 300,
        stall_for: Duration::from_secs(1),
    });
    let dir = tempdir();
    let json = dir.path().join("out.json");
    let out = run(
        &[
            "load",
            &srv.url("/"),
            "--rate",
            "200",
            "-d",
            "4s",
            "-c",
            "2",
            "-q",
            "--out",
            &format!("json={}", json.display()),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = read_json(&json);
    let o = &doc["summary"]["overall"];
    let corrected = o["latency_ms"]["p99"].as_f64().unwrap();
    let service = o["service_ms"]["p99"].as_f64().unwrap();
    assert!(
        corrected > 500.0,
        "corrected p99 {corrected} ms should show the 1 s stalls"
    );
    assert!(service < 100.0, "service p99 {service} ms should not");
    assert!(
        corrected > 10.0 * service,
        "corrected {corrected} vs service {service}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("all (latency)") && stdout.contains("all (service time)"),
        "{stdout}"
    );
    assert!(doc["summary"]["iterations"]["late"].as_u64().unwrap() > 0);
}

#[test]
fn closed_model_keeps_connections_busy_and_reuses_them() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    let json = dir.path().join("out.json");
    let out = run(
        &[
            "load",
            &srv.url("/"),
            "-c",
            "4",
            "-d",
            "1s",
            "-q",
            "--out",
            &format!("json={}", json.display()),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = read_json(&json);
    let s = &doc["summary"]["overall"];
    let requests = s["requests"].as_u64().unwrap();
    assert!(requests > 100, "only {requests} requests in 1 s");
    assert_eq!(requests, srv.requests());
    // Keep-alive: four connections, so four connection set-ups.
    assert_eq!(s["connect_ms"]["count"].as_u64().unwrap(), 4);
}

#[test]
fn iterations_model_stops_at_the_count() {
    let srv = TestServer::start(Behaviour::default());
    let out = run(
        &["load", &srv.url("/"), "-n", "250", "-c", "3", "-q"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(srv.requests(), 250);
}

#[test]
fn segments_add_up_to_the_whole_plan() {
    // Three generators each run their segment of the same plans; the server
    // counts the union.
    let srv = TestServer::start(Behaviour::default());
    for seg in ["1/3", "2/3", "3/3"] {
        let out = run(
            &[
                "load",
                &srv.url("/"),
                "-n",
                "100",
                "-c",
                "4",
                "--segment",
                seg,
                "-q",
            ],
            Duration::from_secs(30),
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    assert_eq!(srv.requests(), 100);
    let srv = TestServer::start(Behaviour::default());
    let mut handles = Vec::new();
    for seg in ["1/3", "2/3", "3/3"] {
        let url = srv.url("/");
        handles.push(std::thread::spawn(move || {
            run(
                &[
                    "load",
                    &url,
                    "--rate",
                    "101",
                    "-d",
                    "2s",
                    "-c",
                    "4",
                    "--segment",
                    seg,
                    "-q",
                ],
                Duration::from_secs(30),
            )
        }));
    }
    for h in handles {
        let out = h.join().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    assert_eq!(srv.requests(), 202);
}

#[test]
fn http2_prior_knowledge_reaches_the_server_as_h2() {
    let srv = TestServer::start(Behaviour::default());
    let out = run(
        &[
            "load",
            &srv.url("/"),
            "--http2",
            "-n",
            "50",
            "-c",
            "2",
            "-q",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(srv.requests(), 50);
    assert_eq!(srv.seen.http2.load(std::sync::atomic::Ordering::SeqCst), 50);
}

#[test]
fn tls_verifies_certificates_unless_insecure() {
    let srv = TestServer::start_tls(Behaviour::default());
    let url = srv.https_url("/");
    // The self-signed certificate is refused by default...
    let out = run(
        &["load", &url, "-n", "5", "-c", "1", "-q"],
        Duration::from_secs(30),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("errors: connect 5,"), "{}", text(&out));
    assert!(stdout.contains("TLS handshake"), "{}", text(&out));
    assert_eq!(srv.requests(), 0);
    // ...accepted with --insecure, over HTTP/1.1 and HTTP/2 (ALPN).
    let out = run(
        &["load", &url, "-n", "40", "-c", "2", "-q", "--insecure"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("errors: connect 0, timeout 0, status 0, check 0, protocol 0"),
        "{}",
        text(&out)
    );
    assert_eq!(srv.requests(), 40);
    let out = run(
        &["load", &url, "-n", "30", "-c", "2", "-q", "-k", "--http2"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(srv.requests(), 70);
    assert_eq!(srv.seen.http2.load(std::sync::atomic::Ordering::SeqCst), 30);
}

/// A target that stops answering near the end: every iteration that was
/// due is accounted for (started or dropped), none silently discarded.
#[test]
fn iterations_due_but_never_started_at_the_end_count_as_dropped() {
    let dir = tempdir();
    let sim = crate::sim_util::Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let pid = nix::unistd::Pid::from_raw(sim.child.id() as i32);
    let json = dir.path().join("out.json");
    let url = sim.url("a").to_string();
    let child = squall()
        .args(["load", &url, "--rate", "200", "-d", "3s", "-c", "20", "-q"])
        .arg("--out")
        .arg(format!("json={}", json.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let out = child.wait_with_output().unwrap();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    assert!(out.status.code().is_some(), "{}", text(&out));
    let it = &read_json(&json)["summary"]["iterations"];
    let (started, dropped) = (
        it["started"].as_u64().unwrap(),
        it["dropped"].as_u64().unwrap(),
    );
    assert_eq!(
        started + dropped,
        600,
        "every due iteration accounted for: {it}"
    );
    assert!(
        dropped >= 100,
        "the stalled second's arrivals are dropped: {it}"
    );
}

#[test]
fn scenarios_given_arrivals_per_second_get_exactly_them() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    let plan = write(
        dir.path(),
        "plan.yaml",
        &format!(
            "base_url: {}\nscenarios:\n  - name: buy\n    arrivals: [3, 0, 5, 2]\n    steps: [{{request: {{name: buy, url: /}}}}]\n  - name: browse\n    arrivals: [1, 2, 0]\n    steps: [{{request: {{name: browse, url: /}}}}]\nload: {{model: open, max_vus: 20}}\n",
            srv.url("").trim_end_matches('/')
        ),
    );
    let json = dir.path().join("out.json");
    let out = run(
        &[
            "load",
            plan.to_str().unwrap(),
            "-q",
            "--out",
            &format!("json={}", json.display()),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(srv.requests(), 13, "the sum of every arrival");
    let doc = read_json(&json);
    let by = &doc["summary"]["by_name"];
    let count = |v: &serde_json::Value, name: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .map_or(0, |r| r["requests"].as_u64().unwrap())
    };
    assert_eq!((count(by, "buy"), count(by, "browse")), (10, 3));
    // Second by second, each scenario got its own count. An arrival due on
    // a second's boundary (x.000 s) may be measured in the second before,
    // so the running totals may lead by one, never lag.
    let seconds = doc["seconds"].as_array().unwrap();
    let (mut buy, mut browse) = (0i64, 0i64);
    for (n, (want_buy, want_browse)) in [(3, 1), (3, 3), (8, 3), (10, 3)].iter().enumerate() {
        buy += count(&seconds[n]["by_name"], "buy") as i64;
        browse += count(&seconds[n]["by_name"], "browse") as i64;
        assert!(
            (0..=1).contains(&(buy - want_buy)) && (0..=1).contains(&(browse - want_browse)),
            "after second {n}: {buy} buy, {browse} browse; want {want_buy}, {want_browse}"
        );
    }

    // Validated with the rest: stages beside arrivals, a scenario without.
    let bad = write(
        dir.path(),
        "bad.yaml",
        "scenarios:\n  - {name: a, arrivals: [1], steps: [{request: {url: \"http://127.0.0.1:1/\"}}]}\n  - {name: b, steps: [{request: {url: \"http://127.0.0.1:1/\"}}]}\nload: {model: open, stages: [{rate: 1, for: 1s}]}\n",
    );
    let out = run(&["load", bad.to_str().unwrap()], Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("load.stages") && t.contains("scenarios[1].arrivals"),
        "{t}"
    );
}
