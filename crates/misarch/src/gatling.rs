//! MiSArch's `gatlingConfig`: a list of `{fileName, encodedWorkFileContent,
//! encodedUserStepsFileContent}` (base64 of a Kotlin work file and of a
//! user-steps CSV), read as squall scenarios that give their own arrivals.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{kotlin, user_steps};

/// One scenario as MiSArch ships it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EncodedFile {
    /// Scenario name; the work file declares `val <fileName>`.
    pub file_name: String,
    /// Base64 of the Kotlin work file.
    pub encoded_work_file_content: String,
    /// Base64 of the user-steps CSV.
    pub encoded_user_steps_file_content: String,
}

impl EncodedFile {
    /// Encodes a work file and user steps.
    pub fn new(name: &str, work: &str, arrivals: &[u32]) -> Self {
        let mut csv = String::from("userSteps\n");
        for n in arrivals {
            csv.push_str(&n.to_string());
            csv.push('\n');
        }
        EncodedFile {
            file_name: name.to_string(),
            encoded_work_file_content: STANDARD.encode(work),
            encoded_user_steps_file_content: STANDARD.encode(csv),
        }
    }
}

/// A scenario ready for a squall plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Its name (`fileName`).
    pub name: String,
    /// Squall plan steps.
    pub steps: Vec<Value>,
    /// Arrivals per second.
    pub arrivals: Vec<u32>,
}

impl Scenario {
    /// The scenario as a plan's `scenarios[]` entry.
    pub fn to_plan(&self) -> Value {
        serde_json::json!({"name": self.name, "arrivals": self.arrivals, "steps": self.steps})
    }
}

fn decode(at: &str, what: &str, b64: &str) -> Result<String, String> {
    let bytes = STANDARD
        .decode(b64.trim())
        .map_err(|e| format!("{at}.{what}: not base64: {e}"))?;
    String::from_utf8(bytes).map_err(|_| format!("{at}.{what}: not UTF-8 text once decoded"))
}

/// Checks the list's shape (what a PUT must hold): JSON, fields, base64.
pub fn parse_list(text: &str) -> Result<Vec<EncodedFile>, String> {
    let files: Vec<EncodedFile> = serde_json::from_str(text)
        .map_err(|e| format!("gatlingConfig: a list of {{fileName, encodedWorkFileContent, encodedUserStepsFileContent}} is needed: {e}"))?;
    for (i, f) in files.iter().enumerate() {
        let at = format!("gatlingConfig[{i}]");
        decode(&at, "encodedWorkFileContent", &f.encoded_work_file_content)?;
        decode(
            &at,
            "encodedUserStepsFileContent",
            &f.encoded_user_steps_file_content,
        )?;
    }
    Ok(files)
}

/// Every scenario translated, and warnings; every problem of every file,
/// located (`gatlingConfig[0] buyProcessScenario.kt:12:5: ...`). A
/// scenario that sends no request (the frontend's new tab) is left out
/// with a warning, as it would do nothing in Gatling either.
pub fn read(files: &[EncodedFile]) -> Result<(Vec<Scenario>, Vec<String>), Vec<String>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let at = format!("gatlingConfig[{i}]");
        let name = &f.file_name;
        if !name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
        {
            errors.push(format!(
                "{at}.fileName: {name:?} must be a Kotlin name (letters, digits, _)"
            ));
            continue;
        }
        if files[..i].iter().any(|o| &o.file_name == name) {
            errors.push(format!(
                "{at}.fileName: {name:?} is also the name of an earlier scenario"
            ));
        }
        let work = match decode(&at, "encodedWorkFileContent", &f.encoded_work_file_content) {
            Ok(w) => w,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let steps = match kotlin::translate(&format!("{name}.kt"), &work) {
            Ok(t) if &t.val_name != name => {
                errors.push(format!(
                    "{at} {name}.kt: declares `val {}`; MiSArch runs the scenario by its file name, so it must be `val {name}`",
                    t.val_name
                ));
                None
            }
            Ok(t) if t.steps.iter().all(|s| s.get("request").is_none()) => {
                warnings.push(format!(
                    "{at} {name}.kt: the scenario sends no request; left out"
                ));
                None
            }
            Ok(t) => Some(t.steps),
            Err(e) => {
                errors.push(format!("{at} {e}"));
                None
            }
        };
        let arrivals = match decode(
            &at,
            "encodedUserStepsFileContent",
            &f.encoded_user_steps_file_content,
        )
        .and_then(|csv| {
            user_steps::parse(&csv).map_err(|(line, m)| format!("{at} {name}.csv:{line}: {m}"))
        }) {
            Ok(rows) => Some(user_steps::arrivals(&rows)),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        if let (Some(steps), Some(arrivals)) = (steps, arrivals) {
            out.push(Scenario {
                name: name.clone(),
                steps,
                arrivals,
            });
        }
    }
    if errors.is_empty() && out.is_empty() {
        errors.push("gatlingConfig: no scenario sends a request".into());
    }
    if errors.is_empty() {
        Ok((out, warnings))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_round_trip_and_problems_are_located() {
        let ok = EncodedFile::new(
            "browse",
            "val browse = scenario(\"browse\").exec(http(\"home\").get(\"/\"))",
            &[2, 0, 1],
        );
        let (s, _) = read(std::slice::from_ref(&ok)).unwrap();
        assert_eq!(s[0].arrivals, vec![2, 0, 1]);
        assert_eq!(s[0].steps[0]["request"]["url"], "/");
        let text = serde_json::to_string(&vec![ok.clone()]).unwrap();
        assert_eq!(parse_list(&text).unwrap(), vec![ok.clone()]);

        let mut wrong_val = EncodedFile::new(
            "other",
            "val browse = scenario(\"x\").exec(http(\"h\").get(\"/\"))",
            &[1],
        );
        wrong_val.encoded_user_steps_file_content = STANDARD.encode("userSteps\n1\nmany\n");
        let broken = EncodedFile::new("bad", "val bad = scenario(\"bad\").repeat(2)", &[1]);
        let errs = read(&[ok, wrong_val, broken]).unwrap_err();
        assert_eq!(
            errs,
            vec![
                "gatlingConfig[1] other.kt: declares `val browse`; MiSArch runs the scenario by its file name, so it must be `val other`",
                "gatlingConfig[1] other.csv:3: \"many\" is not a whole number of users (one per line, after a header)",
                "gatlingConfig[2] bad.kt:1:27: `.repeat(...)` is not translated (supported: .exec { session -> ... }, .exec(http(...)...), .pause(...))",
            ]
        );
        assert!(parse_list("[{\"fileName\": \"a\"}]").is_err());
    }
}
