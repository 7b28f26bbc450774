//! `squall sim` against MicroSim's own behaviour, node by node.
//!
//! MicroSim's source cannot be carried here, so what its services answer is
//! written down below as expected replies (taken from running its Flask
//! service, HEAD 5dd89f5, on these trees with URL designations, as its
//! control plane sends them): `"*"` matches any string, `"~text"` a string
//! containing `text`. Where squall differs on purpose the expected reply is
//! squall's and the comment names the section of `docs/sim.md` that says
//! why. Every node is compared: keys, services, error counts, `null`s.

use std::time::Duration;

use serde_json::{Value, json};

use crate::sim_util::*;
use crate::util::*;

const FOUR: &str = "services:\n  - name: service_1\n  - name: service_2\n  - name: service_3\n  - name: service_4\n";

/// Where `actual` departs from `expected`, with the JSON path.
fn differences(expected: &Value, actual: &Value, at: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::String(e), Value::String(a)) if e == "*" => {
            let _ = a;
        }
        (Value::String(e), Value::String(a)) if e.starts_with('~') => {
            if !a.contains(&e[1..]) {
                out.push(format!("{at}: {a:?} does not contain {:?}", &e[1..]));
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            for k in e.keys().chain(a.keys()) {
                match (e.get(k), a.get(k)) {
                    (Some(ev), Some(av)) => differences(ev, av, &format!("{at}.{k}"), out),
                    (Some(_), None) => out.push(format!("{at}.{k}: missing")),
                    (None, Some(av)) => out.push(format!("{at}.{k}: unexpected {av}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!(
                    "{at}: {} entries, expected {}: {actual}",
                    a.len(),
                    e.len()
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                differences(ev, av, &format!("{at}[{i}]"), out);
            }
        }
        (e, a) if e == a => {}
        (e, a) => out.push(format!("{at}: {a}, expected {e}")),
    }
}

fn assert_reply(expected: Value, actual: &Value) {
    let mut out = Vec::new();
    differences(&expected, actual, "$", &mut out);
    assert!(
        out.is_empty(),
        "differences:\n{}\nreply: {actual:#}",
        out.join("\n")
    );
}

fn leaf(service: &str) -> Value {
    json!({"service": service, "address": "*", "errors": [], "response": []})
}

#[test]
fn trees_made_for_microsim_get_microsims_replies() {
    let dir = tempdir();
    // A port nothing listens on, allowed as a URL designation the way
    // MicroSim's sample called a missing service.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap().to_string();
    drop(dead);
    let sim = Sim::start_env(
        &write(dir.path(), "t.yaml", FOUR),
        &[],
        &[("SQUALL_SIM_ALLOW_HOSTS", &dead_addr)],
    );
    let post = |tree: &str| {
        let r = http("POST", &format!("{}/", sim.url("service_1")), Some(tree));
        assert_eq!(
            r.status, 200,
            "MicroSim answers 200 once the body parses: {}",
            r.body
        );
        r
    };

    // 1. The README sample, as MicroSim's control plane sends it (every key
    //    present), answers with the tree's shape.
    let r = post(
        r#"{"designation":"service_1","probability":100,"faults":{"before":[],"after":[]},
            "routes":[{"designation":"service_2","probability":100,"faults":{"before":[],"after":[]},
                       "routes":[{"designation":"service_4","probability":100,"faults":{"before":[],"after":[]},"routes":null}]},
                      {"designation":"service_3","probability":100,"faults":{"before":[],"after":[]},"routes":[]}]}"#,
    );
    assert_reply(
        json!({"service": "service_1", "address": "*", "errors": [], "response": [
            {"service": "service_2", "address": "*", "errors": [], "response": [leaf("service_4")]},
            leaf("service_3")]}),
        &r.json(),
    );

    // 2. MicroSim's own error sample: a latency before, an unknown fault
    //    type after, a child holding memory, a child nobody answers. Errors
    //    in call order (the dead child, then the unknown type), `null` for
    //    the dead child, 200.
    let r = post(&format!(
        r#"{{"designation":"service_1","faults":{{"before":[{{"type":"latency","args":{{"delay":200}}}}],"after":[{{"type":"cpu-spike","args":{{}}}}]}},
            "routes":[{{"designation":"service_2","faults":{{"before":[],"after":[{{"type":"memory-leak","args":{{"size":10,"duration":20000}}}}]}}}},
                      {{"designation":"http://{dead_addr}/","faults":{{"before":[],"after":[]}}}}]}}"#
    ));
    assert_reply(
        json!({"service": "service_1", "address": "*",
               "errors": ["~Connection refused", "~cpu-spike"],
               "response": [leaf("service_2"), null]}),
        &r.json(),
    );
    assert!(r.elapsed >= Duration::from_millis(200), "{:?}", r.elapsed);
    assert!(
        r.elapsed < Duration::from_secs(10),
        "the 20 s memory hold runs in the background: {:?}",
        r.elapsed
    );
    let metrics = http(
        "GET",
        &format!("{}/_sim/metrics", sim.url("service_2")),
        None,
    )
    .body;
    assert!(
        metrics.contains(&format!(
            "squall_sim_leaked_bytes{{service=\"service_2\"}} {}",
            10 << 20
        )),
        "{metrics}"
    );

    // 3. Unknown fields anywhere (route, faults, fault, args) are ignored as
    //    MicroSim ignores them; squall names them in `warnings` at the node
    //    that received them (docs/sim.md, "Reading trees").
    let r = post(
        r#"{"designation":"service_1","color":"red","faults":{"before":[{"type":"latency","args":{"delay":10,"unit":"ms"},"note":"x"}],"after":[],"during":[]},
            "routes":[{"designation":"service_2","weight":3,"faults":{"before":[],"after":[]}}]}"#,
    );
    assert_reply(
        json!({"service": "service_1", "address": "*", "errors": [],
               "warnings": ["color: unknown field ignored", "faults.during: unknown field ignored",
                            "faults.before[0].note: unknown field ignored",
                            "faults.before[0].args.unit: unknown argument ignored"],
               "response": [{"service": "service_2", "address": "*", "errors": [], "response": [],
                             "warnings": ["weight: unknown field ignored"]}]}),
        &r.json(),
    );

    // 4. Numbers as MicroSim takes them: fractional delays, probabilities
    //    written as floats.
    let r = post(
        r#"{"designation":"service_1","probability":100.0,"faults":{"before":[],"after":[]},
            "routes":[{"designation":"service_2","probability":100.0,"faults":{"before":[{"type":"latency","args":{"delay":100.5}}],"after":[]}}]}"#,
    );
    assert_reply(
        json!({"service": "service_1", "address": "*", "errors": [],
               "response": [leaf("service_2")]}),
        &r.json(),
    );
    assert!(
        r.elapsed >= Duration::from_micros(100_500),
        "{:?}",
        r.elapsed
    );

    // 5. A route MicroSim cannot call: a designation that is not a string is
    //    an error entry and a `null` at its place, its siblings still run
    //    (MicroSim's Flask: `Invalid URL '7'`; a missing designation:
    //    `'designation'`). Deliberate (docs/sim.md, "Reading trees"):
    //    MicroSim calls a route whatever its probability; squall refuses a
    //    probability outside 0..100 for that route, and a `routes` that is
    //    not a list is the route's problem, reported by its caller
    //    (MicroSim calls the node, which then fails on it).
    let r = post(
        r#"{"designation":"service_1","faults":{"before":[],"after":[]},"routes":[
             {"probability":100,"faults":{"before":[],"after":[]}},
             {"designation":7,"faults":{"before":[],"after":[]}},
             {"designation":"service_2","probability":150,"faults":{"before":[],"after":[]}},
             {"designation":"service_3","routes":{"designation":"service_4"},"faults":{"before":[],"after":[]}},
             {"designation":"service_4","faults":{"before":[],"after":[]}}]}"#,
    );
    assert_reply(
        json!({"service": "service_1", "address": "*",
               "errors": ["routes[0].designation: is required (route not called)",
                          "routes[1].designation: must be a string, got a number (route not called)",
                          "routes[2].probability: must be within 0..100, got 150 (route not called)",
                          "routes[3].routes: must be a list, got an object (route not called)"],
               "response": [null, null, null, null, leaf("service_4")]}),
        &r.json(),
    );

    // 5b. Deliberate: MicroSim's Flask service answers 400 for a node
    //     without `faults`, without `faults.after`, or with a fault without
    //     `type` (its caller then holds an error entry and a `null`); squall
    //     runs such a node, and a fault without a type is an error entry.
    let r = post(
        r#"{"designation":"service_1","routes":[
             {"designation":"service_2","faults":{"before":[{"args":{}}]}},
             {"designation":"service_3"}]}"#,
    );
    assert_reply(
        json!({"service": "service_1", "address": "*", "errors": [],
               "response": [{"service": "service_2", "address": "*", "response": [],
                             "errors": ["faults.before[0].type: is required"]},
                            leaf("service_3")]}),
        &r.json(),
    );

    // 6. Only a root that cannot be read is a 400 (MicroSim: 400 too).
    let r = http(
        "POST",
        &format!("{}/", sim.url("service_1")),
        Some(r#"{"routes":[]}"#),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["field"], "designation");
    let r = http("POST", &format!("{}/", sim.url("service_1")), Some("[1]"));
    assert_eq!(r.status, 400, "{}", r.body);
}

/// A `Simulation` in the shape of MicroSim's samples (written here).
const SIMULATION: &str = "apiVersion: microsim.isala.me/v1alpha1
kind: Simulation
metadata:
  name: shop
spec:
  services:
    service_1: {language: go, framework: gorilla}
    service_2: {language: node, framework: express}
    service_3: {language: python, framework: flask}
    service_4: {language: python, framework: flask}
";

/// A `LoadGenerator` whose trees are JSON strings, as the CRD holds them.
const LOAD_GENERATOR: &str = r#"apiVersion: microsim.isala.me/v1alpha1
kind: LoadGenerator
metadata:
  name: shop-load
spec:
  simulationRef: {name: shop, namespace: default}
  replicas: 4
  requestCount: 60
  betweenDelay: 20ms
  timeout: 15m
  requests:
    - '{"designation":"service_1","probability":100,"faults":{"before":[{"type":"latency","args":{"delay":5}}],"after":[]},"routes":[{"designation":"service_2","probability":50,"faults":{"before":[],"after":[]},"routes":[{"designation":"service_4","probability":100,"faults":{"before":[],"after":[]}}]},{"designation":"service_3","probability":100,"faults":{"before":[],"after":[]}}]}'
"#;

#[test]
fn microsims_simulation_and_load_generator_resources_run() {
    let dir = tempdir();
    let sim_file = write(dir.path(), "simulation.yaml", SIMULATION);
    let out = run(
        &["sim", "validate", sim_file.to_str().unwrap()],
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("ok, 4 services"), "{}", text(&out));
    assert!(
        text(&out).contains("spec.services.service_2: node/express ignored"),
        "the unused fields are said before anything runs: {}",
        text(&out)
    );
    let sim = Sim::start(&sim_file, &[]);
    let lg = write(dir.path(), "lg.yaml", LOAD_GENERATOR);
    let out = run(
        &[
            "load",
            lg.to_str().unwrap(),
            "--sim-control",
            &sim.control,
            "--seed",
            "5",
        ],
        Duration::from_secs(60),
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let status: serde_json::Value = squall_yaml(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(status["status"]["doneRequests"], 60, "{all}");
    assert_eq!(status["status"]["replicas"], 4);
    assert_eq!(status["squall"]["sent"], 240);
    assert_eq!(status["squall"]["ok"], 240);
    let calls = &status["squall"]["calls"];
    for s in ["service_1", "service_2", "service_3"] {
        assert_eq!(calls[s], 240, "the root's 100 keeps both children: {all}");
    }
    // MicroSim gates service_4 by service_2's probability (50), off by one:
    // kept in 51 % of batches, all four copies of a batch alike.
    let s4 = calls["service_4"].as_u64().unwrap_or(0);
    assert_eq!(s4 % 4, 0, "a batch shares one pruned tree: {all}");
    let share = s4 as f64 / 240.0;
    assert!(
        (0.3..=0.7).contains(&share),
        "service_4 in {s4} of 240: {all}"
    );
    assert!(
        status["status"]["responses"].as_u64().unwrap() >= 2,
        "with and without service_4"
    );

    // Flags that mean nothing for the resource are refused before sending.
    let out = run(
        &[
            "load",
            lg.to_str().unwrap(),
            "--rate",
            "5",
            "--sim-control",
            &sim.control,
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--rate cannot be used with a MicroSim LoadGenerator"));
    // A LoadGenerator is not a topology.
    let out = run(
        &["sim", "validate", lg.to_str().unwrap()],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("is a MicroSim LoadGenerator"),
        "{}",
        text(&out)
    );
}

fn squall_yaml(s: &str) -> serde_json::Value {
    yaml_serde::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}
