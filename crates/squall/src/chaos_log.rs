//! The console log of `squall chaos`: one line per step on stderr, in
//! chaostoolkit's shape (`[2026-11-23 03:02:11 INFO] Action: name`), so
//! people and log scrapers used to `chaos run` read it the same way.

use squall_chaos::event::{Event, Phase};
use squall_chaos::journal::Stamp;

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The log file, as `chaos` keeps one (`chaostoolkit.log`), and its format.
static FILE: Mutex<Option<(std::fs::File, bool)>> = Mutex::new(None);
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Opens (truncates) the log file; `json`: one JSON object per line.
pub(crate) fn open_file(path: &std::path::Path, json: bool) -> std::io::Result<()> {
    let f = std::fs::File::create(path)?;
    *FILE.lock().expect("not poisoned") = Some((f, json));
    Ok(())
}

/// `--verbose`: DEBUG lines on the console too.
pub(crate) fn set_verbose(v: bool) {
    VERBOSE.store(v, Ordering::Relaxed);
}

/// A DEBUG line: always in the log file, on the console with `--verbose`.
pub(crate) fn debug(msg: &str) {
    log("DEBUG", msg);
}

/// One line, in chaostoolkit's shape: `[date time LEVEL] message`, on the
/// console (DEBUG only with `--verbose`) and in the log file.
pub(crate) fn log(level: &str, msg: &str) {
    let now = Stamp::now();
    if level != "DEBUG" || VERBOSE.load(Ordering::Relaxed) {
        eprintln!("[{} {} {level}] {msg}", now.date(), now.clock());
    }
    if let Some((f, json)) = FILE.lock().expect("not poisoned").as_mut() {
        let line = if *json {
            serde_json::json!({"asctime": format!("{} {}", now.date(), now.clock()), "levelname": level, "message": msg}).to_string()
        } else {
            format!("[{} {} {level}] {msg}", now.date(), now.clock())
        };
        // A log line that cannot be written is not worth failing the run.
        let _ = writeln!(f, "{line}");
    }
}

/// Renders one runner event.
pub(crate) fn render(e: Event) {
    let kind = |k: &str| if k == "action" { "Action" } else { "Probe" };
    match e {
        Event::Started { title } => log("INFO", &format!("Running experiment: {title}")),
        Event::Strategies {
            hypothesis,
            rollbacks,
        } => {
            log("INFO", &format!("Steady-state strategy: {hypothesis}"));
            log("INFO", &format!("Rollbacks strategy: {rollbacks}"));
        }
        Event::NoHypothesis => log(
            "INFO",
            "No steady state hypothesis defined. That's ok, just exploring.",
        ),
        Event::HypothesisStarted { title } => {
            log("INFO", &format!("Steady-state hypothesis: {title}"))
        }
        Event::Activity {
            phase,
            kind: k,
            name,
            background,
        } => {
            let what = match phase {
                Phase::Rollback => format!("Rollback: {name}"),
                Phase::Tolerance => format!("Tolerance probe: {name}"),
                _ => format!("{}: {name}", kind(&k)),
            };
            let bg = if background { " [in background]" } else { "" };
            log("INFO", &format!("{what}{bg}"));
        }
        Event::ActivityFailed { name, reason } => {
            log("ERROR", &format!("  => failed: {name}: {reason}"))
        }
        Event::Warning(w) => log("WARNING", &w),
        Event::InternalError(w) => log("ERROR", &w),
        Event::Pause { when, seconds } => {
            let what = if when == "before" {
                "before next activity"
            } else {
                "after activity"
            };
            log("INFO", &format!("Pausing {what} for {seconds}s..."));
        }
        Event::HypothesisMet => log("INFO", "Steady state hypothesis is met!"),
        Event::HypothesisNotMet { probe, during } => {
            let level = if during { "WARNING" } else { "CRITICAL" };
            log(
                level,
                &format!("Steady state probe '{probe}' is not in the given tolerance"),
            );
        }
        Event::MethodStarted => log("INFO", "Playing your experiment's method now..."),
        Event::ContinuousStarted { frequency } => log(
            "INFO",
            &format!(
                "Executing the steady-state hypothesis continuously every {frequency} seconds"
            ),
        ),
        Event::RollbacksStarted => log("INFO", "Let's rollback..."),
        Event::NoRollbacks { why } => log("INFO", &format!("No rollbacks played: {why}")),
        Event::Interrupted => log("WARNING", "Interrupted: the experiment stops here"),
        Event::Aborted { reason } => log("CRITICAL", &format!("Experiment aborted: {reason}")),
        Event::Ended { status, deviated } => {
            let s = if deviated {
                "deviated".to_string()
            } else {
                status
            };
            log("INFO", &format!("Experiment ended with status: {s}"));
            if deviated {
                log(
                    "INFO",
                    "The steady-state has deviated, a weakness may have been discovered",
                );
            }
        }
    }
}
