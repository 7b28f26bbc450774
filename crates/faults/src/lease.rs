//! Leases: every fault an injector applies carries a deadline, and the
//! injector reverts it at that deadline by itself, whoever asked for it and
//! whatever happened to them. Revert is idempotent; renewal is explicit; one
//! call reverts everything (the kill switch).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::error::FaultError;
pub use crate::lease_info::{LeaseInfo, Recovery, unix_ms};
use crate::ledger::Ledger;

/// How a lease ends.
pub enum Undo {
    /// Run this (synchronously, at most once).
    Now(Box<dyn FnOnce() + Send>),
    /// Nothing to do here: the fault is held elsewhere (see [`Recovery`]).
    Elsewhere,
}

impl Undo {
    /// Wraps a closure.
    pub fn now(f: impl FnOnce() + Send + 'static) -> Self {
        Undo::Now(Box::new(f))
    }

    fn run(self) {
        if let Undo::Now(f) = self {
            f();
        }
    }
}

/// Why a lease ended, as recorded in the history.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum EndedBy {
    /// Its deadline passed.
    Expired,
    /// Someone reverted it.
    Reverted,
    /// The kill switch or shutdown reverted it.
    Halt,
}

/// A lease that has ended.
#[derive(Clone, Debug, Serialize)]
pub struct Ended {
    /// The lease.
    #[serde(flatten)]
    pub info: LeaseInfo,
    /// ms since the Unix epoch.
    pub ended_unix_ms: u64,
    /// Why.
    pub ended_by: EndedBy,
}

struct Entry {
    info: LeaseInfo,
    undo: Undo,
    timer: Option<tokio::task::JoinHandle<()>>,
}

/// Caps every injector enforces, so a typo cannot take the host down.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Longest lease.
    pub max_duration: Duration,
    /// Most leases in force at once.
    pub max_active: usize,
    /// Most CPU cores stress may burn at once.
    pub max_cpu_cores: usize,
    /// Most bytes stress may hold at once.
    pub max_memory_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Limits {
            max_duration: Duration::from_secs(3600),
            max_active: 256,
            max_cpu_cores: cores,
            max_memory_bytes: crate::stress::memory_available().unwrap_or(1 << 30) / 2,
        }
    }
}

/// The leases of one injecting process.
pub struct Injector {
    entries: Mutex<BTreeMap<String, Entry>>,
    history: Mutex<Vec<Ended>>,
    next: AtomicU64,
    halted: AtomicBool,
    ledger: Option<Ledger>,
    /// Serializes ledger writes, each taking its snapshot under the lock,
    /// so the file always ends with the latest state.
    persisting: Mutex<()>,
    /// The caps in force.
    pub limits: Limits,
    me: Weak<Injector>,
}

const HISTORY: usize = 1000;

impl Injector {
    /// An injector; with a ledger, every change to its leases is written to
    /// disk before the call returns.
    pub fn new(limits: Limits, ledger: Option<Ledger>) -> Arc<Self> {
        Arc::new_cyclic(|me| Injector {
            entries: Mutex::new(BTreeMap::new()),
            history: Mutex::new(Vec::new()),
            next: AtomicU64::new(1),
            halted: AtomicBool::new(false),
            ledger,
            persisting: Mutex::new(()),
            limits,
            me: me.clone(),
        })
    }

    /// Checks a requested duration against the caps before anything is applied.
    pub fn check_duration(&self, d: Duration) -> Result<(), FaultError> {
        self.check_replacement(d)?;
        if self.entries.lock().expect("lease table").len() >= self.limits.max_active {
            return Err(FaultError::Cap(format!(
                "{} faults are in force already (cap)",
                self.limits.max_active
            )));
        }
        Ok(())
    }

    /// The checks of [`Injector::check_duration`] for a fault that replaces
    /// one in force (the count of faults does not grow).
    pub fn check_replacement(&self, d: Duration) -> Result<(), FaultError> {
        if d.is_zero() {
            return Err(FaultError::invalid(
                "duration",
                "a fault needs a duration above 0",
            ));
        }
        if d > self.limits.max_duration {
            return Err(FaultError::Cap(format!(
                "duration {} ms is over the cap of {} ms",
                d.as_millis(),
                self.limits.max_duration.as_millis()
            )));
        }
        if self.halted.load(Ordering::SeqCst) {
            return Err(FaultError::Halted(
                "the kill switch is engaged; release it to inject again".into(),
            ));
        }
        Ok(())
    }

    /// Records an applied fault and arms its deadline. Call it right after
    /// applying, with the undo that reverts it. Must run inside a Tokio runtime.
    pub fn grant(
        &self,
        kind: impl Into<String>,
        target: impl Into<String>,
        params: Value,
        duration: Duration,
        recovery: Recovery,
        undo: Undo,
    ) -> LeaseInfo {
        let id = format!("f{}", self.next.fetch_add(1, Ordering::Relaxed));
        let now = unix_ms();
        let info = LeaseInfo {
            id: id.clone(),
            kind: kind.into(),
            target: target.into(),
            params,
            started_unix_ms: now,
            deadline_unix_ms: now + duration.as_millis() as u64,
            recovery,
        };
        let timer = self.arm(&id, duration);
        self.entries.lock().expect("lease table").insert(
            id,
            Entry {
                info: info.clone(),
                undo,
                timer: Some(timer),
            },
        );
        self.persist();
        info
    }

    fn arm(&self, id: &str, after: Duration) -> tokio::task::JoinHandle<()> {
        let me = self.me.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if let Some(inj) = me.upgrade() {
                inj.end(&id, EndedBy::Expired);
            }
        })
    }

    /// Moves a lease's deadline to `duration` from now.
    pub fn renew(&self, id: &str, duration: Duration) -> Result<LeaseInfo, FaultError> {
        if duration.is_zero() || duration > self.limits.max_duration {
            return Err(FaultError::invalid(
                "duration",
                format!(
                    "expected a duration above 0 and at most {} ms",
                    self.limits.max_duration.as_millis()
                ),
            ));
        }
        let timer = self.arm(id, duration);
        let info = {
            let mut entries = self.entries.lock().expect("lease table");
            let Some(e) = entries.get_mut(id) else {
                timer.abort();
                return Err(FaultError::NotFound(format!("no fault `{id}` in force")));
            };
            if let Some(old) = e.timer.replace(timer) {
                old.abort();
            }
            e.info.deadline_unix_ms = unix_ms() + duration.as_millis() as u64;
            e.info.clone()
        };
        self.persist();
        Ok(info)
    }

    /// Reverts one fault now. Reverting a fault that already ended is not an
    /// error: it answers `false`.
    pub fn revert(&self, id: &str) -> bool {
        self.end(id, EndedBy::Reverted)
    }

    /// The kill switch: reverts every fault in force; with `halt`, refuses
    /// new ones until [`Injector::release`].
    pub fn revert_all(&self, halt: bool) -> usize {
        if halt {
            self.halted.store(true, Ordering::SeqCst);
        }
        let ids: Vec<String> = self
            .entries
            .lock()
            .expect("lease table")
            .keys()
            .cloned()
            .collect();
        ids.iter().filter(|id| self.end(id, EndedBy::Halt)).count()
    }

    /// Lets new faults in again after a halt.
    pub fn release(&self) {
        self.halted.store(false, Ordering::SeqCst);
    }

    /// Whether the kill switch is engaged.
    pub fn is_halted(&self) -> bool {
        self.halted.load(Ordering::SeqCst)
    }

    fn end(&self, id: &str, by: EndedBy) -> bool {
        let Some(entry) = self.entries.lock().expect("lease table").remove(id) else {
            return false;
        };
        if let Some(t) = entry.timer.filter(|_| by != EndedBy::Expired) {
            t.abort();
        }
        entry.undo.run();
        let mut h = self.history.lock().expect("lease history");
        if h.len() >= HISTORY {
            h.remove(0);
        }
        h.push(Ended {
            info: entry.info,
            ended_unix_ms: unix_ms(),
            ended_by: by,
        });
        drop(h);
        self.persist();
        true
    }

    /// The leases in force.
    pub fn list(&self) -> Vec<LeaseInfo> {
        self.entries
            .lock()
            .expect("lease table")
            .values()
            .map(|e| e.info.clone())
            .collect()
    }

    /// One lease in force.
    pub fn get(&self, id: &str) -> Option<LeaseInfo> {
        self.entries
            .lock()
            .expect("lease table")
            .get(id)
            .map(|e| e.info.clone())
    }

    /// Recently ended leases, oldest first.
    pub fn history(&self) -> Vec<Ended> {
        self.history.lock().expect("lease history").clone()
    }

    fn persist(&self) {
        if let Some(l) = &self.ledger {
            let _one_at_a_time = self.persisting.lock().unwrap_or_else(|p| p.into_inner());
            l.write(&self.list());
        }
    }
}

impl Drop for Injector {
    /// Shutdown (including unwinding from a panic) reverts everything.
    fn drop(&mut self) {
        let entries = std::mem::take(&mut *self.entries.lock().unwrap_or_else(|p| p.into_inner()));
        for (_, e) in entries {
            if let Some(t) = e.timer {
                t.abort();
            }
            e.undo.run();
        }
        if let Some(l) = &self.ledger {
            l.write(&[]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn counter() -> (Arc<AtomicUsize>, impl Fn() -> Undo) {
        let c = Arc::new(AtomicUsize::new(0));
        let c2 = c.clone();
        (c, move || {
            let c = c2.clone();
            Undo::now(move || {
                c.fetch_add(1, Ordering::SeqCst);
            })
        })
    }

    fn put(inj: &Injector, secs: u64, undo: Undo) -> LeaseInfo {
        inj.grant(
            "t",
            "x",
            Value::Null,
            Duration::from_secs(secs),
            Recovery::DiesWithProcess,
            undo,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn expires_by_itself_and_reverts_once() {
        let inj = Injector::new(Limits::default(), None);
        let (count, undo) = counter();
        let l = put(&inj, 5, undo());
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(count.load(Ordering::SeqCst), 0);
        assert_eq!(inj.list().len(), 1);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert!(inj.list().is_empty());
        assert!(!inj.revert(&l.id), "second revert is a no-op");
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert_eq!(inj.history()[0].ended_by, EndedBy::Expired);
    }

    #[tokio::test(start_paused = true)]
    async fn renew_moves_the_deadline() {
        let inj = Injector::new(Limits::default(), None);
        let (count, undo) = counter();
        let l = put(&inj, 2, undo());
        tokio::time::sleep(Duration::from_secs(1)).await;
        inj.renew(&l.id, Duration::from_secs(5)).unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(count.load(Ordering::SeqCst), 0, "old timer was cancelled");
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert!(inj.renew(&l.id, Duration::from_secs(1)).is_err());
    }

    #[tokio::test]
    async fn kill_switch_reverts_all_and_halts() {
        let inj = Injector::new(Limits::default(), None);
        let (count, undo) = counter();
        for _ in 0..3 {
            put(&inj, 60, undo());
        }
        assert_eq!(inj.revert_all(true), 3);
        assert_eq!(count.load(Ordering::SeqCst), 3);
        assert!(matches!(
            inj.check_duration(Duration::from_secs(1)),
            Err(FaultError::Halted(_))
        ));
        inj.release();
        assert!(inj.check_duration(Duration::from_secs(1)).is_ok());
    }

    #[tokio::test]
    async fn a_panic_that_unwinds_past_the_injector_reverts_its_faults() {
        let (count, undo) = counter();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let inj = Injector::new(Limits::default(), None);
            put(&inj, 60, undo());
            panic!("the orchestrator fails mid-fault");
        }));
        assert!(r.is_err());
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn drop_reverts_and_caps_refuse() {
        let (count, undo) = counter();
        {
            let inj = Injector::new(Limits::default(), None);
            put(&inj, 60, undo());
            assert!(inj.check_duration(Duration::from_secs(7200)).is_err());
            assert!(inj.check_duration(Duration::ZERO).is_err());
        }
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }
}
