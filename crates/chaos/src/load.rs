//! Reading an experiment file: JSON for `.json`, YAML for `.yaml`/`.yml`,
//! as chaoslib decides by extension. Errors carry file, line and column.

use std::path::Path;

use serde_json::Value;

/// Why an experiment file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The source is neither an existing file nor a URL.
    #[error("Path \"{0}\" does not exist.")]
    Missing(String),
    /// The file exists but cannot be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file, as given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not valid JSON.
    #[error("{path}:{line}:{column}: invalid JSON: {message}")]
    Json {
        /// The file (or URL) the text came from.
        path: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's message, without its location.
        message: String,
    },
    /// The text is not valid YAML.
    #[error("{path}:{location} Failed parsing YAML experiment: {message}")]
    Yaml {
        /// The file (or URL) the text came from.
        path: String,
        /// `line:column:` of the error, or empty when unknown.
        location: String,
        /// The parser's message, without its location.
        message: String,
    },
    /// The file name ends in none of `.json`, `.yaml`, `.yml`.
    #[error("{0}: an experiment file must end in .json, .yaml or .yml")]
    Extension(String),
    /// A URL whose scheme is not `http` or `https`.
    #[error("'{0}' is not a supported source scheme.")]
    Scheme(String),
    /// The URL could not be fetched, or answered a status other than 200.
    #[error("Failed to fetch the experiment {url}: {why}")]
    Fetch {
        /// The URL.
        url: String,
        /// The connection error, or the status and body.
        why: String,
    },
    /// The URL's content type is neither JSON nor YAML (nor parseable text).
    #[error("{0}: only files with json, yaml or yml extensions are supported")]
    ContentType(String),
}

/// Loads an experiment from a file or an http(s) URL, as `chaos run SOURCE`
/// does: a URL is fetched with `Accept: application/json, application/x-yaml`
/// (and `CHAOSTOOLKIT_LOADER_AUTH_BEARER_TOKEN` as a bearer token), and parsed
/// by its content type.
pub async fn load_source(source: &str, verify_tls: bool) -> Result<Value, LoadError> {
    let path = Path::new(source);
    if path.exists() {
        return load_experiment(path);
    }
    let Some((scheme, _)) = source.split_once("://") else {
        return Err(LoadError::Missing(source.into()));
    };
    if scheme != "http" && scheme != "https" {
        return Err(LoadError::Scheme(scheme.into()));
    }
    let mut headers = vec![(
        "Accept".to_string(),
        "application/json, application/x-yaml".to_string(),
    )];
    if let Ok(token) = std::env::var("CHAOSTOOLKIT_LOADER_AUTH_BEARER_TOKEN") {
        headers.push(("Authorization".into(), format!("bearer {}", token.trim())));
    }
    let fetch = |why: String| LoadError::Fetch {
        url: source.into(),
        why,
    };
    let (status, ct, body) = crate::provider::http::get(source, headers, verify_tls)
        .await
        .map_err(fetch)?;
    let text = String::from_utf8_lossy(&body).into_owned();
    if status != 200 {
        return Err(fetch(format!("HTTP {status}: {text}")));
    }
    let ct = ct.unwrap_or_default();
    if ct.contains("application/json") {
        parse(&format!("{source}.json"), &text)
    } else if ct.contains("application/x-yaml") || ct.contains("text/yaml") {
        parse_yaml(source, &text)
    } else if ct.contains("text/plain") {
        serde_json::from_str(&text)
            .or_else(|_| parse_yaml(source, &text))
            .map_err(|_| LoadError::ContentType(source.into()))
    } else {
        Err(LoadError::ContentType(source.into()))
    }
}

/// Loads an experiment file into a JSON value, keeping key order.
pub fn load_experiment(path: &Path) -> Result<Value, LoadError> {
    let shown = path.display().to_string();
    if !path.exists() {
        return Err(LoadError::Missing(shown));
    }
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: shown.clone(),
        source,
    })?;
    parse(&shown, &text)
}

/// Parses text by the extension of `name`.
pub fn parse(name: &str, text: &str) -> Result<Value, LoadError> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        parse_yaml(name, text)
    } else if lower.ends_with(".json") {
        serde_json::from_str(text).map_err(|e| LoadError::Json {
            path: name.into(),
            line: e.line(),
            column: e.column(),
            message: strip_location(&e.to_string()),
        })
    } else {
        Err(LoadError::Extension(name.into()))
    }
}

/// Parses YAML text into a JSON value (for var-files too).
pub fn parse_yaml(name: &str, text: &str) -> Result<Value, LoadError> {
    let v: Result<Value, _> = yaml_serde::from_str(text);
    v.map_err(|e| LoadError::Yaml {
        path: name.into(),
        location: e
            .location()
            .map(|l| format!("{}:{}:", l.line(), l.column()))
            .unwrap_or_default(),
        message: strip_location(&e.to_string()),
    })
}

fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_are_located() {
        let e = parse("x.json", "{\n  \"title\": ,\n}")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.json:2:"), "{e}");
    }

    #[test]
    fn yaml_errors_are_located_and_keys_keep_their_order() {
        let e = parse("x.yaml", "a: [1\nb: 2\n").unwrap_err().to_string();
        assert!(e.contains("Failed parsing YAML experiment"), "{e}");
        let v = parse("x.yml", "zeta: 1\nalpha: 2\n").unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["zeta", "alpha"]);
    }

    #[test]
    fn other_extensions_are_refused() {
        assert!(matches!(parse("x.txt", "{}"), Err(LoadError::Extension(_))));
    }
}
