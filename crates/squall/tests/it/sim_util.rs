//! A `squall sim up` process and a tiny blocking HTTP client for the sim tests.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::util::squall;

/// A running `squall sim up` child; stopped with SIGTERM on drop.
pub(crate) struct Sim {
    pub child: Child,
    pub services: BTreeMap<String, String>,
    pub control: String,
}

impl Sim {
    pub(crate) fn start(topology: &std::path::Path, extra: &[&str]) -> Sim {
        Self::start_env(topology, extra, &[])
    }

    /// [`Sim::start`] with environment variables for the simulator.
    pub(crate) fn start_env(
        topology: &std::path::Path,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> Sim {
        let mut child = squall()
            .args(["sim", "up"])
            .arg(topology)
            .args(["--control", "127.0.0.1:0"])
            .args(extra)
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn squall sim up");
        let out = child.stdout.take().unwrap();
        let mut lines = BufReader::new(out).lines();
        let mut services = BTreeMap::new();
        let mut control = String::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while control.is_empty() && Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            let mut parts = line.split_whitespace();
            if let (Some(name), Some(url)) = (parts.next(), parts.next())
                && url.starts_with("http://")
            {
                if name == "control" {
                    control = url.trim_end_matches('/').to_string();
                } else {
                    services.insert(name.to_string(), url.trim_end_matches('/').to_string());
                }
            }
        }
        assert!(
            !control.is_empty(),
            "squall sim up did not print its control address"
        );
        Sim {
            child,
            services,
            control,
        }
    }

    pub(crate) fn url(&self, service: &str) -> &str {
        &self.services[service]
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

/// A response: status (0 when the connection closed without one), body, time taken.
pub(crate) struct Resp {
    pub status: u16,
    pub body: String,
    pub elapsed: Duration,
    /// The status line and headers.
    pub head: String,
}

impl Resp {
    /// A header's value (name in any case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One request over a fresh connection (`Connection: close`).
pub(crate) fn http(method: &str, url: &str, body: Option<&str>) -> Resp {
    http_with(method, url, body, &[])
}

/// [`http`] with extra header lines (`("Host", "evil.example")` replaces
/// the Host header).
pub(crate) fn http_with(
    method: &str,
    url: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Resp {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let start = Instant::now();
    let mut s = TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let b = body.unwrap_or("");
    let host_header = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map_or(host, |(_, v)| *v);
    let extra: String = headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host_header}\r\n{extra}Connection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
        b.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let elapsed = start.elapsed();
    if raw.is_empty() {
        return Resp {
            status: 0,
            body: String::new(),
            elapsed,
            head: String::new(),
        };
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Resp {
        status,
        body,
        elapsed,
        head: head.to_string(),
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}
