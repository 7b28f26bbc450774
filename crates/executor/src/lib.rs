//! The run engine of `squall run` and `squall demo`: an experiment document
//! (a Chaos Toolkit experiment plus workload, warm-up, scheduled faults,
//! goals and abort conditions) run on one clock, measured, and judged.
//!
//! # Layout
//! - [`chaos_part`]: the Chaos Toolkit part, run by `squall-chaos` alongside the load.
//! - [`document`]: the document types, parsing with located errors, `${sim.NAME}` substitution.
//! - [`problem`]: a problem with its field, rendered as `file:line:col: field: message`.
//! - [`prepare`]: compiling the workload, warm-up, faults, goals and aborts (all errors at once).
//! - [`goals`]: goal compilation and evaluation, including baselines and recovery times.
//! - [`inject`]: calls to remote injectors: a simulator's `/_sim/faults`
//!   lease API and Toxiproxy-compatible toxics (local host faults and the
//!   experiment's own proxies go through `squall-faults` directly).
//! - [`fault_check`]: every fault checked by its injector before the run starts.
//! - [`prometheus`]: the system's own metrics: queries checked before the
//!   run, `query_range` over it after; [`series_goal`]: goals on them.
//! - [`phases`], [`series`]: what is kept per phase and per second (bounded memory).
//! - [`run`]: the run itself (leftovers, warm-up, main phase, one task per
//!   fault, evaluation); [`event`]: progress for the terminal.
//! - [`execute`]: sim + prepare + checks + run + the run directory;
//!   [`outcome`]: verdict (including `invalid` and `no goals`), exit code, summary.

// Libraries do not print: the binary decides what people see.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod chaos_part;
pub mod document;
pub mod event;
pub mod execute;
pub mod fault_check;
pub mod goals;
pub mod inject;
pub mod outcome;
pub mod phases;
pub mod prepare;
pub mod problem;
pub mod prometheus;
pub mod run;
pub mod series;
pub mod series_goal;
