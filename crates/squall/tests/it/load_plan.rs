//! Plan mode: scenarios, weights, checks, captures, feeders, loops, think times.

use std::time::Duration;

use crate::util::*;

#[test]
fn captures_feed_later_requests_and_checks_are_counted() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    write(dir.path(), "users.csv", "user,pass\nann,a1\nbob,b2\n");
    let plan = write(
        dir.path(),
        "plan.yaml",
        &format!(
            r#"base_url: {base}
defaults:
  headers: {{X-Test: plan}}
scenarios:
  - name: shop
    data: {{csv: users.csv}}
    steps:
      - request: {{name: login, method: POST, url: /login, json: {{user: "${{user}}"}}}}
        checks:
          - status: 200
          - json: {{path: $.user.id, equals: 7}}
          - json: {{path: $.nope, exists: true}}
        captures:
          token: {{json: $.token}}
          session: {{header: X-Session}}
      - think: {{min: 1ms, max: 3ms}}
      - loop:
          count: 2
          steps:
            - request: {{name: cart, url: "/cart?t=${{token}}&s=${{session}}&u=${{user}}&i=${{__iter}}"}}
              checks:
                - body_contains: ok
load:
  model: iterations
  iterations: 4
  vus: 1
"#,
            base = srv.url("")
        ),
    );
    let json = dir.path().join("o.json");
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
    assert_eq!(srv.requests(), 12, "4 iterations x (login + 2 cart)");
    let paths = srv.seen.paths.blocking_lock().clone();
    let carts: Vec<&String> = paths.iter().filter(|p| p.starts_with("/cart")).collect();
    assert_eq!(carts.len(), 8);
    assert_eq!(carts[0], "/cart?t=abc123&s=s-99&u=ann&i=0");
    assert_eq!(
        carts[2], "/cart?t=abc123&s=s-99&u=bob&i=1",
        "feeder moves on each iteration"
    );
    let headers = srv.seen.last_headers.blocking_lock().clone();
    assert!(
        headers.iter().any(|(k, v)| k == "x-test" && v == "plan"),
        "{headers:?}"
    );
    let doc = read_json(&json);
    let checks = doc["summary"]["checks"].as_array().unwrap();
    let get = |needle: &str| {
        checks
            .iter()
            .find(|c| c["name"].as_str().unwrap().contains(needle))
            .unwrap()
    };
    assert_eq!(get("status == 200")["passes"], 4);
    assert_eq!(get("$.user.id == 7")["passes"], 4);
    assert_eq!(get("$.nope exists")["fails"], 4);
    assert_eq!(get("body contains")["passes"], 8);
    // The failing check marks login as failed (kind: check), not cart.
    let by_name = doc["summary"]["by_name"].as_array().unwrap();
    let login = by_name.iter().find(|r| r["name"] == "login").unwrap();
    assert_eq!(login["errors"]["check"], 4);
    let cart = by_name.iter().find(|r| r["name"] == "cart").unwrap();
    assert_eq!(cart["failed"], 0);
}

#[test]
fn scenario_weights_split_iterations_exactly() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    let plan = write(
        dir.path(),
        "w.yaml",
        &format!(
            "base_url: {}\nscenarios:\n  - {{name: a, weight: 3, steps: [{{request: {{url: /a}}}}]}}\n  - {{name: b, weight: 1, steps: [{{request: {{url: /b}}}}]}}\nload: {{model: iterations, iterations: 400, vus: 4}}\n",
            srv.url("")
        ),
    );
    let out = run(
        &["load", plan.to_str().unwrap(), "-q", "--threads", "1"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let paths = srv.seen.paths.blocking_lock().clone();
    assert_eq!(paths.iter().filter(|p| *p == "/a").count(), 300);
    assert_eq!(paths.iter().filter(|p| *p == "/b").count(), 100);
}

#[test]
fn ramp_down_ends_endless_loops() {
    // Users loop forever; the ramp to zero must end them (Stressgrid's wind-down).
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    let plan = write(
        dir.path(),
        "loop.yaml",
        &format!(
            "base_url: {}\nscenarios:\n  - name: forever\n    steps:\n      - loop:\n          steps:\n            - request: {{url: /}}\n            - think: 20ms\nload:\n  model: closed\n  graceful_stop: 30s\n  stages:\n    - {{users: 4, for: 1s}}\n    - {{ramp_to: 0, over: 1s}}\n",
            srv.url("")
        ),
    );
    let json = dir.path().join("o.json");
    let start = std::time::Instant::now();
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
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "took {:?}: loops were not ended",
        start.elapsed()
    );
    let doc = read_json(&json);
    assert_eq!(
        doc["summary"]["iterations"]["interrupted"], 4,
        "each user's endless iteration was ended"
    );
    assert!(srv.requests() > 100);
}
