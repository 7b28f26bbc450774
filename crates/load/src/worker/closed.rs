//! Closed model: a number of users, each starting its next iteration when
//! the last one ends. On a ramp-down the users above the new level stop at
//! their next step (loops and think times included), as Stressgrid ends
//! scripts at wind-down.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::vu::{Flow, Vu};
use super::{CONTROL_TICK, WorkerCtx};
use crate::schedule::LevelCurve;

pub(crate) async fn drive(ctx: &Rc<WorkerCtx>, curve: &LevelCurve) -> Vec<JoinHandle<()>> {
    let target = Rc::new(Cell::new(0u64));
    let alive: Rc<RefCell<Vec<bool>>> = Rc::new(RefCell::new(Vec::new()));
    let mut handles: Vec<JoinHandle<()>> = Vec::new();
    let end = ctx.t0 + curve.duration();
    while !ctx.stopping() && Instant::now() < end {
        let t = Instant::now().saturating_duration_since(ctx.t0);
        let want = ctx
            .share
            .thread
            .split(ctx.share.segment.split(curve.users_at(t)));
        let before = target.replace(want);
        if want < before {
            ctx.wake.notify_waiters();
        }
        for slot in 0..want {
            let idx = slot as usize;
            let mut a = alive.borrow_mut();
            if a.len() <= idx {
                a.resize(idx + 1, false);
            }
            if !a[idx] {
                a[idx] = true;
                handles.push(tokio::task::spawn_local(user(
                    ctx.clone(),
                    target.clone(),
                    alive.clone(),
                    slot,
                )));
            }
        }
        handles.retain(|h| !h.is_finished());
        tokio::select! {
            _ = tokio::time::sleep(CONTROL_TICK) => {}
            _ = ctx.wake.notified() => {}
        }
    }
    target.set(0);
    ctx.wake.notify_waiters();
    handles
}

async fn user(ctx: Rc<WorkerCtx>, target: Rc<Cell<u64>>, alive: Rc<RefCell<Vec<bool>>>, slot: u64) {
    let mut vu = Vu::new(&ctx, slot);
    let keep_going = |v: &Vu| !ctx.stopping() && v.slot < target.get();
    while keep_going(&vu) {
        if vu.iteration(&ctx, Instant::now(), None, &keep_going).await == Flow::Stop {
            break;
        }
    }
    alive.borrow_mut()[slot as usize] = false;
}
