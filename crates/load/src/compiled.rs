//! The validated form of a plan's scenarios, as the engine's users run
//! them (made by [`crate::compile`]): requests with their templates and
//! pre-encoded bytes, checks and captures with parsed JSON paths, loops
//! with their counts. Named as `compiled::Step` and so on beside the
//! plan's own `plan::Step`.

use std::sync::Arc;
use std::time::Duration;

use serde_json_path::JsonPath;

use crate::feeder::FeederData;
use crate::http::{PreparedRequest, Want};
use crate::plan::Think;
use crate::template::Template;

/// A validated scenario.
#[derive(Debug)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Relative weight.
    pub weight: u32,
    /// Steps.
    pub steps: Vec<Step>,
    /// Feeder rows.
    pub feeder: Option<Arc<FeederData>>,
}

/// A validated step.
#[derive(Debug)]
pub enum Step {
    /// A request.
    Request(Box<Request>),
    /// A pause.
    Think(Think),
    /// Repeated steps.
    Loop {
        /// How many times (`None`: until the user is stopped).
        count: Option<u64>,
        /// What is repeated.
        steps: Vec<Step>,
    },
}

/// A validated request.
#[derive(Debug)]
pub struct Request {
    /// Request-name id (index into `request_names`).
    pub id: usize,
    /// Origin id.
    pub origin: usize,
    /// Method.
    pub method: http::Method,
    /// Path and query.
    pub path: Template,
    /// Extra headers.
    pub headers: Vec<(String, Template)>,
    /// Body.
    pub body: Option<Template>,
    /// Pre-encoded request when nothing is templated.
    pub fixed: Option<PreparedRequest>,
    /// Timeout.
    pub timeout: Duration,
    /// Statuses counted as success (`None`: 200..=399).
    pub expect_status: Option<Vec<u16>>,
    /// Checks with their ids.
    pub checks: Vec<(usize, Check)>,
    /// Captures.
    pub captures: Vec<(String, Capture)>,
    /// What the response must keep.
    pub want: Want,
}

/// A compiled check.
#[derive(Debug)]
pub enum Check {
    /// Status equals.
    Status(u16),
    /// Body contains.
    BodyContains(String),
    /// JSON path exists (or not).
    JsonExists(JsonPath, bool),
    /// JSON path's first match equals.
    JsonEquals(JsonPath, serde_json::Value),
}

/// A compiled capture.
#[derive(Debug)]
pub enum Capture {
    /// First JSON path match.
    Json(JsonPath),
    /// Header by lower-cased name.
    Header(String),
}
