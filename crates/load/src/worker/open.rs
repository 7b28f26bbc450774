//! Open model: iterations start on the arrival schedule, whatever the
//! responses do. A due iteration waits in a bounded backlog when every user
//! is busy (and its latency keeps counting from its intended start); past the
//! backlog's bound it is dropped and counted. Iterations still waiting in
//! the backlog when the run ends (the users never got to them: a stalled
//! target, Ctrl-C) are counted as dropped too, so a stall at the end of a
//! run cannot hide.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::WorkerCtx;
use super::vu::{Flow, Vu};
use crate::precise_timer::PreciseTimer;
use crate::schedule::ArrivalSchedule;

/// The backlog of due iterations, shared by the schedule and the users.
pub(crate) struct Queue {
    /// When each waiting iteration was due, and its scenario when the plan
    /// fixes it per arrival.
    due: RefCell<VecDeque<(Instant, Option<usize>)>>,
    ready: Notify,
    idle: Cell<u64>,
    done: Cell<bool>,
}

/// Runs the schedule; returns the users so the caller can wind them down,
/// and the backlog so that what is left in it can be counted afterwards
/// ([`count_left_as_dropped`]).
pub(crate) async fn drive(
    ctx: &Rc<WorkerCtx>,
    schedule: &ArrivalSchedule,
    scenario_of: Option<&[u16]>,
    max_vus: u64,
    max_backlog: u64,
) -> (Vec<JoinHandle<()>>, Rc<Queue>) {
    let q = Rc::new(Queue {
        due: RefCell::new(VecDeque::new()),
        ready: Notify::new(),
        idle: Cell::new(0),
        done: Cell::new(false),
    });
    let mut vus: Vec<JoinHandle<()>> = Vec::new();
    let timer = PreciseTimer::new();
    let mut j = 0u64;
    while !ctx.stopping() {
        let k = ctx.share.arrival(j);
        let Some(at) = schedule.time_of(k) else {
            break;
        };
        let scenario = scenario_of
            .and_then(|m| m.get(k as usize))
            .map(|s| usize::from(*s));
        let due = ctx.t0 + at;
        if due > Instant::now() {
            tokio::select! {
                _ = timer.sleep_until(due) => {}
                _ = ctx.wake.notified() => continue,
            }
        } else if j % 1024 == 1023 {
            // Far behind the schedule this loop never sleeps: let the users
            // and the stop signal run.
            tokio::task::yield_now().await;
        }
        j += 1;
        if q.due.borrow().len() as u64 >= max_backlog.max(1) {
            ctx.rec.borrow_mut().iterations.dropped += 1;
            continue;
        }
        q.due.borrow_mut().push_back((due, scenario));
        if q.idle.get() > 0 {
            q.ready.notify_one();
        } else if (vus.len() as u64) < max_vus {
            let slot = vus.len() as u64;
            vus.push(tokio::task::spawn_local(user(ctx.clone(), q.clone(), slot)));
        }
    }
    q.done.set(true);
    ctx.wake.notify_waiters();
    q.ready.notify_waiters();
    (vus, q)
}

/// After the users are wound down: iterations that were due but never
/// started are dropped iterations, not nothing.
pub(crate) fn count_left_as_dropped(ctx: &WorkerCtx, q: &Queue) {
    let left = q.due.borrow_mut().drain(..).count() as u64;
    ctx.rec.borrow_mut().iterations.dropped += left;
}

async fn user(ctx: Rc<WorkerCtx>, q: Rc<Queue>, slot: u64) {
    let mut vu = Vu::new(&ctx, slot);
    let keep_going = |_: &Vu| ctx.stop.get() < super::StopLevel::Hard;
    loop {
        let next = q.due.borrow_mut().pop_front();
        match next {
            Some((due, scenario)) => {
                if vu.iteration(&ctx, due, scenario, &keep_going).await == Flow::Stop {
                    return;
                }
            }
            None => {
                if q.done.get() || ctx.stopping() {
                    return;
                }
                q.idle.set(q.idle.get() + 1);
                tokio::select! {
                    _ = q.ready.notified() => {}
                    _ = ctx.wake.notified() => {}
                }
                q.idle.set(q.idle.get() - 1);
            }
        }
    }
}
