//! Test servers and helpers for driving the `squall` binary.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// Path to the binary under test. Each invocation gets a lease-ledger
/// directory of its own, so one test's squall never recovers (and reverts)
/// what another test's killed squall left on purpose.
pub(crate) fn squall() -> Command {
    static N: AtomicU64 = AtomicU64::new(0);
    let state = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "state-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let mut c = Command::new(env!("CARGO_BIN_EXE_squall"));
    c.env("NO_COLOR", "1").env("SQUALL_STATE_DIR", state);
    c
}

/// Runs squall with a hard time limit, so a hang fails the test instead of the suite.
pub(crate) fn run(args: &[&str], limit: Duration) -> Output {
    let mut child = squall()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn squall");
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "squall {args:?} did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Output as text, for assertion messages.
pub(crate) fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// How the test server behaves.
#[derive(Clone, Default)]
pub(crate) struct Behaviour {
    /// Every `stall_every`-th request makes the whole server pause for `stall_for`
    /// (like a GC pause: every request in progress or arriving waits).
    pub stall_every: u64,
    pub stall_for: Duration,
}

/// Counters a test can read after the run.
#[derive(Default)]
pub(crate) struct Seen {
    pub requests: AtomicU64,
    pub http2: AtomicU64,
    pub last_headers: Mutex<Vec<(String, String)>>,
    pub paths: Mutex<Vec<String>>,
}

/// A server on 127.0.0.1 running on its own thread and runtime.
pub(crate) struct TestServer {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
}

impl TestServer {
    pub(crate) fn start(b: Behaviour) -> Self {
        Self::start_with(b, None)
    }

    /// A server speaking TLS (HTTP/1.1 and HTTP/2 by ALPN) with the self-signed test certificate.
    pub(crate) fn start_tls(b: Behaviour) -> Self {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(dir.join("cert.pem"))
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
        let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self::start_with(b, Some(tokio_rustls::TlsAcceptor::from(Arc::new(cfg))))
    }

    fn start_with(b: Behaviour, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let seen = Arc::new(Seen::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let stalled_until: Arc<std::sync::Mutex<Option<tokio::time::Instant>>> =
                    Default::default();
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    let (seen, b, stalled, tls) =
                        (seen2.clone(), b.clone(), stalled_until.clone(), tls.clone());
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(move |req| {
                            handle(req, seen.clone(), b.clone(), stalled.clone())
                        });
                        let builder = auto::Builder::new(TokioExecutor::new());
                        match tls {
                            None => {
                                let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                            }
                            Some(acceptor) => {
                                if let Ok(s) = acceptor.accept(stream).await {
                                    let _ = builder.serve_connection(TokioIo::new(s), svc).await;
                                }
                            }
                        }
                    });
                }
            });
        });
        let addr = rx.recv().unwrap();
        Self { addr, seen }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub(crate) fn https_url(&self, path: &str) -> String {
        format!("https://{}{}", self.addr, path)
    }

    pub(crate) fn requests(&self) -> u64 {
        self.seen.requests.load(Ordering::SeqCst)
    }
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    seen: Arc<Seen>,
    b: Behaviour,
    stalled: Arc<std::sync::Mutex<Option<tokio::time::Instant>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let n = seen.requests.fetch_add(1, Ordering::SeqCst) + 1;
    if req.version() == hyper::Version::HTTP_2 {
        seen.http2.fetch_add(1, Ordering::SeqCst);
    }
    if b.stall_every > 0 && n.is_multiple_of(b.stall_every) {
        *stalled.lock().unwrap() = Some(tokio::time::Instant::now() + b.stall_for);
    }
    let until = *stalled.lock().unwrap();
    if let Some(t) = until {
        tokio::time::sleep_until(t).await;
    }
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    *seen.last_headers.lock().await = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    seen.paths.lock().await.push(format!(
        "{path}{}{query}",
        if query.is_empty() { "" } else { "?" }
    ));
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let (status, out): (StatusCode, Bytes) = match path.as_str() {
        "/login" => (
            StatusCode::OK,
            Bytes::from_static(br#"{"token":"abc123","user":{"id":7}}"#),
        ),
        "/echo" => (StatusCode::OK, body),
        "/missing" => (StatusCode::NOT_FOUND, Bytes::from_static(b"no")),
        "/chunked" => (StatusCode::OK, Bytes::from_static(b"chunked-ish")),
        _ => (StatusCode::OK, Bytes::from_static(b"ok")),
    };
    let mut resp = Response::new(Full::new(out));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("x-session", "s-99".parse().unwrap());
    Ok(resp)
}

/// A temporary directory for plans and outputs.
pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

pub(crate) fn read_json(p: &Path) -> serde_json::Value {
    let t = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("{} is not JSON: {e}", p.display()))
}

/// The Python interpreter with the test requirements (tests/requirements.txt).
pub(crate) fn python() -> String {
    std::env::var("SQUALL_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs a Python snippet; panics with its output when it fails.
pub(crate) fn python_ok(script: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python check failed (are tests/requirements.txt installed? run scripts/test):\n{}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Debian's Chromium (or another installed one), for the browser checks.
pub(crate) fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// The repository root.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs Chaos Toolkit's own report tool (`chaos report`, from
/// chaostoolkit-reporting in the test venv) on a journal: Ok when it
/// produced a report that carries the experiment's title.
pub(crate) fn chaos_report_accepts(journal: &Path) -> Result<(), String> {
    let py = PathBuf::from(python());
    let venv = py
        .parent()
        .and_then(|b| b.parent())
        .expect("SQUALL_TEST_PYTHON is VENV/bin/python");
    let out = Command::new("bash")
        .arg(repo_root().join("tests/chaos-report/check_journal.sh"))
        .arg(journal)
        .arg(venv)
        .output()
        .expect("bash runs");
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(text(&out)),
        _ => panic!(
            "check_journal.sh could not run (is chaostoolkit-reporting installed? run scripts/test):\n{}",
            text(&out)
        ),
    }
}

/// Lowers `pid`'s file-descriptor limit to a few above what it holds, fills
/// it with connections to `addr` so that accepting fails (EMFILE) again and
/// again, checks the process does not spin meanwhile, then frees them.
pub(crate) fn starve_accept(pid: i32, addr: &str) {
    let open_fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let limit = open_fds + 8;
    let status = Command::new("prlimit")
        .arg(format!("--nofile={limit}:{limit}"))
        .args(["--pid", &pid.to_string()])
        .status()
        .expect("prlimit (util-linux)");
    assert!(status.success());
    let held: Vec<std::net::TcpStream> = (0..limit * 2)
        .filter_map(|_| std::net::TcpStream::connect(addr).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let t0 = crate::fault::cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(1));
    let burnt = crate::fault::cpu_ticks(pid) - t0;
    assert!(
        burnt < 50,
        "a spinning accept loop burns ~100 ticks a second; saw {burnt}"
    );
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
}

/// Runs `kubernetes-validate --strict` (tests/requirements.txt) on a manifest file.
pub(crate) fn kubernetes_validate(path: &Path) -> Output {
    Command::new(python())
        .args(["-m", "kubernetes_validate", "--strict", "--quiet"])
        .arg(path)
        .output()
        .expect("run kubernetes-validate (pip install -r tests/requirements.txt)")
}

/// A loopback port free right now (for a server a test starts itself).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Prometheus' own linter (`promtool check metrics`) has nothing to say
/// about `exposition`.
pub(crate) fn promtool_check(exposition: &str) {
    use std::io::Write;
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; .ci/run installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let lint = promtool.wait_with_output().unwrap();
    assert!(
        lint.status.success() && lint.stdout.is_empty() && lint.stderr.is_empty(),
        "promtool: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
}
