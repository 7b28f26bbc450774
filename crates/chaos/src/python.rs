//! Python's semantics on JSON values, as chaoslib applies them: truthiness,
//! `==` (numbers by value, bools as 0 and 1) and ordering (mixed kinds are a
//! `TypeError`). A leaf module: validation, tolerances and JSONPath filters
//! all use it.

use std::cmp::Ordering;

use serde_json::Value;

/// Python truthiness of an optional JSON value.
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
    }
}

/// Python `==` on JSON values: numbers by value with bools as 0 and 1.
pub fn py_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

/// Python's `TypeError` for `<`/`>` between values of different kinds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotComparable(pub String);

/// Python `<`/`>` on JSON values; mixed kinds are a `TypeError`.
pub fn py_cmp(a: &Value, b: &Value) -> Result<Ordering, NotComparable> {
    compare(a, b).map_err(NotComparable)
}

fn compare(a: &Value, b: &Value) -> Result<Ordering, String> {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return x.partial_cmp(&y).ok_or_else(|| "NaN".to_string());
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                if !py_eq(p, q) {
                    return compare(p, q);
                }
            }
            Ok(x.len().cmp(&y.len()))
        }
        _ => Err(format!(
            "'<=' not supported between instances of '{}' and '{}'",
            py_type(a),
            py_type(b)
        )),
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

pub(crate) fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}
