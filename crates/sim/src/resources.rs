//! Memory held by leak faults and threads burning CPU, always under caps and
//! always released at the end of their time.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::deterioration::CpuCycle;
use crate::limits::Limits;

/// `bytes` filled with a non-zero byte, so the pages are really resident.
async fn touched(bytes: u64) -> Option<Vec<u8>> {
    tokio::task::spawn_blocking(move || vec![0xA5u8; bytes as usize])
        .await
        .ok()
}

/// What a service currently holds.
#[derive(Debug, Default)]
pub struct Resources {
    /// Bytes held by memory-leak faults.
    pub leaked: AtomicU64,
    /// CPU-burning threads running.
    pub burners: AtomicU32,
}

impl Resources {
    /// Reserves and touches `mb` megabytes, holding them until `until`
    /// resolves; fails at once when the cap would be exceeded.
    pub fn leak(
        self: &Arc<Self>,
        mb: u64,
        limits: &Limits,
        until: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let bytes = mb * 1024 * 1024;
        self.reserve(bytes, limits).map_err(|held| {
            format!(
                "memory-leak: {mb} MB would exceed the cap of {} MB ({} MB already held)",
                limits.max_leak_mb,
                held / (1024 * 1024)
            )
        })?;
        let me = self.clone();
        // Asynchronous, as MicroSim's leak: the request goes on meanwhile.
        tokio::spawn(async move {
            let block = touched(bytes).await;
            me.keep(block, bytes, until).await;
        });
        Ok(())
    }

    /// Reserves and touches `bytes`, returning once they are resident and
    /// holding them until `until` resolves; `Err` carries the bytes already
    /// held when the cap would be exceeded. Memory faults of every type
    /// share the one `max_leak_mb` pool.
    pub async fn hold(
        self: &Arc<Self>,
        bytes: u64,
        limits: &Limits,
        until: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), u64> {
        self.reserve(bytes, limits)?;
        let block = touched(bytes).await;
        let me = self.clone();
        tokio::spawn(async move { me.keep(block, bytes, until).await });
        Ok(())
    }

    fn reserve(&self, bytes: u64, limits: &Limits) -> Result<(), u64> {
        let cap = limits.max_leak_mb * 1024 * 1024;
        let prev = self.leaked.fetch_add(bytes, Ordering::SeqCst);
        if prev + bytes > cap {
            self.leaked.fetch_sub(bytes, Ordering::SeqCst);
            return Err(prev);
        }
        Ok(())
    }

    async fn keep(&self, block: Option<Vec<u8>>, bytes: u64, until: impl Future<Output = ()>) {
        until.await;
        drop(block);
        self.leaked.fetch_sub(bytes, Ordering::SeqCst);
    }

    /// Runs one of MiSArch's CPU threads: busy for `cycle.usage`, asleep
    /// for `cycle.pause`, until `stop` is set (checked every 10 ms, so a
    /// replaced or ended fault lets go of the core at once). Counts as a
    /// burner against `max_cpu_burners`.
    pub fn cycle(
        self: &Arc<Self>,
        cycle: CpuCycle,
        limits: &Limits,
        stop: Arc<AtomicBool>,
    ) -> Result<(), String> {
        let prev = self.burners.fetch_add(1, Ordering::SeqCst);
        if prev >= limits.max_cpu_burners {
            self.burners.fetch_sub(1, Ordering::SeqCst);
            return Err(format!(
                "artificial-cpu: {prev} CPU threads already run (cap {})",
                limits.max_cpu_burners
            ));
        }
        let me = self.clone();
        let step = Duration::from_millis(10);
        std::thread::Builder::new()
            .name("squall-sim-cpu".into())
            .spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let busy_end = Instant::now() + cycle.usage;
                    while Instant::now() < busy_end && !stop.load(Ordering::Relaxed) {
                        for _ in 0..1000 {
                            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        }
                    }
                    let rest_end = Instant::now() + cycle.pause;
                    while !stop.load(Ordering::Relaxed) {
                        let left = rest_end.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        std::thread::sleep(left.min(step));
                    }
                }
                std::hint::black_box(x);
                me.burners.fetch_sub(1, Ordering::SeqCst);
            })
            .map(|_| ())
            .map_err(|e| {
                self.burners.fetch_sub(1, Ordering::SeqCst);
                format!("artificial-cpu: cannot start a thread: {e}")
            })
    }

    /// Burns `share` of one core for `duration` on a thread of its own;
    /// resolves when done. Fails at once when the burner cap is reached.
    pub fn burn(
        self: &Arc<Self>,
        duration: Duration,
        share: f64,
        limits: &Limits,
        stop: Arc<AtomicBool>,
    ) -> Result<tokio::task::JoinHandle<()>, String> {
        let prev = self.burners.fetch_add(1, Ordering::SeqCst);
        if prev >= limits.max_cpu_burners {
            self.burners.fetch_sub(1, Ordering::SeqCst);
            return Err(format!(
                "cpu-load: {} burners already run (cap {})",
                prev, limits.max_cpu_burners
            ));
        }
        let me = self.clone();
        Ok(tokio::task::spawn_blocking(move || {
            let end = Instant::now() + duration;
            let period = Duration::from_millis(10);
            let mut x = 0u64;
            while Instant::now() < end && !stop.load(Ordering::Relaxed) {
                let slice_end = Instant::now() + period.mul_f64(share);
                while Instant::now() < slice_end {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                }
                let idle = period.mul_f64(1.0 - share);
                if !idle.is_zero() {
                    std::thread::sleep(idle.min(end.saturating_duration_since(Instant::now())));
                }
            }
            std::hint::black_box(x);
            me.burners.fetch_sub(1, Ordering::SeqCst);
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn leaks_are_capped_and_released() {
        let r = Arc::new(Resources::default());
        let limits = Limits {
            max_leak_mb: 8,
            ..Limits::default()
        };
        r.leak(6, &limits, tokio::time::sleep(Duration::from_millis(100)))
            .unwrap();
        assert!(
            r.leak(4, &limits, async {})
                .unwrap_err()
                .contains("cap of 8 MB")
        );
        assert_eq!(r.leaked.load(Ordering::SeqCst), 6 * 1024 * 1024);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(r.leaked.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn burners_are_capped() {
        let r = Arc::new(Resources::default());
        let limits = Limits {
            max_cpu_burners: 1,
            ..Limits::default()
        };
        let stop = Arc::new(AtomicBool::new(false));
        let h = r
            .burn(Duration::from_millis(50), 0.5, &limits, stop.clone())
            .unwrap();
        assert!(
            r.burn(Duration::from_millis(50), 0.5, &limits, stop)
                .is_err()
        );
        h.await.unwrap();
        assert_eq!(r.burners.load(Ordering::SeqCst), 0);
    }
}
