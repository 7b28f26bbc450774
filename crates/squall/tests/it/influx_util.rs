//! Debian's InfluxDB 1.x server, started by a test on loopback ports in a
//! temporary directory.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::sim_util::http;
use crate::util::*;

/// An `influxd` of its own, on loopback, in a temporary directory.
pub(crate) struct Influx {
    child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Influx {
    pub(crate) fn start() -> Option<Influx> {
        let bin = ["/usr/bin/influxd", "/usr/sbin/influxd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())?;
        let dir = tempdir();
        let (http_port, rpc_port) = (free_port(), free_port());
        let d = dir.path().display();
        let conf = write(
            dir.path(),
            "influxdb.conf",
            &format!(
                "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc_port}\"\n[meta]\n  dir = \"{d}/meta\"\n[data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n[http]\n  bind-address = \"127.0.0.1:{http_port}\"\n  log-enabled = false\n[monitor]\n  store-enabled = false\n"
            ),
        );
        let child = Command::new(bin)
            .arg("-config")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let base = format!("http://127.0.0.1:{http_port}");
        let mut influx = Influx {
            child,
            base,
            _dir: dir,
        };
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            if std::net::TcpStream::connect(influx.base.trim_start_matches("http://")).is_ok()
                && http("GET", &format!("{}/ping", influx.base), None).status == 204
            {
                return Some(influx);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = influx.child.kill();
        panic!("influxd did not answer /ping within 30 s");
    }

    pub(crate) fn query(&self, q: &str) -> serde_json::Value {
        let enc: String = q
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let r = http(
            "POST",
            &format!("{}/query?db=squall&q={enc}", self.base),
            None,
        );
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        r.json()
    }
}

impl Drop for Influx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Influx {
    /// Writes a line-protocol file into database `squall`.
    pub(crate) fn write_file(&self, path: &std::path::Path) {
        let body = std::fs::read_to_string(path).unwrap();
        let r = http(
            "POST",
            &format!("{}/write?db=squall&precision=ns", self.base),
            Some(&body),
        );
        assert_eq!(r.status, 204, "{}: {}", path.display(), r.body);
    }
}
