//! Squall's generator fleets: one run on many machines.
//!
//! Generators dial out to a coordinator ([`generator`]), which gives each
//! an exact segment of the plan and one start instant, and merges the
//! seconds they report ([`merge`]) into the same snapshots a single-process
//! run produces ([`coordinator`]), so every output, threshold and goal
//! works unchanged. The wire is plain HTTP and JSON ([`protocol`],
//! [`routes`]); histograms travel in HdrHistogram's compressed form, so the
//! merged percentiles are those of the union of every generator's
//! measurements.

// Libraries do not print: the binary decides what people see.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod coordinator;
pub mod event;
pub mod generator;
pub mod k8s;
pub mod merge;
pub mod plan_payload;
pub mod protocol;
pub mod routes;
pub mod source;

pub use coordinator::{
    Coordinator, CoordinatorConfig, FleetError, FleetRun, FleetSpec, FleetStop, FleetSummary,
    OnLost,
};
pub use event::FleetEvent;
pub use generator::{GeneratorConfig, GeneratorError, GeneratorEvent};
pub use plan_payload::PlanPayload;
pub use source::{LoadSource, LoadStop};
