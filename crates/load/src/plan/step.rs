//! Scenario steps: requests with checks and captures, think times, loops.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::duration::Dur;

/// One step of a scenario. Exactly one of `request`, `think` or `loop`.
// `serde_json`'s `preserve_order` (needed by the chaos journal) makes JSON
// bodies larger; steps are built once per plan, so the size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "RawStep")]
pub enum Step {
    /// Send a request, then evaluate checks and captures on the response.
    Request {
        /// The request.
        request: RequestSpec,
        /// Checks on the response.
        checks: Vec<Check>,
        /// Values captured from the response into variables.
        captures: BTreeMap<String, Capture>,
    },
    /// Pause the virtual user.
    Think(Think),
    /// Repeat nested steps.
    Loop(LoopSpec),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    request: Option<RequestSpec>,
    #[serde(default)]
    checks: Vec<Check>,
    #[serde(default)]
    captures: BTreeMap<String, Capture>,
    think: Option<Think>,
    #[serde(rename = "loop")]
    loop_: Option<LoopSpec>,
}

impl TryFrom<RawStep> for Step {
    type Error = String;
    fn try_from(r: RawStep) -> Result<Self, String> {
        let has_extras = !r.checks.is_empty() || !r.captures.is_empty();
        match (r.request, r.think, r.loop_) {
            (Some(request), None, None) => Ok(Step::Request {
                request,
                checks: r.checks,
                captures: r.captures,
            }),
            (None, Some(t), None) if !has_extras => Ok(Step::Think(t)),
            (None, None, Some(l)) if !has_extras => Ok(Step::Loop(l)),
            (None, None, None) => Err("a step needs one of `request`, `think` or `loop`".into()),
            (None, _, _) => Err("`checks` and `captures` belong to a `request` step".into()),
            _ => Err("a step has exactly one of `request`, `think` or `loop`".into()),
        }
    }
}

/// An HTTP request.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Name in metrics (default: `METHOD path`).
    #[serde(default)]
    pub name: Option<String>,
    /// HTTP method (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// A path resolved against the plan's `base_url`, or a full URL.
    pub url: String,
    /// Extra headers (values may use `${var}`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Raw body (may use `${var}`).
    #[serde(default)]
    pub body: Option<String>,
    /// JSON body; sets `content-type: application/json` (strings may use `${var}`).
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// Timeout for this request.
    #[serde(default)]
    pub timeout: Option<Dur>,
    /// Statuses that count as success (default 200..=399).
    #[serde(default)]
    pub expect_status: Option<Vec<u16>>,
}

/// A check on a response; a failing check makes the request count as failed.
/// Written as a one-key map: `{status: 200}`, `{body_contains: ok}` or
/// `{json: {path: $.x, equals: 1}}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "RawCheck")]
pub enum Check {
    /// The status equals this value.
    Status(u16),
    /// The body contains this text.
    BodyContains(String),
    /// A JSON path in the body exists or equals a value.
    Json(JsonCheck),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    status: Option<u16>,
    body_contains: Option<String>,
    json: Option<JsonCheck>,
}

impl TryFrom<RawCheck> for Check {
    type Error = String;
    fn try_from(r: RawCheck) -> Result<Self, String> {
        match (r.status, r.body_contains, r.json) {
            (Some(s), None, None) => Ok(Check::Status(s)),
            (None, Some(b), None) => Ok(Check::BodyContains(b)),
            (None, None, Some(j)) => Ok(Check::Json(j)),
            _ => Err("a check has exactly one of `status`, `body_contains` or `json`".into()),
        }
    }
}

/// A JSON path check (RFC 9535 JSONPath).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonCheck {
    /// The JSONPath query, e.g. `$.items[0].id`.
    pub path: String,
    /// The first match equals this value.
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
    /// At least one match exists (true) or none does (false).
    #[serde(default)]
    pub exists: Option<bool>,
}

/// Where a captured variable comes from: `{json: $.token}` or `{header: Set-Cookie}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "RawCapture")]
pub enum Capture {
    /// The first match of a JSONPath query in the body (strings unquoted).
    Json(String),
    /// A response header, by case-insensitive name.
    Header(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapture {
    json: Option<String>,
    header: Option<String>,
}

impl TryFrom<RawCapture> for Capture {
    type Error = String;
    fn try_from(r: RawCapture) -> Result<Self, String> {
        match (r.json, r.header) {
            (Some(j), None) => Ok(Capture::Json(j)),
            (None, Some(h)) => Ok(Capture::Header(h)),
            _ => Err("a capture has exactly one of `json` or `header`".into()),
        }
    }
}

/// A pause: fixed, uniform between bounds, or normal around a mean.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Think {
    /// Always this long.
    Fixed(Dur),
    /// Uniformly between `min` and `max`.
    Uniform {
        /// Lower bound.
        min: Dur,
        /// Upper bound.
        max: Dur,
    },
    /// Normally distributed, clamped at zero.
    Normal {
        /// Mean.
        mean: Dur,
        /// Standard deviation.
        stddev: Dur,
    },
}

/// Nested steps repeated `count` times, or until the virtual user is stopped.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoopSpec {
    /// Repetitions; omit to loop until wind-down ends the virtual user.
    #[serde(default)]
    pub count: Option<u64>,
    /// Steps to repeat.
    pub steps: Vec<Step>,
}

/// A CSV file whose rows feed iterations.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feeder {
    /// Path of the CSV file (relative to the plan file); the first row names the columns.
    pub csv: String,
    /// How rows are picked (default `sequential`, wrapping around).
    #[serde(default)]
    pub mode: FeederMode,
}

/// How feeder rows are picked.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FeederMode {
    /// In file order, wrapping around at the end.
    #[default]
    Sequential,
    /// Uniformly at random.
    Random,
}
