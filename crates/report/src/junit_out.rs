//! JUnit XML for CI tools: `--out junit=FILE` of `squall load` (one test
//! case per threshold, a `failure` with the observed value when it did not
//! hold, as k6's JUnit output has them), and `junit.xml` of `squall run`
//! (one case per goal).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use squall_metrics::Snapshot;

use crate::run_report::RunReport;
use crate::{OutputError, Sink, Summary};

/// Escapes text for an XML attribute or element; characters XML 1.0
/// cannot carry at all become `?`.
pub fn xml_esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push('?'),
            c => o.push(c),
        }
    }
    o
}

/// One test case: a name, and the failure message when it failed.
struct Case {
    name: String,
    failure: Option<String>,
}

fn document(suite: &str, time_s: f64, cases: &[Case]) -> String {
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"squall\" tests=\"{}\" failures=\"{failures}\" time=\"{time_s:.3}\">",
        cases.len()
    );
    let _ = writeln!(
        o,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{time_s:.3}\">",
        xml_esc(suite),
        cases.len()
    );
    for c in cases {
        let name = xml_esc(&c.name);
        match &c.failure {
            None => {
                let _ = writeln!(
                    o,
                    "    <testcase classname=\"{}\" name=\"{name}\"/>",
                    xml_esc(suite)
                );
            }
            Some(m) => {
                let _ = writeln!(
                    o,
                    "    <testcase classname=\"{}\" name=\"{name}\">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    xml_esc(suite),
                    xml_esc(m),
                    xml_esc(m)
                );
            }
        }
    }
    o.push_str("  </testsuite>\n</testsuites>\n");
    o
}

/// The thresholds of a `squall load` run.
pub fn thresholds(summary: &Summary) -> String {
    let cases: Vec<Case> = summary
        .thresholds
        .iter()
        .map(|t| Case {
            name: format!("{}: {}", t.metric, t.expr),
            failure: (!t.passed)
                .then(|| format!("{} {} failed: observed {:.3}", t.metric, t.expr, t.observed)),
        })
        .collect();
    document("thresholds", summary.duration_s, &cases)
}

/// The goals of a `squall run` (`junit.xml` in the run directory).
pub fn goals(report: &RunReport) -> String {
    let cases: Vec<Case> = report
        .goals
        .iter()
        .map(|g| Case {
            name: format!("{} [{}]", g.name, g.phase),
            failure: (!g.passed).then(|| {
                let measured = g
                    .observed
                    .map_or("no data".to_string(), |v| format!("{v:.3}"));
                format!(
                    "{} [{}]: measured {measured}, bound {:.3}",
                    g.condition, g.phase, g.bound
                )
            }),
        })
        .collect();
    document(
        &format!("goals of {}", report.title),
        report.duration_s,
        &cases,
    )
}

/// `--out junit=FILE`: written once, at the end.
pub struct JunitSink {
    path: PathBuf,
}

impl JunitSink {
    /// A sink writing to `path` when the run ends.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }
}

impl Sink for JunitSink {
    fn second(&mut self, _snap: &Snapshot) -> Result<(), OutputError> {
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), OutputError> {
        // Whole or not at all: a temporary file renamed into place.
        let tmp = self.path.with_extension("xml.tmp");
        std::fs::write(&tmp, thresholds(summary))
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .map_err(OutputError::at(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_xml_cannot_hold() {
        assert_eq!(
            xml_esc("a<b & \"c\" 'd'\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;?"
        );
    }
}
