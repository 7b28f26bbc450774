//! MiSArch's formats on `squall serve`, run for real: a generated
//! experiment's Gatling scenarios become exactly its arrivals, its failure
//! sets become simulator faults at the original's offsets, a work file
//! outside the translated subset is refused with its line.

use std::time::{Duration, Instant};

use crate::serve_util::*;
use crate::util::*;

fn generate(server: &Server, query: &str) -> String {
    let r = server.call("POST", &format!("/experiment/generate?{query}"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.split_once(':').expect("uuid:v1").0.to_string()
}

/// Starts v1 over MiSArch's route and waits for its run to end; the run.
fn run_v1(server: &Server, id: &str) -> serde_json::Value {
    let r = server.call("POST", &format!("/experiment/{id}/v1/start"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let end = Instant::now() + Duration::from_secs(90);
    loop {
        let runs = server
            .call(
                "GET",
                &format!("/api/v1/experiments/{id}/versions/1/runs"),
                None,
            )
            .json();
        let run = runs[0].clone();
        if run["status"] != "running" && run["status"] != "starting" && !run.is_null() {
            return run;
        }
        assert!(Instant::now() < end, "the run did not end: {runs}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn report(server: &Server, run: &serde_json::Value) -> serde_json::Value {
    let r = server.call(
        "GET",
        &format!("/api/v1/runs/{}/report", run["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn a_generated_scalability_test_sends_exactly_its_user_steps() {
    let dir = tempdir();
    let server = Server::start(&dir.path().join("data"), &[], &[]);
    // max(1, floor(i * 1)) for i in 0..6: 1 1 2 3 4 5 = 16 shoppers, each
    // sending two requests (home, checkout).
    let id = generate(
        &server,
        "loadType=ScalabilityLoadTest&testName=Ramp&testDuration=6&rate=1",
    );
    let g = server
        .call("GET", &format!("/experiment/{id}/v1/gatlingConfig"), None)
        .json();
    assert_eq!(g.as_array().unwrap().len(), 1);
    assert_eq!(g[0]["fileName"], "buyProcessScenario");
    let run = run_v1(&server, &id);
    assert_eq!(run["status"], "completed", "{run}");
    let rep = report(&server, &run);
    let overall = rep["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "overall")
        .unwrap()
        .clone();
    assert_eq!(overall["requests"], 32, "{overall}");
    assert_eq!(overall["failed"], 0, "{overall}");
    // MiSArch's goals were checked as squall goals, and its report is
    // beside squall's, with epoch-ms strings.
    let goals: Vec<(String, String)> = rep["goals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().into(),
                g["condition"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        goals,
        vec![
            (
                "max response time".to_string(),
                "http_req_duration max<=2000ms".to_string()
            ),
            (
                "mean response time".to_string(),
                "http_req_duration avg<=1000ms".to_string()
            )
        ]
    );
    let r = server.call("GET", &format!("/experiment/{id}/v1/report"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let m = r.json();
    assert_eq!(m["testUUID"], id);
    assert_eq!(m["testVersion"], "v1");
    let start: u64 = m["startTime"].as_str().unwrap().parse().unwrap();
    let end: u64 = m["endTime"].as_str().unwrap().parse().unwrap();
    assert!((5_500..=7_500).contains(&(end - start)), "a 6 s run: {m}");
    assert_eq!(m["goals"].as_array().unwrap().len(), 2);
    assert_eq!(m["goalViolations"], serde_json::json!([]), "{m}");
}

#[test]
fn a_steady_state_makes_every_figure_a_goal_and_violations_are_reported() {
    let dir = tempdir();
    let server = Server::start(&dir.path().join("data"), &[], &[]);
    let id = generate(
        &server,
        "loadType=ScalabilityLoadTest&testDuration=4&rate=1",
    );
    let mut config = server
        .call("GET", &format!("/experiment/{id}/v1/config"), None)
        .json();
    config["steadyState"] = serde_json::json!({"duration": 2, "rate": 2, "factor": 2.0});
    let r = server.call(
        "PUT",
        &format!("/experiment/{id}/v1/config"),
        Some(&config.to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let run = run_v1(&server, &id);
    assert_eq!(run["status"], "completed", "{run}");
    let rep = report(&server, &run);
    assert!(
        rep["warmup"].is_object(),
        "the steady state ran as the warm-up"
    );
    assert_eq!(rep["goals"].as_array().unwrap().len(), 27);
    let m = server
        .call("GET", &format!("/experiment/{id}/v1/report"), None)
        .json();
    let goals = m["goals"].as_array().unwrap();
    assert_eq!(goals.len(), 27, "{m}");
    let max = goals
        .iter()
        .find(|g| g["metric"] == "max response time")
        .unwrap();
    let baseline_max: f64 = rep["warmup"]["latency_ms"]["max"].as_f64().unwrap();
    let threshold: f64 = max["threshold"].as_str().unwrap().parse().unwrap();
    assert!(
        (threshold - 2.0 * baseline_max).abs() <= baseline_max * 0.01 + 0.01,
        "{threshold} vs 2 x {baseline_max}"
    );
    // Every violation is a goal that did not hold in squall's report.
    for v in m["goalViolations"].as_array().unwrap() {
        let name = v["metricName"].as_str().unwrap();
        let g = rep["goals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .unwrap();
        assert_eq!(g["passed"], false, "{name}");
    }
}

#[test]
fn failure_sets_become_simulator_faults_at_the_originals_offsets() {
    let dir = tempdir();
    let server = Server::start(&dir.path().join("data"), &[], &[]);
    // The realistic type's default: the catalog answers 404 after a second
    // from d/3 for d/6 (12 s: from 4 s for 2 s), then is cleared.
    let id = generate(
        &server,
        "loadType=NormalLoadTest&testName=Day&testDuration=12&maximumArrivingUsersPerSecond=6",
    );
    let run = run_v1(&server, &id);
    assert_eq!(run["status"], "completed", "{run}");
    let rep = report(&server, &run);
    let faults = rep["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 1, "{faults:?}");
    let f = &faults[0];
    assert_eq!(f["kind"], "service-invocation-deterioration");
    assert_eq!(f["target"], "catalog", "{f}");
    assert_eq!(
        (f["planned_start_s"].as_f64(), f["planned_end_s"].as_f64()),
        (Some(4.0), Some(6.0))
    );
    assert!(f["injected_s"].as_f64().is_some(), "applied: {f}");
    assert!(f["error"].is_null(), "{f}");
    assert_eq!(f["args"]["rules"][0]["errorCode"], 404);
    // Measured: the shop's gateway fails while its catalog answers 404,
    // and not before.
    let phase = |p: &str| {
        rep["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["phase"].as_str().is_some_and(|n| n.starts_with(p)))
            .cloned()
            .unwrap_or_else(|| panic!("no {p} phase in {}", rep["phases"]))
    };
    let (before, during) = (phase("before"), phase("during"));
    assert_eq!(before["failed"], 0, "{before}");
    assert!(during["failed"].as_u64().unwrap() > 0, "{during}");
}

#[test]
fn work_files_outside_the_subset_are_refused_with_their_line() {
    let dir = tempdir();
    let server = Server::start(&dir.path().join("data"), &[], &[]);
    let id = generate(
        &server,
        "loadType=ScalabilityLoadTest&testDuration=3&rate=1",
    );
    let work = "val buyProcessScenario = scenario(\"buyProcessScenario\")\n  .exec(http(\"a\").get(\"/\"))\n  .repeat(3)\n";
    let body = serde_json::json!([{
        "fileName": "buyProcessScenario",
        "encodedWorkFileContent": base64(work),
        "encodedUserStepsFileContent": base64("userSteps\n1\n"),
    }])
    .to_string();
    let r = server.call(
        "PUT",
        &format!("/experiment/{id}/v1/gatlingConfig"),
        Some(&body),
    );
    assert_eq!(
        r.status, 200,
        "stored as the original stores it: {}",
        r.body
    );
    let r = server.call("POST", &format!("/experiment/{id}/v1/start"), None);
    assert_eq!(r.status, 400, "{}", r.body);
    let errors = r.json()["errors"].clone();
    assert_eq!(
        errors,
        serde_json::json!([
            "gatlingConfig[0] buyProcessScenario.kt:3:4: `.repeat(...)` is not translated (supported: .exec { session -> ... }, .exec(http(...)...), .pause(...))"
        ])
    );
}

fn base64(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
