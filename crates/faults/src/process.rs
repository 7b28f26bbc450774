//! Process faults: `kill` (a signal, once), `pause` (SIGSTOP held as a lease,
//! with SIGCONT guaranteed by the lease and by a guardian process) and
//! `restart` (a signal, then a command that starts the service again).

use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::json;

use crate::error::FaultError;
use crate::guardian::GuardianLauncher;
use crate::lease::{Injector, LeaseInfo, Recovery, Undo, unix_ms};
use crate::procfs::{self, Target};

/// Sends `sig` to every target; all targets are checked before any is hit.
pub fn kill(targets: &[Target], sig: Signal) -> Result<(), FaultError> {
    for t in targets {
        if procfs::start_ticks(t.pid) != Some(t.start_ticks) {
            return Err(FaultError::NotFound(format!("process {} is gone", t.pid)));
        }
    }
    targets
        .iter()
        .try_for_each(|t| procfs::signal_target(t, sig))
}

/// Stops a process for `duration`. The lease continues it at the deadline;
/// the guardian (when given) continues it if this process dies first.
pub fn pause(
    inj: &Injector,
    guardian: Option<&GuardianLauncher>,
    t: &Target,
    duration: Duration,
) -> Result<LeaseInfo, FaultError> {
    inj.check_duration(duration)?;
    let deadline = unix_ms() + duration.as_millis() as u64;
    let guard = guardian
        .map(|g| g.spawn(t.pid, t.start_ticks, deadline))
        .transpose()?;
    procfs::signal_target(t, Signal::SIGSTOP)?;
    let target = t.clone();
    Ok(inj.grant(
        "pause",
        format!("pid {} ({})", t.pid, t.name),
        json!({"pid": t.pid, "name": t.name, "duration_ms": duration.as_millis() as u64}),
        duration,
        Recovery::Continue {
            pid: t.pid,
            start_ticks: t.start_ticks,
        },
        Undo::now(move || {
            let _ = procfs::signal_target(&target, Signal::SIGCONT);
            drop(guard);
        }),
    ))
}

/// Sends `sig` to the targets, waits up to `grace` for them to exit, then
/// runs `command` with `sh -c` (detached, output discarded) to start the
/// service again. Returns the new process id.
pub async fn restart(
    targets: &[Target],
    sig: Signal,
    command: &str,
    grace: Duration,
) -> Result<u32, FaultError> {
    if command.trim().is_empty() {
        return Err(FaultError::invalid(
            "command",
            "expected a command that starts the service",
        ));
    }
    kill(targets, sig)?;
    let until = tokio::time::Instant::now() + grace;
    while tokio::time::Instant::now() < until
        && targets.iter().any(|t| {
            procfs::start_ticks(t.pid) == Some(t.start_ticks) && procfs::state(t.pid) != Some('Z')
        })
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| FaultError::Io(format!("cannot run `{command}`: {e}")))?;
    let pid = child.id().unwrap_or(0);
    // Reap it when it exits; it is the user's service from now on.
    tokio::spawn(async move {
        let mut child = child;
        let _ = child.wait().await;
    });
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::Limits;

    fn sleeper() -> (std::process::Child, Target) {
        let child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let t = procfs::resolve(Some(pid), None, false).unwrap().remove(0);
        (child, t)
    }

    fn wait_state(pid: i32, want: char) -> bool {
        for _ in 0..200 {
            if procfs::state(pid) == Some(want) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[tokio::test]
    async fn pause_stops_then_the_lease_continues() {
        let (mut child, t) = sleeper();
        let inj = Injector::new(Limits::default(), None);
        let l = pause(&inj, None, &t, Duration::from_millis(300)).unwrap();
        assert!(wait_state(t.pid, 'T'), "stopped");
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(wait_state(t.pid, 'S'), "continued at lease end");
        assert!(inj.get(&l.id).is_none());
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[tokio::test]
    async fn restart_kills_and_runs_the_command() {
        let (mut child, t) = sleeper();
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("started");
        let cmd = format!("touch {}", marker.display());
        restart(&[t], Signal::SIGTERM, &cmd, Duration::from_secs(2))
            .await
            .unwrap();
        assert!(!child.wait().unwrap().success());
        for _ in 0..100 {
            if marker.exists() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("restart command did not run");
    }
}
