//! `--var NAME[:TYPE]=VALUE` and `--var-file FILE`, as `chaos run` reads them.
//!
//! A `.json`/`.yaml` var-file holds `{configuration, secrets}`; any other file
//! is a `.env` file whose `K=V` lines feed `type: env` entries and child
//! processes. chaoslib puts those in `os.environ`; squall keeps them in an
//! overlay ([`Vars::env`]) that it consults first and hands to every process.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

/// Overrides collected from the command line.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    /// Configuration values; they replace only keys the experiment declares.
    pub configuration: Map<String, Value>,
    /// Secret scopes; each replaces the experiment's scope of that name entirely.
    pub secrets: Map<String, Value>,
    /// Environment entries from `.env` var-files.
    pub env: BTreeMap<String, String>,
}

/// A `--var` or `--var-file` that cannot be used (exit code 2, like click).
#[derive(Debug, thiserror::Error)]
pub enum VarError {
    #[error("invalid --var '{0}': expected NAME=VALUE or NAME:TYPE=VALUE")]
    /// A `--var` without `=` or without a name.
    Format(String),
    /// A `--var` whose value does not convert to its type.
    #[error("invalid --var '{var}': {why}")]
    Convert {
        /// The `--var` as given.
        var: String,
        /// Why the value does not convert.
        why: String,
    },
    /// A `--var-file` that cannot be read.
    #[error("--var-file '{0}' does not exist")]
    MissingFile(String),
}

impl Vars {
    /// Reads one `--var`.
    pub fn add_var(&mut self, spec: &str) -> Result<(), VarError> {
        let (key, raw) = spec
            .split_once('=')
            .ok_or_else(|| VarError::Format(spec.into()))?;
        let (name, ty) = match key.rsplit_once(':') {
            Some((n, t)) => (n, t),
            None => (key, "str"),
        };
        if name.is_empty() {
            return Err(VarError::Format(spec.into()));
        }
        let v = convert(raw, ty).map_err(|why| VarError::Convert {
            var: spec.into(),
            why,
        })?;
        self.configuration.insert(name.into(), v);
        Ok(())
    }

    /// Reads one `--var-file`. A file that cannot be parsed is skipped with a
    /// warning (returned), as chaos does; a missing one is an error.
    pub fn add_file(&mut self, path: &Path) -> Result<Option<String>, VarError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|_| VarError::MissingFile(shown.clone()))?;
        let lower = shown.to_ascii_lowercase();
        let doc = if lower.ends_with(".json") {
            serde_json::from_str::<Value>(&text).map_err(|e| e.to_string())
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            crate::load::parse_yaml(&shown, &text).map_err(|e| e.to_string())
        } else {
            for line in text.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if let Some((k, v)) = line.split_once('=') {
                    let v = v.trim().trim_matches('"').trim_matches('\'');
                    self.env.insert(k.trim().into(), v.into());
                }
            }
            return Ok(None);
        };
        let doc = match doc {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Ok(Some(format!("var-file {shown} is not a mapping; ignored"))),
            Err(e) => return Ok(Some(format!("cannot parse var-file {shown}: {e}; ignored"))),
        };
        let mut file_config = Map::new();
        if let Some(Value::Object(c)) = doc.get("configuration") {
            file_config = c.clone();
        }
        // `--var` beats var-file configuration, whatever the order on the command line.
        for (k, v) in file_config {
            self.configuration.entry(k).or_insert(v);
        }
        if let Some(Value::Object(s)) = doc.get("secrets") {
            for (k, v) in s {
                self.secrets.insert(k.clone(), v.clone());
            }
        }
        Ok(None)
    }

    /// An environment variable: the overlay first, then the process environment.
    pub fn env_var(&self, key: &str) -> Option<String> {
        self.env
            .get(key)
            .cloned()
            .or_else(|| std::env::var(key).ok())
    }
}

/// Converts a `--var` value to its declared type.
fn convert(raw: &str, ty: &str) -> Result<Value, String> {
    match ty {
        "str" | "string" | "bytes" => Ok(Value::String(raw.into())),
        "int" | "integer" => raw
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("'{raw}' is not a valid integer")),
        "float" | "number" => raw
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("'{raw}' is not a valid float")),
        // chaoslib: false, 0 and no (any case) are false, anything else is true.
        "bool" => Ok(Value::Bool(!matches!(
            raw.to_ascii_lowercase().as_str(),
            "false" | "0" | "no"
        ))),
        "json" if raw.is_empty() => Ok(Value::String(String::new())),
        "json" => serde_json::from_str(raw).map_err(|e| format!("invalid JSON: {e}")),
        _ => Err("variable type can only be: bool, str, int, float, bytes or json".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_vars() {
        let mut v = Vars::default();
        v.add_var("a=1").unwrap();
        v.add_var("b:int=2").unwrap();
        v.add_var("c:bool=yes").unwrap();
        v.add_var("f:bool=No").unwrap();
        v.add_var("d:json={\"x\":[1]}").unwrap();
        v.add_var("e=x=y").unwrap();
        assert_eq!(
            Value::Object(v.configuration),
            json!({"a": "1", "b": 2, "c": true, "f": false, "d": {"x": [1]}, "e": "x=y"})
        );
    }

    #[test]
    fn bad_vars_are_refused() {
        let mut v = Vars::default();
        assert!(matches!(v.add_var("novalue"), Err(VarError::Format(_))));
        assert!(matches!(
            v.add_var("x:int=abc"),
            Err(VarError::Convert { .. })
        ));
        assert!(matches!(
            v.add_file(Path::new("/nonexistent/vars.json")),
            Err(VarError::MissingFile(_))
        ));
    }

    #[test]
    fn var_files_json_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("v.json");
        std::fs::write(
            &j,
            r#"{"configuration":{"a":1,"b":2},"secrets":{"s":{"k":"v"}}}"#,
        )
        .unwrap();
        let e = dir.path().join("v.env");
        std::fs::write(&e, "# comment\nSQUALL_X=1\n").unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{").unwrap();
        let mut v = Vars::default();
        v.add_var("a=cli").unwrap();
        v.add_file(&j).unwrap();
        v.add_file(&e).unwrap();
        assert!(v.add_file(&bad).unwrap().is_some());
        assert_eq!(v.configuration["a"], json!("cli"));
        assert_eq!(v.configuration["b"], json!(2));
        assert_eq!(v.secrets["s"], json!({"k": "v"}));
        assert_eq!(v.env_var("SQUALL_X").as_deref(), Some("1"));
    }
}
