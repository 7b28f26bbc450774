//! Processes as Linux shows them under `/proc`: start times that tell a live
//! process from a recycled pid, lookup by name, and signals.

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::error::FaultError;

/// The start time of `pid` in clock ticks since boot (`/proc/PID/stat`
/// field 22), or none when no such process exists.
pub fn start_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: the
    // fields that follow start after its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The process state letter (`R`, `S`, `T` for stopped, `Z`...).
pub fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().next()?.chars().next()
}

/// The short command name (`/proc/PID/comm`).
pub fn comm(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_string())
}

fn cmdline(pid: i32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Processes whose command name equals `name`, or whose executable's file
/// name does; never this process.
pub fn find_by_name(name: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<i32> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            comm(*pid).is_some_and(|c| c == name)
                || cmdline(*pid).is_some_and(|c| {
                    c.split(' ')
                        .next()
                        .and_then(|exe| exe.rsplit('/').next())
                        .is_some_and(|exe| exe == name)
                })
        })
        .collect();
    found.sort_unstable();
    found
}

/// A process a fault may act on, resolved once so the fault and its revert
/// address the same process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Process id.
    pub pid: i32,
    /// Its start time, to recognise it later.
    pub start_ticks: u64,
    /// Its command name, for messages.
    pub name: String,
}

/// Resolves a pid or a name to processes. A name must match exactly one
/// process unless `all`; squall itself, its parent and pid 1 are refused.
pub fn resolve(pid: Option<i32>, name: Option<&str>, all: bool) -> Result<Vec<Target>, FaultError> {
    let pids = match (pid, name) {
        (Some(p), None) => vec![p],
        (None, Some(n)) => {
            let found = find_by_name(n);
            if found.is_empty() {
                return Err(FaultError::NotFound(format!("no process is named `{n}`")));
            }
            if found.len() > 1 && !all {
                return Err(FaultError::Conflict(format!(
                    "{} processes are named `{n}` (pids {}); pass a pid, or all to act on every one",
                    found.len(),
                    found
                        .iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            found
        }
        _ => {
            return Err(FaultError::invalid(
                "target",
                "give exactly one of pid or name",
            ));
        }
    };
    let me = std::process::id() as i32;
    let parent = nix::unistd::getppid().as_raw();
    pids.into_iter()
        .map(|pid| {
            if pid <= 1 || pid == me || pid == parent {
                return Err(FaultError::invalid(
                    "pid",
                    format!("refusing to act on pid {pid} (init, squall itself or its parent)"),
                ));
            }
            let start_ticks = start_ticks(pid)
                .ok_or_else(|| FaultError::NotFound(format!("no process has pid {pid}")))?;
            Ok(Target {
                pid,
                start_ticks,
                name: comm(pid).unwrap_or_default(),
            })
        })
        .collect()
}

/// Sends a signal.
pub fn signal(pid: i32, sig: Signal) -> Result<(), FaultError> {
    nix::sys::signal::kill(Pid::from_raw(pid), sig)
        .map_err(|e| FaultError::Io(format!("cannot send {sig} to pid {pid}: {e}")))
}

/// Sends a signal to `t` only if it is still the process that was resolved.
pub fn signal_target(t: &Target, sig: Signal) -> Result<(), FaultError> {
    if start_ticks(t.pid) != Some(t.start_ticks) {
        return Err(FaultError::NotFound(format!("process {} is gone", t.pid)));
    }
    signal(t.pid, sig)
}

/// Parses a signal name (`TERM`, `SIGKILL`) or number.
pub fn parse_signal(s: &str) -> Result<Signal, FaultError> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n)
            .map_err(|_| FaultError::invalid("signal", format!("no signal number {n}")));
    }
    let upper = s.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse::<Signal>()
        .map_err(|_| FaultError::invalid("signal", format!("unknown signal `{s}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_start_time_and_state() {
        let me = std::process::id() as i32;
        assert!(start_ticks(me).is_some());
        assert!(matches!(state(me), Some('R' | 'S')));
        assert!(start_ticks(i32::MAX).is_none());
    }

    #[test]
    fn parses_signals() {
        assert_eq!(parse_signal("TERM").unwrap(), Signal::SIGTERM);
        assert_eq!(parse_signal("sigkill").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("9").unwrap(), Signal::SIGKILL);
        assert!(parse_signal("NOPE").is_err());
    }

    #[test]
    fn refuses_self_init_and_missing_names() {
        assert!(resolve(Some(1), None, false).is_err());
        assert!(resolve(Some(std::process::id() as i32), None, false).is_err());
        assert!(matches!(
            resolve(None, Some("no-such-process-squall"), false),
            Err(FaultError::NotFound(_))
        ));
        assert!(resolve(None, None, false).is_err());
    }
}
