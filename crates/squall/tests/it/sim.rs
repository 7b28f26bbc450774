//! `squall sim up`: the MicroSim protocol, probabilities, faults, leases,
//! caps and the control plane, over real sockets against the real binary.

use std::time::Duration;

use crate::sim_util::*;
use crate::util::*;

const FOUR: &str = "services:\n  - name: service_1\n  - name: service_2\n  - name: service_3\n  - name: service_4\n";

/// The README sample of MicroSim, with service_2's probability as given.
fn sample(p2: u8) -> String {
    format!(
        r#"{{"designation":"service_1","probability":100,
  "faults":{{"before":[{{"type":"latency","args":{{"delay":600}}}}],"after":[{{"type":"memory-leak","args":{{"size":25,"duration":1000}}}}]}},
  "routes":[
    {{"designation":"service_2","probability":{p2},"faults":{{"before":[],"after":[{{"type":"latency","args":{{"delay":600}}}}]}},
      "routes":[{{"designation":"service_4","probability":100,"faults":{{"before":[{{"type":"latency","args":{{"delay":200}}}}],"after":[]}}}}]}},
    {{"designation":"service_3","probability":100,"faults":{{"before":[{{"type":"latency","args":{{"delay":1000}}}}],"after":[]}}}}
  ]}}"#
    )
}

#[test]
fn the_reference_sample_has_its_shape_and_takes_at_least_2400_ms() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", FOUR), &[]);
    let r = http("POST", &format!("{}/tree", sim.control), Some(&sample(100)));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.elapsed >= Duration::from_millis(2400),
        "took {:?}",
        r.elapsed
    );
    let j = r.json();
    assert_eq!(j["service"], "service_1");
    assert_eq!(j["address"], format!("{}/", sim.url("service_1")));
    assert_eq!(j["errors"], serde_json::json!([]));
    assert_eq!(j["response"][0]["service"], "service_2");
    assert_eq!(j["response"][0]["response"][0]["service"], "service_4");
    assert_eq!(
        j["response"][0]["response"][0]["response"],
        serde_json::json!([])
    );
    assert_eq!(j["response"][1]["service"], "service_3");
    assert_eq!(j["response"].as_array().unwrap().len(), 2);
}

#[test]
fn probability_zero_never_and_hundred_always() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", FOUR), &[]);
    let tree = r#"{"designation":"service_1","routes":[
        {"designation":"service_2","probability":0},
        {"designation":"service_3","probability":100}]}"#;
    for _ in 0..100 {
        let j = http("POST", &format!("{}/tree", sim.control), Some(tree)).json();
        assert_eq!(j["response"][0]["skipped"], true, "{j}");
        assert_eq!(j["response"][0]["service"], "service_2");
        assert_eq!(j["response"][1]["service"], "service_3");
        assert!(j["response"][1].get("skipped").is_none(), "{j}");
    }
    // service_2 itself never saw a tree request.
    let m = http(
        "GET",
        &format!("{}/_sim/metrics", sim.url("service_2")),
        None,
    )
    .body;
    assert!(!m.contains("kind=\"tree\""), "{m}");
}

fn pattern(seed: &str) -> Vec<bool> {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", FOUR), &["--seed", seed]);
    let tree = r#"{"designation":"service_1","routes":[{"designation":"service_2","probability":50},{"designation":"service_3","probability":50}]}"#;
    let mut v = Vec::new();
    for _ in 0..40 {
        let j = http("POST", &format!("{}/tree", sim.control), Some(tree)).json();
        for r in j["response"].as_array().unwrap() {
            v.push(r.get("skipped").is_some());
        }
    }
    v
}

#[test]
fn seeded_runs_repeat() {
    let a = pattern("7");
    let b = pattern("7");
    let c = pattern("8");
    assert_eq!(a, b, "same seed, same choices");
    assert_ne!(a, c, "another seed, other choices");
    let taken = a.iter().filter(|s| !**s).count();
    assert!(
        (20..=60).contains(&taken),
        "about half of 80 routes taken, got {taken}"
    );
}

#[test]
fn faults_end_requests_and_failures_become_error_entries() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", FOUR), &[]);
    let tree = r#"{"designation":"service_1","routes":[
        {"designation":"service_2","faults":{"before":[{"type":"error","args":{"status":503}}]}},
        {"designation":"service_3","faults":{"before":[{"type":"abort"}]}},
        {"designation":"service_4","faults":{"before":[{"type":"cpu-spike"},{"type":"memory-leak","args":{"size":100000,"duration":10}}]}},
        {"designation":"nowhere"},
        {"designation":"http://127.0.0.1:1/"}]}"#;
    // The control plane refuses a tree naming a service that does not exist...
    let r = http("POST", &format!("{}/tree", sim.control), Some(tree));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["field"], "routes[3].designation", "{}", r.body);
    // ...while a service sent the same tree directly reports it as an error entry.
    let r = http("POST", &format!("{}/", sim.url("service_1")), Some(tree));
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    let errors: Vec<String> = j["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("service_2 answered 503")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with("service_3")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("nowhere: unknown service")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("127.0.0.1:1") && e.contains("SQUALL_SIM_ALLOW_HOSTS")),
        "{errors:?}"
    );
    assert_eq!(j["response"][0]["errors"][0], "injected error 503");
    assert!(j["response"][1].is_null(), "aborted child is null: {j}");
    let leaf = &j["response"][2]["errors"];
    assert!(
        leaf[0]
            .as_str()
            .unwrap()
            .contains("\"cpu-spike\" is not implemented"),
        "{leaf}"
    );
    assert!(
        leaf[1].as_str().unwrap().contains("exceeds the cap"),
        "{leaf}"
    );
    // A direct abort closes the connection without any response.
    let r = http(
        "POST",
        &format!("{}/", sim.url("service_3")),
        Some(r#"{"designation":"service_3","faults":{"before":[{"type":"abort"}]}}"#),
    );
    assert_eq!(r.status, 0);
}

#[test]
fn slow_body_and_cpu_load_take_their_time() {
    let dir = tempdir();
    let sim = Sim::start(
        &write(
            dir.path(),
            "t.yaml",
            "services:\n  - {name: a, response_size: 2000}\n",
        ),
        &[],
    );
    let r = http(
        "PUT",
        &format!("{}/services/a/faults", sim.control),
        Some(r#"{"type":"slow-body","args":{"rate":2000},"lease":"10s"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = http("GET", &format!("{}/", sim.url("a")), None);
    assert_eq!((r.status, r.body.len()), (200, 2000));
    assert!(
        r.elapsed >= Duration::from_millis(800),
        "2000 bytes at 2000 B/s took {:?}",
        r.elapsed
    );
    let r = http(
        "POST",
        &format!("{}/", sim.url("a")),
        Some(
            r#"{"designation":"a","faults":{"before":[{"type":"cpu-load","args":{"duration":300,"share":1}}]}}"#,
        ),
    );
    assert!(r.elapsed >= Duration::from_millis(300), "{:?}", r.elapsed);
}

#[test]
fn persistent_faults_expire_by_themselves() {
    let dir = tempdir();
    let sim = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - name: a\n"),
        &[],
    );
    let base = sim.url("a").to_string();
    let r = http(
        "PUT",
        &format!("{base}/_sim/faults"),
        Some(r#"{"type":"latency","args":{"delay":300},"lease":1500}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let r = http(
        "PUT",
        &format!("{base}/_sim/faults"),
        Some(r#"{"type":"error","args":{"status":418},"lease":"600s"}"#),
    );
    let error_id = r.json()["id"].as_str().unwrap().to_string();
    let list = http("GET", &format!("{base}/_sim/faults"), None).json();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert!(list[0]["expires_in_ms"].as_u64().unwrap() <= 1500);
    let r = http("GET", &format!("{base}/"), None);
    assert_eq!(r.status, 418);
    assert!(r.elapsed >= Duration::from_millis(300), "{:?}", r.elapsed);
    // Clear the error by id through the control plane; the latency expires on its own.
    let r = http(
        "DELETE",
        &format!("{}/services/a/faults/{error_id}", sim.control),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    std::thread::sleep(Duration::from_millis(1700));
    let r = http("GET", &format!("{base}/"), None);
    assert_eq!(r.status, 200);
    assert!(
        r.elapsed < Duration::from_millis(250),
        "latency fault outlived its lease: {:?}",
        r.elapsed
    );
    assert_eq!(
        http("GET", &format!("{base}/_sim/faults"), None).json(),
        serde_json::json!([])
    );
    assert_eq!(
        http("DELETE", &format!("{base}/_sim/faults/{id}"), None).status,
        404
    );
}

#[test]
fn bad_admin_input_is_rejected_and_nothing_is_applied() {
    let dir = tempdir();
    let sim = Sim::start(
        &write(
            dir.path(),
            "t.yaml",
            "services:\n  - name: a\n    limits: {max_leak_mb: 16}\n",
        ),
        &[],
    );
    let base = sim.url("a").to_string();
    for (body, needle) in [
        (r#"{"type":"latency","args":{"delay":5}}"#, "lease"),
        (
            r#"{"type":"latency","args":{"delay":5},"lease":"2h"}"#,
            "exceeds the cap",
        ),
        (r#"{"type":"warp","lease":1000}"#, "not implemented"),
        (
            r#"{"type":"memory-leak","args":{"size":64},"lease":1000}"#,
            "cap of 16 MB",
        ),
        (
            r#"{"type":"latency","args":{"delay":-1},"lease":1000}"#,
            "non-negative",
        ),
    ] {
        let r = http("PUT", &format!("{base}/_sim/faults"), Some(body));
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(
            r.json()["error"].as_str().unwrap().contains(needle),
            "{body}: {}",
            r.body
        );
    }
    assert_eq!(
        http("GET", &format!("{base}/_sim/faults"), None).json(),
        serde_json::json!([])
    );
    let r = http(
        "PUT",
        &format!("{}/services/zz/faults", sim.control),
        Some(r#"{"type":"abort","lease":1000}"#),
    );
    assert_eq!(r.status, 404);
}

#[test]
fn unreadable_roots_and_unknown_names_get_400_naming_the_field() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", FOUR), &[]);
    let r = http(
        "POST",
        &format!("{}/", sim.url("service_1")),
        Some(r#"{"designation":7,"routes":[]}"#),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["field"], "designation", "{}", r.body);
    let r = http(
        "POST",
        &format!("{}/tree", sim.control),
        Some(r#"{"designation":"service_1","routes":[{"designation":"service_9"}]}"#),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["field"], "routes[0].designation", "{}", r.body);
    let r = http(
        "POST",
        &format!("{}/", sim.url("service_1")),
        Some("not json"),
    );
    assert_eq!(r.status, 400);
}

#[test]
fn plain_requests_follow_the_topology_and_failures_propagate() {
    let dir = tempdir();
    let topo = "services:\n  - name: gw\n    calls:\n      - call: a\n      - parallel: [{call: b}, {call: c, path: /x}]\n  - {name: a, latency: 20ms}\n  - {name: b, latency: 30ms}\n  - {name: c, paths: [/x], latency: 30ms}\n";
    let sim = Sim::start(&write(dir.path(), "t.yaml", topo), &[]);
    let r = http("GET", &format!("{}/", sim.url("gw")), None);
    assert_eq!(r.status, 200, "{}", r.body);
    // a (20 ms), then b and c together (30 ms): about 50 ms, far less than 80.
    assert!(
        r.elapsed >= Duration::from_millis(50) && r.elapsed < Duration::from_millis(75),
        "{:?}",
        r.elapsed
    );
    let r = http(
        "PUT",
        &format!("{}/services/c/faults", sim.control),
        Some(r#"{"type":"error","args":{"status":503},"lease":"30s"}"#),
    );
    assert_eq!(r.status, 201);
    let r = http("GET", &format!("{}/", sim.url("gw")), None);
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body.contains("answered 503"), "{}", r.body);
    let h = http("GET", &format!("{}/health", sim.control), None);
    assert_eq!(h.status, 200, "{}", h.body);
    assert_eq!(h.json()["services"].as_array().unwrap().len(), 4);
}

#[test]
fn bad_topologies_exit_2_with_the_line() {
    let dir = tempdir();
    let p = write(
        dir.path(),
        "bad.yaml",
        "services:\n  - name: a\n    calls:\n      - call: b\n  - name: b\n    calls:\n      - call: a\n",
    );
    let out = run(
        &["sim", "validate", p.to_str().unwrap()],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.yaml:4: call cycle: a -> b -> a"),
        "{}",
        text(&out)
    );
    let out = run(
        &["sim", "up", p.to_str().unwrap(), "--control", "127.0.0.1:0"],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// The admin API and the control plane serve only callers that name this
/// machine or a topology service in Host (DNS rebinding), and a tree cannot
/// make the simulator call URLs outside the topology.
#[test]
fn admin_and_control_refuse_foreign_hosts_and_urls_outside_the_topology() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", FOUR), &[]);
    let evil = [("Host", "evil.example")];
    let r = http_with("GET", &format!("{}/services", sim.control), None, &evil);
    assert_eq!(r.status, 403, "{}", r.body);
    let r = http_with(
        "GET",
        &format!("{}/_sim/faults", sim.url("service_1")),
        None,
        &evil,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // A topology service's name is a valid Host (as in Kubernetes).
    let r = http_with(
        "GET",
        &format!("{}/_sim/faults", sim.url("service_1")),
        None,
        &[("Host", "service_2:8080")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // The data plane is the system under test: any Host.
    let r = http_with("GET", sim.url("service_1"), None, &evil);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http(
        "POST",
        &format!("{}/tree", sim.control),
        Some(r#"{"designation": "http://192.0.2.1:80/"}"#),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("SQUALL_SIM_ALLOW_HOSTS"), "{}", r.body);
    // A URL that leads to a topology service is fine.
    let r = http(
        "POST",
        &format!("{}/tree", sim.control),
        Some(&format!(r#"{{"designation": "{}"}}"#, sim.url("service_2"))),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Out of file descriptors, accepting fails again and again: the accept
/// loop backs off instead of spinning a core, and serves again once
/// descriptors are free (it used to spin at full CPU).
#[test]
fn accept_failures_back_off_and_the_server_recovers() {
    let dir = tempdir();
    let sim = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let pid = sim.child.id() as i32;
    let addr = sim.url("a").trim_start_matches("http://").to_string();
    crate::util::starve_accept(pid, &addr);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = http("GET", sim.url("a"), None);
        if r.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the service never served again ({})",
            r.status
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
