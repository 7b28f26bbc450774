//! `squall sim up --processes` (supervision, crash restarts, no orphans) and
//! `squall sim k8s` (golden manifests that validate against Kubernetes' schemas).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::sim_util::*;
use crate::util::*;

const THREE: &str = "services:\n  - name: service_1\n    calls: [{call: service_2}]\n  - name: service_2\n  - name: service_3\n";

/// Pids of the supervised services, from the control plane.
fn pids(sim: &Sim) -> Vec<(String, i64, i64)> {
    let j = http("GET", &format!("{}/services", sim.control), None).json();
    j.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["pid"].as_i64().expect("pid under --processes"),
                s["restarts"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// A process is gone when /proc no longer has it, or only as a zombie.
fn gone(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn processes_restart_a_crashed_service_and_leave_no_orphan_after_ctrl_c() {
    let dir = tempdir();
    let mut sim = Sim::start(&write(dir.path(), "t.yaml", THREE), &["--processes"]);
    let before = pids(&sim);
    assert_eq!(before.len(), 3);
    let own = sim.child.id() as i64;
    for (name, pid, restarts) in &before {
        assert!(*pid > 0 && *pid != own, "{name} runs in its own process");
        assert_eq!(*restarts, 0);
    }
    // A crash in service_2 is an error entry for its caller, then a restart.
    let tree = r#"{"designation":"service_1","routes":[{"designation":"service_2","faults":{"before":[{"type":"crash"}]}}]}"#;
    let j = http("POST", &format!("{}/tree", sim.control), Some(tree)).json();
    let errors = j["errors"].to_string();
    assert!(errors.contains("service_2"), "{j}");
    let old = before.iter().find(|s| s.0 == "service_2").unwrap().1;
    assert!(
        wait_until(Duration::from_secs(10), || pids(&sim).iter().any(|s| s.0
            == "service_2"
            && s.2 == 1
            && s.1 > 0
            && s.1 != old)),
        "service_2 was not restarted: {:?}",
        pids(&sim)
    );
    assert!(gone(old), "the crashed process is gone");
    assert!(
        wait_until(Duration::from_secs(10), || http(
            "GET",
            &format!("{}/", sim.url("service_1")),
            None
        )
        .status
            == 200),
        "service_1 -> service_2 answers again after the restart"
    );
    // Ctrl-C ends the supervisor and every service process.
    let after: Vec<i64> = pids(&sim).iter().map(|s| s.1).collect();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sim.child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let end = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = sim.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "supervisor did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    for pid in after {
        assert!(gone(pid), "service process {pid} outlived the supervisor");
    }
}

#[test]
fn services_die_with_a_killed_supervisor() {
    let dir = tempdir();
    let mut sim = Sim::start(&write(dir.path(), "t.yaml", THREE), &["--processes"]);
    let children: Vec<i64> = pids(&sim).iter().map(|s| s.1).collect();
    sim.child.kill().unwrap(); // SIGKILL: no chance to clean up
    sim.child.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || children
            .iter()
            .all(|p| gone(*p))),
        "services outlived a SIGKILLed supervisor: {children:?}"
    );
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sim")
        .join(name)
}

#[test]
fn k8s_manifests_match_the_golden_file_and_validate() {
    let dir = tempdir();
    let out = dir.path().join("m.yaml");
    let topo = fixture("k8s-topology.yaml");
    let o = run(
        &[
            "sim",
            "k8s",
            topo.to_str().unwrap(),
            "--namespace",
            "chaos",
            "--image",
            "squall:test",
            "-o",
            out.to_str().unwrap(),
        ],
        Duration::from_secs(20),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let got = std::fs::read_to_string(&out).unwrap();
    let golden = fixture("k8s-manifests.yaml");
    if std::env::var_os("SQUALL_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).unwrap();
    }
    assert_eq!(
        got,
        std::fs::read_to_string(&golden).unwrap(),
        "manifests differ from {} (SQUALL_UPDATE_GOLDEN=1 rewrites it)",
        golden.display()
    );
    // The Kubernetes schemas accept them, strictly (no unknown fields)...
    let check = crate::util::kubernetes_validate;
    let v = check(&out);
    assert!(v.status.success(), "{}", text(&v));
    // ...and the check can fail: a wrong type is caught.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, got.replacen("replicas: 1", "replicas: one", 1)).unwrap();
    assert!(
        !check(&bad).status.success(),
        "a broken manifest must fail validation"
    );
}

#[test]
fn k8s_refuses_names_that_collide_on_kubernetes() {
    let dir = tempdir();
    let topo = write(
        dir.path(),
        "t.yaml",
        "services:\n  - name: a_b\n  - name: a-b\n",
    );
    let o = run(
        &["sim", "k8s", topo.to_str().unwrap()],
        Duration::from_secs(20),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("\"a_b\" and \"a-b\" would both be named \"a-b\""),
        "{}",
        text(&o)
    );
}
