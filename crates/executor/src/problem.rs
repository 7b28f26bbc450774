//! A problem found in an experiment, with the field it concerns, rendered
//! as `file:line:col: field: message` so people can jump to it.

use std::path::Path;

/// One problem with an experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Dotted field path (`faults[1].fault.args.delay`), when the problem
    /// concerns one field; `None` when `message` is complete as it is (a
    /// parse error that carries its own location).
    pub path: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Problem {
    /// A problem with the field at `path`.
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: Some(path.into()),
            message: message.into(),
        }
    }

    /// A problem whose message is already complete (located by its parser).
    pub fn whole(message: impl Into<String>) -> Self {
        Problem {
            path: None,
            message: message.into(),
        }
    }

    /// `file:line:col: path: message`, the position looked up in `text`
    /// (the nearest enclosing field that is in the text when the field
    /// itself is not, e.g. a required field that is missing).
    pub fn render(&self, file: &Path, text: &str) -> String {
        let Some(path) = &self.path else {
            return self.message.clone();
        };
        let mut probe = path.as_str();
        let location = loop {
            if let Some((l, c)) = squall_load::plan::locate(text, probe) {
                break format!("{l}:{c}:");
            }
            match probe.rfind(['.', '[']) {
                Some(i) => probe = &probe[..i],
                None => break String::new(),
            }
        };
        format!("{}:{location} {path}: {}", file.display(), self.message)
    }
}

/// Renders every problem (see [`Problem::render`]).
pub fn render_all(problems: &[Problem], file: &Path, text: &str) -> Vec<String> {
    problems.iter().map(|p| p.render(file, text)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn located_at_the_field_or_its_nearest_parent() {
        let text = "faults:\n  - at: 1s\n    fault:\n      type: latency\n";
        let f = Path::new("e.yaml");
        assert_eq!(
            Problem::at("faults[0].fault.type", "bad").render(f, text),
            "e.yaml:4:13: faults[0].fault.type: bad"
        );
        assert_eq!(
            Problem::at("faults[0].fault.args.delay", "required").render(f, text),
            "e.yaml:4:7: faults[0].fault.args.delay: required"
        );
        assert_eq!(Problem::whole("as is").render(f, text), "as is");
    }
}
