//! A `squall serve` child and an SSE reader for the service tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::sim_util::{Resp, http_with};
use crate::util::squall;

/// A running `squall serve`; stopped with SIGTERM on drop.
pub(crate) struct Server {
    pub child: Child,
    pub base: String,
    token: Option<String>,
}

impl Server {
    pub(crate) fn start(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = squall()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(extra)
            .env("SQUALL_STATE_DIR", data.join("state"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn squall serve");
        let err = child.stderr.take().unwrap();
        let mut lines = BufReader::new(err).lines();
        let mut base = String::new();
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while base.is_empty() && Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(rest) = line.strip_prefix("squall serve: http://") {
                base = format!("http://{}", rest.split("/api/v1/").next().unwrap());
            }
            seen.push(line);
        }
        assert!(
            !base.is_empty(),
            "squall serve did not print its address: {seen:?}"
        );
        std::thread::spawn(move || for _ in lines {});
        let token = env
            .iter()
            .find(|(k, _)| *k == "SQUALL_TOKEN")
            .map(|(_, v)| v.to_string());
        Server { child, base, token }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the server's token, if it has one.
    pub(crate) fn call(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        http_with(method, &self.url(path), body, &headers)
    }

    /// Creates an experiment; returns its id.
    pub(crate) fn create(&self, name: &str, document: &str) -> String {
        let body = serde_json::json!({"name": name, "document": document}).to_string();
        let r = self.call("POST", "/api/v1/experiments", Some(&body));
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["id"].as_str().unwrap().to_string()
    }

    /// Starts a run of a version; returns the run id.
    pub(crate) fn start_run(&self, id: &str, version: i64) -> String {
        let r = self.call(
            "POST",
            &format!("/api/v1/experiments/{id}/versions/{version}/runs"),
            None,
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["id"].as_str().unwrap().to_string()
    }

    /// The run's events (SSE) from after `last_id` until `ended`, the
    /// stream's end or `limit`.
    pub(crate) fn events(&self, run: &str, last_id: Option<i64>, limit: Duration) -> Vec<SseEvent> {
        read_sse(
            &self.base,
            &format!("/api/v1/runs/{run}/events"),
            last_id,
            self.token.as_deref(),
            limit,
            |_| false,
        )
    }

    /// Kills the server at once (no cleanup).
    pub(crate) fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        crate::fault_util::signal(self.child.id() as i32, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One Server-Sent Event.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SseEvent {
    pub id: Option<i64>,
    pub name: String,
    pub data: String,
}

impl SseEvent {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.data))
    }
}

/// Reads an SSE stream (HTTP/1.0, so the body is not chunked) until an
/// `ended` event, `stop_at` says so, the stream ends, or `limit` passes.
pub(crate) fn read_sse(
    base: &str,
    path: &str,
    last_id: Option<i64>,
    token: Option<&str>,
    limit: Duration,
    mut stop_at: impl FnMut(&SseEvent) -> bool,
) -> Vec<SseEvent> {
    let host = base.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut req = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: text/event-stream\r\n");
    if let Some(id) = last_id {
        req.push_str(&format!("Last-Event-ID: {id}\r\n"));
    }
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let deadline = Instant::now() + limit;
    let mut buf = Vec::new();
    let mut events = Vec::new();
    let mut head_done = false;
    let mut chunk = [0u8; 8192];
    while Instant::now() < deadline {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => break,
        }
        if !head_done {
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            assert!(
                head.starts_with("HTTP/1.") && head.contains(" 200 "),
                "SSE refused: {head}"
            );
            buf.drain(..end + 4);
            head_done = true;
        }
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let block = String::from_utf8_lossy(&buf[..end]).to_string();
            buf.drain(..end + 2);
            let mut e = SseEvent {
                id: None,
                name: "message".into(),
                data: String::new(),
            };
            let mut any = false;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    e.id = v.trim().parse().ok();
                    any = true;
                } else if let Some(v) = line.strip_prefix("event:") {
                    e.name = v.trim().to_string();
                    any = true;
                } else if let Some(v) = line.strip_prefix("data:") {
                    e.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    any = true;
                }
            }
            if !any {
                continue; // a keep-alive comment
            }
            let done = e.name == "ended" || stop_at(&e);
            events.push(e);
            if done {
                return events;
            }
        }
    }
    events
}

/// A short experiment on the simulated shop: 1 s warm-up, 5 s of load, a
/// latency fault on payment from 1 s to 3 s, one goal.
pub(crate) fn short_experiment(rate: u32) -> String {
    format!(
        "title: serve test\nsim: shop\nworkload:\n  base_url: ${{sim.gateway}}\n  scenarios:\n    - name: browse\n      steps:\n        - request: {{name: home, url: /}}\n  load:\n    model: open\n    max_vus: 50\n    stages:\n      - {{rate: {rate}, for: 5s}}\nwarmup: {{for: 1s, rate: {rate}}}\nfaults:\n  - name: slow payment\n    at: 1s\n    for: 2s\n    fault: {{type: latency, service: payment, args: {{delay: 50}}}}\ngoals:\n  - name: few errors\n    metric: http_req_failed\n    condition: rate<0.5\n"
    )
}

/// A PostgreSQL server of the machine's own (Debian's `postgresql`),
/// started in a temporary directory on a free port; stopped on drop.
pub(crate) struct Postgres {
    child: Child,
    pub url: String,
    /// `pg_ctl stop` for this server, run as its owner.
    stop: std::process::Command,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// `None` (with the reason) when PostgreSQL is not installed; in CI
    /// (`CI` set) that is a failure instead, since CI installs it.
    pub(crate) fn start() -> Option<Postgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|d| {
            d.flatten()
                .map(|e| e.path().join("bin"))
                .find(|b| b.join("initdb").exists())
        });
        let Some(bin) = bin else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL is not installed (apt-get install postgresql)"
            );
            eprintln!("skipped: PostgreSQL is not installed here (apt-get install postgresql)");
            return None;
        };
        let dir = crate::util::tempdir();
        let data = dir.path().join("pg");
        // PostgreSQL refuses to run as root: as root, run it as `postgres`.
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let as_owner = |program: &Path| {
            let mut c = if root {
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            } else {
                std::process::Command::new(program)
            };
            c.stdout(Stdio::null()).stderr(Stdio::piped());
            c
        };
        if root {
            let ok = std::process::Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown for postgres");
        }
        let out = as_owner(&bin.join("initdb"))
            .args([
                "-D",
                data.to_str().unwrap(),
                "-U",
                "squall",
                "--auth=trust",
                "-E",
                "UTF8",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = as_owner(&bin.join("postgres"))
            .args(["-D", data.to_str().unwrap(), "-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ready = crate::fault_util::eventually(Duration::from_secs(30), || {
            std::process::Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        assert!(ready, "PostgreSQL did not start");
        let mut stop = as_owner(&bin.join("pg_ctl"));
        stop.args(["stop", "-m", "immediate", "-D", data.to_str().unwrap()]);
        Some(Postgres {
            child,
            url: format!("postgres://squall@127.0.0.1:{port}/postgres"),
            stop,
            _dir: dir,
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // As its owner: a signal to `runuser` would not reach the server.
        let _ = self.stop.status();
        let _ = self.child.wait();
    }
}
