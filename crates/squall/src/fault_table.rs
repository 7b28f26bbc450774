//! `squall fault list` for people: the faults a `squall proxy` holds as a
//! table, with how long ago each started and how long it has left, instead
//! of the API's JSON with Unix milliseconds (`--json` prints that).

use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Renders the answer of `GET /squall/faults`.
pub(crate) fn render(body: &str) -> anyhow::Result<String> {
    let v: serde_json::Value = serde_json::from_str(body)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Ok(table(&v, now))
}

fn secs(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

fn table(v: &serde_json::Value, now_ms: i64) -> String {
    let mut o = String::new();
    let active = v["active"].as_array().cloned().unwrap_or_default();
    if v["halted"] == true {
        let _ = writeln!(
            o,
            "HALTED: new faults are refused (squall fault halt --release)"
        );
    }
    if active.is_empty() {
        let _ = writeln!(o, "no faults in force");
        return o;
    }
    let _ = writeln!(
        o,
        "{:<14} {:<16} {:<28} {:>14} {:>14}",
        "id", "type", "target", "started", "ends in"
    );
    for f in &active {
        let started = f["started_unix_ms"].as_i64().unwrap_or(now_ms);
        let deadline = f["deadline_unix_ms"].as_i64().unwrap_or(now_ms);
        let _ = writeln!(
            o,
            "{:<14} {:<16} {:<28} {:>14} {:>14}",
            f["id"].as_str().unwrap_or("?"),
            f["kind"].as_str().unwrap_or("?"),
            f["target"].as_str().unwrap_or("?"),
            format!("{} ago", secs(now_ms - started)),
            secs(deadline - now_ms),
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_per_fault_with_relative_times() {
        let v = serde_json::json!({"halted": false, "active": [
            {"id": "f1", "kind": "pause", "target": "pid 42 (sleep)",
             "started_unix_ms": 1_000_000, "deadline_unix_ms": 1_090_000}]});
        let t = table(&v, 1_012_000);
        assert!(t.contains("f1"), "{t}");
        assert!(t.contains("pid 42 (sleep)"), "{t}");
        assert!(t.contains("12 s ago"), "{t}");
        assert!(t.contains("1 min 18 s"), "{t}");
        let none = table(&serde_json::json!({"halted": true, "active": []}), 0);
        assert!(
            none.contains("HALTED") && none.contains("no faults in force"),
            "{none}"
        );
    }
}
