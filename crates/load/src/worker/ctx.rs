//! State shared by the tasks of one worker thread (never across threads).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use squall_metrics::Interval;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{WorkerReport, WorkerSpec};
use crate::compile::CompiledPlan;
use crate::cpu::thread_cpu_time;
use crate::segment::Share;

/// How far a run has been asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum StopLevel {
    /// Keep going.
    Run,
    /// Start no new iterations or steps; let requests in flight finish.
    Soft,
    /// Cancel everything now.
    Hard,
}

/// Most distinct error messages a worker reports over a run.
const MAX_ERROR_SAMPLES: usize = 8;

pub(crate) struct WorkerCtx {
    pub index: usize,
    pub plan: Arc<CompiledPlan>,
    pub share: Share,
    pub t0: Instant,
    pub rec: RefCell<Interval>,
    pub in_flight: Cell<u64>,
    pub busy_vus: Cell<u64>,
    pub stop: Cell<StopLevel>,
    /// Woken whenever users should re-check whether to keep going.
    pub wake: Notify,
    pub rng: RefCell<SmallRng>,
    /// Smooth weighted round-robin state over scenarios.
    wrr: RefCell<Vec<i64>>,
    second: Cell<u64>,
    slice_start: Cell<Instant>,
    cpu_at_slice_start: Cell<Option<Duration>>,
    errors_seen: RefCell<Vec<String>>,
    errors_new: RefCell<Vec<String>>,
}

impl WorkerCtx {
    pub(crate) fn new(spec: &WorkerSpec) -> Self {
        let rec = Interval::new(&spec.plan.request_names, &spec.plan.check_names);
        Self {
            index: spec.index,
            plan: spec.plan.clone(),
            share: spec.share,
            t0: spec.t0,
            rec: RefCell::new(rec),
            in_flight: Cell::new(0),
            busy_vus: Cell::new(0),
            stop: Cell::new(StopLevel::Run),
            wake: Notify::new(),
            rng: RefCell::new(SmallRng::seed_from_u64(spec.seed)),
            wrr: RefCell::new(vec![0; spec.plan.scenarios.len()]),
            second: Cell::new(0),
            slice_start: Cell::new(spec.t0),
            cpu_at_slice_start: Cell::new(None),
            errors_seen: RefCell::new(Vec::new()),
            errors_new: RefCell::new(Vec::new()),
        }
    }

    /// True once no new work should start.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.get() >= StopLevel::Soft
    }

    /// Raises the local stop level and wakes every waiting user.
    pub(crate) fn raise_stop(&self, level: StopLevel) {
        if level > self.stop.get() {
            self.stop.set(level);
        }
        self.wake.notify_waiters();
    }

    /// Mirrors the run-wide stop signal into this thread.
    pub(crate) async fn watch_stop(self: Rc<Self>, mut rx: watch::Receiver<StopLevel>) {
        loop {
            let level = *rx.borrow_and_update();
            self.raise_stop(level);
            if level == StopLevel::Hard || rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Picks the next scenario by smooth weighted round-robin, so shares
    /// are exact over any window instead of only on average.
    pub(crate) fn next_scenario(&self) -> usize {
        let mut w = self.wrr.borrow_mut();
        let scenarios = &self.plan.scenarios;
        let total: i64 = scenarios.iter().map(|s| i64::from(s.weight)).sum();
        let mut best = 0;
        for (i, s) in scenarios.iter().enumerate() {
            w[i] += i64::from(s.weight);
            if w[i] > w[best] {
                best = i;
            }
        }
        w[best] -= total;
        best
    }

    /// Remembers an error message if it is new (a few per run at most).
    pub(crate) fn note_error(&self, msg: &str) {
        let mut seen = self.errors_seen.borrow_mut();
        if seen.len() < MAX_ERROR_SAMPLES && !seen.iter().any(|m| m == msg) {
            seen.push(msg.to_string());
            self.errors_new.borrow_mut().push(msg.to_string());
        }
    }

    /// Hands over the current slice and starts a new one.
    pub(crate) fn take_report(&self, last: bool) -> WorkerReport {
        let now = Instant::now();
        let fresh = self.rec.borrow().empty_like();
        let interval = self.rec.replace(fresh);
        let wall = now.saturating_duration_since(self.slice_start.get());
        let cpu = thread_cpu_time();
        let utilization = match (self.cpu_at_slice_start.get(), cpu) {
            (Some(a), Some(b)) if !wall.is_zero() => {
                ((b.saturating_sub(a)).as_secs_f64() / wall.as_secs_f64()).min(1.0)
            }
            _ => 0.0,
        };
        self.cpu_at_slice_start.set(cpu);
        self.slice_start.set(now);
        let second = self.second.get();
        self.second.set(second + 1);
        WorkerReport {
            worker: self.index,
            second,
            length_ms: wall.as_millis() as u64,
            interval,
            vus: self.busy_vus.get(),
            in_flight: self.in_flight.get(),
            utilization,
            error_samples: std::mem::take(&mut *self.errors_new.borrow_mut()),
            last,
        }
    }

    /// Sends a report at every whole second after `t0`.
    pub(crate) async fn flush_every_second(
        self: Rc<Self>,
        tx: mpsc::UnboundedSender<WorkerReport>,
    ) {
        self.cpu_at_slice_start.set(thread_cpu_time());
        let mut k = 1u32;
        loop {
            tokio::time::sleep_until(self.t0 + Duration::from_secs(1) * k).await;
            if tx.send(self.take_report(false)).is_err() {
                return;
            }
            k += 1;
        }
    }

    /// Ends the run for this worker: no new work, `grace` for what is in
    /// flight, then cancellation of the rest (counted as interrupted).
    pub(crate) async fn wind_down(&self, vus: Vec<JoinHandle<()>>, grace: Duration) {
        self.raise_stop(StopLevel::Soft);
        let deadline = Instant::now() + grace;
        for h in &vus {
            while !h.is_finished() {
                if self.stop.get() == StopLevel::Hard || Instant::now() >= deadline {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(5)) => {}
                    _ = self.wake.notified() => {}
                }
            }
        }
        let mut interrupted = 0;
        for h in vus {
            if !h.is_finished() {
                h.abort();
                interrupted += 1;
            }
        }
        // Users still mid-iteration are counted when aborted; idle ones are not.
        let busy = self.busy_vus.get().min(interrupted);
        self.rec.borrow_mut().iterations.interrupted += busy;
        self.busy_vus.set(0);
        self.in_flight.set(0);
    }
}
