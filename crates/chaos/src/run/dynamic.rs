//! Dynamic configuration: a configuration value `{type: probe, provider}`
//! is run once, in declaration order, after secrets are loaded; later
//! entries can use `${earlier}`. As in chaoslib, the stored value is a
//! python provider's return value, a process's stripped stdout (exit 0
//! only) or an http body, and a failure drops the key with a warning.

use serde_json::Value;

use crate::event::Event;
use crate::provider::{self, Context};
use crate::vars::Vars;

/// Resolves the probe entries of `ctx.scope.configuration` in place.
pub(super) async fn resolve(
    exp: &Value,
    vars: &Vars,
    ctx: &mut Context,
    emit: &(dyn Fn(Event) + Send + Sync),
) {
    let Some(Value::Object(declared)) = exp.get("configuration") else {
        return;
    };
    for (key, v) in declared {
        let is_probe = v.get("type").and_then(Value::as_str) == Some("probe");
        if !is_probe || vars.configuration.contains_key(key) {
            continue;
        }
        let p = v.get("provider").cloned().unwrap_or(Value::Null);
        let kind = p
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let value = match provider::run(&p, ctx).await {
            Ok(out) => match kind.as_str() {
                "process" if out["status"] == 0 => Some(Value::String(
                    out["stdout"].as_str().unwrap_or_default().trim().into(),
                )),
                "process" => None,
                "http" => Some(out["body"].clone()),
                _ => Some(out),
            },
            Err(e) => {
                emit(Event::Warning(format!(
                    "dynamic configuration '{key}': {e}"
                )));
                None
            }
        };
        match value {
            Some(v) => {
                ctx.scope.configuration.insert(key.clone(), v);
            }
            None => {
                ctx.scope.configuration.shift_remove(key);
                emit(Event::Warning(format!(
                    "dynamic configuration '{key}' is unset"
                )));
            }
        }
    }
}
