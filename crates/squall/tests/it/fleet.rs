//! Fleets: `squall load --fleet N` coordinating `squall generator`
//! processes over loopback against nginx, which counts what it served.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fault_util::{Agent, signal};
use crate::nginx::Nginx;
use crate::util::{python, python_ok, read_json, run, squall, tempdir, text, write};

/// A squall child whose stderr lines are kept for the test to wait on.
struct Proc {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    fn spawn(args: &[&str], dir: &Path) -> Proc {
        Self::spawn_env(args, dir, &[])
    }

    fn spawn_env(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Proc {
        let mut child = squall()
            .current_dir(dir)
            .envs(env.iter().copied())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn squall");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let keep = lines.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                keep.lock().unwrap().push(l);
            }
        });
        Proc { child, lines }
    }

    /// Waits for a stderr line containing `needle`; answers it.
    fn wait_for(&self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(l) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return l.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no line with {needle:?} within {limit:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits for the exit; answers the code and stdout.
    fn finish(mut self, limit: Duration) -> (Option<i32>, String, String) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut out = String::new();
                use std::io::Read;
                self.child
                    .stdout
                    .take()
                    .unwrap()
                    .read_to_string(&mut out)
                    .unwrap();
                std::thread::sleep(Duration::from_millis(50));
                return (status.code(), out, self.stderr());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("did not finish within {limit:?}:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn plan(dir: &Path, target: &str, rate: u32, secs: u32) -> String {
    write(
        dir,
        "plan.yaml",
        &format!(
            "base_url: {target}\n\
             scenarios:\n  - name: s\n    steps:\n      - request: {{name: hit, url: /}}\n\
             load: {{model: open, max_vus: 50, stages: [{{rate: {rate}, for: {secs}s}}]}}\n"
        ),
    )
    .display()
    .to_string()
}

/// Starts a coordinator; answers it and its URL.
fn coordinator(dir: &Path, args: &[&str]) -> (Proc, String) {
    coordinator_env(dir, args, &[])
}

fn coordinator_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Proc, String) {
    let mut all = vec!["load"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--fleet-listen", "127.0.0.1:0"]);
    let c = Proc::spawn_env(&all, dir, env);
    let line = c.wait_for("coordinating a fleet on ", Duration::from_secs(20));
    let url = line
        .split("coordinating a fleet on ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (c, url)
}

fn generator(dir: &Path, url: &str, name: &str, extra: &[&str]) -> Proc {
    let mut args = vec![
        "generator",
        "--coordinator",
        url,
        "--name",
        name,
        "--once",
        "--threads",
        "1",
    ];
    args.extend_from_slice(extra);
    Proc::spawn(&args, dir)
}

/// Requests per second, without the empty partial second a run may end
/// with (the wind-down after the last arrival).
fn requests_per_second(out: &Value) -> Vec<u64> {
    let mut v: Vec<u64> = out["seconds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["overall"]["requests"].as_u64().unwrap())
        .collect();
    while v.last() == Some(&0) {
        v.pop();
    }
    // A last request that finished a few ms past the plan's last edge
    // makes a sliver of a second of its own: it belongs to the one before.
    if v.len() >= 2 && v.last().is_some_and(|n| *n <= 5) {
        let tail = v.pop().unwrap_or_default();
        *v.last_mut().expect("checked above") += tail;
    }
    v
}

#[test]
fn three_generators_send_exactly_the_plan_and_merge_like_one() {
    let dir = tempdir();
    let d = dir.path();
    let nginx = Nginx::start(d);
    let plan = plan(d, &nginx.url, 150, 4);

    // One process alone, for the shape.
    let single_out = format!("json={}", d.join("single.json").display());
    let single = run(
        &["load", &plan, "-q", "--threads", "1", "--out", &single_out],
        Duration::from_secs(60),
    );
    assert_eq!(single.status.code(), Some(0), "{}", text(&single));
    let served_alone = nginx.served();
    assert_eq!(served_alone, 600, "the plan is 150/s for 4 s");

    let (c, url) = coordinator(
        d,
        &[
            &plan,
            "--fleet",
            "3",
            "-q",
            "--out",
            "json=fleet.json",
            "--out",
            "hlog=fleet.hlog",
        ],
    );
    let gens: Vec<Proc> = (1..=3)
        .map(|i| {
            let name = format!("g{i}");
            generator(d, &url, &name, &["--out", &format!("hlog={name}.hlog")])
        })
        .collect();
    let (code, stdout, stderr) = c.finish(Duration::from_secs(90));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    for g in gens {
        let (code, _, err) = g.finish(Duration::from_secs(20));
        assert_eq!(code, Some(0), "{err}");
        assert!(err.contains("reported and acknowledged"), "{err}");
    }

    // Every request the generators sent was served, and counted once.
    assert_eq!(nginx.served() - served_alone, 600, "nginx's count");
    let fleet = read_json(&d.join("fleet.json"));
    let summary = &fleet["summary"];
    assert_eq!(summary["overall"]["requests"], 600, "{summary}");
    assert_eq!(summary["overall"]["failed"], 0);
    let f = &summary["fleet"];
    assert_eq!(f["count"], 3);
    assert!(f["failure"].is_null());
    let gens = f["generators"].as_array().unwrap();
    assert_eq!(gens.len(), 3);
    for g in gens {
        assert_eq!(g["lost"], false, "{g}");
        assert_eq!(g["ended"], true, "{g}");
    }
    assert!(stdout.contains("fleet: 3 generators"), "{stdout}");

    // The same shape as one process: as many seconds, each within a few
    // requests (a request can finish either side of a second's edge).
    let one = requests_per_second(&read_json(&d.join("single.json")));
    let many = requests_per_second(&fleet);
    assert_eq!(one.iter().sum::<u64>(), many.iter().sum::<u64>());
    assert_eq!(one.len(), many.len(), "{one:?} vs {many:?}");
    for (a, b) in one.iter().zip(&many) {
        assert!(a.abs_diff(*b) <= 5, "{one:?} vs {many:?}");
    }

    // The merged latency is the union of what each generator measured:
    // read by the reference HdrHistogram implementation, not by squall.
    let check = python_ok(
        "import sys\n\
         from hdrh.histogram import HdrHistogram\n\
         from hdrh.log import HistogramLogReader\n\
         def total(path):\n\
         \x20   r = HistogramLogReader(path, HdrHistogram(1, 3600000000, 3))\n\
         \x20   acc = HdrHistogram(1, 3600000000, 3)\n\
         \x20   while True:\n\
         \x20       h = r.get_next_interval_histogram()\n\
         \x20       if h is None: break\n\
         \x20       if not h.get_tag(): acc.add(h)\n\
         \x20   return acc\n\
         union = HdrHistogram(1, 3600000000, 3)\n\
         for p in sys.argv[2:]: union.add(total(p))\n\
         merged = total(sys.argv[1])\n\
         for q in (50, 90, 99, 99.9, 100):\n\
         \x20   print(q, union.get_value_at_percentile(q), merged.get_value_at_percentile(q))\n\
         print('count', union.get_total_count(), merged.get_total_count())\n",
        &[
            d.join("fleet.hlog").to_str().unwrap(),
            d.join("g1.hlog").to_str().unwrap(),
            d.join("g2.hlog").to_str().unwrap(),
            d.join("g3.hlog").to_str().unwrap(),
        ],
    );
    for line in check.lines() {
        let v: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(v[1], v[2], "union vs merged at {}: {check}", v[0]);
    }
    assert!(check.contains("count 600 600"), "{check}");
}

#[test]
fn a_killed_generator_is_reported_lost_and_fails_the_run() {
    let dir = tempdir();
    let d = dir.path();
    let nginx = Nginx::start(d);
    let plan = plan(d, &nginx.url, 40, 30);
    let (c, url) = coordinator(
        d,
        &[&plan, "--fleet", "2", "-q", "--out", "json=fleet.json"],
    );
    let g1 = generator(d, &url, "g1", &[]);
    let g2 = generator(d, &url, "g2", &[]);
    g2.wait_for("started", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(3));
    signal(g2.child.id() as i32, nix::sys::signal::Signal::SIGKILL);
    let (code, stdout, stderr) = c.finish(Duration::from_secs(60));
    assert_eq!(
        code,
        Some(6),
        "a lost generator fails the run\n{stdout}\n{stderr}"
    );
    let lost = stderr
        .lines()
        .find(|l| l.contains("generator g2 lost"))
        .unwrap_or_else(|| panic!("no lost line:\n{stderr}"));
    // Lost after 2.5 s of silence, checked five times a second: within
    // 2.7 s of its last report, so within 3 s of the kill.
    let silent: f64 = lost
        .split("silent for ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((2.5..=3.0).contains(&silent), "{lost}");
    assert!(stdout.contains("LOST"), "{stdout}");
    assert!(stdout.contains("fleet failed: generator g2"), "{stdout}");
    let f = &read_json(&d.join("fleet.json"))["summary"]["fleet"];
    let g2s = f["generators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "g2")
        .unwrap();
    assert_eq!(g2s["lost"], true);
    assert!(
        g2s["seconds"].as_u64().unwrap() >= 2,
        "its seconds count: {g2s}"
    );
    // The other generator was stopped early, not left running the plan.
    let (code, _, err) = g1.finish(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("stopping: the coordinator asked"), "{err}");
    assert!(
        read_json(&d.join("fleet.json"))["summary"]["duration_s"]
            .as_f64()
            .unwrap()
            < 25.0,
        "the run stopped when g2 was lost"
    );
}

#[test]
fn a_cut_network_path_loses_no_second() {
    let dir = tempdir();
    let d = dir.path();
    let nginx = Nginx::start(d);
    let plan = plan(d, &nginx.url, 100, 8);
    let (c, url) = coordinator(
        d,
        &[
            &plan,
            "--fleet",
            "2",
            "-q",
            "--lost-after",
            "6s",
            "--out",
            "json=fleet.json",
        ],
    );
    // g2 reaches the coordinator through a proxy that the test cuts.
    let agent = Agent::start(&d.join("proxy-state"));
    let http = |method: &str, path: &str, body: Value| {
        let out = std::process::Command::new(python())
            .args([
                "-c",
                "import sys,urllib.request\n\
                 r=urllib.request.Request(sys.argv[2],data=sys.argv[3].encode(),method=sys.argv[1],headers={'content-type':'application/json'})\n\
                 print(urllib.request.urlopen(r).read().decode())",
                method,
                &agent.url(path),
                &body.to_string(),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let upstream = url.trim_start_matches("http://");
    let p = http(
        "POST",
        "/proxies",
        serde_json::json!({"name": "to-coordinator", "listen": "127.0.0.1:0", "upstream": upstream}),
    );
    let via = format!("http://{}", p["listen"].as_str().unwrap());
    let g1 = generator(d, &url, "g1", &[]);
    let g2 = generator(d, &via, "g2", &[]);
    g2.wait_for("started", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(3));
    // Every connection through the proxy is reset for 1.5 s.
    http(
        "POST",
        "/proxies/to-coordinator/toxics",
        serde_json::json!({"type": "reset_peer", "attributes": {"timeout": 0}, "ttl_ms": 1500}),
    );
    let (code, stdout, stderr) = c.finish(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let (code, _, err2) = g2.finish(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{err2}");
    assert!(
        err2.contains("retrying:"),
        "the cut must have been felt by g2:\n{err2}"
    );
    let (code, _, _) = g1.finish(Duration::from_secs(20));
    assert_eq!(code, Some(0));
    let out = read_json(&d.join("fleet.json"));
    assert_eq!(
        out["summary"]["overall"]["requests"], 800,
        "{}",
        out["summary"]
    );
    assert_eq!(nginx.served(), 800);
    let seconds: Vec<u64> = out["seconds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["second"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seconds,
        (0..seconds.len() as u64).collect::<Vec<_>>(),
        "every second, in order"
    );
    assert!(
        out["summary"]["fleet"]["generators"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["lost"] == false)
    );
}

#[test]
fn a_fleet_that_never_forms_and_a_wrong_token_are_clear_errors() {
    let dir = tempdir();
    let d = dir.path();
    let plan = plan(d, "http://127.0.0.1:9", 10, 1);
    let o = run(
        &[
            "load",
            &plan,
            "--fleet",
            "2",
            "--fleet-listen",
            "127.0.0.1:0",
            "--fleet-wait",
            "1s",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("fleet: 0 of 2 generators registered within 1s"),
        "{}",
        text(&o)
    );

    // A coordinator with a token refuses a generator without it.
    let (c, url) = coordinator_env(
        d,
        &[&plan, "--fleet", "1", "--fleet-wait", "20s", "-q"],
        &[("SQUALL_TOKEN", "fleet-secret-0123456789")],
    );
    let o = run(
        &[
            "generator",
            "--coordinator",
            &url,
            "--once",
            "--give-up",
            "5s",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("401"), "{}", text(&o));
    drop(c);
}

#[test]
fn kubernetes_manifests_validate_and_run_generators_as_an_indexed_job() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "users.csv", "user\nann\n");
    let plan = write(
        d,
        "plan.yaml",
        "base_url: http://shop.shop.svc:8080\n\
         scenarios:\n  - name: s\n    data: {csv: users.csv}\n    steps:\n      - request: {name: home, url: \"/u/${user}\"}\n\
         load: {model: open, stages: [{rate: 100, for: 1m}]}\n",
    );
    let out = d.join("fleet.yaml");
    let o = run(
        &[
            "fleet",
            "k8s",
            plan.to_str().unwrap(),
            "--generators",
            "4",
            "--namespace",
            "load",
            "-o",
            out.to_str().unwrap(),
        ],
        Duration::from_secs(20),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let y = std::fs::read_to_string(&out).unwrap();
    for want in [
        "completionMode: Indexed",
        "completions: 4",
        "parallelism: 4",
        "http://squall-coordinator.load.svc:7400",
        "users.csv",
        "name: squall-fleet-token",
        "readOnlyRootFilesystem: true",
    ] {
        assert!(y.contains(want), "{want} missing:\n{y}");
    }
    let check = crate::util::kubernetes_validate;
    let v = check(&out);
    assert!(v.status.success(), "{}", text(&v));
    let bad = d.join("bad.yaml");
    std::fs::write(&bad, y.replacen("completions: 4", "completions: four", 1)).unwrap();
    assert!(
        !check(&bad).status.success(),
        "a broken manifest must fail validation"
    );
}

#[test]
fn squall_serve_runs_an_experiment_on_registered_generators() {
    use crate::serve_util::Server;
    let dir = tempdir();
    let d = dir.path();
    let nginx = Nginx::start(d);
    let env = [("SQUALL_TOKEN", "fleet-serve-token-0123456789")];
    let server = Server::start(&d.join("data"), &[], &env);
    let gens: Vec<Proc> = (1..=2)
        .map(|i| {
            Proc::spawn_env(
                &[
                    "generator",
                    "--coordinator",
                    &server.url(""),
                    "--name",
                    &format!("g{i}"),
                    "--once",
                    "--threads",
                    "1",
                ],
                d,
                &env,
            )
        })
        .collect();
    for g in &gens {
        g.wait_for("registered as", Duration::from_secs(30));
    }
    let listed = server.call("GET", "/api/v1/fleet/generators", None);
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["generators"].as_array().unwrap().len(), 2);
    let doc = format!(
        "title: on a fleet\n\
         workload:\n  base_url: {}\n  scenarios:\n    - name: s\n      steps:\n        - request: {{name: hit, url: /}}\n  \
         load: {{model: open, max_vus: 20, stages: [{{rate: 50, for: 4s}}]}}\n\
         fleet: {{generators: 2, wait: 30s}}\n\
         goals:\n  - {{name: no errors, metric: http_req_failed, condition: rate<0.01}}\n",
        nginx.url
    );
    let id = server.create("fleet", &doc);
    let run_id = server.start_run(&id, 1);
    let events = server.events(&run_id, None, Duration::from_secs(90));
    let ended = events
        .iter()
        .find(|e| e.name == "ended")
        .unwrap_or_else(|| panic!("no end: {events:?}"));
    assert_eq!(ended.json()["status"], "completed", "{}", ended.data);
    assert!(
        events
            .iter()
            .any(|e| e.data.contains("2 generators start together")),
        "the fleet's news are in the stream: {events:?}"
    );
    let report = server.call("GET", &format!("/api/v1/runs/{run_id}/report"), None);
    assert_eq!(report.status, 200, "{}", report.body);
    let r = report.json();
    assert_eq!(r["verdict"], "passed", "{}", report.body);
    assert_eq!(nginx.served(), 200, "nginx's count");
    let requests = r["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "overall")
        .map(|p| p["requests"].as_u64().unwrap());
    assert_eq!(requests, Some(200), "{}", report.body);
    for g in gens {
        let (code, _, err) = g.finish(Duration::from_secs(20));
        assert_eq!(code, Some(0), "{err}");
    }

    // `squall run` has no generators to give the workload to: a located error.
    let exp = write(d, "exp.yaml", &doc);
    let o = run(&["run", exp.to_str().unwrap()], Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("exp.yaml:9:8: fleet: a fleet is coordinated by `squall serve`"),
        "{}",
        text(&o)
    );
}
