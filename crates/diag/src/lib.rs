//! One shape for a problem found in something people wrote (an
//! experiment, a Chaos Toolkit file): the field it concerns and what is
//! wrong. Every crate that validates reports with it, all problems at
//! once; the caller that has the text adds `file:line:col` (the executor
//! looks the field up in the YAML/JSON).

use std::fmt;

/// One problem, with the field it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Dotted field path (`faults[1].fault.args.delay`), when the problem
    /// concerns one field; `None` when `message` is complete as it is (a
    /// parse error that carries its own location).
    pub path: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Problem {
    /// A problem with the field at `path` (an empty path is none).
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        let path = path.into();
        Problem {
            path: (!path.is_empty()).then_some(path),
            message: message.into(),
        }
    }

    /// A problem whose message is already complete.
    pub fn whole(message: impl Into<String>) -> Self {
        Problem {
            path: None,
            message: message.into(),
        }
    }

    /// The same problem under `prefix` (`method[0]` under `chaos` is
    /// `chaos.method[0]`), for a part checked on its own.
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = Some(match self.path {
            Some(p) if p.starts_with('[') => format!("{prefix}{p}"),
            Some(p) => format!("{prefix}.{p}"),
            None => prefix.to_string(),
        });
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_field_first_and_nests_under_a_prefix() {
        assert_eq!(Problem::at("a.b", "bad").to_string(), "a.b: bad");
        assert_eq!(Problem::at("", "bad").to_string(), "bad");
        assert_eq!(Problem::whole("x:1:2: bad").to_string(), "x:1:2: bad");
        assert_eq!(
            Problem::at("[0].x", "m").under("faults").path.as_deref(),
            Some("faults[0].x")
        );
        assert_eq!(Problem::whole("m").under("chaos").to_string(), "chaos: m");
    }
}

/// Where a YAML document could not be read into its type: the location
/// (`3:5:`, empty when the parser gave none), the field path
/// (`faults[1].at`, `.` for the root) and the message without either.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    /// `line:column:` or empty.
    pub loc: String,
    /// The field.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Reads YAML into `T`, naming the field and place of the first problem.
pub fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let de = yaml_serde::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let loc = inner
            .location()
            .map(|l| format!("{}:{}:", l.line(), l.column()))
            .unwrap_or_default();
        let full = inner.to_string();
        // The parser repeats both: `path: message at line L column C`.
        let msg = full.split(" at line ").next().unwrap_or(&full);
        let message = msg
            .strip_prefix(&path)
            .and_then(|m| m.strip_prefix(": "))
            .unwrap_or(msg)
            .to_string();
        YamlError { loc, path, message }
    })
}
