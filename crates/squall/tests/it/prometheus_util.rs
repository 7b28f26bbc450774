//! Debian's Prometheus, started by a test on a loopback port with its own
//! storage, scraping the targets the test names every second.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::sim_util::{Resp, http};
use crate::util::{free_port, write};

/// A running `prometheus`; killed on drop.
pub(crate) struct Prometheus {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Prometheus {
    /// Starts it in `dir` scraping `/_sim/metrics` of each `host:port`
    /// under job `sim`, and waits until it answers queries.
    pub(crate) fn scraping_sim(dir: &Path, targets: &[&str]) -> Prometheus {
        let Some(bin) = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
            .into_iter()
            .find(|p| Path::new(p).exists())
        else {
            panic!(
                "Debian's prometheus is needed (apt-get install prometheus; .ci/run installs it)"
            );
        };
        let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = write(
            dir,
            "prometheus.yml",
            &format!(
                "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: sim\n    metrics_path: /_sim/metrics\n    static_configs: [{{targets: [{}]}}]\n",
                list.join(", ")
            ),
        );
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let p = Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let end = Instant::now() + Duration::from_secs(60);
        while Instant::now() < end {
            std::thread::sleep(Duration::from_millis(300));
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && p.query("up").status == 200
            {
                return p;
            }
        }
        panic!("prometheus did not answer on {} within 60 s", p.url);
    }

    /// An instant query (the expression must not need URL escaping).
    pub(crate) fn query(&self, q: &str) -> Resp {
        http("GET", &format!("{}/api/v1/query?query={q}", self.url), None)
    }

    /// Waits until `q` has a first sample, and answers its value.
    pub(crate) fn wait_for(&self, q: &str) -> Option<String> {
        let end = Instant::now() + Duration::from_secs(60);
        while Instant::now() < end {
            let r = self.query(q);
            if r.status == 200
                && let Some(v) = r.json()["data"]["result"][0]["value"][1].as_str()
            {
                return Some(v.to_string());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        None
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
