//! A `squall proxy` child, raw TCP upstreams, and process helpers for the
//! fault tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::util::squall;

/// A running `squall proxy`; stopped with SIGTERM on drop.
pub(crate) struct Agent {
    pub child: Child,
    pub api: String,
}

impl Agent {
    pub(crate) fn start(state_dir: &Path) -> Agent {
        Self::start_with(state_dir, &[])
    }

    pub(crate) fn start_with(state_dir: &Path, extra: &[&str]) -> Agent {
        Self::start_env(state_dir, extra, &[])
    }

    pub(crate) fn start_env(state_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Agent {
        let mut child = squall()
            .args(["proxy", "--listen", "127.0.0.1:0", "--state-dir"])
            .arg(state_dir)
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn squall proxy");
        let err = child.stderr.take().unwrap();
        let mut lines = BufReader::new(err).lines();
        let mut api = String::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while api.is_empty() && Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(rest) = line.split("API on ").nth(1) {
                api = rest.split_whitespace().next().unwrap().to_string();
            }
        }
        assert!(
            !api.is_empty(),
            "squall proxy did not print its API address"
        );
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Agent { child, api }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api)
    }

    pub(crate) fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        signal(self.pid(), nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

pub(crate) fn signal(pid: i32, s: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), s);
}

/// A TCP server on 127.0.0.1 running `handle` on a thread per connection;
/// its address.
fn serve_each(handle: impl Fn(TcpStream) + Send + Sync + 'static) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let handle = std::sync::Arc::new(handle);
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let handle = handle.clone();
            std::thread::spawn(move || handle(s));
        }
    });
    addr
}

/// An upstream that writes `size` bytes to every connection, then closes.
pub(crate) fn blob_server(size: usize) -> String {
    serve_each(move |mut s| {
        let _ = s.set_nodelay(true);
        let _ = s.write_all(&vec![b'x'; size]);
    })
}

/// An upstream that writes `size` bytes, then keeps the connection open
/// for `hold` before closing.
pub(crate) fn blob_then_hold(size: usize, hold: Duration) -> String {
    serve_each(move |mut s| {
        let _ = s.write_all(&vec![b'x'; size]);
        std::thread::sleep(hold);
    })
}

/// An HTTP/1.1 server answering every request (keep-alive) with 200 and a
/// body of `size` bytes.
pub(crate) fn http_blob_server(size: usize) -> String {
    serve_each(move |s| {
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut w = s;
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {size}\r\n\r\n"
        );
        let body = vec![b'y'; size];
        loop {
            // Request line and headers, up to the blank line.
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut skip = vec![0u8; len];
            if r.read_exact(&mut skip).is_err()
                || w.write_all(head.as_bytes()).is_err()
                || w.write_all(&body).is_err()
            {
                return;
            }
        }
    })
}

/// An upstream that echoes what it reads.
pub(crate) fn echo_server() -> String {
    serve_each(|mut s| {
        let _ = s.set_nodelay(true);
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 || s.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    })
}

/// What a client saw reading a connection to its end.
pub(crate) struct Drained {
    pub bytes: usize,
    pub reads: usize,
    pub first_byte: Option<Duration>,
    pub end: Duration,
    pub error: Option<std::io::ErrorKind>,
}

/// Connects and reads until EOF or an error (10 s at most).
pub(crate) fn drain(addr: &str) -> Drained {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = vec![0u8; 65536];
    let mut d = Drained {
        bytes: 0,
        reads: 0,
        first_byte: None,
        end: Duration::ZERO,
        error: None,
    };
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                d.first_byte.get_or_insert(start.elapsed());
                d.bytes += n;
                d.reads += 1;
            }
            Err(e) => {
                d.error = Some(e.kind());
                break;
            }
        }
    }
    d.end = start.elapsed();
    d
}

/// The state letter of a process (`T` when stopped), none when gone.
pub(crate) fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// Polls `f` every 20 ms for up to `limit`.
pub(crate) fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// A `sleep 120` child to pause and kill.
pub(crate) fn victim() -> Child {
    std::process::Command::new("sleep")
        .arg("120")
        .spawn()
        .unwrap()
}
