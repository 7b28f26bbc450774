//! Persistent faults switched on over HTTP, each with a lease that ends it
//! even if nobody ever calls back.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::fault::Fault;
use crate::tree::FaultSpec;

struct Lease {
    id: String,
    spec: FaultSpec,
    fault: Fault,
    deadline: Instant,
    cancel: watch::Sender<bool>,
}

/// A lease as the admin API shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LeaseView {
    /// Lease id, for `DELETE`.
    pub id: String,
    /// Fault type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Fault arguments.
    pub args: serde_json::Map<String, serde_json::Value>,
    /// Time left, ms.
    pub expires_in_ms: u64,
    /// Earlier faults of the same type this one replaced (MiSArch's
    /// types); absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub replaced: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The persistent faults of one service.
#[derive(Default)]
pub struct LeaseTable {
    leases: Mutex<Vec<Lease>>,
    history: Mutex<std::collections::VecDeque<LeaseRecord>>,
    next: AtomicU64,
}

/// When a persistent fault started and ended, in wall-clock time, so a
/// caller can check from the service's side that its schedule was kept.
#[derive(Clone, Debug, Serialize)]
pub struct LeaseRecord {
    /// Lease id.
    pub id: String,
    /// Fault type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Start, ms since the Unix epoch.
    pub started_unix_ms: u64,
    /// End, ms since the Unix epoch (the deadline for a lease that expired);
    /// none while in force.
    pub ended_unix_ms: Option<u64>,
    /// `expired`, `removed`, `replaced` or `cleared`; none while in force.
    pub ended_by: Option<&'static str>,
}

/// How many records the history keeps.
const HISTORY: usize = 1000;

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Resolves when a lease ends: at its deadline or when it is cancelled.
pub async fn lease_end(deadline: Instant, mut cancel: watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep_until(deadline) => {}
        _ = cancel.wait_for(|c| *c) => {}
    }
}

impl LeaseTable {
    /// Adds a lease; returns its view and a receiver that flips at cancellation.
    pub fn add(
        &self,
        spec: FaultSpec,
        fault: Fault,
        lease: Duration,
    ) -> (LeaseView, Instant, watch::Receiver<bool>) {
        let id = format!("f-{}", self.next.fetch_add(1, Ordering::SeqCst) + 1);
        let deadline = Instant::now() + lease;
        let (tx, rx) = watch::channel(false);
        let view = LeaseView {
            id: id.clone(),
            kind: spec.kind.clone(),
            args: spec.args.clone(),
            expires_in_ms: lease.as_millis() as u64,
            replaced: 0,
        };
        let mut h = self.history.lock().expect("history lock");
        if h.len() == HISTORY {
            h.pop_front();
        }
        h.push_back(LeaseRecord {
            id: id.clone(),
            kind: spec.kind.clone(),
            started_unix_ms: unix_ms(),
            ended_unix_ms: None,
            ended_by: None,
        });
        drop(h);
        self.leases.lock().expect("lease lock").push(Lease {
            id,
            spec,
            fault,
            deadline,
            cancel: tx,
        });
        (view, deadline, rx)
    }

    fn sweep(&self, leases: &mut Vec<Lease>) {
        let now = Instant::now();
        let mut ended = Vec::new();
        leases.retain(|l| {
            let live = l.deadline > now;
            if !live {
                let _ = l.cancel.send(true);
                let late = now.duration_since(l.deadline).as_millis() as u64;
                ended.push((l.id.clone(), unix_ms().saturating_sub(late)));
            }
            live
        });
        for (id, at) in ended {
            self.ended(&id, at, "expired");
        }
    }

    fn ended(&self, id: &str, at_unix_ms: u64, by: &'static str) {
        let mut h = self.history.lock().expect("history lock");
        if let Some(r) = h.iter_mut().rev().find(|r| r.id == id) {
            r.ended_unix_ms = Some(at_unix_ms);
            r.ended_by = Some(by);
        }
    }

    /// Every fault of the last 1000, with start and end times.
    pub fn history(&self) -> Vec<LeaseRecord> {
        let mut g = self.leases.lock().expect("lease lock");
        self.sweep(&mut g);
        drop(g);
        self.history
            .lock()
            .expect("history lock")
            .iter()
            .cloned()
            .collect()
    }

    /// Faults in force now (expired leases are dropped on the way).
    pub fn active(&self) -> Vec<Fault> {
        let mut g = self.leases.lock().expect("lease lock");
        self.sweep(&mut g);
        g.iter().map(|l| l.fault.clone()).collect()
    }

    /// Views of the leases in force, with time left.
    pub fn list(&self) -> Vec<LeaseView> {
        let mut g = self.leases.lock().expect("lease lock");
        self.sweep(&mut g);
        let now = Instant::now();
        g.iter()
            .map(|l| LeaseView {
                id: l.id.clone(),
                kind: l.spec.kind.clone(),
                args: l.spec.args.clone(),
                expires_in_ms: l.deadline.saturating_duration_since(now).as_millis() as u64,
                replaced: 0,
            })
            .collect()
    }

    /// Ends one lease; false when there is no such (live) lease.
    pub fn remove(&self, id: &str) -> bool {
        let mut g = self.leases.lock().expect("lease lock");
        self.sweep(&mut g);
        match g.iter().position(|l| l.id == id) {
            Some(i) => {
                let l = g.remove(i);
                let _ = l.cancel.send(true);
                self.ended(&l.id, unix_ms(), "removed");
                true
            }
            None => false,
        }
    }

    /// Ends the leases of fault type `kind` (a new one replaces them);
    /// returns how many there were.
    pub fn replace_kind(&self, kind: &str) -> usize {
        let mut g = self.leases.lock().expect("lease lock");
        self.sweep(&mut g);
        let mut n = 0;
        g.retain(|l| {
            if l.spec.kind != kind {
                return true;
            }
            let _ = l.cancel.send(true);
            self.ended(&l.id, unix_ms(), "replaced");
            n += 1;
            false
        });
        n
    }

    /// Ends every lease; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut g = self.leases.lock().expect("lease lock");
        self.sweep(&mut g);
        let n = g.len();
        for l in g.drain(..) {
            let _ = l.cancel.send(true);
            self.ended(&l.id, unix_ms(), "cleared");
        }
        n
    }
}

/// Stops a CPU burner when its lease ends.
pub fn stop_flag_at_end(deadline: Instant, cancel: watch::Receiver<bool>) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    tokio::spawn(async move {
        lease_end(deadline, cancel).await;
        f.store(true, Ordering::SeqCst);
    });
    flag
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FaultSpec {
        FaultSpec {
            kind: "abort".into(),
            args: Default::default(),
        }
    }

    #[tokio::test]
    async fn leases_expire_without_any_call() {
        let t = LeaseTable::default();
        let (v, _, mut rx) = t.add(spec(), Fault::Abort, Duration::from_millis(50));
        assert_eq!(t.list()[0].id, v.id);
        assert_eq!(t.active().len(), 1);
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(t.active().is_empty());
        assert!(*rx.borrow_and_update());
        let h = t.history();
        assert_eq!(h[0].ended_by, Some("expired"));
        let took = h[0].ended_unix_ms.unwrap() - h[0].started_unix_ms;
        assert!(
            (45..=80).contains(&took),
            "ended at its deadline, {took} ms"
        );
    }

    #[tokio::test]
    async fn remove_and_clear_cancel() {
        let t = LeaseTable::default();
        let (a, _, rx_a) = t.add(spec(), Fault::Abort, Duration::from_secs(60));
        t.add(spec(), Fault::Abort, Duration::from_secs(60));
        assert!(t.remove(&a.id));
        assert!(!t.remove(&a.id));
        assert!(*rx_a.borrow());
        assert_eq!(t.clear(), 1);
        assert!(t.list().is_empty());
    }
}
