//! The MiSArch Experiment Executor's formats, read onto squall's engine,
//! so experiments written for it (and its frontend) run on `squall serve`.
//!
//! # Layout
//! - [`kotlin`]: the Gatling work files (Kotlin) its templates and frontend
//!   produce, translated into squall scenario steps, every error located.
//! - [`user_steps`]: the user-steps CSV (arrivals per second).
//! - [`gatling`]: its `gatlingConfig` (base64 work and user-steps files) as
//!   squall scenarios with their own arrivals.
//! - [`failures`]: its failure sets as squall faults on simulated services.
//! - [`goals`]: its 27 goal metrics as squall goals, manual or from a
//!   steady-state baseline.
//! - [`load_types`]: the arrival shapes of its four generated load types.
//! - [`generated`]: what its generator makes, aimed at squall's demo shop.
//! - [`compose`]: a version's squall document with its MiSArch parts.
//! - [`report`]: the original's `report.json`, made from squall's report.
//!
//! Libraries do not print: problems are returned, located, for the caller
//! to show.

#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod compose;
pub mod failures;
pub mod gatling;
pub mod generated;
pub mod goals;
pub mod kotlin;
pub mod load_types;
pub mod report;
pub mod user_steps;
