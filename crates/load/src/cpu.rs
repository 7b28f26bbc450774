//! CPU time of the calling thread, for generator utilization.

use std::time::Duration;

/// CPU time consumed so far by the calling thread, or `None` where the
/// kernel does not expose it.
///
/// Reads `/proc/thread-self/schedstat` (nanoseconds on CPU), falling back to
/// the tick-granular `utime + stime` of `/proc/thread-self/stat`.
pub fn thread_cpu_time() -> Option<Duration> {
    if let Ok(s) = std::fs::read_to_string("/proc/thread-self/schedstat")
        && let Some(ns) = s
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
    {
        return Some(Duration::from_nanos(ns));
    }
    let s = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux platform we target.
    Some(Duration::from_millis(ticks * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_when_the_thread_works() {
        let Some(a) = thread_cpu_time() else { return };
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        let b = thread_cpu_time().unwrap();
        assert!(b > a, "{a:?} -> {b:?} ({x})");
    }
}
