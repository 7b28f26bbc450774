//! Activity references (`{"ref": "name"}` in a method or rollbacks):
//! which names a reference can point at, and an entry with its reference
//! resolved. Shared by validation and the run, so neither imports the
//! other.

use std::collections::HashMap;

use serde_json::Value;

/// Activities a `ref` can name: method activities, then hypothesis probes
/// (so a probe wins a name clash, as in chaoslib's cache).
pub fn activity_names(exp: &Value) -> HashMap<String, Value> {
    let mut names = HashMap::new();
    let method = exp
        .get("method")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let probes = exp
        .pointer("/steady-state-hypothesis/probes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for a in method.chain(probes) {
        if a.get("ref").is_none()
            && let Some(n) = a.get("name").and_then(Value::as_str)
        {
            names.insert(n.to_string(), a.clone());
        }
    }
    names
}

/// A method or rollback entry with its `ref` resolved; the `background`
/// flag comes from the entry that holds the ref.
pub(crate) fn resolve(a: &Value, names: &HashMap<String, Value>) -> Option<(Value, bool)> {
    let background = a
        .get("background")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match a.get("ref").and_then(Value::as_str) {
        Some(r) => names.get(r).map(|t| (t.clone(), background)),
        None => Some((a.clone(), background)),
    }
}
