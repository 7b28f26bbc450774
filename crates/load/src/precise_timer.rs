//! Sub-millisecond sleeps for the open-model scheduler.
//!
//! tokio's timer wheel has 1 ms granularity and rounds up, so an arrival due
//! at t would start up to 1 ms late. Because latency is measured from the
//! intended start, that lag would be added to every request's latency. A
//! `timerfd` wakes the worker within microseconds of the due time instead.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

/// A one-shot timer with microsecond precision (falls back to tokio's timer
/// where `timerfd` is unavailable).
pub struct PreciseTimer {
    fd: Option<AsyncFd<Fd>>,
}

#[allow(unsafe_code)]
fn register(fd: Fd) -> Option<AsyncFd<Fd>> {
    // SAFETY: `Fd` owns the timerfd (an `OwnedFd` inside nix's `TimerFd`),
    // so the descriptor stays open for as long as the `AsyncFd` holds it and
    // is closed only after deregistration, when the `AsyncFd` drops it.
    unsafe { AsyncFd::register(fd) }.ok()
}

/// `AsyncFd` wants `AsRawFd`; nix's `TimerFd` offers `AsFd`.
struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl Default for PreciseTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl PreciseTimer {
    /// Creates the timer on the current runtime.
    pub fn new() -> Self {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .ok()
        .and_then(|t| register(Fd(t)));
        Self { fd }
    }

    /// Sleeps until `due`. Cancel-safe: dropping the future leaves a stale
    /// expiry that the next call re-arms over.
    pub async fn sleep_until(&self, due: Instant) {
        let Some(fd) = &self.fd else {
            tokio::time::sleep_until(due).await;
            return;
        };
        loop {
            let now = Instant::now();
            if due <= now {
                return;
            }
            let spec = TimeSpec::from_duration(due - now);
            if fd
                .get_ref()
                .0
                .set(Expiration::OneShot(spec), TimerSetTimeFlags::empty())
                .is_err()
            {
                tokio::time::sleep_until(due).await;
                return;
            }
            let Ok(mut guard) = fd.readable().await else {
                tokio::time::sleep_until(due).await;
                return;
            };
            // Reading consumes the expiry; WouldBlock means a stale readiness.
            let _ = guard.try_io(|inner| inner.get_ref().0.wait().map_err(io::Error::from));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn wakes_at_or_after_the_due_time() {
        let t = PreciseTimer::new();
        for us in [50u64, 300, 1500] {
            let due = Instant::now() + Duration::from_micros(us);
            t.sleep_until(due).await;
            assert!(Instant::now() >= due);
        }
    }
}
