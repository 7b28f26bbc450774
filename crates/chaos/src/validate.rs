//! Validation with chaoslib's checks and messages, but every problem at once
//! (chaoslib stops at the first), each located by its field path, e.g.
//! `method[2](stop-payment).provider: a HTTP activity must have a URL`.

use serde_json::{Map, Value};

use crate::python::truthy;
use crate::vars::Vars;

/// A problem with the experiment: the workspace's one shape
/// ([`squall_diag::Problem`]), its path a field path such as
/// `steady-state-hypothesis.probes[0].tolerance`.
pub type Issue = squall_diag::Problem;

#[derive(Default)]
struct Issues(Vec<Issue>);

impl Issues {
    fn add(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(Issue::at(path, message));
    }
}

/// Checks an experiment; `vars` supplies only the `.env` overlay, because
/// chaos validates before applying `--var` and var-file values.
pub fn validate(exp: &Value, vars: &Vars) -> Vec<Issue> {
    let mut is = Issues::default();
    let Some(doc) = exp.as_object().filter(|m| !m.is_empty()) else {
        is.add("", "an empty experiment is not an experiment");
        return is.0;
    };
    if !truthy(doc.get("title")) {
        is.add("title", "experiment requires a title");
    }
    if !truthy(doc.get("description")) {
        is.add("description", "experiment requires a description");
    }
    if let Some(tags) = doc.get("tags").and_then(Value::as_array) {
        for (i, t) in tags.iter().enumerate() {
            if t.as_str().is_none_or(str::is_empty) {
                is.add(
                    &format!("tags[{i}]"),
                    "experiment tags must be a non-empty string",
                );
            }
        }
    }
    if let Some(ext) = doc.get("extensions").and_then(Value::as_array) {
        for (i, e) in ext.iter().enumerate() {
            if !truthy(e.get("name")) {
                is.add(
                    &format!("extensions[{i}]"),
                    "All extensions require a non-empty name",
                );
            }
        }
    }
    let env_only = Vars {
        env: vars.env.clone(),
        ..Vars::default()
    };
    if let Err(e) = crate::config::load_configuration(doc.get("configuration"), &env_only) {
        is.add("configuration", e.to_string());
    }
    if let Err(e) = crate::config::load_secrets(doc.get("secrets"), &env_only) {
        is.add("secrets", e.to_string());
    }
    check_runtime(doc, &mut is);
    if let Some(ssh) = doc.get("steady-state-hypothesis") {
        check_hypothesis(ssh, &mut is);
    }
    match doc.get("method") {
        None => is.add(
            "method",
            "an experiment requires a method, which can be empty for only checking steady state hypothesis ",
        ),
        Some(Value::Array(acts)) => {
            let names = crate::references::activity_names(exp);
            for (i, a) in acts.iter().enumerate() {
                let path = format!("method[{i}]");
                check_activity(&path, a, true, &mut is);
                if let Some(r) = a.get("ref").and_then(Value::as_str)
                    && !r.is_empty()
                    && !names.contains_key(r)
                {
                    is.add(&path, format!("referenced activity '{r}' could not be found in the experiment"));
                }
            }
        }
        Some(_) => is.add("method", "the method must be a list of activities"),
    }
    if let Some(rb) = doc.get("rollbacks") {
        match rb.as_array() {
            Some(acts) => {
                for (i, a) in acts.iter().enumerate() {
                    check_activity(&format!("rollbacks[{i}]"), a, true, &mut is);
                }
            }
            None => is.add("rollbacks", "rollbacks must be a list of activities"),
        }
    }
    if let Some(ctrls) = doc.get("controls").and_then(Value::as_array) {
        for (i, c) in ctrls.iter().enumerate() {
            check_control(&format!("controls[{i}]"), c, &mut is);
        }
    }
    is.0
}

fn check_runtime(doc: &Map<String, Value>, is: &mut Issues) {
    let Some(rt) = doc.get("runtime") else { return };
    if let Some(s) = rt.pointer("/hypothesis/strategy").and_then(Value::as_str)
        && s.parse::<crate::HypothesisStrategy>().is_err()
    {
        is.add(
            "runtime.hypothesis.strategy",
            format!("'{s}' is not a valid hypothesis strategy"),
        );
    }
}

fn check_hypothesis(ssh: &Value, is: &mut Issues) {
    let p = "steady-state-hypothesis";
    if !truthy(ssh.get("title")) {
        is.add(p, "hypothesis requires a title");
    }
    let Some(probes) = ssh.get("probes").and_then(Value::as_array) else {
        return;
    };
    for (i, probe) in probes.iter().enumerate() {
        let path = format!("{p}.probes[{i}]");
        check_activity(&path, probe, false, is);
        let path = match probe.get("name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() => format!("{path}({n})"),
            _ => path,
        };
        match probe.get("tolerance") {
            None => is.add(&path, "hypothesis probe must have a tolerance entry"),
            Some(t) => {
                crate::tolerance::check(&format!("{path}.tolerance"), t, &mut |p, m| is.add(p, m))
            }
        }
    }
}

/// chaoslib's `ensure_activity_is_valid` plus the provider checks.
fn check_activity(path: &str, a: &Value, allow_ref: bool, is: &mut Issues) {
    let Some(m) = a.as_object().filter(|m| !m.is_empty()) else {
        is.add(path, "empty activity is no activity");
        return;
    };
    if allow_ref && let Some(r) = m.get("ref") {
        if r.as_str().is_none_or(str::is_empty) {
            is.add(path, "reference to activity must be non-empty strings");
        }
        return;
    }
    // `method[2](stop-payment)`: the index finds it, the name tells which it is.
    let located = match m.get("name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => format!("{path}({n})"),
        _ => path.to_string(),
    };
    let path = located.as_str();
    match m.get("type").and_then(Value::as_str) {
        None => is.add(path, "an activity must have a type"),
        Some("probe" | "action") => {}
        Some(t) => is.add(
            &format!("{path}.type"),
            format!("'{t}' is not a supported activity type"),
        ),
    }
    let name = m.get("name").and_then(Value::as_str).unwrap_or_default();
    if !truthy(m.get("name")) {
        is.add(path, "an activity must have a name");
    }
    if let Some(t) = m.get("timeout")
        && !t.is_number()
    {
        is.add(
            &format!("{path}.timeout"),
            "activity timeout must be a number",
        );
    }
    if let Some(p) = m.get("pauses") {
        for when in ["before", "after"] {
            let Some(v) = p.get(when) else { continue };
            if !(v.is_number() || v.as_str().is_some_and(is_pattern)) {
                is.add(
                    &format!("{path}.pauses.{when}"),
                    format!("activity {when} pause must be a number or a pattern to a variable from the configuration or secrets"),
                );
            } else {
                crate::provider::check_seconds(
                    &format!("{path}.pauses.{when}"),
                    &format!("activity {when} pause"),
                    v,
                    &mut |p, msg| is.add(p, msg),
                );
            }
        }
    }
    if let Some(b) = m.get("background")
        && !b.is_boolean()
    {
        is.add(
            &format!("{path}.background"),
            "activity background must be a boolean",
        );
    }
    match m.get("provider") {
        None => is.add(path, "an activity requires a provider"),
        Some(p) => crate::provider::check(&format!("{path}.provider"), name, p, &mut |p, msg| {
            is.add(p, msg)
        }),
    }
}

fn check_control(path: &str, c: &Value, is: &mut Issues) {
    let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
    if !truthy(c.get("name")) {
        is.add(path, "A control must have a `name` property");
    }
    if c.get("ref").is_none() && c.get("provider").is_none() {
        is.add(
            path,
            format!("Control '{name}' must have a `provider` property"),
        );
    }
    if let Some(s) = c.get("scope")
        && !matches!(s.as_str(), Some("before" | "after"))
    {
        is.add(
            &format!("{path}.scope"),
            format!("Control '{name}' scope property must be 'before' or 'after' only"),
        );
    }
}

/// `${...}`, the only string form a pause may take.
pub(crate) fn is_pattern(s: &str) -> bool {
    s.starts_with("${") && s.ends_with('}') && s.len() > 3
}

#[cfg(test)]
mod tests;

/// The activity checks alone, for tolerance probes.
pub(crate) fn check_activity_into(path: &str, a: &Value, out: &mut Vec<Issue>) {
    let mut is = Issues::default();
    check_activity(path, a, false, &mut is);
    out.extend(is.0);
}
