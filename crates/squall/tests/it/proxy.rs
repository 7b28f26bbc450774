//! `squall proxy`: each toxic measured through real sockets, leases that end
//! by themselves, the kill switch, bad input, and third-party Toxiproxy
//! clients driving it unchanged.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::fault_util::{
    Agent, blob_server, blob_then_hold, drain, echo_server, eventually, http_blob_server,
};
use crate::sim_util::{http, http_with};
use crate::util::{python, repo_root, run, tempdir, text};

const BLOB: usize = 64 * 1024;

fn proxy_to(agent: &Agent, name: &str, upstream: &str) -> String {
    let r = http(
        "POST",
        &agent.url("/proxies"),
        Some(&json!({"name": name, "listen": "127.0.0.1:0", "upstream": upstream}).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["listen"].as_str().unwrap().to_string()
}

fn toxic(agent: &Agent, proxy: &str, body: serde_json::Value) {
    let r = http(
        "POST",
        &agent.url(&format!("/proxies/{proxy}/toxics")),
        Some(&body.to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

fn reset(agent: &Agent) {
    assert_eq!(http("POST", &agent.url("/reset"), None).status, 204);
}

#[test]
fn each_toxic_acts_on_the_bytes_as_toxiproxy_does() {
    let dir = tempdir();
    let agent = Agent::start(dir.path());
    let listen = proxy_to(&agent, "blob", &blob_server(BLOB));

    let plain = drain(&listen);
    assert_eq!(plain.bytes, BLOB, "no toxic: every byte passes");
    assert!(plain.error.is_none());

    toxic(
        &agent,
        "blob",
        json!({"type": "latency", "attributes": {"latency": 250}}),
    );
    let d = drain(&listen);
    assert_eq!(d.bytes, BLOB);
    assert!(
        d.first_byte.unwrap() >= Duration::from_millis(240),
        "latency: first byte at {:?}",
        d.first_byte
    );
    reset(&agent);

    toxic(
        &agent,
        "blob",
        json!({"type": "latency", "toxicity": 0.0, "attributes": {"latency": 2000}}),
    );
    let d = drain(&listen);
    assert!(
        d.end < Duration::from_millis(1500),
        "toxicity 0 never applies: {:?}",
        d.end
    );
    reset(&agent);

    // 100 KB/s: 65,536 bytes need at least 0.65 s.
    toxic(
        &agent,
        "blob",
        json!({"type": "bandwidth", "attributes": {"rate": 100}}),
    );
    let d = drain(&listen);
    assert_eq!(d.bytes, BLOB);
    assert!(
        d.end >= Duration::from_millis(600),
        "bandwidth: {:?}",
        d.end
    );
    reset(&agent);

    toxic(
        &agent,
        "blob",
        // 10 ms between slices: a reader slowed by a busy machine still
        // sees them apart (at 2 ms they could merge into fewer reads).
        json!({"type": "slicer", "attributes": {"average_size": 1000, "size_variation": 100, "delay": 10000}}),
    );
    let d = drain(&listen);
    assert_eq!(d.bytes, BLOB);
    assert!(
        d.reads >= 20,
        "slicer: {} reads (unsliced: {})",
        d.reads,
        plain.reads
    );
    reset(&agent);

    toxic(
        &agent,
        "blob",
        json!({"type": "limit_data", "attributes": {"bytes": 1000}}),
    );
    let d = drain(&listen);
    assert_eq!(d.bytes, 1000, "limit_data cuts at exactly the limit");
    reset(&agent);

    // timeout: against an upstream that keeps the connection open (an
    // upstream that closes ends the connection at once, as in Toxiproxy).
    let held = proxy_to(
        &agent,
        "held",
        &blob_then_hold(BLOB, Duration::from_secs(5)),
    );
    toxic(
        &agent,
        "held",
        json!({"type": "timeout", "attributes": {"timeout": 300}}),
    );
    let d = drain(&held);
    assert_eq!(d.bytes, 0, "timeout drops the data");
    assert!(
        d.end >= Duration::from_millis(280),
        "timeout closes after 300 ms: {:?}",
        d.end
    );
    reset(&agent);

    toxic(
        &agent,
        "blob",
        json!({"type": "slow_close", "attributes": {"delay": 400}}),
    );
    let d = drain(&listen);
    assert_eq!(d.bytes, BLOB);
    assert!(
        d.end >= Duration::from_millis(380),
        "slow_close: {:?}",
        d.end
    );
    reset(&agent);

    toxic(
        &agent,
        "blob",
        json!({"type": "reset_peer", "attributes": {"timeout": 0}}),
    );
    let d = drain(&listen);
    assert_eq!(
        d.error,
        Some(std::io::ErrorKind::ConnectionReset),
        "reset_peer: bytes {} error {:?}",
        d.bytes,
        d.error
    );
    reset(&agent);

    assert_eq!(
        drain(&listen).bytes,
        BLOB,
        "after /reset the proxy is clean"
    );
}

#[test]
fn a_toxic_added_to_a_live_connection_acts_at_once() {
    let dir = tempdir();
    let agent = Agent::start(dir.path());
    let listen = proxy_to(&agent, "echo", &echo_server());
    let mut s = TcpStream::connect(&listen).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let rtt = |s: &mut TcpStream| {
        let t = Instant::now();
        s.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        s.read_exact(&mut b).unwrap();
        t.elapsed()
    };
    let before = rtt(&mut s);
    toxic(
        &agent,
        "echo",
        json!({"type": "latency", "stream": "upstream", "attributes": {"latency": 300}}),
    );
    let during = rtt(&mut s);
    assert!(
        during >= Duration::from_millis(290),
        "before {before:?}, during {during:?}"
    );
    assert_eq!(
        http(
            "DELETE",
            &agent.url("/proxies/echo/toxics/latency_upstream"),
            None
        )
        .status,
        204
    );
    let after = rtt(&mut s);
    assert!(
        after < Duration::from_millis(290),
        "after removal {after:?}"
    );
}

#[test]
fn leases_end_by_themselves_and_the_kill_switch_reverts_everything() {
    let dir = tempdir();
    let agent = Agent::start(dir.path());
    let listen = proxy_to(&agent, "b", &blob_server(1000));
    toxic(
        &agent,
        "b",
        json!({"type": "limit_data", "attributes": {"bytes": 10}, "ttl_ms": 400}),
    );
    let r = http(
        "GET",
        &agent.url("/proxies/b/toxics/limit_data_downstream"),
        None,
    );
    assert!(
        r.json()["lease"]["id"].is_string(),
        "the lease is shown: {}",
        r.body
    );
    assert_eq!(drain(&listen).bytes, 10);
    assert!(
        eventually(Duration::from_secs(3), || http(
            "GET",
            &agent.url("/proxies/b/toxics"),
            None
        )
        .json()
            == json!([])),
        "the toxic expired without any call"
    );
    assert_eq!(drain(&listen).bytes, 1000);
    let history = http("GET", &agent.url("/squall/faults/history"), None).json();
    assert_eq!(history[0]["ended_by"], "expired", "{history}");

    // Kill switch: toxics, a disabled proxy and a stress all go at once.
    toxic(
        &agent,
        "b",
        json!({"type": "latency", "attributes": {"latency": 100}}),
    );
    let r = http(
        "POST",
        &agent.url("/proxies/b"),
        Some(r#"{"enabled": false}"#),
    );
    assert_eq!(r.json()["enabled"], false);
    assert!(
        TcpStream::connect(&listen).is_err(),
        "a disabled proxy refuses connections"
    );
    let r = http(
        "POST",
        &agent.url("/squall/faults"),
        Some(r#"{"type": "stress-memory", "bytes": 1048576, "duration_ms": 60000}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = http("POST", &agent.url("/squall/halt"), None);
    assert_eq!(r.json()["reverted"], 3, "{}", r.body);
    assert!(
        eventually(Duration::from_secs(3), || TcpStream::connect(&listen)
            .is_ok()),
        "the disabled proxy is enabled again"
    );
    assert_eq!(drain(&listen).bytes, 1000);
    let r = http(
        "POST",
        &agent.url("/proxies/b/toxics"),
        Some(r#"{"type": "latency", "attributes": {"latency": 100}}"#),
    );
    assert_eq!(r.status, 422, "halted refuses new faults: {}", r.body);
    http("DELETE", &agent.url("/squall/halt"), None);
    toxic(
        &agent,
        "b",
        json!({"type": "latency", "attributes": {"latency": 1}}),
    );
}

#[test]
fn bad_input_gets_a_json_error_naming_the_field() {
    let dir = tempdir();
    let agent = Agent::start(dir.path());
    proxy_to(&agent, "p", &echo_server());
    let cases: &[(&str, &str, &str, u16, &str)] = &[
        (
            "POST",
            "/proxies",
            r#"{"name": "a/b", "upstream": "127.0.0.1:1"}"#,
            400,
            "cannot contain '/'",
        ),
        (
            "POST",
            "/proxies/p/toxics",
            r#"{"type": "latency", "attributes": {"latency": 1e18}}"#,
            400,
            "attributes.latency",
        ),
        (
            "POST",
            "/proxies/p/toxics",
            r#"{"type": "lag"}"#,
            400,
            "unknown toxic type `lag`",
        ),
        (
            "POST",
            "/proxies/p/toxics",
            r#"{"type": "latency", "attributes": {"latency": -5}}"#,
            400,
            "attributes.latency",
        ),
        (
            "POST",
            "/proxies/p/toxics",
            r#"{"type": "latency", "stream": "sideways"}"#,
            400,
            "stream",
        ),
        (
            "POST",
            "/proxies/p/toxics",
            r#"{"type": "latency", "toxicity": 2}"#,
            400,
            "toxicity",
        ),
        (
            "POST",
            "/proxies/nope/toxics",
            r#"{"type": "latency"}"#,
            404,
            "proxy not found",
        ),
        (
            "POST",
            "/proxies",
            r#"{"name": "p", "upstream": "127.0.0.1:1"}"#,
            409,
            "proxy already exists",
        ),
        ("POST", "/proxies", r#"{"name": "q"}"#, 400, "upstream"),
        (
            "POST",
            "/proxies",
            r#"{"name": "r", "upstream": "x:1", "listen": "0.0.0.0:0"}"#,
            400,
            "loopback",
        ),
        ("POST", "/proxies", "{not json", 400, "invalid JSON body"),
        (
            "POST",
            "/squall/faults",
            r#"{"type": "meteor"}"#,
            400,
            "unknown fault type `meteor`",
        ),
        (
            "POST",
            "/squall/faults",
            r#"{"type": "stress-cpu", "duration_ms": -5}"#,
            400,
            "duration_ms",
        ),
        (
            "POST",
            "/squall/faults",
            r#"{"type": "stress-cpu", "cores": 999, "duration_ms": 1000}"#,
            422,
            "cap",
        ),
        (
            "POST",
            "/squall/faults",
            r#"{"type": "stress-cpu", "duration_ms": 99999999999}"#,
            422,
            "cap",
        ),
        (
            "POST",
            "/squall/faults",
            r#"{"type": "pause", "pid": 999999999, "duration_ms": 1000}"#,
            404,
            "no process",
        ),
        (
            "POST",
            "/squall/faults",
            r#"{"type": "kill", "name": "no-such-squall-victim"}"#,
            404,
            "no process",
        ),
        ("DELETE", "/squall/faults/f999", "", 404, "no fault"),
    ];
    for (method, path, body, status, needle) in cases {
        let r = http(method, &agent.url(path), Some(body));
        assert_eq!(r.status, *status, "{method} {path} {body}: {}", r.body);
        let v = r.json();
        let msg = v["error"].as_str().unwrap_or_default().to_string()
            + v["field"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{method} {path} {body}: {}", r.body);
    }
    assert!(
        http("GET", &agent.url("/squall/faults"), None).json()["active"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was half-applied"
    );
    // A browser may not drive the API (as in Toxiproxy).
    let mut s = TcpStream::connect(agent.api.trim_start_matches("http://")).unwrap();
    s.write_all(
        b"GET /proxies HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Mozilla/5.0\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 403"), "{out}");
    assert!(out.contains("user agent not allowed"), "{out}");
}

/// The Python venv's directory, where the client packages are installed by scripts/test.
fn venv() -> std::path::PathBuf {
    let py = std::path::PathBuf::from(python());
    py.parent()
        .and_then(|b| b.parent())
        .map(|p| p.to_path_buf())
        .expect("SQUALL_TEST_PYTHON is VENV/bin/python")
}

fn run_client(cmd: &mut std::process::Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{what} failed against squall proxy:\n{text}"
    );
    assert!(text.contains("all steps passed"), "{what}:\n{text}");
}

#[test]
fn third_party_toxiproxy_clients_work_unchanged() {
    let dir = tempdir();
    let agent = Agent::start(dir.path());
    let up = http_blob_server(4096);
    let clients = repo_root().join("tests/clients");
    let env = |c: &mut std::process::Command| {
        c.env("TOXIPROXY_URL", &agent.api)
            .env("UPSTREAM", &up)
            .current_dir(&clients);
    };

    let mut py = std::process::Command::new(python());
    py.arg("toxiproxy_python_check.py");
    env(&mut py);
    run_client(&mut py, "toxiproxy-python");

    let mut ctk = std::process::Command::new("bash");
    ctk.arg("ctk_toxiproxy_check.sh").env("CTK_VENV", venv());
    env(&mut ctk);
    run_client(&mut ctk, "chaostoolkit-toxiproxy");

    assert!(
        clients.join("node_modules/toxiproxy-node-client").exists(),
        "toxiproxy-node-client is not installed: scripts/test runs `npm ci` in tests/clients"
    );
    let mut node = std::process::Command::new("node");
    node.arg("toxiproxy_node_check.mjs");
    env(&mut node);
    run_client(&mut node, "toxiproxy-node-client");
}

#[test]
fn proxies_can_be_created_from_a_config_file_at_start() {
    let dir = tempdir();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = crate::util::write(
        dir.path(),
        "proxies.json",
        &format!(
            r#"[{{"name": "blob", "listen": "127.0.0.1:{port}", "upstream": "{}"}}]"#,
            blob_server(5000)
        ),
    );
    let agent = Agent::start_with(dir.path(), &["--config", config.to_str().unwrap()]);
    let listed = http("GET", &agent.url("/proxies"), None).json();
    assert_eq!(
        listed["blob"]["listen"],
        format!("127.0.0.1:{port}"),
        "{listed}"
    );
    assert_eq!(drain(&format!("127.0.0.1:{port}")).bytes, 5000);

    // A bad file is refused with its name and line.
    let bad = crate::util::write(dir.path(), "bad.json", "[\n  {\"name\": \"x\",}\n]");
    let out = crate::util::squall()
        .args(["proxy", "--listen", "127.0.0.1:0", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    let t = crate::util::text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("bad.json: line 2"), "{t}");
}

/// A web page that reaches 127.0.0.1 through a rebound DNS name sends its
/// own name in Host: refused. Beyond loopback the API needs a token, and
/// commands need a flag and a token.
#[test]
fn the_api_refuses_foreign_hosts_and_needs_a_token_beyond_loopback() {
    let dir = tempdir();
    let agent = Agent::start(dir.path());
    let r = http_with(
        "GET",
        &agent.url("/proxies"),
        None,
        &[("Host", "evil.example:8474")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("not this machine"), "{}", r.body);
    let r = http_with(
        "GET",
        &agent.url("/proxies"),
        None,
        &[("Host", "localhost:8474")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for args in [
        vec!["proxy", "--listen", "0.0.0.0:0"],
        vec!["proxy", "--listen", "127.0.0.1:0", "--allow-commands"],
    ] {
        let out = run(&args, Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains("token"), "{args:?}: {}", text(&out));
    }
}

/// Proxy names go into label values escaped, so a name cannot forge lines.
#[test]
fn proxy_names_are_escaped_in_metrics() {
    let dir = tempdir();
    let agent = Agent::start(dir.path());
    let r = http(
        "POST",
        &agent.url("/proxies"),
        Some(r#"{"name": "a\"b", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let m = http("GET", &agent.url("/metrics"), None).body;
    assert!(
        m.contains(r#"squall_proxy_connections_total{proxy="a\"b"} 0"#),
        "{m}"
    );
}

/// Out of file descriptors, the API backs off instead of spinning and
/// answers again once they are free.
#[test]
fn the_api_survives_running_out_of_file_descriptors() {
    let dir = tempdir();
    let agent = Agent::start(dir.path());
    let pid = agent.child.id() as i32;
    crate::util::starve_accept(pid, agent.api.trim_start_matches("http://"));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while http("GET", &agent.url("/version"), None).status != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the API never answered again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The byte counters under Toxiproxy's names and labels (what its
/// `-proxy-metrics` exposes), exact for what went through, and the whole
/// exposition clean for Prometheus' linter.
#[test]
fn byte_counters_carry_toxiproxy_names() {
    let dir = tempdir();
    let agent = Agent::start(dir.path());
    let upstream = blob_server(BLOB);
    let listen = proxy_to(&agent, "blob", &upstream);
    assert_eq!(drain(&listen).bytes, BLOB);
    let echo_up = echo_server();
    let echo = proxy_to(&agent, "echo", &echo_up);
    let mut s = TcpStream::connect(&echo).unwrap();
    s.write_all(&[b'e'; 1000]).unwrap();
    let mut back = [0u8; 1000];
    s.read_exact(&mut back).unwrap();
    drop(s);
    let series = |family: &str, proxy: &str, listen: &str, up: &str, dir: &str| {
        format!(
            "{family}{{direction=\"{dir}\",listener=\"{listen}\",proxy=\"{proxy}\",upstream=\"{up}\"}}"
        )
    };
    let want = [
        (
            series(
                "toxiproxy_proxy_received_bytes_total",
                "blob",
                &listen,
                &upstream,
                "downstream",
            ),
            BLOB,
        ),
        (
            series(
                "toxiproxy_proxy_sent_bytes_total",
                "blob",
                &listen,
                &upstream,
                "downstream",
            ),
            BLOB,
        ),
        (
            series(
                "toxiproxy_proxy_received_bytes_total",
                "blob",
                &listen,
                &upstream,
                "upstream",
            ),
            0,
        ),
        (
            series(
                "toxiproxy_proxy_received_bytes_total",
                "echo",
                &echo,
                &echo_up,
                "upstream",
            ),
            1000,
        ),
        (
            series(
                "toxiproxy_proxy_sent_bytes_total",
                "echo",
                &echo,
                &echo_up,
                "upstream",
            ),
            1000,
        ),
        (
            series(
                "toxiproxy_proxy_sent_bytes_total",
                "echo",
                &echo,
                &echo_up,
                "downstream",
            ),
            1000,
        ),
    ];
    let mut m = String::new();
    eventually(Duration::from_secs(5), || {
        m = http("GET", &agent.url("/metrics"), None).body;
        want.iter()
            .all(|(line, n)| m.contains(&format!("{line} {n}\n")))
    });
    for (line, n) in &want {
        assert!(m.contains(&format!("{line} {n}\n")), "{line} {n} in {m}");
    }
    crate::util::promtool_check(&m);
}
