//! Reading an experiment named by a suite: a file (relative to the suite
//! file), an `http(s)://` URL or an `s3://bucket/key` object, at most
//! 1 MiB, as UTF-8 text.

use std::path::Path;
use std::time::Duration;

use crate::store::{S3Settings, Store};

/// The largest experiment read.
pub const MAX_EXPERIMENT: usize = 1024 * 1024;

/// The experiment's text and the name it is reported under.
pub async fn read(source: &str, base: &Path, s3: &S3Settings) -> Result<(String, String), String> {
    let (name, bytes) = if let Some(rest) = source.strip_prefix("s3://") {
        let (bucket, key) = rest
            .split_once('/')
            .ok_or_else(|| format!("{source}: expected s3://bucket/key"))?;
        let store = Store::open(&format!("s3://{bucket}"), s3).map_err(|e| e.to_string())?;
        let bytes = store
            .get(key)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{source}: no such object"))?;
        (source.to_string(), bytes)
    } else if source.starts_with("http://") || source.starts_with("https://") {
        (source.to_string(), fetch(source).await?)
    } else {
        let path = base.join(source);
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        (path.display().to_string(), bytes)
    };
    if bytes.len() > MAX_EXPERIMENT {
        return Err(format!("{name}: larger than {MAX_EXPERIMENT} bytes"));
    }
    let text = String::from_utf8(bytes).map_err(|e| format!("{name}: not UTF-8 text: {e}"))?;
    Ok((name, text))
}

async fn fetch(url: &str) -> Result<Vec<u8>, String> {
    // No redirects: a server checks the URL's host before it reads it,
    // and a redirect would take it elsewhere.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("{url}: {e}"))?;
    let mut r = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if r.status().is_redirection() {
        return Err(format!(
            "{url}: HTTP {} (redirects are not followed; give the final URL)",
            r.status()
        ));
    }
    if !r.status().is_success() {
        return Err(format!("{url}: HTTP {}", r.status()));
    }
    let mut out = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| format!("{url}: {e}"))? {
        out.extend_from_slice(&chunk);
        if out.len() > MAX_EXPERIMENT {
            return Err(format!("{url}: larger than {MAX_EXPERIMENT} bytes"));
        }
    }
    Ok(out)
}

/// The document with Chaos Toolkit configuration keys overridden (as
/// `chaos run --var` does: only keys the experiment declares).
pub fn with_vars(
    text: &str,
    vars: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Result<String, Vec<String>> {
    if vars.is_empty() {
        return Ok(text.to_string());
    }
    let json = text.trim_start().starts_with('{');
    let mut doc: serde_json::Value = if json {
        serde_json::from_str(text).map_err(|e| vec![format!("not JSON: {e}")])?
    } else {
        yaml_serde::from_str(text).map_err(|e| vec![format!("not YAML: {e}")])?
    };
    let Some(config) = doc.get_mut("configuration").and_then(|c| c.as_object_mut()) else {
        return Err(vars
            .keys()
            .map(|k| format!("vars.{k}: the experiment has no `configuration` section to override"))
            .collect());
    };
    let mut errors = Vec::new();
    for (k, v) in vars {
        match config.get_mut(k) {
            Some(slot) => *slot = v.clone(),
            None => errors.push(format!(
                "vars.{k}: the experiment's configuration declares no {k:?} (it has: {})",
                config.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(if json {
        serde_json::to_string_pretty(&doc).expect("plain data")
    } else {
        yaml_serde::to_string(&doc).map_err(|e| vec![e.to_string()])?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_override_declared_configuration_only() {
        let vars = [("delay".to_string(), serde_json::json!(300))]
            .into_iter()
            .collect();
        let out = with_vars("title: t\nconfiguration:\n  delay: 10\n", &vars).unwrap();
        assert!(out.contains("delay: 300"), "{out}");
        let e = with_vars("title: t\nconfiguration: {other: 1}\n", &vars).unwrap_err();
        assert!(
            e[0].starts_with("vars.delay:") && e[0].contains("other"),
            "{e:?}"
        );
        assert!(with_vars("title: t\n", &vars).is_err());
    }
}
