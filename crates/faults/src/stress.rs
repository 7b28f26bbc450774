//! Host stress run inside the squall process (no stress-ng needed): CPU
//! burners and held memory, each a lease, both capped. Both end with the
//! process, so even `kill -9` of squall reverts them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::error::FaultError;
use crate::lease::{Injector, LeaseInfo, Recovery, Undo};

/// What stress holds right now, to enforce the caps across leases.
#[derive(Default)]
pub struct StressBudget {
    cores: AtomicU64,
    bytes: AtomicU64,
}

impl StressBudget {
    /// Whether `cores` more burning threads fit under `cap` now (the check
    /// `stress_cpu` makes when it reserves them, without reserving).
    pub(crate) fn room_for_cores(&self, cores: u64, cap: u64) -> Result<(), FaultError> {
        over_cap(self.cores.load(Ordering::SeqCst), cores, cap, CORES)
    }

    /// Whether `bytes` more held bytes fit under `cap` now.
    pub(crate) fn room_for_bytes(&self, bytes: u64, cap: u64) -> Result<(), FaultError> {
        over_cap(self.bytes.load(Ordering::SeqCst), bytes, cap, BYTES)
    }
}

const CORES: &str = "cores burning";
const BYTES: &str = "bytes held";

/// The cap error when `held + more` passes `cap`.
fn over_cap(held: u64, more: u64, cap: u64, what: &str) -> Result<(), FaultError> {
    if held + more > cap {
        return Err(FaultError::Cap(format!(
            "{more} more would make {} {what}, over the cap of {cap}",
            held + more
        )));
    }
    Ok(())
}

/// Adds `amount` to `held` unless that would pass `cap`.
fn reserve(held: &AtomicU64, amount: u64, cap: u64, what: &str) -> Result<(), FaultError> {
    let before = held.fetch_add(amount, Ordering::SeqCst);
    if let Err(e) = over_cap(before, amount, cap, what) {
        held.fetch_sub(amount, Ordering::SeqCst);
        return Err(e);
    }
    Ok(())
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
pub fn memory_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The arguments of a CPU stress: at least one core, a share in (0, 1].
pub(crate) fn check_cpu(cores: usize, load: f64) -> Result<(), FaultError> {
    if cores == 0 {
        return Err(FaultError::invalid("cores", "expected at least 1 core"));
    }
    if !(load > 0.0 && load <= 1.0) {
        return Err(FaultError::invalid(
            "load",
            format!("expected a share of a core in (0, 1], got {load}"),
        ));
    }
    Ok(())
}

/// The bytes a memory stress holds: given, or a share of what is available now.
pub(crate) fn memory_bytes(amount: MemoryAmount) -> Result<u64, FaultError> {
    match amount {
        MemoryAmount::Bytes(b) if b > 0 => Ok(b),
        MemoryAmount::PercentAvailable(p) if p > 0.0 && p <= 100.0 => {
            let avail = memory_available()
                .ok_or_else(|| FaultError::Io("cannot read MemAvailable".into()))?;
            Ok((avail as f64 * p / 100.0) as u64)
        }
        MemoryAmount::Bytes(_) => Err(FaultError::invalid("bytes", "expected bytes above 0")),
        MemoryAmount::PercentAvailable(_) => Err(FaultError::invalid(
            "percent",
            "expected a percent in (0, 100]",
        )),
    }
}

/// Burns `cores` threads at `load` (0..=1] of each for `duration`.
pub fn stress_cpu(
    inj: &Injector,
    budget: &Arc<StressBudget>,
    cores: usize,
    load: f64,
    duration: Duration,
) -> Result<LeaseInfo, FaultError> {
    check_cpu(cores, load)?;
    inj.check_duration(duration)?;
    let cap = inj.limits.max_cpu_cores as u64;
    reserve(&budget.cores, cores as u64, cap, CORES)?;
    let stop = Arc::new(AtomicBool::new(false));
    for _ in 0..cores {
        let flag = stop.clone();
        let started = std::thread::Builder::new()
            .name("squall-stress-cpu".into())
            .spawn(move || burn(&flag, load));
        if let Err(e) = started {
            // Nothing half-applied: stop the burners already running.
            stop.store(true, Ordering::SeqCst);
            budget.cores.fetch_sub(cores as u64, Ordering::SeqCst);
            return Err(FaultError::Io(format!("cannot start a burner thread: {e}")));
        }
    }
    let budget = budget.clone();
    Ok(inj.grant(
        "stress-cpu",
        "host",
        json!({"cores": cores, "load": load, "duration_ms": duration.as_millis() as u64}),
        duration,
        Recovery::DiesWithProcess,
        Undo::now(move || {
            stop.store(true, Ordering::SeqCst);
            budget.cores.fetch_sub(cores as u64, Ordering::SeqCst);
        }),
    ))
}

/// Busy for `load` of every 10 ms slice, asleep for the rest.
fn burn(stop: &AtomicBool, load: f64) {
    let slice = Duration::from_millis(10);
    let busy = slice.mul_f64(load);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        while t.elapsed() < busy {
            for _ in 0..1000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
            }
            std::hint::black_box(x);
        }
        if busy < slice {
            std::thread::sleep(slice - busy);
        }
    }
}

/// How much memory a stress takes.
#[derive(Clone, Copy, Debug)]
pub enum MemoryAmount {
    /// Bytes.
    Bytes(u64),
    /// Percent (0..=100] of `MemAvailable` at the time of the request.
    PercentAvailable(f64),
}

/// Allocates and touches the memory (so it is resident), holds it for
/// `duration`, then frees it.
pub async fn stress_memory(
    inj: &Injector,
    budget: &Arc<StressBudget>,
    amount: MemoryAmount,
    duration: Duration,
) -> Result<LeaseInfo, FaultError> {
    let bytes = memory_bytes(amount)?;
    inj.check_duration(duration)?;
    let cap = inj.limits.max_memory_bytes;
    reserve(&budget.bytes, bytes, cap, BYTES)?;
    let block = tokio::task::spawn_blocking(move || {
        let mut v: Vec<u8> = Vec::new();
        if v.try_reserve_exact(bytes as usize).is_err() {
            return None;
        }
        v.resize(bytes as usize, 0xA5);
        Some(v)
    })
    .await
    .ok()
    .flatten();
    let Some(block) = block else {
        budget.bytes.fetch_sub(bytes, Ordering::SeqCst);
        return Err(FaultError::Io(format!("cannot allocate {bytes} bytes")));
    };
    let budget = budget.clone();
    Ok(inj.grant(
        "stress-memory",
        "host",
        json!({"bytes": bytes, "duration_ms": duration.as_millis() as u64}),
        duration,
        Recovery::DiesWithProcess,
        Undo::now(move || {
            drop(block);
            budget.bytes.fetch_sub(bytes, Ordering::SeqCst);
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::Limits;

    #[tokio::test]
    async fn memory_is_held_then_freed_and_capped() {
        let inj = Injector::new(
            Limits {
                max_memory_bytes: 64 << 20,
                ..Limits::default()
            },
            None,
        );
        let budget = Arc::new(StressBudget::default());
        let l = stress_memory(
            &inj,
            &budget,
            MemoryAmount::Bytes(32 << 20),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        assert_eq!(budget.bytes.load(Ordering::SeqCst), 32 << 20);
        let e = stress_memory(
            &inj,
            &budget,
            MemoryAmount::Bytes(40 << 20),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, FaultError::Cap(_)), "{e}");
        assert!(inj.revert(&l.id));
        assert_eq!(budget.bytes.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn cpu_is_capped_and_validated() {
        let inj = Injector::new(
            Limits {
                max_cpu_cores: 1,
                ..Limits::default()
            },
            None,
        );
        let budget = Arc::new(StressBudget::default());
        assert!(stress_cpu(&inj, &budget, 2, 0.5, Duration::from_secs(1)).is_err());
        assert!(stress_cpu(&inj, &budget, 1, 1.5, Duration::from_secs(1)).is_err());
        let l = stress_cpu(&inj, &budget, 1, 0.2, Duration::from_secs(10)).unwrap();
        assert!(stress_cpu(&inj, &budget, 1, 0.2, Duration::from_secs(1)).is_err());
        inj.revert(&l.id);
        assert_eq!(budget.cores.load(Ordering::SeqCst), 0);
    }
}
