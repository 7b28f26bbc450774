//! Reading plan files, with errors that point at the line and field.

use std::path::{Path, PathBuf};

use super::Plan;

/// A plan that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read.
    #[error("{file}: cannot read plan: {source}")]
    Io {
        /// The plan file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid plan.
    #[error("{}", invalid_text(file, location, field, message))]
    Invalid {
        /// The plan file.
        file: PathBuf,
        /// `line:column: ` when known.
        location: String,
        /// `field.path: ` when known.
        field: String,
        /// What was expected.
        message: String,
    },
}

/// `file:line:col: field: message`, leaving out what is not known.
fn invalid_text(file: &Path, location: &str, field: &str, message: &str) -> String {
    let file = file.display();
    match (location.is_empty(), field.is_empty()) {
        (true, true) => format!("{file}: {message}"),
        (false, true) => format!("{file}:{location} {message}"),
        _ => format!("{file}:{location}{field}: {message}"),
    }
}

impl PlanError {
    /// An error about a field found after parsing (during validation).
    pub fn field(file: &Path, field: &str, message: impl Into<String>) -> Self {
        PlanError::Invalid {
            file: file.to_path_buf(),
            location: String::new(),
            field: format!(" {field}"),
            message: message.into(),
        }
    }
}

/// Reads and parses a plan file (YAML, or JSON when it starts with `{`).
pub fn read_plan(file: &Path) -> Result<Plan, PlanError> {
    let text = std::fs::read_to_string(file).map_err(|source| PlanError::Io {
        file: file.to_path_buf(),
        source,
    })?;
    parse_plan(file, &text)
}

/// Parses plan text; `file` is used in error messages only.
pub fn parse_plan(file: &Path, text: &str) -> Result<Plan, PlanError> {
    parse_document(file, text)
}

/// Parses any YAML or JSON document (JSON when it starts with `{`) with
/// errors located by line, column and field path, as plans are; other
/// documents that embed a plan (experiments) use it too.
pub fn parse_document<T: serde::de::DeserializeOwned>(
    file: &Path,
    text: &str,
) -> Result<T, PlanError> {
    let is_json = text.trim_start().starts_with('{');
    let invalid = |location: String, path: String, message: String| PlanError::Invalid {
        file: file.to_path_buf(),
        location,
        field: if path.is_empty() || path == "." {
            String::new()
        } else {
            format!(" {path}")
        },
        message,
    };
    if is_json {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let loc = format!("{}:{}:", inner.line(), inner.column());
            let msg = strip_location(&inner.to_string());
            invalid(loc, path, msg)
        })
    } else {
        if let Some((line, col)) = too_deep(text) {
            return Err(invalid(
                format!("{line}:{col}:"),
                String::new(),
                format!(
                    "nested more than {MAX_DEPTH} levels deep; documents this deep are refused"
                ),
            ));
        }
        squall_diag::from_yaml(text).map_err(|e| invalid(e.loc, e.path, e.message))
    }
}

/// The deepest nesting a YAML document may have. Real documents nest a
/// dozen levels; the YAML parser's time grows with the square of the depth
/// (100,000 levels take minutes), so deeper text is refused before parsing.
pub(super) const MAX_DEPTH: usize = 128;

/// Where the text first nests deeper than [`MAX_DEPTH`]: flow collections
/// (`[`, `{`), block sequences on one line (`- - -`), or indentation. A
/// cheap over-approximation (brackets in quoted strings count too), fine
/// for a limit this far above real documents.
fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut flow = 0usize;
    for (n, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let mut block = indent / 2;
        let mut rest = line.trim_start();
        while let Some(r) = rest.strip_prefix("- ") {
            block += 1;
            rest = r.trim_start();
        }
        if block > MAX_DEPTH {
            return Some((n + 1, 1));
        }
        for (c, ch) in line.char_indices() {
            match ch {
                '#' if flow == 0 => break,
                '[' | '{' => {
                    flow += 1;
                    if flow + block > MAX_DEPTH {
                        return Some((n + 1, c + 1));
                    }
                }
                ']' | '}' => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
    }
    None
}

/// Parsers append "at line X column Y"; we print the location up front instead.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_plan(Path::new("plan.yaml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("a: {}1{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let e = err(&deep);
        assert!(e.contains("plan.yaml:1:"), "{e}");
        assert!(e.contains("nested more than 128 levels"), "{e}");
        let dashes = format!("{}1\n", "- ".repeat(1000));
        assert!(err(&dashes).contains("nested more than"));
        // Real documents pass.
        assert!(!err("scenarios: [{name: a, steps: [{request: {url: /}}]}]\n").contains("nested"));
    }

    #[test]
    fn unknown_field_is_located() {
        let e = err("scenarios:\n  - name: a\n    stepz: []\nload: {model: closed}\n");
        assert!(e.starts_with("plan.yaml:3:5:"), "{e}");
        assert!(e.contains("unknown field `stepz`"), "{e}");
    }

    #[test]
    fn bad_duration_names_field_and_line() {
        let text =
            "scenarios:\n  - name: a\n    steps:\n      - think: 5x\nload:\n  model: closed\n";
        let e = err(text);
        assert!(e.contains("plan.yaml:4:"), "{e}");
        assert!(e.contains("scenarios[0].steps[0]"), "{e}");
    }

    #[test]
    fn bad_stage_explains_shapes() {
        let text = "scenarios: []\nload:\n  model: open\n  stages:\n    - {rate: 5}\n";
        let e = err(text);
        assert!(e.contains("load.stages[0]"), "{e}");
        assert!(e.contains("a stage is one of"), "{e}");
    }

    #[test]
    fn json_errors_have_locations_too() {
        let e = parse_plan(
            Path::new("p.json"),
            "{\"scenarios\": [], \"load\": {\"model\": \"sideways\"}}",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("p.json:1:"), "{e}");
        assert!(e.contains("load.model"), "{e}");
    }
}
