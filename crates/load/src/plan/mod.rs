//! The load plan as the user writes it (YAML or JSON), before validation.
//!
//! These types mirror the file one to one and reject unknown fields, so a
//! typo is an error with a location instead of a silently ignored setting.
//! [`crate::compile`] turns a [`Plan`] into the validated form the engine runs.

mod locate;
mod parse;
mod profile;
mod step;
mod threshold_spec;

use std::collections::BTreeMap;

use serde::Deserialize;

pub use locate::{locate, location_prefix};
pub use parse::{PlanError, parse_document, parse_plan, read_plan};
pub use profile::{LoadSpec, Model, Stage};
pub use step::{Capture, Check, Feeder, FeederMode, JsonCheck, LoopSpec, RequestSpec, Step, Think};
pub use threshold_spec::ThresholdSpec;

use crate::duration::Dur;

/// A whole load plan.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Base URL that request paths are resolved against.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Defaults applied to every request.
    #[serde(default)]
    pub defaults: Defaults,
    /// Use HTTP/2 (h2c prior knowledge for `http://`).
    #[serde(default)]
    pub http2: bool,
    /// Accept any TLS certificate (self-signed test servers).
    #[serde(default)]
    pub insecure: bool,
    /// Redirects followed per request on the same origin (default 10, as
    /// k6; 0 turns following off).
    #[serde(default)]
    pub max_redirects: Option<u32>,
    /// A cookie jar per virtual user (default on).
    #[serde(default)]
    pub cookies: Option<bool>,
    /// Variables every virtual user starts with.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Named, weighted scenarios.
    pub scenarios: Vec<Scenario>,
    /// The injection profile.
    pub load: LoadSpec,
    /// Pass/fail criteria, keyed by metric (optionally with `{name:...}`).
    #[serde(default)]
    pub thresholds: BTreeMap<String, Vec<ThresholdSpec>>,
}

/// Settings applied to every request unless the request overrides them.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Request timeout (default 10 s).
    #[serde(default)]
    pub timeout: Option<Dur>,
    /// Headers added to every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// One scenario: what a virtual user does in one iteration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name used in metrics and reports.
    pub name: String,
    /// Relative share of iterations (default 1).
    #[serde(default = "one")]
    pub weight: u32,
    /// CSV data feeder: one row per iteration, columns become variables.
    #[serde(default)]
    pub data: Option<Feeder>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Open model: iterations of this scenario starting in each second,
    /// exactly (see [`crate::arrivals`]); once one scenario gives them,
    /// every scenario does and `load.stages` is left out.
    #[serde(default)]
    pub arrivals: Option<Vec<u32>>,
}

fn one() -> u32 {
    1
}
