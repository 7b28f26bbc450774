//! The `python` provider: calls `module.func(**arguments)` in a Python
//! interpreter (`$SQUALL_PYTHON`, else `python3`), so the existing extension
//! ecosystem (chaostoolkit-kubernetes, -aws, ...) keeps working wherever
//! Python and the extension are installed. `configuration` and `secrets` are
//! injected as chaoslib does; an exception fails the activity.

use std::process::Stdio;

use serde_json::{Map, Value, json};
use tokio::io::AsyncWriteExt;

use super::{Context, ProviderError};

/// The shim run by the interpreter: reads the call on stdin, writes the
/// result (or the exception) as one JSON document on fd 3-free stdout after
/// redirecting the function's own prints to stderr.
const SHIM: &str = r#"
import importlib, inspect, json, sys
req = json.load(sys.stdin)
out = sys.stdout
sys.stdout = sys.stderr
try:
    mod = importlib.import_module(req["module"])
    func = getattr(mod, req["func"], None)
    if func is None:
        raise AttributeError("The python module '%s' does not expose a function called '%s'" % (req["module"], req["func"]))
    args = dict(req["arguments"] or {})
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        params = {}
    if "configuration" in params:
        args["configuration"] = req["configuration"]
    if "secrets" in params and req["secret_scopes"]:
        args["secrets"] = req["secrets"]
    result = func(**args)
    text = json.dumps({"ok": result})
except BaseException as e:
    t = type(e)
    name = t.__name__ if t.__module__ == "builtins" else t.__module__ + "." + t.__name__
    text = json.dumps({"error": "%s: %s" % (name, e)})
out.write(text)
out.flush()
"#;

/// Calls the provider's `module.func(**arguments)` in a Python interpreter
/// and returns its result.
pub async fn run(p: &Value, ctx: &Context) -> Result<Value, ProviderError> {
    let scopes: Vec<&str> = p
        .get("secrets")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut secrets = Map::new();
    for s in &scopes {
        if let Some(Value::Object(m)) = ctx.scope.secrets.get(*s) {
            secrets.extend(m.clone());
        }
    }
    let req = json!({
        "module": p.get("module").cloned().unwrap_or(Value::Null),
        "func": p.get("func").cloned().unwrap_or(Value::Null),
        "arguments": super::arguments(p, ctx).unwrap_or(Value::Null),
        "configuration": ctx.scope.configuration,
        "secrets": secrets,
        "secret_scopes": !scopes.is_empty(),
    });
    let python = if ctx.python.is_empty() {
        "python3"
    } else {
        ctx.python.as_str()
    };
    let mut child = tokio::process::Command::new(python)
        .arg("-c")
        .arg(SHIM)
        .envs(&ctx.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            ProviderError::Failed(format!(
                "the python provider needs a Python interpreter ('{python}', set SQUALL_PYTHON to choose one): {e}"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(req.to_string().as_bytes()).await;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| ProviderError::Failed(format!("python provider: {e}")))?;
    let reply: Value = serde_json::from_slice(&out.stdout).map_err(|_| {
        ProviderError::Failed(format!(
            "python provider: the interpreter '{python}' exited with {} without a result",
            out.status
        ))
    })?;
    match reply {
        Value::Object(mut m) => match (m.remove("ok"), m.remove("error")) {
            (Some(v), _) => Ok(v),
            (_, Some(Value::String(e))) => Err(ProviderError::Failed(e)),
            _ => Err(ProviderError::Failed(
                "python provider: malformed reply".into(),
            )),
        },
        _ => Err(ProviderError::Failed(
            "python provider: malformed reply".into(),
        )),
    }
}

/// The interpreter for `python` providers: `$SQUALL_PYTHON`, else `python3`.
pub fn interpreter() -> String {
    std::env::var("SQUALL_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_a_function_and_reports_exceptions() {
        let ctx = Context::default();
        let p = json!({"type": "python", "module": "os.path", "func": "join", "arguments": {"a": "x", "p": "y"}});
        // os.path.join(a, *p): keyword `p` is not accepted, which is chaoslib's behaviour too.
        assert!(matches!(run(&p, &ctx).await, Err(ProviderError::Failed(_))));
        let p = json!({"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}});
        assert_eq!(run(&p, &ctx).await.unwrap(), json!(true));
        let p = json!({"type": "python", "module": "no_such_module_squall", "func": "f"});
        let e = run(&p, &ctx).await.unwrap_err().to_string();
        assert!(e.starts_with("ModuleNotFoundError"), "{e}");
    }
}
