//! MiSArch's failure model on simulated services, measured from outside:
//! the share of delayed and failed requests over 1,000 requests each, the
//! status answered, memory resident in the process, CPU time it used,
//! deliveries redelivered after pub/sub errors.

use std::time::{Duration, Instant};

use crate::prometheus_util::Prometheus;
use crate::sim_util::*;
use crate::util::*;

const SHOP: &str = "services:
  - name: catalog
    paths: [/, /api/items]
  - name: order
    publish:
      - {to: notification, path: /order-created}
  - name: notification
";

fn put(sim: &Sim, service: &str, body: &str) -> serde_json::Value {
    let r = http(
        "PUT",
        &format!("{}/services/{service}/faults", sim.control),
        Some(body),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

/// `n` GETs of `url` from 10 threads: (status, took) of each.
fn hammer(url: &str, n: usize) -> Vec<(u16, Duration, usize)> {
    let per = n / 10;
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let url = url.to_string();
            std::thread::spawn(move || {
                (0..per)
                    .map(|_| {
                        let r = http("GET", &url, None);
                        (r.status, r.elapsed, r.body.len())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect()
}

fn metric(sim: &Sim, service: &str, name: &str) -> f64 {
    let text = http("GET", &format!("{}/_sim/metrics", sim.url(service)), None).body;
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// Resident memory and CPU time (utime + stime) of a process.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(") ").unwrap().1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime), counted from after the name.
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    // /proc counts in USER_HZ, 100 on Linux whatever the kernel's HZ.
    let hz = 100.0;
    ticks / hz
}

#[test]
fn invocation_rules_delay_and_fail_their_share_of_requests_by_path_prefix() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", SHOP), &["--seed", "7"]);
    // The first matching prefix wins: /api delays 30 %, everything else
    // fails 20 % with 503.
    put(
        &sim,
        "catalog",
        r#"{"type":"service-invocation-deterioration","lease":"60s","args":{"rules":[
            {"path":"/api","delay":100,"delayProbability":0.3},
            {"path":"/","errorProbability":0.2,"errorCode":503}]}}"#,
    );
    let api = hammer(&format!("{}/api/items", sim.url("catalog")), 1000);
    let delayed = api
        .iter()
        .filter(|(_, took, _)| *took >= Duration::from_millis(100))
        .count();
    assert!(
        api.iter().all(|(s, _, _)| *s == 200),
        "/api never meets the / rule"
    );
    let share = delayed as f64 / 1000.0;
    assert!((share - 0.3).abs() <= 0.05, "{delayed} of 1000 delayed");
    let root = hammer(&format!("{}/", sim.url("catalog")), 1000);
    let failed: Vec<_> = root.iter().filter(|(s, _, _)| *s == 503).collect();
    assert!(
        root.iter().all(|(s, _, _)| *s == 200 || *s == 503),
        "only 200 and the rule's 503"
    );
    assert!(
        failed.iter().all(|(_, _, len)| *len == 0),
        "an empty body, as the sidecar sends"
    );
    let share = failed.len() as f64 / 1000.0;
    assert!(
        (share - 0.2).abs() <= 0.05,
        "{} of 1000 failed",
        failed.len()
    );
    eprintln!(
        "delayed {delayed}/1000 (configured 0.3), failed {}/1000 (configured 0.2)",
        failed.len()
    );

    // A later rule set replaces the earlier one: now nothing is deteriorated.
    let v = put(
        &sim,
        "catalog",
        r#"{"type":"service-invocation-deterioration","lease":"60s","args":{"rules":{"path":"/nothing","errorProbability":1.0}}}"#,
    );
    assert_eq!(v["replaced"], 1);
    let after = hammer(&format!("{}/", sim.url("catalog")), 100);
    assert!(after.iter().all(|(s, _, _)| *s == 200));
    let history = http(
        "GET",
        &format!("{}/_sim/faults/history", sim.url("catalog")),
        None,
    )
    .json();
    assert_eq!(history[0]["ended_by"], "replaced", "{history}");
}

#[test]
fn memory_and_cpu_are_really_used_and_given_back() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", SHOP), &[]);
    let pid = sim.child.id();
    let base = rss_bytes(pid);
    put(
        &sim,
        "catalog",
        r#"{"type":"artificial-memory","lease":"60s","args":{"bytes":67108864}}"#,
    );
    assert_eq!(
        metric(&sim, "catalog", "squall_sim_leaked_bytes"),
        67108864.0
    );
    let held = rss_bytes(pid);
    assert!(held >= base + 60 * 1024 * 1024, "RSS {base} -> {held}");
    // A new value replaces the allocation (freed first, as the sidecar does).
    let v = put(
        &sim,
        "catalog",
        r#"{"type":"artificial-memory","lease":"60s","args":{"bytes":8388608}}"#,
    );
    assert_eq!(v["replaced"], 1);
    assert_eq!(
        metric(&sim, "catalog", "squall_sim_leaked_bytes"),
        8388608.0
    );
    let smaller = rss_bytes(pid);
    assert!(
        smaller + 40 * 1024 * 1024 <= held,
        "RSS {held} -> {smaller}"
    );

    // One thread busy 50 ms, asleep 50 ms: about half a core.
    let before = cpu_seconds(pid);
    let t0 = Instant::now();
    put(
        &sim,
        "catalog",
        r#"{"type":"artificial-cpu","lease":"60s","args":{"threads":[{"usageDuration":50,"pauseDuration":50}]}}"#,
    );
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_seconds(pid) - before;
    let wall = t0.elapsed().as_secs_f64();
    eprintln!("artificial-cpu 50/50: {used:.2} s CPU in {wall:.2} s");
    // Half a core when the core is free; the thread spins by the wall
    // clock, so on a busy machine it gets less CPU, never more: a loose
    // lower bound (an idle service uses next to none, checked below) and
    // a firm upper one.
    assert!(
        (0.1 * wall..=0.8 * wall).contains(&used),
        "{used:.2} s CPU in {wall:.2} s"
    );
    assert_eq!(metric(&sim, "catalog", "squall_sim_cpu_burners"), 1.0);
    let r = http(
        "DELETE",
        &format!("{}/services/catalog/faults", sim.control),
        None,
    );
    assert_eq!(r.status, 200);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        metric(&sim, "catalog", "squall_sim_cpu_burners"),
        0.0,
        "the thread ended"
    );
    assert_eq!(metric(&sim, "catalog", "squall_sim_leaked_bytes"), 0.0);
    let before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        cpu_seconds(pid) - before < 0.2,
        "no CPU after the fault ended"
    );
}

#[test]
fn pubsub_errors_are_redelivered_and_invocation_rules_leave_deliveries_alone() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", SHOP), &["--seed", "3"]);
    // Invocation rules do not touch deliveries (they take the pub/sub route).
    put(
        &sim,
        "notification",
        r#"{"type":"service-invocation-deterioration","lease":"60s","args":{"rules":{"errorProbability":1.0}}}"#,
    );
    put(
        &sim,
        "notification",
        r#"{"type":"pubsub-deterioration","lease":"60s","args":{"errorProbability":0.5}}"#,
    );
    let r = http("GET", &format!("{}/", sim.url("notification")), None);
    assert_eq!(r.status, 500, "direct calls meet the invocation rule");
    let orders = hammer(&format!("{}/", sim.url("order")), 200);
    assert!(
        orders.iter().all(|(s, _, _)| *s == 200),
        "publishing never waits for delivery"
    );
    let m = |outcome: &str| {
        metric(
            &sim,
            "order",
            &format!(
                "squall_sim_pubsub_messages_total{{service=\"order\",to=\"notification\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    let end = Instant::now() + Duration::from_secs(60);
    while m("delivered") + m("failed") < 200.0 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
    }
    let (delivered, failed, redelivered) = (m("delivered"), m("failed"), m("redelivered"));
    eprintln!(
        "pub/sub 0.5 errors: {delivered} delivered, {failed} failed after 3 redeliveries, {redelivered} redeliveries"
    );
    assert_eq!(m("published"), 200.0);
    assert_eq!(delivered + failed, 200.0, "every message accounted for");
    // Half of first deliveries fail; each failure is redelivered.
    assert!(redelivered >= 60.0, "{redelivered} redeliveries");
    assert!(
        failed <= 40.0,
        "{failed} messages lost after 4 tries at 0.5"
    );
    let served = metric(
        &sim,
        "notification",
        "squall_sim_requests_total{service=\"notification\",kind=\"pubsub\"}",
    );
    assert_eq!(
        served,
        200.0 + redelivered,
        "every delivery reached the subscriber"
    );
}

/// Debian's Prometheus, started by the test, scrapes a simulated service
/// holding an `artificial-memory` fault: the memory held and the process's
/// resident memory are queried back from Prometheus.
#[test]
fn prometheus_scrapes_what_a_memory_fault_holds() {
    let dir = tempdir();
    let sim = Sim::start(&write(dir.path(), "t.yaml", SHOP), &[]);
    put(
        &sim,
        "catalog",
        r#"{"type":"artificial-memory","lease":"60s","args":{"bytes":33554432}}"#,
    );
    let target = sim.url("catalog").trim_start_matches("http://").to_string();
    let prom = Prometheus::scraping_sim(dir.path(), &[&target]);
    let held = prom.wait_for("squall_sim_leaked_bytes");
    let rss = prom.query("process_resident_memory_bytes").json();
    drop(prom);
    assert_eq!(held.as_deref(), Some("33554432"), "scraped and stored");
    let rss: f64 = rss["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        rss >= 32.0 * 1024.0 * 1024.0,
        "the process holds the 32 MiB: {rss}"
    );
}
