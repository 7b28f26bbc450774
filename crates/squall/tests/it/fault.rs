//! Host and process faults: a paused process is always continued (lease end,
//! Ctrl-C, `kill -9` of squall), the ledger tells what a dead squall left,
//! and stress really burns CPU and holds memory, then stops.

use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::json;

use crate::fault_util::{Agent, eventually, signal, state, victim};
use crate::sim_util::{http, http_with};
use crate::util::{squall, tempdir, text};

/// Starts `squall fault pause --pid PID --for FOR` and waits until the
/// process is stopped.
fn paused_by_squall(dir: &std::path::Path, pid: i32, lease: &str) -> std::process::Child {
    let child = squall()
        .args([
            "fault",
            "pause",
            "--pid",
            &pid.to_string(),
            "--for",
            lease,
            "--state-dir",
        ])
        .arg(dir)
        .spawn()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || state(pid) == Some('T')),
        "paused"
    );
    child
}

/// `squall fault` for people: durations without a unit are seconds, as in
/// `squall load -d`; a cap is exceeded with exit 2; `list` is a table.
#[test]
fn fault_commands_read_like_the_rest_of_squall() {
    let dir = tempdir();
    let out = crate::util::run(
        &[
            "fault",
            "stress-memory",
            "--size",
            "100000GiB",
            "--for",
            "3",
            "--state-dir",
            dir.path().to_str().unwrap(),
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("over the cap"), "{}", text(&out));
    let agent = Agent::start(dir.path());
    let mut v = victim();
    let pid = v.id() as i32;
    let r = http(
        "POST",
        &agent.url("/squall/faults"),
        Some(&json!({"type": "pause", "pid": pid, "duration_ms": 30000}).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let table = crate::util::run(
        &["fault", "list", "--api", &agent.api],
        Duration::from_secs(20),
    );
    let t = String::from_utf8_lossy(&table.stdout).to_string();
    assert!(
        t.contains("pause") && t.contains(&format!("pid {pid}")),
        "{t}"
    );
    assert!(t.contains("ago") && !t.contains("unix_ms"), "{t}");
    let raw = crate::util::run(
        &["fault", "list", "--api", &agent.api, "--json"],
        Duration::from_secs(20),
    );
    let j: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(j["active"].as_array().unwrap().len(), 1, "{j}");
    let halt = crate::util::run(
        &["fault", "halt", "--api", &agent.api],
        Duration::from_secs(20),
    );
    assert!(
        String::from_utf8_lossy(&halt.stdout).contains("halted: 1 fault(s) reverted"),
        "{}",
        text(&halt)
    );
    assert!(continued(pid, Duration::from_secs(3)));
    let _ = v.kill();
    let _ = v.wait();
}

fn continued(pid: i32, limit: Duration) -> bool {
    eventually(limit, || state(pid) == Some('S'))
}

/// The victim process, killed and reaped at the end of the test.
struct Victim(std::process::Child);

impl Victim {
    fn start() -> (Victim, i32) {
        let c = victim();
        let pid = c.id() as i32;
        (Victim(c), pid)
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn pause_ends_at_the_end_of_its_lease() {
    let dir = tempdir();
    let (_v, pid) = Victim::start();
    let mut child = paused_by_squall(dir.path(), pid, "700ms");
    assert!(child.wait().unwrap().success());
    assert!(
        continued(pid, Duration::from_secs(2)),
        "continued at lease end"
    );
}

#[test]
fn ctrl_c_continues_a_paused_process_at_once() {
    let dir = tempdir();
    let (_v, pid) = Victim::start();
    let mut child = paused_by_squall(dir.path(), pid, "60s");
    signal(child.id() as i32, Signal::SIGINT);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert!(
        continued(pid, Duration::from_secs(2)),
        "continued on Ctrl-C"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the ledger is empty"
    );
}

#[test]
fn kill_9_of_squall_mid_pause_still_continues_the_process_and_leaves_a_ledger() {
    let dir = tempdir();
    let (_v, pid) = Victim::start();
    let mut child = paused_by_squall(dir.path(), pid, "60s");
    signal(child.id() as i32, Signal::SIGKILL);
    child.wait().unwrap();
    // The guardian sees its pipe close and continues the process well before the 60 s lease.
    assert!(
        continued(pid, Duration::from_secs(3)),
        "continued by the guardian after kill -9"
    );
    // The dead squall's ledger names the fault; recovery reports and removes it.
    let out = squall()
        .args(["fault", "recover", "--state-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("pause on pid") && t.contains("1 leftover"),
        "{t}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "ledger removed"
    );
}

#[test]
fn the_agent_pauses_over_http_its_kill_9_still_continues_the_process_and_restart_works() {
    let dir = tempdir();
    let mut agent = Agent::start(dir.path());
    let mut v = victim();
    let pid = v.id() as i32;
    let r = http(
        "POST",
        &agent.url("/squall/faults"),
        Some(&json!({"type": "pause", "pid": pid, "duration_ms": 60000}).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["leases"][0]["id"].as_str().unwrap().to_string();
    assert!(eventually(Duration::from_secs(3), || state(pid) == Some('T')));
    // Renew is explicit and visible.
    let r = http(
        "POST",
        &agent.url(&format!("/squall/faults/{id}/renew")),
        Some(r#"{"duration_ms": 90000}"#),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    signal(agent.pid(), Signal::SIGKILL);
    let _ = agent.child.wait();
    assert!(
        eventually(Duration::from_secs(3), || state(pid) == Some('S')),
        "continued after kill -9 of the agent"
    );
    drop(agent);

    // Restart runs a command: refused unless the agent was started to
    // allow it, and then only with its token.
    let marker = dir.path().join("restarted");
    let restart = json!({"type": "restart", "pid": pid, "signal": "KILL",
                         "command": format!("touch {}", marker.display()), "grace_ms": 2000})
    .to_string();
    let plain = Agent::start(dir.path());
    let r = http("POST", &plain.url("/squall/faults"), Some(&restart));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("--allow-commands"), "{}", r.body);
    drop(plain);
    let token = "test-token-0123456789";
    let agent = Agent::start_env(
        dir.path(),
        &["--allow-commands"],
        &[("SQUALL_TOKEN", token)],
    );
    let r = http("POST", &agent.url("/squall/faults"), Some(&restart));
    assert_eq!(r.status, 401, "no token: {}", r.body);
    assert_eq!(state(pid), Some('S'), "nothing done without the token");
    let bearer = format!("Bearer {token}");
    let r = http_with(
        "POST",
        &agent.url("/squall/faults"),
        Some(&restart),
        &[("Authorization", &bearer)],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["signalled"], json!([pid]));
    assert!(!v.wait().unwrap().success(), "killed");
    assert!(
        eventually(Duration::from_secs(3), || marker.exists()),
        "restart command ran"
    );
}

pub(crate) fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn rss_kib(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = s.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn stress_burns_cpu_and_holds_memory_then_stops() {
    let dir = tempdir();
    let agent = Agent::start(dir.path());
    let pid = agent.pid();
    let r = http(
        "POST",
        &agent.url("/squall/faults"),
        Some(r#"{"type": "stress-cpu", "cores": 1, "load": 1.0, "duration_ms": 3000}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let started = std::time::Instant::now();
    let t0 = cpu_ticks(pid);
    // A full core is ~100 ticks a second; other tests share the machine's
    // cores, so wait (within the lease) until 30 ticks are burnt rather
    // than expecting them in a fixed second.
    let burnt = loop {
        let b = cpu_ticks(pid) - t0;
        if b >= 30 || started.elapsed() > Duration::from_millis(2800) {
            break b;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        burnt >= 30,
        "the burner burnt {burnt} ticks in {:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(3300).saturating_sub(started.elapsed()));
    let t1 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(500));
    let idle = cpu_ticks(pid) - t1;
    assert!(
        idle < 15,
        "the burner stopped at lease end; saw {idle} ticks in 0.5 s"
    );

    let before = rss_kib(pid);
    let r = http(
        "POST",
        &agent.url("/squall/faults"),
        Some(r#"{"type": "stress-memory", "bytes": 67108864, "duration_ms": 60000}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["leases"][0]["id"].as_str().unwrap().to_string();
    let held = rss_kib(pid);
    assert!(held >= before + 60 * 1024, "RSS {before} -> {held} KiB");
    assert_eq!(
        http("DELETE", &agent.url(&format!("/squall/faults/{id}")), None).status,
        204
    );
    assert!(
        eventually(Duration::from_secs(2), || rss_kib(pid) < held - 50 * 1024),
        "memory released"
    );
    // Revert is idempotent.
    assert_eq!(
        http("DELETE", &agent.url(&format!("/squall/faults/{id}")), None).status,
        204
    );
}
