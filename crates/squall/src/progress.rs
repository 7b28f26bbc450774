//! What a person sees while a run is going: a live line on a terminal,
//! plain periodic lines otherwise, nothing with `--quiet`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use squall_metrics::{Interval, Snapshot};

enum Mode {
    Quiet,
    Lines,
    Live(ProgressBar),
}

pub(crate) struct Progress {
    mode: Mode,
    planned: Duration,
    warned_util: bool,
    warned_late: bool,
    /// The label of the last line printed (whole seconds).
    last_label: Option<u128>,
}

impl Progress {
    /// `engine` says what sends the load ("4 worker thread(s)", "a fleet of 3 generators").
    pub(crate) fn new(quiet: bool, planned: Duration, label: &str, engine: &str) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(planned.as_secs().max(1));
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:24}] {msg}")
                    .expect("constant template")
                    .progress_chars("=> "),
            );
            bar.set_prefix("squall");
            Mode::Live(bar)
        } else {
            Mode::Lines
        };
        let me = Self {
            mode,
            planned,
            warned_util: false,
            warned_late: false,
            last_label: None,
        };
        me.note(&format!("load: {label}, {engine}"));
        me
    }

    /// Prints a message even with `--quiet` (something went wrong).
    pub(crate) fn warn(&self, msg: &str) {
        match &self.mode {
            Mode::Quiet => eprintln!("squall: {msg}"),
            _ => self.note(msg),
        }
    }

    /// Prints a message above the live line (or as a line).
    pub(crate) fn note(&self, msg: &str) {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Lines => eprintln!("squall: {msg}"),
            Mode::Live(bar) => bar.println(format!("squall: {msg}")),
        }
    }

    pub(crate) fn error(&self, msg: &str) {
        self.note(&format!("error: {msg}"));
    }

    pub(crate) fn second(&mut self, snap: &Snapshot, total: &Interval) {
        let last = snap.interval.overall("all");
        let all = total.overall("all");
        let elapsed = Duration::from_millis(snap.start_ms + snap.length_ms);
        let remaining = self.planned.saturating_sub(elapsed);
        // Seconds end a few ms either side of the whole second: round, so
        // each label appears once.
        let whole = |d: Duration| (d.as_millis() + 500) / 1000;
        let pct = |p: f64| {
            if last.requests == 0 {
                "-".to_string()
            } else {
                fmt_us(last.latency.percentile(p))
            }
        };
        // The run's last slice is a fraction of a second after the last
        // whole one: not worth a line of its own when nothing happened in it.
        let repeat = self.last_label == Some(whole(elapsed)) && last.requests == 0;
        self.last_label = Some(whole(elapsed));
        let line = format!(
            "{:>4}s/{}s  {:>9.0} req/s  in-flight {:>5}  p50 {:>8}  p99 {:>8}  errors {} ({:.2}%)  util {:.2}  left {}s",
            whole(elapsed),
            whole(self.planned),
            snap.request_rate(),
            snap.in_flight,
            pct(50.0),
            pct(99.0),
            all.failed(),
            all.failure_rate() * 100.0,
            snap.utilization,
            whole(remaining),
        );
        match &self.mode {
            Mode::Quiet => {}
            Mode::Lines if repeat => {}
            Mode::Lines => eprintln!("squall: {line}"),
            Mode::Live(bar) => {
                bar.set_position(elapsed.as_secs());
                bar.set_message(line);
            }
        }
        if snap.utilization > 0.8 && !self.warned_util {
            self.warned_util = true;
            self.note(&format!(
                "warning: generator utilization {:.2} > 0.8; the generator itself may be limiting the load \
                 (add --threads or generators)",
                snap.utilization
            ));
        }
        let it = &snap.interval.iterations;
        if (it.late > 0 || it.dropped > 0) && !self.warned_late {
            self.warned_late = true;
            self.note(&format!(
                "warning: the generator cannot keep up with the schedule ({} late, {} dropped iterations this second); \
                 latency still counts from each intended start",
                it.late, it.dropped
            ));
        }
    }

    pub(crate) fn finish(&self) {
        if let Mode::Live(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}

/// Formats microseconds with a unit people read at a glance.
pub(crate) fn fmt_us(us: u64) -> String {
    if us >= 10_000_000 {
        format!("{:.1}s", us as f64 / 1e6)
    } else if us >= 1_000 {
        format!("{:.2}ms", us as f64 / 1e3)
    } else {
        format!("{us}us")
    }
}
