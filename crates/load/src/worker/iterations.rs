//! Iterations model: a fixed number of iterations shared by a set of users.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::WorkerCtx;
use super::vu::{Flow, Vu};

pub(crate) async fn drive(
    ctx: &Rc<WorkerCtx>,
    count: u64,
    vus: u64,
    max_duration: Duration,
) -> Vec<JoinHandle<()>> {
    let remaining = Rc::new(Cell::new(count));
    let deadline = ctx.t0 + max_duration;
    let handles: Vec<JoinHandle<()>> = (0..vus.min(count.max(1)))
        .map(|slot| tokio::task::spawn_local(user(ctx.clone(), remaining.clone(), deadline, slot)))
        .collect();
    // Wait until every user is done, the deadline passes, or a stop arrives.
    while !ctx.stopping() && Instant::now() < deadline && handles.iter().any(|h| !h.is_finished()) {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            _ = ctx.wake.notified() => {}
        }
    }
    handles
}

async fn user(ctx: Rc<WorkerCtx>, remaining: Rc<Cell<u64>>, deadline: Instant, slot: u64) {
    let mut vu = Vu::new(&ctx, slot);
    let keep_going = |_: &Vu| !ctx.stopping() && Instant::now() < deadline;
    while keep_going(&vu) && remaining.get() > 0 {
        remaining.set(remaining.get() - 1);
        if vu.iteration(&ctx, Instant::now(), None, &keep_going).await == Flow::Stop {
            break;
        }
    }
}
