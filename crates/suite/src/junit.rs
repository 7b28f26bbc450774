//! JUnit XML for CI: one `testsuite` per experiment, one `testcase` for the
//! run itself (an `error` when it could not run or was cut short, `skipped`
//! when it was not run) and one per goal (a `failure` with the measured
//! value and the bound when it did not hold). Only the attempt that counts
//! is written: CI tools keep the first of duplicate names.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use squall_report::run_report::RunReport;

use crate::state::{ItemStatus, SuiteState};

use squall_report::junit_out::xml_esc as esc;

fn secs(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

struct Case {
    name: String,
    time: String,
    outcome: Outcome,
}

enum Outcome {
    Ok,
    Failure { message: String, detail: String },
    Error { message: String },
    Skipped { message: String },
}

/// The JUnit XML of a suite run; `reports` holds each item's report (by index).
pub fn render(state: &SuiteState, reports: &BTreeMap<usize, RunReport>) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures, mut errors, mut skipped, mut total_ms) = (0, 0, 0, 0, 0u64);
    for item in &state.items {
        let class = format!("{}.{}", state.suite, item.name);
        let last = item.last();
        let ms = last
            .and_then(|a| a.ended_ms.map(|e| e.saturating_sub(a.started_ms)))
            .unwrap_or(0);
        total_ms += ms;
        let mut cases = vec![Case {
            name: "run".into(),
            time: secs(ms),
            outcome: match item.status {
                ItemStatus::Passed | ItemStatus::Failed => Outcome::Ok,
                ItemStatus::Skipped => Outcome::Skipped {
                    message: "not run: an earlier experiment failed and the suite stops on failure"
                        .into(),
                },
                ItemStatus::Pending => Outcome::Skipped {
                    message: "not run yet".into(),
                },
                ItemStatus::Error | ItemStatus::Interrupted | ItemStatus::Running => {
                    Outcome::Error {
                        message: last
                            .and_then(|a| a.error.clone())
                            .unwrap_or_else(|| item.status.as_str().to_string()),
                    }
                }
            },
        }];
        if let Some(r) = reports.get(&item.index) {
            let mut seen = BTreeSet::new();
            for g in &r.goals {
                let mut name = format!("goal: {}", g.name);
                let mut n = 2;
                while !seen.insert(name.clone()) {
                    name = format!("goal: {} ({n})", g.name);
                    n += 1;
                }
                let measured = g
                    .observed
                    .map(|v| format!("{v:.3}"))
                    .unwrap_or_else(|| "no data".into());
                cases.push(Case {
                    name,
                    time: "0.000".into(),
                    outcome: if g.passed {
                        Outcome::Ok
                    } else {
                        Outcome::Failure {
                            message: format!(
                                "{} [{}]: measured {measured}, bound {:.3}",
                                g.condition, g.phase, g.bound
                            ),
                            detail: g.detail.clone(),
                        }
                    },
                });
            }
        }
        // A failed experiment always shows as a failure, even one whose
        // goals all held (a deviated hypothesis, an abort) or that has no
        // goals (a Chaos Toolkit experiment).
        if item.status == ItemStatus::Failed
            && !cases
                .iter()
                .any(|c| matches!(c.outcome, Outcome::Failure { .. }))
        {
            let verdict = last
                .and_then(|a| a.verdict.clone())
                .unwrap_or_else(|| "failed".into());
            cases[0].outcome = Outcome::Failure {
                message: format!("the experiment failed: {verdict}"),
                detail: format!("verdict: {verdict}"),
            };
        }
        let (f, e, s) = cases
            .iter()
            .fold((0, 0, 0), |(f, e, s), c| match c.outcome {
                Outcome::Ok => (f, e, s),
                Outcome::Failure { .. } => (f + 1, e, s),
                Outcome::Error { .. } => (f, e + 1, s),
                Outcome::Skipped { .. } => (f, e, s + 1),
            });
        tests += cases.len();
        failures += f;
        errors += e;
        skipped += s;
        let stamp = last
            .map(|a| {
                humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + std::time::Duration::from_millis(a.started_ms),
                )
                .to_string()
            })
            .unwrap_or_default();
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"{e}\" skipped=\"{s}\" time=\"{}\" timestamp=\"{}\">",
            esc(&class),
            cases.len(),
            secs(ms),
            esc(stamp.trim_end_matches('Z'))
        );
        suites.push_str("    <properties>\n");
        let mut props = vec![
            ("suite_run", state.run_id.clone()),
            ("source", item.source.clone()),
            ("attempts", item.attempts.len().to_string()),
        ];
        if let Some(v) = last.and_then(|a| a.verdict.clone()) {
            props.push(("verdict", v));
        }
        if let Some(at) = last.and_then(|a| a.stored_at.clone()) {
            props.push(("files", at));
        }
        for (k, v) in props {
            let _ = writeln!(
                suites,
                "      <property name=\"{k}\" value=\"{}\"/>",
                esc(&v)
            );
        }
        suites.push_str("    </properties>\n");
        for c in cases {
            let open = format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
                esc(&class),
                esc(&c.name),
                c.time
            );
            match c.outcome {
                Outcome::Ok => {
                    let _ = writeln!(suites, "{open}/>");
                }
                Outcome::Failure { message, detail } => {
                    let _ = writeln!(
                        suites,
                        "{open}>\n      <failure message=\"{}\" type=\"goal\">{}</failure>\n    </testcase>",
                        esc(&message),
                        esc(&detail)
                    );
                }
                Outcome::Error { message } => {
                    let _ = writeln!(
                        suites,
                        "{open}>\n      <error message=\"{}\" type=\"run\"/>\n    </testcase>",
                        esc(&message)
                    );
                }
                Outcome::Skipped { message } => {
                    let _ = writeln!(
                        suites,
                        "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                        esc(&message)
                    );
                }
            }
        }
        suites.push_str("  </testsuite>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{}\">\n{suites}</testsuites>\n",
        esc(&state.suite),
        secs(total_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_xml_cannot_hold() {
        assert_eq!(
            esc("p(95)<5ms & \"x\"\u{1}"),
            "p(95)&lt;5ms &amp; &quot;x&quot;?"
        );
    }
}
