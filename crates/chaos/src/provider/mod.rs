//! Providers: what an activity calls. Each returns the same output shapes as
//! chaoslib's, and fails in the same two ways: `ActivityFailed` (the
//! activity is marked `failed` and the run goes on) or any other error (the
//! run is `aborted`).

pub mod http;
pub mod process;
pub mod python;
pub mod python_check;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::substitute::Scope;

/// How a provider call went wrong.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ProviderError {
    /// chaoslib's `ActivityFailed`: recorded on the activity, the run goes on.
    #[error("{0}")]
    Failed(String),
    /// Any other exception: chaoslib aborts the run (or crashes, outside the method).
    #[error("{0}")]
    Error(String),
}

/// What every provider call needs besides its own definition.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Configuration and secrets for `${}`.
    pub scope: Scope,
    /// Extra environment entries (from `.env` var-files) for child processes.
    pub env: BTreeMap<String, String>,
    /// The Python interpreter for `python` providers.
    pub python: String,
}

/// Runs a provider (raw, as in the experiment; substitution happens here,
/// field by field as chaoslib does it).
pub async fn run(provider: &Value, ctx: &Context) -> Result<Value, ProviderError> {
    match provider.get("type").and_then(Value::as_str) {
        Some("http") => http::run(provider, ctx).await,
        Some("process") => process::run(provider, ctx).await,
        Some("python") => python::run(provider, ctx).await,
        other => Err(ProviderError::Error(format!(
            "unknown provider type '{}'",
            other.unwrap_or_default()
        ))),
    }
}

/// Provider checks of validation.
pub fn check(path: &str, activity: &str, p: &Value, add: &mut dyn FnMut(&str, String)) {
    if let Some(t) = p.get("timeout") {
        let tpath = format!("{path}.timeout");
        match t {
            // `[connect, read]`, as requests takes it (http providers).
            Value::Array(parts) if p.get("type").and_then(Value::as_str) == Some("http") => {
                for (i, part) in parts.iter().enumerate() {
                    check_seconds(&format!("{tpath}[{i}]"), "timeout", part, add);
                }
            }
            t => check_seconds(&tpath, "timeout", t, add),
        }
    }
    match p.get("type").and_then(Value::as_str) {
        None => add(path, "a provider must have a type".into()),
        Some("process") => match p.get("path").and_then(Value::as_str) {
            None | Some("") => add(path, "a process activity must have a path".into()),
            Some(exe) => {
                if process::resolve(exe).is_none() {
                    add(
                        &format!("{path}.path"),
                        format!("path '{exe}' cannot be found, in activity '{activity}'"),
                    );
                }
            }
        },
        Some("http") => {
            if p.get("url").is_none_or(|u| !crate::python::truthy(Some(u))) {
                add(path, "a HTTP activity must have a URL".into());
            }
            if let Some(h) = p.get("headers")
                && !h.is_object()
            {
                add(
                    &format!("{path}.headers"),
                    "a HTTP activities expect headers as a mapping".into(),
                );
            }
        }
        Some("python") => {
            if !crate::python::truthy(p.get("module")) {
                add(path, "a Python activity must have a module path".into());
            }
            if !crate::python::truthy(p.get("func")) {
                add(path, "a Python activity must have a function name".into());
            }
        }
        Some(t) => add(
            &format!("{path}.type"),
            format!("unknown provider type '{t}'"),
        ),
    }
}

/// Provider `arguments`, substituted only when there is configuration or a
/// secret (chaoslib's condition).
pub(crate) fn arguments(p: &Value, ctx: &Context) -> Option<Value> {
    let a = p.get("arguments")?;
    Some(if ctx.scope.is_empty() {
        a.clone()
    } else {
        crate::substitute::substitute(a, &ctx.scope)
    })
}

/// The longest timeout or pause squall takes: a year, in seconds. Longer
/// values are refused when the experiment is validated (a typo such as
/// `1e300` would otherwise never end).
pub const MAX_SECONDS: f64 = 365.0 * 86_400.0;

/// Checks a number of seconds (`timeout`, `pauses.before`): a number or a
/// numeric string from 0 to [`MAX_SECONDS`], or a `${...}` template that
/// is checked when substituted.
pub fn check_seconds(path: &str, what: &str, v: &Value, add: &mut dyn FnMut(&str, String)) {
    if v.as_str().is_some_and(crate::validate::is_pattern) {
        return;
    }
    let f = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match f {
        None => add(path, format!("{what} must be a number of seconds, got {v}")),
        Some(f) if !(0.0..=MAX_SECONDS).contains(&f) => add(
            path,
            format!("{what} must be between 0 and {MAX_SECONDS} seconds (a year), got {v}"),
        ),
        Some(_) => {}
    }
}

/// A provider timeout in seconds (a number, or a numeric string); values
/// beyond [`MAX_SECONDS`] are held to it (validation refuses them first).
pub(crate) fn seconds(v: &Value) -> Option<std::time::Duration> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (f.is_finite() && f >= 0.0).then(|| std::time::Duration::from_secs_f64(f.min(MAX_SECONDS)))
}
