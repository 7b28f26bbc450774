//! The `process` provider: run a program (argv list, or a string through
//! `/bin/sh`), capture `{status, stdout, stderr}`. A non-zero exit is not a
//! failure; a timeout is.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Value, json};

use super::{Context, ProviderError};
use crate::pyrepr::py_str;

/// Runs the program a `process` provider describes and returns
/// `{status, stdout, stderr}`.
pub async fn run(p: &Value, ctx: &Context) -> Result<Value, ProviderError> {
    let raw = p.get("path").and_then(Value::as_str).unwrap_or_default();
    let exe = resolve(raw)
        .ok_or_else(|| ProviderError::Error(format!("TypeError: path '{raw}' cannot be found")))?;
    let mut cmd = match super::arguments(p, ctx) {
        Some(Value::String(s)) => {
            let mut c = tokio::process::Command::new("/bin/sh");
            c.arg("-c").arg(format!("{} {s}", exe.display()));
            c
        }
        args => {
            let mut c = tokio::process::Command::new(&exe);
            c.args(argv(args.as_ref()));
            c
        }
    };
    cmd.envs(&ctx.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|e| ProviderError::Failed(format!("failed to run {}: {e}", exe.display())))?;
    let out = child.wait_with_output();
    let out = match p.get("timeout").and_then(super::seconds) {
        Some(t) => tokio::time::timeout(t, out).await.map_err(|_| {
            ProviderError::Failed("process activity took too long to complete".into())
        })?,
        None => out.await,
    }
    .map_err(|e| ProviderError::Failed(format!("failed to run {}: {e}", exe.display())))?;
    let status = match out.status.code() {
        Some(c) => c,
        None => {
            use std::os::unix::process::ExitStatusExt;
            -out.status.signal().unwrap_or(0)
        }
    };
    Ok(json!({
        "status": status,
        "stdout": decode(&out.stdout),
        "stderr": decode(&out.stderr),
    }))
}

/// List arguments through `str()`, `None` and `""` dropped; a dict (deprecated) flattened.
fn argv(args: Option<&Value>) -> Vec<String> {
    let keep = |v: &&Value| !(v.is_null() || v.as_str() == Some(""));
    match args {
        Some(Value::Array(a)) => a.iter().filter(keep).map(py_str).collect(),
        Some(Value::Object(m)) => m
            .iter()
            .flat_map(|(k, v)| [Value::String(k.clone()), v.clone()])
            .filter(|v| keep(&v))
            .map(|v| py_str(&v))
            .collect(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => vec![py_str(v)],
        _ => Vec::new(),
    }
}

/// UTF-8 where valid; otherwise bytes as Latin-1, so nothing is lost.
fn decode(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|&c| c as char).collect(),
    }
}

/// `shutil.which(expanduser(path))`: `~`, relative paths with a slash, PATH lookup.
pub fn resolve(path: &str) -> Option<PathBuf> {
    let expanded = match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(format!("{}{rest}", std::env::var("HOME").ok()?))
        }
        _ => PathBuf::from(path),
    };
    if expanded.to_string_lossy().contains('/') {
        return is_executable(&expanded).then_some(expanded);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(&expanded))
            .find(|p| is_executable(p))
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context::default()
    }

    #[tokio::test]
    async fn list_arguments_go_through_str_and_empties_are_dropped() {
        let p =
            json!({"type": "process", "path": "echo", "arguments": ["a", 3, true, 1.0, null, ""]});
        let out = run(&p, &ctx()).await.unwrap();
        assert_eq!(
            out,
            json!({"status": 0, "stdout": "a 3 True 1.0\n", "stderr": ""})
        );
    }

    #[tokio::test]
    async fn string_arguments_go_through_the_shell() {
        let p = json!({"type": "process", "path": "echo", "arguments": "'a  b' | tr a x; exit 3"});
        let out = run(&p, &ctx()).await.unwrap();
        assert_eq!(out, json!({"status": 3, "stdout": "x  b\n", "stderr": ""}));
    }

    #[tokio::test]
    async fn a_timeout_fails_and_a_signal_is_a_negative_status() {
        let p = json!({"type": "process", "path": "sleep", "arguments": ["5"], "timeout": 0.1});
        let e = run(&p, &ctx()).await.unwrap_err();
        assert_eq!(
            e,
            ProviderError::Failed("process activity took too long to complete".into())
        );
        let p = json!({"type": "process", "path": "sh", "arguments": ["-c", "kill -9 $$"]});
        assert_eq!(run(&p, &ctx()).await.unwrap()["status"], json!(-9));
    }

    #[test]
    fn paths_resolve_like_which() {
        assert!(resolve("sh").is_some());
        assert!(resolve("/nonexistent/x").is_none());
        assert!(resolve("no-such-program-squall").is_none());
    }
}
