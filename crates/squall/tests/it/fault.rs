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

fn cpu_ticks(pid: i32) -> u64 {
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
        Some(r#"{"type": "stress-cpu", "cores": 1, "load": 1.0, "duration_ms": 1500}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let t0 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(1000));
    let burnt = cpu_ticks(pid) - t0;
    assert!(
        burnt >= 30,
        "a full core for 1 s is ~100 ticks; saw {burnt}"
    );
    std::thread::sleep(Duration::from_millis(800));
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
