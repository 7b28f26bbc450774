//! Configuration and secrets as chaoslib loads them at run start: plain
//! values, `type: env` entries with defaults and `env_var_type`, `--var`
//! overrides for declared keys, var-file secret scopes replacing whole scopes.

use serde_json::{Map, Value};

use crate::substitute::Scope;
use crate::vars::Vars;

/// Configuration or secrets that cannot be loaded.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("Configuration makes reference to an environment key that does not exist: {0}")]
    /// A `type: env` configuration entry names an unset variable and has no default.
    MissingConfigEnv(String),
    #[error("Secrets make reference to an environment key that does not exist: {0}")]
    /// A `type: env` secret names an unset variable.
    MissingSecretEnv(String),
    #[error("configuration '{key}': cannot convert to {ty}: {value}")]
    /// A configuration value cannot be converted to its `env_var_type`.
    Convert {
        /// The configuration key.
        key: String,
        /// The `env_var_type` asked for.
        ty: String,
        /// The value that would not convert.
        value: String,
    },
    #[error("secret '{0}': vault secrets are not supported by squall")]
    /// A `type: vault` secret (the key is given), which squall does not support.
    Vault(String),
}

/// Loads both, in chaoslib's order (configuration first, secrets second).
pub fn load(experiment: &Value, vars: &Vars) -> Result<Scope, ConfigError> {
    let configuration = load_configuration(experiment.get("configuration"), vars)?;
    let secrets = load_secrets(experiment.get("secrets"), vars)?;
    Ok(Scope {
        configuration,
        secrets,
    })
}

/// The configuration section with env entries resolved and `--var` applied.
pub fn load_configuration(
    section: Option<&Value>,
    vars: &Vars,
) -> Result<Map<String, Value>, ConfigError> {
    let mut out = Map::new();
    let Some(Value::Object(m)) = section else {
        return Ok(out);
    };
    for (key, value) in m {
        if let Some(v) = vars.configuration.get(key) {
            out.insert(key.clone(), v.clone());
            continue;
        }
        match value {
            Value::Object(e) if e.get("type").and_then(Value::as_str) == Some("env") => {
                let env_key = e.get("key").and_then(Value::as_str).unwrap_or_default();
                let raw = match vars.env_var(env_key) {
                    Some(s) => Value::String(s),
                    None => match e.get("default") {
                        Some(d) => d.clone(),
                        None => return Err(ConfigError::MissingConfigEnv(env_key.into())),
                    },
                };
                let ty = e.get("env_var_type").and_then(Value::as_str);
                out.insert(key.clone(), convert(key, raw, ty)?);
            }
            other => {
                out.insert(key.clone(), other.clone());
            }
        }
    }
    Ok(out)
}

/// The secrets section: each scope from a var-file, or each key resolved.
pub fn load_secrets(
    section: Option<&Value>,
    vars: &Vars,
) -> Result<Map<String, Value>, ConfigError> {
    let mut out = Map::new();
    if let Some(Value::Object(scopes)) = section {
        for (scope, keys) in scopes {
            if let Some(v) = vars.secrets.get(scope) {
                out.insert(scope.clone(), v.clone());
                continue;
            }
            let mut resolved = Map::new();
            if let Value::Object(keys) = keys {
                for (k, v) in keys {
                    resolved.insert(k.clone(), secret_value(k, v, vars)?);
                }
            }
            out.insert(scope.clone(), Value::Object(resolved));
        }
    }
    for (scope, v) in &vars.secrets {
        out.entry(scope.clone()).or_insert_with(|| v.clone());
    }
    Ok(out)
}

fn secret_value(key: &str, v: &Value, vars: &Vars) -> Result<Value, ConfigError> {
    let Value::Object(e) = v else {
        return Ok(v.clone());
    };
    match e.get("type").and_then(Value::as_str) {
        Some("env") => {
            let env_key = e.get("key").and_then(Value::as_str).unwrap_or_default();
            vars.env_var(env_key)
                .map(Value::String)
                .ok_or_else(|| ConfigError::MissingSecretEnv(env_key.into()))
        }
        Some("vault") => Err(ConfigError::Vault(key.into())),
        _ => Ok(v.clone()),
    }
}

/// `env_var_type`, applied to the env value or to the default.
fn convert(key: &str, raw: Value, ty: Option<&str>) -> Result<Value, ConfigError> {
    let Some(ty) = ty else { return Ok(raw) };
    let text = match &raw {
        Value::String(s) => s.clone(),
        other => crate::pyrepr::py_str(other),
    };
    let fail = || ConfigError::Convert {
        key: key.into(),
        ty: ty.into(),
        value: text.clone(),
    };
    Ok(match ty {
        "str" | "string" | "bytes" => Value::String(text.clone()),
        "int" | "integer" => Value::from(text.trim().parse::<i64>().map_err(|_| fail())?),
        "float" | "number" => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(fail)?,
        "bool" => Value::Bool(!matches!(
            text.to_ascii_lowercase().as_str(),
            "false" | "0" | "no"
        )),
        "json" => serde_json::from_str(&text).map_err(|_| fail())?,
        _ => raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn env_entries_defaults_types_and_overrides() {
        let exp = json!({"configuration": {
            "plain": {"a": 1},
            "port": {"type": "env", "key": "SQUALL_TEST_UNSET_X", "default": "8080", "env_var_type": "int"},
            "flag": {"type": "env", "key": "SQUALL_TEST_FLAG", "env_var_type": "bool"},
            "over": "x"
        }});
        let mut vars = Vars::default();
        vars.env.insert("SQUALL_TEST_FLAG".into(), "No".into());
        vars.add_var("over=y").unwrap();
        vars.add_var("undeclared=z").unwrap();
        let s = load(&exp, &vars).unwrap();
        assert_eq!(
            Value::Object(s.configuration),
            json!({"plain": {"a": 1}, "port": 8080, "flag": false, "over": "y"})
        );
    }

    #[test]
    fn missing_env_without_default_is_an_error() {
        let exp = json!({"configuration": {"x": {"type": "env", "key": "SQUALL_TEST_UNSET_Y"}}});
        assert_eq!(
            load(&exp, &Vars::default()).unwrap_err(),
            ConfigError::MissingConfigEnv("SQUALL_TEST_UNSET_Y".into())
        );
        let exp = json!({"secrets": {"s": {"x": {"type": "env", "key": "SQUALL_TEST_UNSET_Z"}}}});
        assert!(matches!(
            load(&exp, &Vars::default()),
            Err(ConfigError::MissingSecretEnv(_))
        ));
    }

    #[test]
    fn a_var_file_scope_replaces_the_whole_scope() {
        let exp = json!({"secrets": {"sc": {"a": "1", "b": {"type": "env", "key": "SQUALL_TEST_UNSET_W"}}}});
        let mut vars = Vars::default();
        vars.secrets.insert("sc".into(), json!({"tok": "x"}));
        let s = load(&exp, &vars).unwrap();
        assert_eq!(Value::Object(s.secrets), json!({"sc": {"tok": "x"}}));
    }
}
