//! Every request MiSArch's frontend (MiSArch/experiment-executor-frontend,
//! read from its source: `Overlay.vue`, `WorkEditor.vue`, `GoalEditor.vue`,
//! `JsonEditor.vue`, `Header.vue`, `DeleteOverlay.vue`,
//! `util/test-handler.ts`) makes, in the order of its flow, against a real
//! `squall serve`, from another origin: the method, path and body it
//! sends, the CORS preflight its browser sends first, and the shape of the
//! answer it relies on. The frontend itself is checked by hand in Chromium
//! (its source is not ours to carry); this test keeps its contract.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::serve_util::*;
use crate::sim_util::{Resp, http_with};
use crate::util::*;

const ORIGIN: &str = "http://127.0.0.1:5173";

/// A request as the browser sends it for the frontend: with its Origin,
/// after a preflight when the request is not "simple" (a JSON content
/// type, PUT, DELETE).
fn browser(server: &Server, method: &str, path: &str, body: Option<&str>, json_type: bool) -> Resp {
    if json_type || !matches!(method, "GET" | "POST") {
        let pre = http_with(
            "OPTIONS",
            &server.url(path),
            None,
            &[
                ("Origin", ORIGIN),
                ("Access-Control-Request-Method", method),
                ("Access-Control-Request-Headers", "content-type"),
            ],
        );
        assert!(
            pre.status < 300,
            "preflight of {method} {path}: {}",
            pre.head
        );
        assert_eq!(
            pre.header("access-control-allow-origin"),
            Some(ORIGIN),
            "{method} {path}: {}",
            pre.head
        );
        let methods = pre
            .header("access-control-allow-methods")
            .unwrap_or("")
            .to_ascii_uppercase();
        assert!(
            methods.contains(method),
            "{method} not allowed: {}",
            pre.head
        );
        let headers = pre
            .header("access-control-allow-headers")
            .unwrap_or("")
            .to_ascii_lowercase();
        assert!(
            headers.contains("content-type") || headers == "*",
            "{}",
            pre.head
        );
    }
    let r = http_with(method, &server.url(path), body, &[("Origin", ORIGIN)]);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some(ORIGIN),
        "{method} {path}: {}",
        r.head
    );
    r
}

/// `new EventSource(url)`: status, content type, CORS, the first `data:`
/// message (read until `limit`), and whether the stream is still open a
/// second later (a closed stream makes the frontend reconnect every
/// second and log errors).
fn event_source_first_message(url: &str, limit: Duration) -> (String, Option<String>, bool) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(limit)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {ORIGIN}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n").unwrap();
    let mut r = BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut data = None;
    let mut line = String::new();
    while r.read_line(&mut line).unwrap_or(0) > 0 {
        // Chunked framing lines and comments are skipped; `data:` is the message.
        if let Some(d) = line.trim_end().strip_prefix("data:") {
            data = Some(d.trim_start().to_string());
            break;
        }
        line.clear();
    }
    r.get_ref()
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut rest = String::new();
    let still_open = match r.read_line(&mut rest) {
        Ok(0) => false,
        Ok(_) => !rest.starts_with('0'),
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    };
    (head, data, still_open)
}

#[test]
fn the_frontends_whole_flow_keeps_its_contract() {
    let dir = tempdir();
    let server = Server::start(&dir.path().join("data"), &["--cors-origin", ORIGIN], &[]);

    // Overlay: list (empty), then generate with the form's values.
    let r = browser(&server, "GET", "/experiment/list", None, false);
    assert_eq!(r.json(), serde_json::json!([]));
    let r = browser(
        &server,
        "POST",
        "/experiment/generate?loadType=NormalLoadTest&testDuration=6&maximumArrivingUsersPerSecond=4&rate=0.9",
        None,
        true,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let parts: Vec<&str> = r.body.split(':').collect();
    assert_eq!(
        parts.len(),
        2,
        "bare text uuid:v1, not a JSON string: {}",
        r.body
    );
    let (id, v) = (parts[0].trim().to_string(), parts[1].trim().to_string());
    assert_eq!(v, "v1");
    assert!(
        id.len() == 36 && id.chars().nth(14).is_some_and(|c| ('1'..='5').contains(&c)),
        "an RFC 4122 UUID of version 1-5 (\"Use existing\" checks): {id}"
    );
    let r = browser(&server, "GET", "/experiment/list", None, false);
    assert_eq!(r.json(), serde_json::json!([id]));
    let r = browser(
        &server,
        "GET",
        &format!("/experiment/{id}/versions"),
        None,
        false,
    );
    assert_eq!(r.json(), serde_json::json!(["v1"]));

    // WorkEditor: a non-empty list, standard base64, integer user steps.
    let r = browser(
        &server,
        "GET",
        &format!("/experiment/{id}/v1/gatlingConfig"),
        None,
        false,
    );
    let g = r.json();
    let files = g.as_array().expect("an array");
    assert!(!files.is_empty());
    for f in files {
        for k in [
            "fileName",
            "encodedWorkFileContent",
            "encodedUserStepsFileContent",
        ] {
            assert!(f[k].is_string(), "{k} in {f}");
        }
    }
    // GoalEditor: a JSON content type on a GET (so preflighted); goals an
    // array whose thresholds parseFloat reads.
    let r = browser(
        &server,
        "GET",
        &format!("/experiment/{id}/v1/config"),
        None,
        true,
    );
    let config = r.json();
    for goal in config["goals"].as_array().expect("goals an array") {
        assert!(
            goal["threshold"]
                .as_str()
                .is_some_and(|t| t.parse::<f64>().is_ok()),
            "{goal}"
        );
    }
    // JsonEditor: the two pass-through parts are text that parses as JSON.
    let r = browser(
        &server,
        "GET",
        &format!("/experiment/{id}/v1/chaosToolkitConfig"),
        None,
        false,
    );
    let chaos: serde_json::Value = serde_json::from_str(&r.body).expect("JSON text");
    assert!(
        chaos.is_object() && chaos["method"].is_array(),
        "the editor pushes onto method: {chaos}"
    );
    let r = browser(
        &server,
        "GET",
        &format!("/experiment/{id}/v1/misarchExperimentConfig"),
        None,
        false,
    );
    assert!(
        serde_json::from_str::<serde_json::Value>(&r.body)
            .unwrap()
            .is_array()
    );

    // Save: always the four, pretty-printed, in the frontend's order, with
    // the looser values its forms make (a `userSteps` header, a hex colour,
    // an empty threshold, `headers: {}` on an http provider, empty failure
    // fields).
    let mut gatling = g.clone();
    gatling[0]["encodedUserStepsFileContent"] = "dXNlclN0ZXBzCjEKMgoxCg==".into(); // "userSteps\n1\n2\n1\n"
    let mut config2 = config.clone();
    config2["goals"] = serde_json::json!([
        {"metric": "max response time", "threshold": "2000", "color": "#000000"},
        {"metric": "95th percentile response time ok", "threshold": "", "color": "green"}
    ]);
    let chaos2 = serde_json::json!({"title": format!("{id}:v1"), "description": "", "method": [
        {"type": "probe", "name": "gateway up", "provider": {"type": "http", "url": "${sim.gateway}/", "headers": {}}}
    ]});
    let failures2 = serde_json::json!([{"failures": [{"name": "catalog", "pubSubDeterioration": null,
        "serviceInvocationDeterioration": [{"path": "/", "delay": 100, "delayProbability": 1.0, "errorProbability": 0.0, "errorCode": 500}],
        "artificialMemoryUsage": "", "artificialCPUUsage": []}], "pauses": {"before": 1, "after": 1}}]);
    for (part, value) in [
        ("gatlingConfig", &gatling),
        ("config", &config2),
        ("chaosToolkitConfig", &chaos2),
        ("misarchExperimentConfig", &failures2),
    ] {
        let body = serde_json::to_string_pretty(value).unwrap();
        let r = browser(
            &server,
            "PUT",
            &format!("/experiment/{id}/v1/{part}"),
            Some(&body),
            true,
        );
        assert_eq!(r.status, 200, "{part}: {}", r.body);
        let back = browser(
            &server,
            "GET",
            &format!("/experiment/{id}/v1/{part}"),
            None,
            part == "config",
        );
        assert_eq!(back.body, body, "{part} comes back exactly as PUT");
    }

    // Execute: the event stream first, then start (exactly 200).
    let events_url = server.url(&format!("/experiment/{id}/v1/events"));
    let listener = std::thread::spawn(move || {
        event_source_first_message(&events_url, Duration::from_secs(90))
    });
    std::thread::sleep(Duration::from_millis(300));
    let r = browser(
        &server,
        "POST",
        &format!("/experiment/{id}/v1/start"),
        None,
        false,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (head, data, still_open) = listener.join().unwrap();
    assert!(
        still_open,
        "the stream stays open after its message, as the original's"
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("access-control-allow-origin: {ORIGIN}")),
        "{head}"
    );
    let link = data.expect("one message");
    // The frontend's own test for success.
    let re_ok = link.starts_with("http://")
        && link
            .split_once("://")
            .unwrap()
            .1
            .split_once('/')
            .is_some_and(|(host, path)| !host.is_empty() && path == format!("d/{id}-v1"));
    assert!(re_ok, "matches ^https?://[^/]+/d/<uuid>-v\\d+$: {link}");
    let r = crate::sim_util::http("GET", &link, None);
    assert_eq!(
        r.status, 303,
        "the result link leads to the report: {}",
        r.head
    );

    // Header: new version (text used verbatim), stop, delete.
    let r = browser(
        &server,
        "POST",
        &format!("/experiment/{id}/v1/newVersion"),
        None,
        false,
    );
    assert_eq!(r.body, "v2");
    let r = browser(
        &server,
        "POST",
        &format!("/experiment/{id}/v1/stop"),
        None,
        true,
    );
    assert_eq!(r.status, 200);
    let r = browser(
        &server,
        "DELETE",
        &format!("/experiment/{id}/v2"),
        None,
        true,
    );
    assert_eq!(r.status, 200);
    let r = browser(&server, "DELETE", &format!("/experiment/{id}"), None, true);
    assert_eq!(r.status, 200);
    let r = browser(&server, "GET", "/experiment/list", None, false);
    assert_eq!(r.json(), serde_json::json!([]));
}
