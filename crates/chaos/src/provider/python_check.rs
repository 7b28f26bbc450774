//! Validation of `python` activities, as chaoslib does it: the module must
//! import, expose a function (or builtin) of that name, and accept the
//! activity's arguments. One interpreter checks every activity at once.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::validate::Issue;

const SHIM: &str = r#"
import importlib, inspect, json, sys
out = []
for a in json.load(sys.stdin):
    err = None
    try:
        mod = importlib.import_module(a["module"])
    except Exception:
        out.append("could not find Python module '%s' in activity '%s'" % (a["module"], a["name"]))
        continue
    members = dict(inspect.getmembers(mod, inspect.isfunction))
    members.update(inspect.getmembers(mod, inspect.isbuiltin))
    cb = members.get(a["func"])
    if cb is None:
        err = "The python module '%s' does not expose a function called '%s' in %s '%s'" % (a["module"], a["func"], a["type"], a["name"])
    else:
        try:
            sig = inspect.signature(cb)
            args = dict(a["arguments"] or {})
            for k in ("secrets", "configuration"):
                if k in sig.parameters:
                    args[k] = None
            sig.bind(**args)
        except TypeError as x:
            msg = str(x)
            if "missing" in msg:
                err = "required argument %s is missing from activity '%s'" % (msg.rsplit(":", 1)[1].strip(), a["func"])
            elif "unexpected" in msg:
                err = "argument %s is not part of the function signature in activity '%s'" % (msg.rsplit(" ", 1)[1].strip(), a["func"])
            else:
                err = msg
        except ValueError:
            pass
    out.append(err)
sys.stdout.write(json.dumps(out))
"#;

/// Every `python` activity of the experiment with its field path.
fn python_activities(exp: &Value) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    let mut visit = |path: String, a: &Value| {
        if a.pointer("/provider/type").and_then(Value::as_str) == Some("python") {
            let name = a.get("name").and_then(Value::as_str).unwrap_or_default();
            found.push((format!("{path}({name}).provider"), a.clone()));
        }
    };
    for (key, ptr) in [
        (
            "steady-state-hypothesis.probes",
            "/steady-state-hypothesis/probes",
        ),
        ("method", "/method"),
        ("rollbacks", "/rollbacks"),
    ] {
        for (i, a) in exp
            .pointer(ptr)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            visit(format!("{key}[{i}]"), a);
        }
    }
    found
}

/// Checks the python activities with `python`. `Err` when the interpreter
/// cannot be run: the caller warns and the activities fail at run time instead.
pub fn check(exp: &Value, python: &str) -> Result<Vec<Issue>, String> {
    let acts = python_activities(exp);
    let checkable: Vec<_> = acts
        .iter()
        .filter(|(_, a)| {
            a.pointer("/provider/module").is_some_and(Value::is_string)
                && a.pointer("/provider/func").is_some_and(Value::is_string)
        })
        .collect();
    if checkable.is_empty() {
        return Ok(Vec::new());
    }
    let input: Vec<Value> = checkable
        .iter()
        .map(|(_, a)| {
            json!({
                "module": a["provider"]["module"], "func": a["provider"]["func"],
                "arguments": a["provider"].get("arguments").filter(|v| v.is_object()).cloned().unwrap_or(Value::Null),
                "type": a.get("type").cloned().unwrap_or(Value::Null),
                "name": a.get("name").cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    let mut child = Command::new(python)
        .arg("-c")
        .arg(SHIM)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("cannot run the Python interpreter '{python}' (set SQUALL_PYTHON): {e}")
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(Value::Array(input).to_string().as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let results: Vec<Option<String>> = serde_json::from_slice(&out.stdout).map_err(|_| {
        format!("the Python interpreter '{python}' could not check the python activities")
    })?;
    Ok(checkable
        .iter()
        .zip(results)
        .filter_map(|((path, _), r)| r.map(|message| Issue::at(path.clone(), message)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_functions_and_signatures_are_checked() {
        let exp = json!({"method": [
            {"type": "action", "name": "ok", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}},
            {"type": "action", "name": "nomod", "provider": {"type": "python", "module": "no_such_mod_squall", "func": "f"}},
            {"type": "action", "name": "nofunc", "provider": {"type": "python", "module": "os.path", "func": "nope"}},
            {"type": "probe", "name": "missing-arg", "provider": {"type": "python", "module": "os.path", "func": "exists"}},
            {"type": "probe", "name": "extra-arg", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/", "x": 1}}}
        ]});
        let issues: Vec<String> = check(&exp, "python3")
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            issues,
            [
                "method[1](nomod).provider: could not find Python module 'no_such_mod_squall' in activity 'nomod'",
                "method[2](nofunc).provider: The python module 'os.path' does not expose a function called 'nope' in action 'nofunc'",
                "method[3](missing-arg).provider: required argument 'path' is missing from activity 'exists'",
                "method[4](extra-arg).provider: argument 'x' is not part of the function signature in activity 'exists'",
            ]
        );
        assert!(check(&exp, "/nonexistent/python").is_err());
    }
}
