//! What a coordinator and a generator tell the people watching them.

use std::fmt;

use serde::Serialize;

/// Something that happened to a fleet run.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FleetEvent {
    /// Waiting for generators.
    Waiting {
        /// Usable generators registered.
        have: usize,
        /// How many the run needs (0: every one registered, at least one).
        want: usize,
    },
    /// A generator was given a segment.
    Assigned {
        /// Its name.
        name: String,
        /// Segment index.
        index: u64,
        /// Segments.
        count: u64,
    },
    /// A generator compiled the plan and waits for the start.
    Ready {
        /// Its name.
        name: String,
        /// Its clock's offset from the coordinator's (ms).
        clock_offset_ms: Option<f64>,
    },
    /// The shared start instant was announced.
    Started {
        /// Generators in the run.
        generators: usize,
        /// The start on the coordinator's wall clock (ms since the epoch).
        start_unix_ms: f64,
    },
    /// A generator was silent too long; what it sent still counts.
    Lost {
        /// Its name.
        name: String,
        /// Its segment index.
        index: u64,
        /// The last second it reported (none: not one).
        last_second: Option<u64>,
        /// How long it had been silent (ms).
        silent_ms: u64,
    },
    /// A generator's utilization went above 0.8: it may be the bottleneck.
    Busy {
        /// Its name.
        name: String,
        /// The utilization seen.
        utilization: f64,
    },
    /// A generator could not take part.
    Failed {
        /// Its name.
        name: String,
        /// Why.
        message: String,
    },
    /// A generator finished its segment.
    Ended {
        /// Its name.
        name: String,
        /// Seconds it reported.
        seconds: u64,
    },
}

impl fmt::Display for FleetEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FleetEvent::Waiting { have, want: 0 } => {
                write!(f, "waiting for generators ({have} registered)")
            }
            FleetEvent::Waiting { have, want } => {
                write!(f, "waiting for generators: {have} of {want}")
            }
            FleetEvent::Assigned { name, index, count } => {
                write!(f, "generator {name} runs segment {}/{count}", index + 1)
            }
            FleetEvent::Ready {
                name,
                clock_offset_ms,
            } => match clock_offset_ms {
                Some(o) => write!(f, "generator {name} ready (clock offset {o:.1} ms)"),
                None => write!(f, "generator {name} ready"),
            },
            FleetEvent::Started { generators, .. } => {
                write!(f, "{generators} generators start together")
            }
            FleetEvent::Lost {
                name,
                last_second,
                silent_ms,
                ..
            } => match last_second {
                Some(s) => write!(
                    f,
                    "generator {name} lost: silent for {:.1} s; its seconds up to {s} count",
                    *silent_ms as f64 / 1000.0
                ),
                None => write!(
                    f,
                    "generator {name} lost: silent for {:.1} s before reporting a second",
                    *silent_ms as f64 / 1000.0
                ),
            },
            FleetEvent::Busy { name, utilization } => write!(
                f,
                "generator {name} at {:.0}% utilization: above 80% it may limit the load it sends",
                utilization * 100.0
            ),
            FleetEvent::Failed { name, message } => {
                write!(f, "generator {name} cannot take part: {message}")
            }
            FleetEvent::Ended { name, seconds } => {
                write!(f, "generator {name} finished after {seconds} s")
            }
        }
    }
}
