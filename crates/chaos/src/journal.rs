//! Journal fields that are not the run itself: timestamps in chaoslib's
//! format (`2026-11-22T13:30:14.595346+00:00`), `platform`, `node`, and
//! writing the file (pretty JSON, UTF-8 kept raw, via a temporary file).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time with microseconds, as chaoslib records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(i64);

impl Stamp {
    /// The current time.
    pub fn now() -> Stamp {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Stamp(d.as_micros() as i64)
    }

    /// `(end - start).total_seconds()`: microsecond precision.
    pub fn seconds_since(self, start: Stamp) -> f64 {
        (self.0 - start.0) as f64 / 1e6
    }

    /// `datetime.now(timezone.utc).isoformat()`.
    pub fn iso(self) -> String {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+00:00",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }

    /// `HH:MM:SS` in UTC, for the console log.
    pub fn clock(self) -> String {
        let s = self.0.div_euclid(1_000_000).rem_euclid(86_400);
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }

    /// The date part, for the console log.
    pub fn date(self) -> String {
        self.iso()[..10].to_string()
    }
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `platform.node()`.
pub fn node() -> String {
    read_trim("/proc/sys/kernel/hostname").unwrap_or_else(|| "localhost".into())
}

/// Like `platform.platform()`: `Linux-<release>-<machine>-with-<libc>`.
pub fn platform() -> String {
    let release = read_trim("/proc/sys/kernel/osrelease").unwrap_or_default();
    let os = if cfg!(target_os = "linux") {
        "Linux"
    } else {
        std::env::consts::OS
    };
    let libc = if cfg!(target_env = "gnu") {
        "-with-glibc"
    } else {
        ""
    };
    format!("{os}-{release}-{}{libc}", std::env::consts::ARCH)
}

fn read_trim(p: &str) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Writes the journal: indented JSON, non-ASCII kept, replaced atomically.
pub fn write(path: &Path, journal: &serde_json::Value) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(journal).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps_match_python() {
        // 2026-11-22T13:30:14.595346+00:00
        let s = Stamp(1_795_354_214_595_346);
        assert_eq!(s.iso(), "2026-11-22T13:30:14.595346+00:00");
        assert_eq!(Stamp(0).iso(), "1970-01-01T00:00:00.000000+00:00");
        assert_eq!(Stamp(1_795_354_214_597_199).seconds_since(s), 0.001853);
    }
}
