//! A problem with an experiment (the workspace's one shape,
//! [`squall_diag::Problem`]) rendered as `file:line:col: field: message`
//! so people can jump to it.

use std::path::Path;

pub use squall_diag::Problem;

/// `file:line:col: path: message`, the position looked up in `text`
/// (the nearest enclosing field that is in the text when the field itself
/// is not, e.g. a required field that is missing, or a Chaos Toolkit path
/// that names its activity: `method[0](stop-db).provider`).
pub fn render(p: &Problem, file: &Path, text: &str) -> String {
    let Some(path) = &p.path else {
        return p.message.clone();
    };
    let mut probe = without_names(path);
    let location = loop {
        if let Some((l, c)) = squall_load::plan::locate(text, &probe) {
            break format!("{l}:{c}:");
        }
        match probe.rfind(['.', '[']) {
            Some(i) => probe.truncate(i),
            None => break String::new(),
        }
    };
    format!("{}:{location} {path}: {}", file.display(), p.message)
}

/// A field path without the activity names Chaos Toolkit's messages add
/// after an index (`probes[0](p)` is `probes[0]` in the text).
fn without_names(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Renders every problem (see [`render`]).
pub fn render_all(problems: &[Problem], file: &Path, text: &str) -> Vec<String> {
    problems.iter().map(|p| render(p, file, text)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn located_at_the_field_or_its_nearest_parent() {
        let text = "faults:\n  - at: 1s\n    fault:\n      type: latency\n";
        let f = Path::new("e.yaml");
        assert_eq!(
            render(&Problem::at("faults[0].fault.type", "bad"), f, text),
            "e.yaml:4:13: faults[0].fault.type: bad"
        );
        assert_eq!(
            render(
                &Problem::at("faults[0].fault.args.delay", "required"),
                f,
                text
            ),
            "e.yaml:4:7: faults[0].fault.args.delay: required"
        );
        assert_eq!(render(&Problem::whole("as is"), f, text), "as is");
        let chaos = "method:\n  - name: stop-db\n    provider: {type: http}\n";
        assert_eq!(
            render(
                &Problem::at("method[0](stop-db).provider.url", "required"),
                f,
                chaos
            ),
            "e.yaml:3:15: method[0](stop-db).provider.url: required"
        );
    }
}
