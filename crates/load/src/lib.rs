//! Squall's load engine.
//!
//! A plan ([`plan`]) is parsed with located errors, compiled ([`compile`])
//! into a validated form, and run ([`engine`]) by worker threads that each
//! own their connections and recorders. Workers report once a second; the
//! engine merges those into [`squall_metrics::Snapshot`]s that the caller
//! renders, checks against [`threshold`]s and writes out.
//!
//! Open-model latency is measured from each iteration's intended start, so
//! a slow server or a saturated generator shows up in the numbers instead of
//! silently lowering the request rate (no coordinated omission).

// Libraries do not print: the binary decides what people see.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod arrivals;
pub mod compile;
pub mod compiled;
pub mod cpu;
pub mod duration;
pub mod engine;
pub mod feeder;
pub mod http;
pub mod plan;
pub mod precise_timer;
pub mod quick;
pub mod schedule;
pub mod segment;
pub mod template;
pub mod threshold;
mod worker;

pub use compile::{CompiledPlan, compile};
pub use engine::{Run, RunOptions, StopHandle, start};
pub use segment::Segment;
pub use worker::WorkerReport;
