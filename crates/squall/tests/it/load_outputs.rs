//! Every output parses with an independent reader and matches its schema.

use std::time::Duration;

use crate::util::*;

#[test]
fn every_output_file_parses_and_matches_its_schema() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    let p = |n: &str| dir.path().join(n);
    let out = run(
        &[
            "load",
            &srv.url("/"),
            "--rate",
            "300",
            "-d",
            "3s",
            "-c",
            "8",
            "-q",
            "--out",
            &format!("json={}", p("o.json").display()),
            "--out",
            &format!("csv={}", p("o.csv").display()),
            "--out",
            &format!("hlog={}", p("o.hlog").display()),
            "--out",
            &format!("influx={}", p("o.lp").display()),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let total = srv.requests();

    // JSON: validated against the documented schema by the jsonschema package.
    let schema = repo_root().join("docs/schemas/load-output.schema.json");
    python_ok(
        "import json,sys,jsonschema\n\
         s=json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2]))\n\
         jsonschema.Draft202012Validator.check_schema(s)\n\
         jsonschema.validate(d, s, cls=jsonschema.Draft202012Validator)",
        &[schema.to_str().unwrap(), p("o.json").to_str().unwrap()],
    );
    let doc = read_json(&p("o.json"));
    let per_second: u64 = doc["seconds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["overall"]["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(per_second, total, "seconds add up to what the server saw");

    // CSV: same number of columns on every row, requests add up.
    let csv = std::fs::read_to_string(p("o.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let req_col = header.iter().position(|h| *h == "requests").unwrap();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (unix_col, time_col, start_col) = (col("unix_ms"), col("time"), col("start_ms"));
    let mut sum = 0;
    let mut first_unix = None;
    for l in lines {
        let cols: Vec<&str> = l.split(',').collect();
        assert_eq!(cols.len(), header.len(), "{l}");
        sum += cols[req_col].parse::<u64>().unwrap();
        // Absolute time beside the relative one: Unix ms and RFC 3339 agree.
        let unix: u64 = cols[unix_col].parse().unwrap();
        let start: u64 = cols[start_col].parse().unwrap();
        let t0 = *first_unix.get_or_insert(unix - start);
        assert_eq!(unix, t0 + start, "{l}");
        let rfc = humantime_parse(cols[time_col]);
        assert_eq!(rfc, unix, "{l}");
        // Stressgrid's figures: min <= mean, a non-negative deviation.
        if cols[req_col] != "0" {
            let f = |c: &str| cols[col(c)].parse::<f64>().unwrap();
            assert!(
                f("latency_min_ms") <= f("latency_mean_ms") && f("latency_stddev_ms") >= 0.0,
                "{l}"
            );
        }
    }
    assert_eq!(sum, total);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let t0 = first_unix.unwrap();
    assert!(t0 <= now && now - t0 < 600_000, "dated today: {t0}");

    // HdrHistogram log: read by the reference Python implementation (hdrh).
    let counted = python_ok(
        "import sys\n\
         from hdrh.histogram import HdrHistogram\n\
         from hdrh.log import HistogramLogReader\n\
         r=HistogramLogReader(sys.argv[1], HdrHistogram(1, 3600000000, 3))\n\
         n=0\n\
         while True:\n\
         \x20   h=r.get_next_interval_histogram()\n\
         \x20   if h is None: break\n\
         \x20   n+=h.get_total_count()\n\
         print(n)",
        &[p("o.hlog").to_str().unwrap()],
    );
    // Untagged (latency), service and one per request name: three series of `total` values.
    assert_eq!(
        counted.trim().parse::<u64>().unwrap(),
        3 * total,
        "hlog counts"
    );

    // InfluxDB line protocol: measurement,tags fields timestamp.
    let lp = std::fs::read_to_string(p("o.lp")).unwrap();
    let mut http_all = 0;
    for l in lp.lines() {
        let parts: Vec<&str> = l.rsplitn(2, ' ').collect();
        assert_eq!(parts.len(), 2, "{l}");
        assert!(
            parts[0].parse::<u128>().unwrap() > 1_600_000_000_000_000_000,
            "ns timestamp in {l}"
        );
        if l.starts_with("squall_http,name=all ") {
            let f = l.split(' ').nth(1).unwrap();
            let req = f
                .split(',')
                .find_map(|kv| kv.strip_prefix("requests="))
                .unwrap();
            http_all += req.trim_end_matches('i').parse::<u64>().unwrap();
        }
    }
    assert_eq!(http_all, total);
}

#[test]
fn prometheus_endpoint_serves_while_running() {
    let srv = TestServer::start(Behaviour::default());
    // Pick a free port by binding and releasing it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = squall()
        .args([
            "load",
            &srv.url("/"),
            "--rate",
            "50",
            "-d",
            "4s",
            "-c",
            "2",
            "-q",
            "--metrics-listen",
            &addr,
            "--metrics-linger",
            "10s",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut body = String::new();
    for _ in 0..60 {
        std::thread::sleep(Duration::from_millis(100));
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            use std::io::{Read, Write};
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .unwrap();
            body.clear();
            s.read_to_string(&mut body).unwrap();
            if body.contains("squall_http_requests_total{") {
                break;
            }
        }
    }
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(
        body.contains("# TYPE squall_http_requests_total counter"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE squall_http_request_duration_seconds histogram"),
        "{body}"
    );
    // Prometheus' own linter finds nothing to say.
    let exposition = body.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    promtool_check(exposition);
    assert!(
        exposition.contains("squall_build_info{run_id=\"load-"),
        "every sample carries the run's id: {exposition}"
    );
    // After the run the final figures stay up for the linger: a scraper
    // gets every request the server saw.
    use std::io::BufRead;
    let lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut lingering = false;
    for line in lines {
        if line.unwrap().contains("serving the final metrics") {
            lingering = true;
            break;
        }
    }
    assert!(lingering, "squall said it keeps serving the final metrics");
    let final_body = crate::sim_util::http("GET", &format!("http://{addr}/metrics"), None).body;
    let counted: u64 = final_body
        .lines()
        .filter(|l| l.starts_with("squall_http_requests_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(counted, srv.requests(), "{final_body}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "Ctrl-C ends the linger"
    );
}

/// A second without requests has no latency: empty CSV cells, no latency
/// fields in InfluxDB lines, `null` percentiles in JSON, never 0 ms.
#[test]
fn seconds_without_requests_have_no_latency() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    // One user that thinks 2.5 s between requests: some seconds are empty.
    let plan = write(
        dir.path(),
        "plan.yaml",
        &format!(
            "base_url: {}\nscenarios:\n  - name: s\n    steps:\n      - request: {{url: /}}\n      - think: 2500ms\nload:\n  model: closed\n  stages:\n    - {{users: 1, for: 4s}}\n",
            srv.url("")
        ),
    );
    let (csv, influx, json) = (
        dir.path().join("o.csv"),
        dir.path().join("o.influx"),
        dir.path().join("o.json"),
    );
    let out = run(
        &[
            "load",
            plan.to_str().unwrap(),
            "-q",
            "--out",
            &format!("csv={}", csv.display()),
            "--out",
            &format!("influx={}", influx.display()),
            "--out",
            &format!("json={}", json.display()),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let text_csv = std::fs::read_to_string(&csv).unwrap();
    let header: Vec<&str> = text_csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (requests, p50) = (col("requests"), col("latency_p50_ms"));
    let rows: Vec<Vec<String>> = text_csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let empty: Vec<&Vec<String>> = rows.iter().filter(|r| r[requests] == "0").collect();
    assert!(!empty.is_empty(), "some second had no request: {text_csv}");
    for r in &empty {
        assert_eq!(r[p50], "", "no latency, not 0 ms: {r:?}");
    }
    for r in rows.iter().filter(|r| r[requests] != "0") {
        assert!(r[p50].parse::<f64>().unwrap() > 0.0, "{r:?}");
    }
    let lines = std::fs::read_to_string(&influx).unwrap();
    let quiet_lines: Vec<&str> = lines
        .lines()
        .filter(|l| l.starts_with("squall_http,name=all requests=0i,"))
        .collect();
    assert!(!quiet_lines.is_empty(), "{lines}");
    for l in quiet_lines {
        assert!(!l.contains("latency_p50_ms"), "{l}");
    }
    let doc = read_json(&json);
    let seconds = doc["seconds"].as_array().unwrap();
    let quiet = seconds
        .iter()
        .find(|s| s["overall"]["requests"] == 0)
        .expect("an empty second in JSON");
    assert!(quiet["overall"]["latency_ms"]["p50"].is_null(), "{quiet}");
}

/// `2026-11-30T16:20:01.250Z` as Unix ms (days from the civil date).
fn humantime_parse(s: &str) -> u64 {
    let (date, time) = s.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (hms, ms) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) * 1000 + ms.parse::<i64>().unwrap()) as u64
}

#[test]
fn thresholds_as_junit_for_ci() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    let junit = dir.path().join("thresholds.xml");
    let out = run(
        &[
            "load",
            &srv.url("/"),
            "--rate",
            "50",
            "-d",
            "1s",
            "-q",
            "--threshold",
            "http_req_failed=rate<0.01",
            "--threshold",
            "http_req_duration=p(95)<0.001ms",
            "--out",
            &format!("junit={}", junit.display()),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    let read = python_ok(
        "import sys\n\
         from junitparser import JUnitXml, Failure\n\
         x=JUnitXml.fromfile(sys.argv[1])\n\
         cases=[c for s in x for c in s]\n\
         failed=[c.name for c in cases if any(isinstance(r, Failure) for r in c.result)]\n\
         print(len(cases), '|'.join(failed))",
        &[junit.to_str().unwrap()],
    );
    assert_eq!(read.trim(), "2 http_req_duration: p(95)<0.001ms", "{read}");
}

/// `--summary-export` writes k6's end-of-test summary: read back as k6's
/// readers read it, its counts are the server's, a failed threshold is
/// `true`, tag-filtered thresholds judge what they select, and `vus_max`
/// is the plan's peak (quick mode: 50 connections).
#[test]
fn summary_export_in_k6_shape_with_tag_filters() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    let summary = dir.path().join("summary.json");
    let out = run(
        &[
            "load",
            &srv.url("/"),
            "--rate",
            "40",
            "-d",
            "2s",
            "-q",
            "--threshold",
            "http_reqs{status:200}=count>0",
            "--threshold",
            "http_reqs{method:GET}=count<1",
            "--threshold",
            "http_req_failed=rate<0.01",
            "--summary-export",
            summary.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    let read = python_ok(
        "import sys,json\n\
         m=json.load(open(sys.argv[1]))['metrics']\n\
         d=m['http_req_duration']\n\
         assert all(k in d for k in ('avg','min','med','max','p(90)','p(95)')), d\n\
         print(m['http_reqs']['count'], m['http_req_failed']['value'], m['vus_max']['value'],\n\
         \x20     m['http_reqs{method:GET}']['thresholds'], m['http_reqs{status:200}']['thresholds'],\n\
         \x20     m['http_req_failed']['thresholds'], m['data_sent']['count'] > 0)",
        &[summary.to_str().unwrap()],
    );
    let n = srv.requests();
    assert_eq!(
        read.trim(),
        format!("{n} 0.0 50 {{'count<1': True}} {{'count>0': False}} {{'rate<0.01': False}} True"),
        "{read}"
    );
}
