//! One load-generating thread: its own single-threaded runtime, its own
//! connections, its own recorder. Threads share nothing on the hot path;
//! once a second each hands its interval to the aggregator.

mod closed;
mod ctx;
mod iterations;
mod open;
mod report;
mod vu;

pub(crate) use ctx::{StopLevel, WorkerCtx};
pub use report::WorkerReport;

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use squall_metrics::Interval;
use tokio::sync::{mpsc, watch};
use tokio::task::LocalSet;
use tokio::time::Instant;

use crate::compile::{CompiledPlan, LoadProfile};
use crate::segment::Share;

/// Everything a worker thread needs to start.
pub(crate) struct WorkerSpec {
    pub index: usize,
    pub plan: Arc<CompiledPlan>,
    pub share: Share,
    pub t0: Instant,
    pub stop: watch::Receiver<StopLevel>,
    pub reports: mpsc::UnboundedSender<WorkerReport>,
    pub seed: u64,
}

/// Runs a worker on the current thread until its share of the plan is done.
pub(crate) fn run(spec: WorkerSpec) {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            // Out of file descriptors (the runtime needs a few): this
            // worker's share is not run, and the run says so instead of
            // the thread panicking and the merge waiting for it forever.
            let _ = spec.reports.send(WorkerReport {
                worker: spec.index,
                second: 0,
                length_ms: 0,
                interval: Interval::new(&spec.plan.request_names, &spec.plan.check_names),
                vus: 0,
                in_flight: 0,
                utilization: 0.0,
                error_samples: vec![format!(
                    "worker thread {} could not start its event loop ({e}); its share of the load was not sent",
                    spec.index
                )],
                last: true,
            });
            return;
        }
    };
    let local = LocalSet::new();
    local.block_on(&rt, async move {
        let ctx = Rc::new(WorkerCtx::new(&spec));
        tokio::task::spawn_local(ctx.clone().watch_stop(spec.stop.clone()));
        let flusher =
            tokio::task::spawn_local(ctx.clone().flush_every_second(spec.reports.clone()));
        tokio::time::sleep_until(spec.t0).await;
        let mut backlog = None;
        let vus = match &spec.plan.load {
            LoadProfile::Open {
                schedule,
                max_vus,
                max_backlog,
                scenario_of,
            } => {
                let (vus, queue) = open::drive(
                    &ctx,
                    schedule,
                    scenario_of.as_deref(),
                    spec.share.split(*max_vus),
                    spec.share.split(*max_backlog),
                )
                .await;
                backlog = Some(queue);
                vus
            }
            LoadProfile::Closed { curve } => closed::drive(&ctx, curve).await,
            LoadProfile::Iterations {
                count,
                vus,
                max_duration,
            } => {
                iterations::drive(
                    &ctx,
                    spec.share.split(*count),
                    spec.share.split(*vus),
                    *max_duration,
                )
                .await
            }
        };
        ctx.wind_down(vus, spec.plan.graceful_stop).await;
        if let Some(q) = &backlog {
            open::count_left_as_dropped(&ctx, q);
        }
        flusher.abort();
        let _ = spec.reports.send(ctx.take_report(true));
    });
}

/// The worker's runtime; building it takes file descriptors (epoll, an
/// event fd), so when they are out it tries again for a few seconds.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut wait = Duration::from_millis(10);
    let mut tries = 0;
    loop {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => return Ok(rt),
            Err(e) if tries >= 8 => return Err(e),
            Err(_) => {
                std::thread::sleep(wait);
                wait *= 2;
                tries += 1;
            }
        }
    }
}

/// How long to wait between checks of the closed model's user curve.
pub(crate) const CONTROL_TICK: Duration = Duration::from_millis(10);
