//! The ledger: the leases an injecting process holds, on disk, so that when it
//! dies (even by `kill -9`) the next squall to start reverts or reports what
//! it left behind.
//!
//! One file per process, `leases-<pid>.json` in the state directory, written
//! atomically (temporary file + rename) on every change and removed when the
//! process has nothing left in force.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::lease_info::{LeaseInfo, Recovery, unix_ms};
use crate::procfs;

/// A callback for failures the ledger cannot return (writes happen on
/// every lease change, deep inside the injector).
type ErrorReport = Box<dyn Fn(&str) + Send + Sync>;

/// Where one process records its leases.
pub struct Ledger {
    path: PathBuf,
    owner: Owner,
    /// Told when a write fails (the binary prints it; a library does not).
    on_error: Option<ErrorReport>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Owner {
    pid: i32,
    start_ticks: u64,
}

#[derive(Serialize, Deserialize)]
struct File {
    owner_pid: i32,
    owner_start_ticks: u64,
    written_unix_ms: u64,
    leases: Vec<LeaseInfo>,
}

/// The default state directory: `$SQUALL_STATE_DIR`, else
/// `$XDG_STATE_HOME/squall`, else `~/.local/state/squall`.
pub fn default_state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SQUALL_STATE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(d).join("squall");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    home.join(".local/state/squall")
}

impl Ledger {
    /// The ledger of this process in `dir` (created if missing).
    pub fn open(dir: &Path) -> std::io::Result<Ledger> {
        std::fs::create_dir_all(dir)?;
        let pid = std::process::id() as i32;
        Ok(Ledger {
            path: dir.join(format!("leases-{pid}.json")),
            owner: Owner {
                pid,
                start_ticks: procfs::start_ticks(pid).unwrap_or(0),
            },
            on_error: None,
        })
    }

    /// Calls `f` with a message when writing the ledger fails.
    pub fn on_error(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Box::new(f));
        self
    }

    /// Replaces the recorded leases; an empty list removes the file. A write
    /// that fails is reported through [`Ledger::on_error`] and does not stop
    /// the fault (the lease still expires by itself).
    pub fn write(&self, leases: &[LeaseInfo]) {
        if leases.is_empty() {
            let _ = std::fs::remove_file(&self.path);
            return;
        }
        let file = File {
            owner_pid: self.owner.pid,
            owner_start_ticks: self.owner.start_ticks,
            written_unix_ms: unix_ms(),
            leases: leases.to_vec(),
        };
        let tmp = self.path.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(&file).expect("ledger serializes");
        let res = std::fs::write(&tmp, body).and_then(|()| std::fs::rename(&tmp, &self.path));
        if let (Err(e), Some(report)) = (res, &self.on_error) {
            report(&format!(
                "cannot write lease ledger {}: {e}",
                self.path.display()
            ));
        }
    }
}

/// What recovery did with one lease a dead process left behind.
#[derive(Clone, Debug, Serialize)]
pub struct Leftover {
    /// The lease as recorded.
    pub lease: LeaseInfo,
    /// The dead owner's pid.
    pub owner_pid: i32,
    /// What was done.
    pub outcome: String,
}

/// What [`recover`] found.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Leases dead processes left, and what was done with each.
    pub leftovers: Vec<Leftover>,
    /// Ledgers that could not be read (left in place for a person).
    pub unreadable: Vec<PathBuf>,
}

/// Finds the ledgers of dead squall processes in `dir`, reverts what can
/// still be reverted (continues stopped processes, deletes remote leases not
/// yet expired) and removes those ledgers. Ledgers of live processes are left
/// alone.
pub async fn recover(dir: &Path) -> Recovered {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Recovered::default();
    };
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    for entry in rd.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("leases-") && name.ends_with(".json")) {
            continue;
        }
        let Ok(text) = std::fs::read(&path) else {
            continue;
        };
        let Ok(file) = serde_json::from_slice::<File>(&text) else {
            unreadable.push(path);
            continue;
        };
        let owner_alive = procfs::start_ticks(file.owner_pid) == Some(file.owner_start_ticks);
        if owner_alive {
            continue;
        }
        for lease in file.leases {
            let outcome = undo_leftover(&lease).await;
            out.push(Leftover {
                lease,
                owner_pid: file.owner_pid,
                outcome,
            });
        }
        let _ = std::fs::remove_file(&path);
    }
    Recovered {
        leftovers: out,
        unreadable,
    }
}

async fn undo_leftover(lease: &LeaseInfo) -> String {
    match &lease.recovery {
        Recovery::DiesWithProcess => "ended with its process".into(),
        Recovery::Continue { pid, start_ticks } => {
            if procfs::start_ticks(*pid) != Some(*start_ticks) {
                return format!("process {pid} is gone");
            }
            match procfs::signal(*pid, nix::sys::signal::Signal::SIGCONT) {
                Ok(()) => format!("sent SIGCONT to {pid}"),
                Err(e) => format!("cannot continue {pid}: {e}"),
            }
        }
        Recovery::HttpDelete { url } => {
            if lease.deadline_unix_ms <= unix_ms() {
                return "expired at its holder".into();
            }
            match crate::http_client::delete(url).await {
                Ok(status) => format!("DELETE {url} answered {status}"),
                Err(e) => format!("DELETE {url} failed ({e}); it expires at its holder"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dead_owners_ledger_is_recovered_and_removed_a_live_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let lease = LeaseInfo {
            id: "f1".into(),
            kind: "stress-cpu".into(),
            target: "host".into(),
            params: serde_json::Value::Null,
            started_unix_ms: 1,
            deadline_unix_ms: 2,
            recovery: Recovery::DiesWithProcess,
        };
        // A live owner: this process.
        let mine = Ledger::open(dir.path()).unwrap();
        mine.write(std::slice::from_ref(&lease));
        // A dead owner: a pid with a start time that cannot match.
        let dead = File {
            owner_pid: std::process::id() as i32,
            owner_start_ticks: u64::MAX,
            written_unix_ms: 0,
            leases: vec![lease.clone()],
        };
        let dead_path = dir.path().join("leases-999999999.json");
        std::fs::write(&dead_path, serde_json::to_vec(&dead).unwrap()).unwrap();

        std::fs::write(dir.path().join("leases-1.json"), b"not json").unwrap();
        let found = recover(dir.path()).await;
        assert_eq!(found.unreadable, vec![dir.path().join("leases-1.json")]);
        std::fs::remove_file(dir.path().join("leases-1.json")).unwrap();
        let found = found.leftovers;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].outcome, "ended with its process");
        assert!(!dead_path.exists());
        assert!(
            dir.path()
                .join(format!("leases-{}.json", std::process::id()))
                .exists()
        );
        mine.write(&[]);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
