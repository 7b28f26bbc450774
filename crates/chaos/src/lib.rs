//! Chaos Toolkit experiments, run natively.
//!
//! The experiment stays a JSON value (`serde_json::Value`) from load to
//! journal, as in chaoslib, because the journal must hold the document as the
//! user wrote it (unknown keys included) and Python's dict semantics decide
//! comparisons. Validation walks that value and reports every problem with
//! its field path; the runner reads it.
//!
//! # Layout
//! - [`load`]: file to value (JSON, YAML), located parse errors.
//! - [`validate`]: every validation error at once, each with its field path.
//! - [`references`]: what an activity `ref` may name, and resolving one (used
//!   by validation and the run alike).
//! - [`vars`]: `--var` and `--var-file`; [`config`]: configuration and secrets.
//! - [`substitute`] and [`pyrepr`]: `${name}` templates with Python's typing rules;
//!   [`python`]: Python's truthiness, `==` and ordering on JSON values.
//! - [`tolerance`] and [`jsonpath`]: `within_tolerance` and the jsonpath2 dialect.
//! - [`provider`]: `http`, `process`, `python`.
//! - [`activity`], [`hypothesis`], [`run`]: one activity, the steady-state
//!   hypothesis, the whole experiment with strategies, background activities,
//!   interruption and rollbacks.
//! - [`journal`]: timestamps, platform fields, writing `journal.json`.
//! - [`event`]: what the runner reports as it goes (the binary renders it).

// Libraries do not print: the binary decides what people see.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod activity;
pub mod config;
pub mod event;
pub mod hypothesis;
pub mod journal;
pub mod jsonpath;
pub mod load;
pub mod provider;
pub mod pyrepr;
pub mod python;
pub mod references;
pub mod run;
pub mod strategy;
pub mod substitute;
pub mod tolerance;
pub mod validate;
pub mod vars;

pub use event::Event;
pub use load::{LoadError, load_experiment, load_source};
pub use run::{RunOptions, run_experiment};
pub use strategy::{Dry, HypothesisStrategy, RollbackStrategy};
pub use validate::{Issue, validate};
pub use vars::{VarError, Vars};

/// The chaoslib version the journal claims: `chaostoolkit-reporting` parses
/// `chaoslib-version` as semver to pick a template, so it must be a real one.
pub const CHAOSLIB_VERSION: &str = "1.44.0";
