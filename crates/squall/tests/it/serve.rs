//! `squall serve` over real HTTP: stored, versioned experiments, runs
//! through the same engine as `squall run`, SSE with ids, stop, a crash
//! mid-run, many clients, two runs at once, MiSArch's routes.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::run::active_faults;
use crate::serve_util::{Server, SseEvent, read_sse, short_experiment};
use crate::util::{tempdir, write};

fn ids(events: &[SseEvent]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e.id.expect("every event has an id"))
        .collect()
}

fn names(events: &[SseEvent]) -> BTreeSet<String> {
    events.iter().map(|e| e.name.clone()).collect()
}

#[test]
fn experiments_versions_and_a_run_from_start_to_report() {
    let dir = tempdir();
    let server = Server::start(&dir.path().join("data"), &[], &[]);

    // An invalid document: 400, a problem document, located errors.
    let bad = serde_json::json!({"name": "bad", "document": "title: x\nworkload:\n  load: {model: open, stages: [{rate: -5, for: 1s}]}\n"});
    let r = server.call("POST", "/api/v1/experiments", Some(&bad.to_string()));
    assert_eq!(r.status, 400, "{}", r.body);
    let p = r.json();
    assert_eq!(p["field"], "document");
    assert!(
        p["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("experiment.yaml:"),
        "{p}"
    );
    // A body that is not what the route takes names the field.
    let r = server.call(
        "POST",
        "/api/v1/experiments",
        Some(r#"{"name": 3, "document": ""}"#),
    );
    assert_eq!(
        (r.status, r.json()["field"].as_str()),
        (400, Some("name")),
        "{}",
        r.body
    );

    let id = server.create("short", &short_experiment(20));
    // Edit version 1 before it runs; a new version copies it.
    let edited = short_experiment(25);
    let r = server.call(
        "PUT",
        &format!("/api/v1/experiments/{id}/versions/1/document"),
        Some(&edited),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = server.call(
        "GET",
        &format!("/api/v1/experiments/{id}/versions/1/document"),
        None,
    );
    assert_eq!(r.body, edited, "GET returns exactly what was PUT");
    let r = server.call(
        "POST",
        &format!("/api/v1/experiments/{id}/versions"),
        Some("{}"),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["version"], 2);

    // The CLI runs the same document at the same time, for comparison.
    let cli_dir = dir.path().join("cli");
    let exp = write(dir.path(), "exp.yaml", &edited);
    let cli = std::thread::spawn(move || {
        crate::util::run(
            &[
                "run",
                exp.to_str().unwrap(),
                "--runs-dir",
                cli_dir.to_str().unwrap(),
                "-q",
            ],
            Duration::from_secs(60),
        );
        cli_dir
    });

    let run = server.start_run(&id, 1);
    let again = server.call(
        "POST",
        &format!("/api/v1/experiments/{id}/versions/1/runs"),
        None,
    );
    assert_eq!(
        again.status, 409,
        "a second start of the same version: {}",
        again.body
    );
    let events = server.events(&run, None, Duration::from_secs(60));
    let last = events.last().expect("events");
    assert_eq!(last.name, "ended", "{events:?}");
    assert_eq!(last.json()["status"], "completed");
    let n = events.len() as i64;
    assert_eq!(
        ids(&events),
        (1..=n).collect::<Vec<_>>(),
        "ids 1..n without a gap"
    );
    let seen = names(&events);
    for want in [
        "running", "phase", "fault", "revert", "second", "goal", "ended",
    ] {
        assert!(seen.contains(want), "no {want} event in {seen:?}");
    }
    // The fault event is the injector's confirmation, before its revert.
    let at = |name: &str| events.iter().position(|e| e.name == name).unwrap();
    assert!(at("fault") < at("revert"));

    // Resume after an id: exactly the rest.
    let rest = server.events(&run, Some(5), Duration::from_secs(10));
    assert_eq!(ids(&rest), (6..=n).collect::<Vec<_>>());

    let r = server
        .call("GET", &format!("/api/v1/runs/{run}"), None)
        .json();
    assert_eq!(r["status"], "completed");
    let verdict = r["verdict"].as_str().unwrap().to_string();
    let report = server.call("GET", &format!("/api/v1/runs/{run}/report"), None);
    assert_eq!(report.status, 200);
    assert_eq!(report.json()["verdict"], verdict.as_str());
    assert_eq!(last.json()["verdict"], verdict.as_str());
    let html = server.call("GET", &format!("/api/v1/runs/{run}/report.html"), None);
    assert!(
        html.status == 200 && html.body.contains("<html"),
        "{}",
        html.status
    );
    let seconds = events.iter().filter(|e| e.name == "second").count();
    let metrics = server
        .call("GET", &format!("/api/v1/runs/{run}/metrics"), None)
        .json();
    assert_eq!(metrics.as_array().unwrap().len(), seconds);
    // Only names the run directory lists are served.
    let r = server.call(
        "GET",
        &format!("/api/v1/runs/{run}/files/..%2Fsquall.db"),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.body);

    // A version that ran is frozen.
    let r = server.call(
        "PUT",
        &format!("/api/v1/experiments/{id}/versions/1/document"),
        Some(&edited),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    let runs = server
        .call(
            "GET",
            &format!("/api/v1/experiments/{id}/versions/1/runs"),
            None,
        )
        .json();
    assert_eq!(runs[0]["id"], run.as_str());

    // Same engine, same directory: the files of the CLI's run.
    let cli_dir = cli.join().unwrap();
    let cli_run = std::fs::read_dir(&cli_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !p.ends_with("grafana"))
        .unwrap();
    let listing = |d: &std::path::Path| -> BTreeSet<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    };
    let served: BTreeSet<String> = server
        .call("GET", &format!("/api/v1/runs/{run}/files"), None)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(served, listing(&cli_run));
}

#[test]
fn stop_reverts_the_fault_on_the_target_and_reports_what_ran() {
    let dir = tempdir();
    let sim = crate::sim_util::Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let a = sim.url("a").to_string();
    let doc = format!(
        "title: stop me\nworkload:\n  base_url: {a}\n  scenarios: [{{name: s, steps: [{{request: {{url: /}}}}]}}]\n  load: {{model: open, max_vus: 20, stages: [{{rate: 20, for: 60s}}]}}\n\
         faults:\n  - {{name: slow, at: 1s, for: 50s, fault: {{type: latency, url: \"{a}\", args: {{delay: 5}}}}}}\n\
         goals:\n  - {{name: errors, metric: http_req_failed, condition: rate<0.5}}\n"
    );
    let server = Server::start(&dir.path().join("data"), &[], &[]);
    let id = server.create("stop", &doc);
    let run = server.start_run(&id, 1);
    let before = read_sse(
        &server.base,
        &format!("/api/v1/runs/{run}/events"),
        None,
        None,
        Duration::from_secs(30),
        |e| e.name == "fault",
    );
    assert_eq!(
        before.last().map(|e| e.name.as_str()),
        Some("fault"),
        "{before:?}"
    );
    assert_eq!(active_faults(&a), 1, "the simulator holds the fault");

    let r = server.call("POST", &format!("/api/v1/runs/{run}/stop"), None);
    assert_eq!(r.status, 202, "{}", r.body);
    let after = server.events(&run, before.last().unwrap().id, Duration::from_secs(30));
    assert!(after.iter().any(|e| e.name == "revert"), "{after:?}");
    let ended = after.last().unwrap().json();
    assert_eq!(ended["status"], "stopped", "{ended}");
    assert_eq!(ended["verdict"], "interrupted");
    assert_eq!(active_faults(&a), 0, "reverted on the target");
    let report = server.call("GET", &format!("/api/v1/runs/{run}/report"), None);
    assert_eq!(report.status, 200, "{}", report.body);
    assert!(
        !report.json()["series"].as_array().unwrap().is_empty(),
        "the seconds that ran are reported"
    );
    let r = server.call("POST", &format!("/api/v1/runs/{run}/stop"), None);
    assert_eq!(r.status, 409, "stopping an ended run: {}", r.body);
}

#[test]
fn a_server_killed_mid_run_closes_it_at_restart_and_keeps_its_seconds() {
    use crate::fault_util::{eventually, state, victim};
    let dir = tempdir();
    let data = dir.path().join("data");
    let sim = crate::sim_util::Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let a = sim.url("a").to_string();
    let mut v = victim();
    let pid = v.id() as i32;
    let doc = format!(
        "title: crash\nworkload:\n  base_url: {a}\n  scenarios: [{{name: s, steps: [{{request: {{url: /}}}}]}}]\n  load: {{model: open, max_vus: 20, stages: [{{rate: 20, for: 60s}}]}}\n\
         faults:\n  - {{name: frozen, at: 500ms, for: 50s, fault: {{type: pause, args: {{pid: {pid}}}}}}}\n\
         goals:\n  - {{name: errors, metric: http_req_failed, condition: rate<0.5}}\n"
    );
    let env = [("SQUALL_TOKEN", "s3cret-token-for-tests")];
    let mut server = Server::start(&data, &["--allow-commands"], &env);
    let r = crate::sim_util::http("GET", &server.url("/api/v1/experiments"), None);
    assert_eq!(r.status, 401, "the token is required: {}", r.body);
    let id = server.create("crash", &doc);
    let run = server.start_run(&id, 1);
    let mut main_seconds = 0;
    let seen = read_sse(
        &server.base,
        &format!("/api/v1/runs/{run}/events"),
        None,
        Some("s3cret-token-for-tests"),
        Duration::from_secs(30),
        |e| {
            if e.name == "second" && e.json()["phase"] != "warm-up" {
                main_seconds += 1;
            }
            main_seconds >= 3
        },
    );
    assert!(seen.iter().any(|e| e.name == "fault"), "{seen:?}");
    assert_eq!(state(pid), Some('T'), "the victim is paused");
    server.kill9();

    let server = Server::start(&data, &["--allow-commands"], &env);
    assert!(
        eventually(Duration::from_secs(10), || state(pid) == Some('S')),
        "the paused process was continued after the crash"
    );
    let r = server
        .call("GET", &format!("/api/v1/runs/{run}"), None)
        .json();
    assert_eq!(r["status"], "interrupted", "{r}");
    let metrics = server
        .call("GET", &format!("/api/v1/runs/{run}/metrics"), None)
        .json();
    let kept = metrics.as_array().unwrap().len();
    assert!(
        kept >= 3,
        "the seconds measured before the crash are kept: {kept}"
    );
    let report = server.call("GET", &format!("/api/v1/runs/{run}/report"), None);
    assert_eq!(report.status, 200, "{}", report.body);
    let report = report.json();
    assert_eq!(report["verdict"], "interrupted");
    assert_eq!(report["series"].as_array().unwrap().len(), kept);
    let events = server.events(&run, None, Duration::from_secs(10));
    assert_eq!(events.last().unwrap().json()["status"], "interrupted");
    assert_eq!(ids(&events), (1..=events.len() as i64).collect::<Vec<_>>());
    let _ = v.kill();
    let _ = v.wait();
}

#[test]
fn fifty_clients_get_every_event_while_two_runs_go_at_once() {
    let dir = tempdir();
    let server = Server::start(&dir.path().join("data"), &["--max-runs", "2"], &[]);
    let a = server.create("a", &short_experiment(20));
    let b = server.create("b", &short_experiment(10));
    let c = server.create("c", &short_experiment(10));
    let run_a = server.start_run(&a, 1);
    let run_b = server.start_run(&b, 1);
    let r = server.call(
        "POST",
        &format!("/api/v1/experiments/{c}/versions/1/runs"),
        None,
    );
    assert_eq!(r.status, 429, "over --max-runs: {}", r.body);

    let base = server.base.clone();
    let clients: Vec<_> = (0..50)
        .map(|_| {
            let (base, run) = (base.clone(), run_a.clone());
            std::thread::spawn(move || {
                read_sse(
                    &base,
                    &format!("/api/v1/runs/{run}/events"),
                    None,
                    None,
                    Duration::from_secs(90),
                    |_| false,
                )
            })
        })
        .collect();
    let got_b = server.events(&run_b, None, Duration::from_secs(90));
    let all: Vec<Vec<SseEvent>> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let first = &all[0];
    assert_eq!(first.last().unwrap().name, "ended", "{first:?}");
    assert_eq!(ids(first), (1..=first.len() as i64).collect::<Vec<_>>());
    for (i, c) in all.iter().enumerate() {
        assert_eq!(c, first, "client {i} saw what client 0 saw");
    }
    assert_eq!(
        got_b.last().unwrap().json()["status"],
        "completed",
        "{got_b:?}"
    );
    assert_eq!(first.last().unwrap().json()["status"], "completed");
}

#[test]
fn code_and_process_faults_need_a_flag_and_a_token_beyond_loopback() {
    let dir = tempdir();
    let out = crate::util::run(
        &[
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2), "{}", crate::util::text(&out));
    assert!(crate::util::text(&out).contains("token"));

    let server = Server::start(&dir.path().join("data"), &[], &[]);
    let doc = format!(
        "{}method:\n  - {{type: action, name: shell, provider: {{type: process, path: \"true\"}}}}\n",
        short_experiment(10)
    );
    let body = serde_json::json!({"name": "shell", "document": doc}).to_string();
    let r = server.call("POST", "/api/v1/experiments", Some(&body));
    assert_eq!(r.status, 201, "stored, with a warning: {}", r.body);
    let created = r.json();
    assert!(
        created["warnings"].to_string().contains("--allow-commands"),
        "{created}"
    );
    let id = created["id"].as_str().unwrap();
    let r = server.call(
        "POST",
        &format!("/api/v1/experiments/{id}/versions/1/runs"),
        None,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.json()["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("method[0].provider.type"),
        "{}",
        r.body
    );
    let r = server
        .call(
            "GET",
            &format!("/api/v1/experiments/{id}/versions/1/runs"),
            None,
        )
        .json();
    assert_eq!(r, serde_json::json!([]), "nothing ran");

    // No file of the server's disk is read for a caller.
    let body = serde_json::json!({"name": "f", "document": "sim: /etc/passwd\n"}).to_string();
    let r = server.call("POST", "/api/v1/experiments", Some(&body));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!r.body.contains("root:"), "{}", r.body);
    // A web page of another origin cannot change anything; the same origin can.
    let body = serde_json::json!({"name": "x", "document": short_experiment(10)}).to_string();
    let evil = [("Origin", "http://evil.example")];
    let r = crate::sim_util::http_with(
        "POST",
        &server.url("/api/v1/experiments"),
        Some(&body),
        &evil,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let own = server.base.clone();
    let r = crate::sim_util::http_with(
        "POST",
        &server.url("/api/v1/experiments"),
        Some(&body),
        &[("Origin", own.as_str())],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // With an allowlist, a host outside it is refused at start, located.
    let fenced = Server::start(
        &dir.path().join("fenced"),
        &[
            "--allow-target",
            "ok.example",
            "--cors-origin",
            "http://ui.example",
        ],
        &[],
    );
    let doc = short_experiment(10).replace("title: serve test\n", "title: far\ntarget: http://127.0.0.1:9/\n").replace(
        "scenarios:\n",
        "scenarios:\n    - name: far\n      steps:\n        - request: {name: far, url: \"http://10.255.255.1:9/x\"}\n",
    );
    let id = fenced.create("far", &doc);
    let r = fenced.call(
        "POST",
        &format!("/api/v1/experiments/{id}/versions/1/runs"),
        None,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body.contains("10.255.255.1 is not among the hosts"),
        "{}",
        r.body
    );
    // The named origin may call from a browser: its preflight is answered.
    let pre = [
        ("Origin", "http://ui.example"),
        ("Access-Control-Request-Method", "POST"),
    ];
    let r = crate::sim_util::http_with("OPTIONS", &fenced.url("/api/v1/experiments"), None, &pre);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://ui.example"),
        "{}",
        r.head
    );
    let r = crate::sim_util::http_with(
        "OPTIONS",
        &fenced.url("/api/v1/experiments"),
        None,
        &[
            ("Origin", "http://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
    );
    assert_eq!(r.header("access-control-allow-origin"), None, "{}", r.head);
    // Text PostgreSQL could not hold is refused up front.
    let body = serde_json::json!({"name": "a\u{0}b", "document": short_experiment(10)}).to_string();
    assert_eq!(
        server
            .call("POST", "/api/v1/experiments", Some(&body))
            .status,
        400
    );
}

#[test]
fn postgresql_holds_the_same_state_as_sqlite_and_survives_a_crash() {
    let Some(pg) = crate::serve_util::Postgres::start() else {
        return;
    };
    let dir = tempdir();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &["--database", &pg.url], &[]);
    let health = server.call("GET", "/api/v1/health", None).json();
    assert_eq!(health["database"], "postgres");
    let id = server.create("on postgres", &short_experiment(10));
    let run = server.start_run(&id, 1);
    let events = server.events(&run, None, Duration::from_secs(60));
    assert_eq!(
        events.last().unwrap().json()["status"],
        "completed",
        "{events:?}"
    );
    assert!(!data.join("squall.db").exists(), "nothing in SQLite");
    server.kill9();

    // The migrations run again on the same database without harm; the
    // experiment, its run and every event are still there.
    let server = Server::start(&data, &["--database", &pg.url], &[]);
    let list = server.call("GET", "/api/v1/experiments", None).json();
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["latest_run"]["id"], run.as_str());
    let again = server.events(&run, None, Duration::from_secs(10));
    assert_eq!(again, events);
}

#[test]
fn the_api_answers_schemathesis_as_its_openapi_document_says() {
    let dir = tempdir();
    let server = Server::start(&dir.path().join("data"), &[], &[]);
    // The served document is the generator's output (no hand edits drift).
    let generated = std::process::Command::new(crate::util::python())
        .arg(crate::util::repo_root().join("crates/server/openapi.py"))
        .output()
        .unwrap();
    let served = server.call("GET", "/api/v1/openapi.json", None);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&generated.stdout).unwrap(),
        served.json(),
        "crates/server/openapi.json is stale: python3 crates/server/openapi.py > crates/server/openapi.json"
    );
    let st = std::path::Path::new(&crate::util::python()).with_file_name("st");
    assert!(
        st.exists(),
        "schemathesis is installed by scripts/test ({})",
        st.display()
    );
    // Every check but "valid data is accepted": a document can be a valid
    // string and still an invalid experiment (400, located), which JSON
    // Schema cannot say.
    // Run from the temporary directory: schemathesis keeps a cache there.
    let out = std::process::Command::new(&st)
        .current_dir(dir.path())
        .args([
            "run",
            &server.url("/api/v1/openapi.json"),
            "--checks",
            "all",
        ])
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--max-examples", "25", "--seed", "1", "--no-color"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis found problems:\n{text}");
    assert!(text.contains("passed"), "{text}");
}

#[test]
fn misarch_routes_keep_their_shapes_and_run_on_the_engine() {
    use crate::sim_util::http;
    let dir = tempdir();
    let server = Server::start(&dir.path().join("data"), &[], &[]);
    let r = server.call("POST", "/experiment/generate?testName=x", None);
    assert_eq!(
        (r.status, r.json()["field"].as_str()),
        (400, Some("loadType")),
        "{}",
        r.body
    );
    let r = server.call(
        "POST",
        "/experiment/generate?loadType=NormalLoadTest&testName=Shop&maximumArrivingUsersPerSecond=5&testDuration=3",
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (id, v1) = r.body.split_once(':').expect("uuid:v1");
    assert_eq!(v1, "v1");
    let list = server.call("GET", "/experiment/list", None).json();
    assert_eq!(list, serde_json::json!([id]));
    assert_eq!(
        server
            .call("GET", &format!("/experiment/{id}/versions"), None)
            .json(),
        serde_json::json!(["v1"])
    );
    let r = server.call("GET", "/experiment/not-a-uuid/versions", None);
    assert_eq!(r.status, 400, "{}", r.body);

    let config = server
        .call("GET", &format!("/experiment/{id}/v1/config"), None)
        .json();
    assert_eq!(config["testUUID"], id);
    assert_eq!(config["loadType"], "NormalLoadTest");
    let generated = server
        .call("GET", &format!("/experiment/{id}/v1/gatlingConfig"), None)
        .body;
    let r = server.call("POST", &format!("/experiment/{id}/v1/newVersion"), None);
    assert_eq!(r.body, "v2");
    let c2 = server
        .call("GET", &format!("/experiment/{id}/v2/config"), None)
        .json();
    assert_eq!(c2["testVersion"], "v2");
    assert_eq!(
        server
            .call("GET", &format!("/experiment/{id}/v2/gatlingConfig"), None)
            .body,
        generated,
        "a new version copies every part"
    );

    // Parts come back exactly as they were PUT (v2; v1 keeps what was
    // generated and runs below).
    let gatling = r#"[{"fileName":"buy","encodedWorkFileContent":"Y2xhc3M=","encodedUserStepsFileContent":"dXNlcnN0ZXBzCjMK"}]"#;
    let chaos = r#"{"title": "t", "method": []}"#;
    let failures = r#"[{"failures":[{"name":"payment","pubSubDeterioration":null}],"pauses":{"before":1,"after":2}}]"#;
    for (part, body) in [
        ("gatlingConfig", gatling),
        ("chaosToolkitConfig", chaos),
        ("misarchExperimentConfig", failures),
    ] {
        let r = server.call("PUT", &format!("/experiment/{id}/v2/{part}"), Some(body));
        assert_eq!(r.status, 200, "{part}: {}", r.body);
        assert_eq!(
            server
                .call("GET", &format!("/experiment/{id}/v2/{part}"), None)
                .body,
            body,
            "{part}"
        );
    }
    let r = server.call(
        "PUT",
        &format!("/experiment/{id}/v2/gatlingConfig"),
        Some(r#"[{"fileName": 1}]"#),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    // The Kotlin stored above ("class") is not a scenario: v2 cannot run,
    // and says where.
    let r = server.call("POST", &format!("/experiment/{id}/v2/start"), None);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .contains("gatlingConfig[0] buy.kt:1:1: expected `val`"),
        "{}",
        r.body
    );

    // One message on MiSArch's event route: the dashboard link.
    let (base, path) = (server.base.clone(), format!("/experiment/{id}/v1/events"));
    let listener = std::thread::spawn(move || {
        read_sse(&base, &path, None, None, Duration::from_secs(60), |_| true)
    });
    std::thread::sleep(Duration::from_millis(300));
    let r = server.call("POST", &format!("/experiment/{id}/v1/start"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = server.call("POST", &format!("/experiment/{id}/v1/start"), None);
    assert_eq!(r.status, 409, "the original answers 500 here: {}", r.body);
    let got = listener.join().unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    let link = got[0].data.clone();
    let want = format!("/d/{id}-v1");
    assert!(
        link.starts_with("http://") && link.ends_with(&want),
        "{link}"
    );
    let r = http("GET", &link, None);
    assert_eq!(
        r.status, 303,
        "the link leads to the run's report: {}",
        r.body
    );
    let runs = server
        .call(
            "GET",
            &format!("/api/v1/experiments/{id}/versions/1/runs"),
            None,
        )
        .json();
    assert_eq!(runs[0]["status"], "completed", "{runs}");
    assert_eq!(
        server
            .call("POST", &format!("/experiment/{id}/v1/stop"), None)
            .status,
        200
    );
    assert_eq!(
        server
            .call("DELETE", &format!("/experiment/{id}/v2"), None)
            .status,
        200
    );
    assert_eq!(
        server
            .call("DELETE", &format!("/experiment/{id}"), None)
            .status,
        200
    );
    assert_eq!(
        server.call("GET", "/experiment/list", None).json(),
        serde_json::json!([])
    );
}

#[test]
fn a_run_waits_for_its_clients_and_publishes_one_start_instant() {
    let dir = tempdir();
    let server = Server::start(&dir.path().join("data"), &[], &[]);
    let doc = format!(
        "{}sync: {{clients: [gatling, chaos], timeout: 30s}}\n",
        short_experiment(10)
    );
    let id = server.create("synced", &doc);
    let run = server.start_run(&id, 1);
    assert_eq!(
        server.call("GET", &format!("/trigger/{id}/v1"), None).body,
        "false"
    );
    let clients: Vec<_> = ["gatling", "chaos"]
        .into_iter()
        .map(|name| {
            let (base, id) = (server.base.clone(), id.clone());
            std::thread::spawn(move || {
                let r = crate::sim_util::http(
                    "POST",
                    &format!("{base}/trigger/{id}/v1?client={name}"),
                    None,
                );
                assert_eq!(r.body, "kotlin.Unit", "MiSArch's literal answer");
                // Poll until t0 is known, then sleep until it.
                let t0 = loop {
                    let r = crate::sim_util::http("GET", &format!("{base}/trigger/{id}/v1"), None);
                    if let Some(t0) = r.header("x-squall-t0") {
                        break t0.parse::<u128>().unwrap();
                    }
                    std::thread::sleep(Duration::from_millis(20));
                };
                let now = || {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis()
                };
                while now() < t0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                let started = now();
                let seen =
                    crate::sim_util::http("GET", &format!("{base}/trigger/{id}/v1"), None).body;
                (t0, started, seen)
            })
        })
        .collect();
    let results: Vec<(u128, u128, String)> =
        clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert_eq!(results[0].0, results[1].0, "one t0 for every client");
    for (_, _, seen) in &results {
        assert_eq!(seen, "true", "the trigger is on from t0");
    }
    eprintln!(
        "clients started {} ms apart",
        results[0].1.abs_diff(results[1].1)
    );
    let events = server.events(&run, None, Duration::from_secs(60));
    let at = |name: &str| {
        events
            .iter()
            .position(|e| e.name == name)
            .unwrap_or_else(|| panic!("no {name}: {events:?}"))
    };
    assert!(at("waiting") < at("t0") && at("t0") < at("running"));
    assert_eq!(
        events[at("t0")].json()["t0_unix_ms"].as_u64().unwrap() as u128,
        results[0].0
    );
    assert_eq!(events.last().unwrap().json()["status"], "completed");

    // Nobody comes: the run fails after its timeout, naming who is missing.
    let doc = format!(
        "{}sync: {{clients: [nobody], timeout: 500ms}}\n",
        short_experiment(10)
    );
    let id = server.create("alone", &doc);
    let run = server.start_run(&id, 1);
    let events = server.events(&run, None, Duration::from_secs(30));
    let ended = events.last().unwrap().json();
    assert_eq!(ended["status"], "failed", "{ended}");
    assert!(
        ended["error"].as_str().unwrap().contains("missing: nobody"),
        "{ended}"
    );
}

/// Suites in `squall serve`: a suite of stored experiments started over
/// HTTP, followed over SSE, its state and JUnit read back; a path on the
/// server's disk refused without --allow-commands; a server killed with
/// `kill -9` mid-suite resumes the suite at its next start without
/// re-running the experiment that completed.
#[test]
fn suites_of_stored_experiments_run_stream_and_resume_after_kill_9() {
    let data = tempdir();
    let mut server = Server::start(data.path(), &[], &[]);
    let id = server.create("short", &short_experiment(20));
    let suite = format!(
        "name: api-gate\nexperiments:\n  - {{name: first, source: 'experiment:{id}'}}\n  - {{name: second, source: 'experiment:{id}/v1'}}\n"
    );
    let r = server.call("POST", "/api/v1/suites", Some(&suite));
    assert_eq!(r.status, 201, "{}", r.body);
    let suite_id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location").unwrap(),
        format!("/api/v1/suites/{suite_id}")
    );

    // Killed while the second experiment runs.
    let seen = crate::serve_util::read_sse(
        &server.base,
        &format!("/api/v1/suites/{suite_id}/events"),
        None,
        None,
        Duration::from_secs(60),
        |e| e.name == "experiment" && e.json()["name"] == "second",
    );
    assert!(
        seen.iter()
            .any(|e| e.name == "experiment_ended" && e.json()["status"] == "passed"),
        "{seen:?}"
    );
    std::thread::sleep(Duration::from_secs(2));
    server.kill9();

    let server = Server::start(data.path(), &[], &[]);
    let events = crate::serve_util::read_sse(
        &server.base,
        &format!("/api/v1/suites/{suite_id}/events"),
        None,
        None,
        Duration::from_secs(90),
        |_| false,
    );
    let ended = events.last().expect("events");
    assert_eq!(ended.name, "ended", "{events:?}");
    assert_eq!(ended.json()["status"], "passed", "{events:?}");
    assert!(
        events.iter().any(|e| e.name == "resumed"),
        "the resume is in the stream: {events:?}"
    );
    // Ids follow on from before the crash, each once.
    let ids: Vec<i64> = events.iter().filter_map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");

    let got = server
        .call("GET", &format!("/api/v1/suites/{suite_id}"), None)
        .json();
    assert_eq!(got["status"], "passed", "{got}");
    let items = got["state"]["items"].as_array().unwrap();
    assert_eq!(items[0]["attempts"].as_array().unwrap().len(), 1, "{got}");
    assert_eq!(items[1]["attempts"].as_array().unwrap().len(), 2, "{got}");
    assert_eq!(items[1]["attempts"][0]["status"], "interrupted", "{got}");
    let junit = server.call("GET", &format!("/api/v1/suites/{suite_id}/junit.xml"), None);
    assert_eq!(junit.status, 200);
    assert!(
        junit.body.contains("<testsuite name=\"api-gate.second\""),
        "{}",
        junit.body
    );
    let listed = server.call("GET", "/api/v1/suites", None).json();
    assert_eq!(listed[0]["id"], suite_id);

    // A file of the server's disk is refused; an unknown experiment is a 400.
    let r = server.call(
        "POST",
        "/api/v1/suites",
        Some("name: x\nexperiments:\n  - source: /etc/hostname\n"),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = server.call(
        "POST",
        "/api/v1/suites",
        Some("name: x\nexperiments:\n  - source: 'experiment:nope'\n"),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("experiments[0].source"), "{}", r.body);
    let r = server.call("POST", &format!("/api/v1/suites/{suite_id}/resume"), None);
    assert_eq!(r.status, 409, "{}", r.body);
}
