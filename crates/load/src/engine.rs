//! Starts the worker threads on one clock and merges their reports into
//! per-second [`Snapshot`]s.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use squall_metrics::Snapshot;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::compile::CompiledPlan;
use crate::segment::{Segment, Share};
use crate::worker::{self, StopLevel, WorkerReport, WorkerSpec};

/// How a run is executed (not what it does: that is the plan).
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Worker threads (each with its own event loop and connections).
    pub threads: usize,
    /// This generator's share of the plan.
    pub segment: Segment,
    /// Seed for every random choice (think times, feeders).
    pub seed: u64,
    /// The instant every worker starts at (a shared start for fleets).
    pub start_at: Option<Instant>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            threads: 1,
            segment: Segment::WHOLE,
            seed: 0x5ea1,
            start_at: None,
        }
    }
}

/// A running load test.
pub struct Run {
    /// Merged per-second snapshots, in order; closes when the run is over.
    pub snapshots: mpsc::UnboundedReceiver<Snapshot>,
    /// New distinct error messages, as they appear.
    pub errors: mpsc::UnboundedReceiver<String>,
    /// The shared start instant.
    pub t0: Instant,
    /// Worker threads actually used.
    pub threads: usize,
    stop: watch::Sender<StopLevel>,
    handles: Vec<JoinHandle<()>>,
}

/// Asks a run to stop.
#[derive(Clone)]
pub struct StopHandle(watch::Sender<StopLevel>);

impl StopHandle {
    /// Start nothing new; requests in flight finish (bounded by graceful stop).
    pub fn soft(&self) {
        self.0.send_if_modified(|l| raise(l, StopLevel::Soft));
    }

    /// Cancel everything now.
    pub fn hard(&self) {
        self.0.send_if_modified(|l| raise(l, StopLevel::Hard));
    }
}

fn raise(l: &mut StopLevel, to: StopLevel) -> bool {
    if to > *l {
        *l = to;
        true
    } else {
        false
    }
}

impl Run {
    /// A handle that stops the run from anywhere.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.stop.clone())
    }

    /// Waits for the worker threads to exit (call after `snapshots` closed).
    pub fn join(self) {
        for h in self.handles {
            let _ = h.join();
        }
    }
}

/// Starts a run. Must be called from within a tokio runtime (the merger
/// task runs there); the workers get threads of their own.
pub fn start(plan: Arc<CompiledPlan>, opts: RunOptions) -> Run {
    let seg_vus = opts.segment.split(plan.load.peak_vus()).max(1);
    let threads = (opts.threads.max(1) as u64).min(seg_vus) as usize;
    let t0 = opts
        .start_at
        .unwrap_or_else(|| Instant::now() + Duration::from_millis(20));
    let (stop_tx, stop_rx) = watch::channel(StopLevel::Run);
    let (rep_tx, rep_rx) = mpsc::unbounded_channel();
    let (snap_tx, snap_rx) = mpsc::unbounded_channel();
    let (err_tx, err_rx) = mpsc::unbounded_channel();
    let mut handles = Vec::new();
    for index in 0..threads {
        let spec = WorkerSpec {
            index,
            plan: plan.clone(),
            share: Share {
                segment: opts.segment,
                thread: Segment {
                    index: index as u64,
                    count: threads as u64,
                },
            },
            t0,
            stop: stop_rx.clone(),
            reports: rep_tx.clone(),
            seed: opts.seed.wrapping_add(index as u64 * 0x9e37_79b9_7f4a_7c15),
        };
        let h = std::thread::Builder::new()
            .name(format!("squall-load-{index}"))
            .spawn(move || worker::run(spec))
            .expect("spawning a worker thread");
        handles.push(h);
    }
    drop(rep_tx);
    tokio::spawn(merge(rep_rx, threads, snap_tx, err_tx));
    Run {
        snapshots: snap_rx,
        errors: err_rx,
        t0,
        threads,
        stop: stop_tx,
        handles,
    }
}

/// Merges worker reports second by second; a second is complete when every
/// worker has reported it or has already finished.
async fn merge(
    mut rx: mpsc::UnboundedReceiver<WorkerReport>,
    workers: usize,
    tx: mpsc::UnboundedSender<Snapshot>,
    errors: mpsc::UnboundedSender<String>,
) {
    let mut pending: std::collections::BTreeMap<u64, (Snapshot, usize)> = Default::default();
    let mut progress: Vec<Option<u64>> = vec![None; workers];
    let mut done = vec![false; workers];
    let mut next = 0u64;
    while let Some(r) = rx.recv().await {
        for e in r.error_samples {
            let _ = errors.send(e);
        }
        progress[r.worker] = Some(r.second);
        done[r.worker] |= r.last;
        let entry = pending.entry(r.second).or_insert_with(|| {
            let snap = Snapshot {
                second: r.second,
                start_ms: r.second * 1000,
                interval: r.interval.empty_like(),
                ..Snapshot::default()
            };
            (snap, 0)
        });
        let snap = &mut entry.0;
        snap.interval.merge(&r.interval);
        snap.length_ms = snap.length_ms.max(r.length_ms);
        snap.vus += r.vus;
        snap.in_flight += r.in_flight;
        snap.utilization = snap.utilization.max(r.utilization);
        entry.1 += 1;
        // Emit every second that is now complete, in order.
        while let Some((snap, _)) = pending.get(&next) {
            let complete = (0..workers).all(|w| done[w] || progress[w].is_some_and(|p| p >= next));
            if !complete {
                break;
            }
            let _ = snap;
            let (snap, _) = pending.remove(&next).expect("checked above");
            let _ = tx.send(snap);
            next += 1;
        }
        if done.iter().all(|d| *d) {
            break;
        }
    }
    for (_, (snap, _)) in std::mem::take(&mut pending) {
        let _ = tx.send(snap);
    }
}
