//! `within_tolerance`: whether a probe's output meets its tolerance, with
//! Python's comparison rules (chaoslib dispatches on the tolerance's type;
//! `True == 1`; an int or list tolerance looks at a dict's `status`).

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::jsonpath;
use crate::python::{py_cmp, py_eq, py_type};

/// What a tolerance says about a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The tolerance was evaluated directly: whether the value meets it.
    Met(bool),
    /// A `type: probe` tolerance: run this activity (the value is already in
    /// its `arguments.value`) and the verdict is whether it succeeds truthily.
    Probe(Value),
}

/// A comparison Python would refuse (a `TypeError`), which makes chaos crash;
/// squall ends the run as `aborted` instead.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("TypeError: {0}")]
pub struct ToleranceError(pub String);

/// Evaluates an already-substituted tolerance against a probe's output.
pub fn within(tol: &Value, value: &Value) -> Result<Verdict, ToleranceError> {
    let met = match tol {
        Value::Bool(_) => py_eq(value, tol),
        Value::Number(_) => match status_of(value) {
            Some(s) => py_eq(s, tol),
            None => py_eq(value, tol),
        },
        Value::String(_) => py_eq(value, tol),
        Value::Array(items) => {
            if let Some(s) = status_of(value) {
                items.iter().any(|i| py_eq(s, i))
            } else if items.len() == 2 {
                py_cmp(&items[0], value).map_err(|e| ToleranceError(e.0))? != Ordering::Greater
                    && py_cmp(value, &items[1]).map_err(|e| ToleranceError(e.0))?
                        != Ordering::Greater
            } else {
                items.iter().any(|i| py_eq(value, i))
            }
        }
        Value::Object(m) => return dict_tolerance(m, value),
        Value::Null => py_eq(value, tol),
    };
    Ok(Verdict::Met(met))
}

fn dict_tolerance(m: &Map<String, Value>, value: &Value) -> Result<Verdict, ToleranceError> {
    let ty = m.get("type").and_then(Value::as_str).unwrap_or_default();
    if ty == "probe" {
        let mut probe = Value::Object(m.clone());
        let args = probe
            .pointer_mut("/provider/arguments")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| ToleranceError("probe tolerance has no provider arguments".into()))?;
        args.insert("value".into(), value.clone());
        return Ok(Verdict::Probe(probe));
    }
    let target = match (m.get("target").and_then(Value::as_str), value) {
        (Some(t), Value::Object(o)) => o.get(t).unwrap_or(value),
        _ => value,
    };
    let met = match ty {
        "regex" => {
            let pattern = m.get("pattern").and_then(Value::as_str).unwrap_or_default();
            let Value::String(s) = target else {
                return Err(ToleranceError(format!(
                    "expected string or bytes-like object, got {}",
                    py_type(target)
                )));
            };
            regex::Regex::new(pattern)
                .map_err(|e| ToleranceError(format!("invalid pattern: {e}")))?
                .is_match(s)
        }
        "jsonpath" => {
            let path = m.get("path").and_then(Value::as_str).unwrap_or_default();
            let parsed;
            let doc = match target {
                Value::String(s) => match serde_json::from_str::<Value>(s) {
                    Ok(v) => {
                        parsed = v;
                        &parsed
                    }
                    Err(_) => target,
                },
                other => other,
            };
            let p = jsonpath::Path::parse(path)
                .map_err(|e| ToleranceError(format!("JSON path {path} is invalid: {e}")))?;
            let values = p.find(doc);
            if let Some(expect) = m.get("expect") {
                let expect = match expect {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                values.len() == expect.len() && values.iter().zip(&expect).all(|(a, b)| py_eq(a, b))
            } else if let Some(count) = m.get("count") {
                count.as_f64() == Some(values.len() as f64)
            } else {
                !values.is_empty()
            }
        }
        "range" => {
            let bounds = m
                .get("range")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let v = match target {
                Value::Number(n) => n.as_f64(),
                Value::Bool(b) => Some(f64::from(u8::from(*b))),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                other => {
                    return Err(ToleranceError(format!(
                        "conversion from {} to Decimal is not supported",
                        py_type(other)
                    )));
                }
            };
            match (
                v,
                bounds.first().and_then(Value::as_f64),
                bounds.get(1).and_then(Value::as_f64),
            ) {
                (Some(v), Some(lo), Some(hi)) => lo <= v && v <= hi,
                _ => false,
            }
        }
        other => {
            return Err(ToleranceError(format!(
                "unsupported tolerance type '{other}'"
            )));
        }
    };
    Ok(Verdict::Met(met))
}

/// An http or process result's `status` (chaoslib's "the tested value is that property").
fn status_of(v: &Value) -> Option<&Value> {
    v.as_object().and_then(|o| o.get("status"))
}

/// Validation of a tolerance (chaoslib's `ensure_hypothesis_tolerance_is_valid`).
pub fn check(path: &str, tol: &Value, add: &mut dyn FnMut(&str, String)) {
    match tol {
        Value::Bool(_) | Value::String(_) | Value::Array(_) => {}
        Value::Number(n) if !n.is_f64() => {}
        Value::Object(m) => check_dict(path, m, add),
        _ => add(
            path,
            "hypothesis probe tolerance must either be an integer, a string, a boolean or a pair of values for boundaries. It can also be a dictionary which is a probe activity definition that takes an argument called `value` with the value of the probe itself to be validated".into(),
        ),
    }
}

fn check_dict(path: &str, m: &Map<String, Value>, add: &mut dyn FnMut(&str, String)) {
    let ty = m.get("type").and_then(Value::as_str).unwrap_or_default();
    match ty {
        "probe" => {
            let mut is = Vec::new();
            crate::validate::check_activity_into(path, &Value::Object(m.clone()), &mut is);
            for i in is {
                add(i.path.as_deref().unwrap_or(""), i.message);
            }
        }
        "regex" => match m.get("pattern").and_then(Value::as_str) {
            None => add(
                path,
                "hypothesis regex probe tolerance must have a `pattern` key".into(),
            ),
            Some(p) if !p.contains("${") => {
                if let Err(e) = regex::Regex::new(p) {
                    let why = e
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                    add(
                        &format!("{path}.pattern"),
                        format!("hypothesis probe tolerance pattern {p} seems invalid: {why}"),
                    );
                }
            }
            Some(_) => {}
        },
        "jsonpath" => match m.get("path").and_then(Value::as_str) {
            None | Some("") => add(
                path,
                "hypothesis probe tolerance JSON path cannot be empty".into(),
            ),
            Some(p) if !p.contains("${") => {
                if jsonpath::Path::parse(p).is_err() {
                    add(
                        &format!("{path}.path"),
                        format!("hypothesis probe tolerance JSON path {p} is invalid"),
                    );
                }
            }
            Some(_) => {}
        },
        "range" => match m.get("range") {
            Some(Value::Array(r)) if r.len() != 2 => add(
                path,
                "hypothesis range sequence must be made of two values".into(),
            ),
            Some(Value::Array(r)) => {
                if !r.iter().all(Value::is_number) {
                    add(
                        path,
                        "hypothesis range lower boundary must be a number".into(),
                    );
                }
            }
            _ => add(path, "hypothesis range sequence must be a sequence".into()),
        },
        other => add(
            path,
            format!("hypothesis probe tolerance type '{other}' is unsupported"),
        ),
    }
}

#[cfg(test)]
mod tests;
