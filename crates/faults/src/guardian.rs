//! The guardian: a small separate process that continues a paused process
//! if the squall that paused it dies, even by `kill -9`.
//!
//! The pausing process keeps the write end of the guardian's stdin. The
//! guardian waits for end-of-file on stdin (the pauser reverted, exited or
//! died: the kernel closes the pipe in every case) or for the lease deadline,
//! whichever comes first, then sends `SIGCONT` to the paused process if it is
//! still the same process. A `SIGCONT` to a running process does nothing, so
//! this is safe to do twice.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::error::FaultError;
use crate::lease::unix_ms;
use crate::procfs;

/// How to start a guardian: a program and the arguments that select its
/// guardian mode (for squall: `squall fault guardian`).
#[derive(Clone, Debug)]
pub struct GuardianLauncher {
    /// Program to run.
    pub program: PathBuf,
    /// Arguments before the guardian's own.
    pub args: Vec<String>,
}

/// A running guardian; dropping it closes its stdin, which makes it resume
/// the process at once and exit.
pub struct Guardian {
    child: Option<Child>,
}

impl GuardianLauncher {
    /// Starts a guardian for `pid` until `deadline_unix_ms`, in its own
    /// process group so a Ctrl-C aimed at squall does not kill it first.
    pub fn spawn(
        &self,
        pid: i32,
        start_ticks: u64,
        deadline_unix_ms: u64,
    ) -> Result<Guardian, FaultError> {
        use std::os::unix::process::CommandExt;
        let child = Command::new(&self.program)
            .args(&self.args)
            .args([
                "--pid",
                &pid.to_string(),
                "--start-ticks",
                &start_ticks.to_string(),
                "--deadline-unix-ms",
                &deadline_unix_ms.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| {
                FaultError::Io(format!(
                    "cannot start the guardian {}: {e}",
                    self.program.display()
                ))
            })?;
        Ok(Guardian { child: Some(child) })
    }
}

impl Drop for Guardian {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            // Reap it without blocking the caller.
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
    }
}

/// The guardian's main: waits for stdin to close or the deadline, then
/// continues the process. Returns what it did, for its exit message.
pub fn run(pid: i32, start_ticks: u64, deadline_unix_ms: u64) -> String {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = tx.send(());
    });
    let left = Duration::from_millis(deadline_unix_ms.saturating_sub(unix_ms()));
    let why = match rx.recv_timeout(left) {
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => "lease deadline",
        _ => "pauser gone or reverted",
    };
    if procfs::start_ticks(pid) != Some(start_ticks) {
        return format!("{why}: process {pid} is gone");
    }
    match procfs::signal(pid, nix::sys::signal::Signal::SIGCONT) {
        Ok(()) => format!("{why}: continued {pid}"),
        Err(e) => format!("{why}: {e}"),
    }
}
