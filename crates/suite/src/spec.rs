//! The suite file: which experiments run, in which order, with which
//! variables, and what a failure does. Read with every problem located
//! (`suite.yaml:7:5: experiments[1].source: ...`) before anything runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// What happens to the rest of the suite when an experiment fails.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Run the next experiments anyway (the suite still fails).
    #[default]
    Continue,
    /// Skip the remaining experiments.
    Stop,
}

/// What a resumed suite does with the experiment a crash cut short.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnInterrupt {
    /// Run it again from the start (its faults were reverted by the ledger).
    #[default]
    Rerun,
    /// Count it as failed and go on as `on_failure` says.
    Fail,
}

/// A suite as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteSpec {
    /// Name (letters, digits, `-`, `_`, `.`): the suite's folder in the store.
    pub name: String,
    /// What a failed experiment does to the rest.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// What `resume` does with the experiment a crash cut short.
    #[serde(default)]
    pub on_interrupt: OnInterrupt,
    /// Time between two experiments (the system settles), e.g. `5s`.
    #[serde(default, with = "humantime_serde_opt")]
    pub pause: Option<Duration>,
    /// Extra attempts of a failed experiment (default 0).
    #[serde(default)]
    pub retries: u32,
    /// The experiments, in order.
    pub experiments: Vec<ItemSpec>,
}

/// One experiment of a suite.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    /// Name in reports (default: the source's file name without extension).
    #[serde(default)]
    pub name: Option<String>,
    /// A path (relative to the suite file), an `http(s)://` URL or `s3://bucket/key`.
    pub source: String,
    /// Chaos Toolkit configuration values to override (as `chaos run --var`).
    #[serde(default)]
    pub vars: BTreeMap<String, serde_json::Value>,
    /// Extra attempts (default: the suite's).
    #[serde(default)]
    pub retries: Option<u32>,
}

/// Durations as humans write them (`5s`, `1m30s`).
mod humantime_serde_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| {
            humantime::parse_duration(&s).map_err(|e| {
                serde::de::Error::custom(format!("{s:?} is not a duration ({e}); e.g. 5s, 1m30s"))
            })
        })
        .transpose()
    }
}

/// A suite ready to run: its spec and each experiment's resolved name.
#[derive(Clone, Debug)]
pub struct Suite {
    /// As written.
    pub spec: SuiteSpec,
    /// Item names, unique (the JUnit test suites and the store's folders).
    pub names: Vec<String>,
}

/// Reads and checks a suite file; every problem, located.
pub fn parse(file: &Path, text: &str) -> Result<Suite, Vec<String>> {
    let f = file.display();
    let spec: SuiteSpec = squall_diag::from_yaml(text)
        .map_err(|e| vec![format!("{f}:{} {}: {}", e.loc, e.path, e.message)])?;
    let mut errors = Vec::new();
    let line = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| format!("{}:", i + 1))
            .unwrap_or_default()
    };
    if !valid_name(&spec.name) {
        errors.push(format!(
            "{f}:{} name: {:?} must be 1 to 100 letters, digits, '-', '_' or '.'",
            line("name:"),
            spec.name
        ));
    }
    if spec.experiments.is_empty() {
        errors.push(format!(
            "{f}: experiments: at least one experiment is needed"
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for (i, item) in spec.experiments.iter().enumerate() {
        let at = line(&item.source);
        if let Err(why) = check_source(&item.source) {
            errors.push(format!("{f}:{at} experiments[{i}].source: {why}"));
        }
        let name = item.name.clone().unwrap_or_else(|| stem(&item.source));
        if !valid_name(&name) {
            errors.push(format!(
                "{f}:{at} experiments[{i}].name: {name:?} must be 1 to 100 letters, digits, '-', '_' or '.'"
            ));
        } else if names.contains(&name) {
            errors.push(format!(
                "{f}:{at} experiments[{i}].name: {name:?} is already the name of another experiment (give one a `name`)"
            ));
        }
        names.push(name);
    }
    if errors.is_empty() {
        Ok(Suite { spec, names })
    } else {
        Err(errors)
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `checkout` for `dir/checkout.yaml` or `s3://b/x/checkout.json`.
fn stem(source: &str) -> String {
    // A stored experiment in `squall serve`: `experiment:ID` or `experiment:ID/vN`.
    if let Some(rest) = source.strip_prefix("experiment:") {
        return rest.replace("/v", "-v");
    }
    let last = source.rsplit('/').next().unwrap_or(source);
    let last = last.split(['?', '#']).next().unwrap_or(last);
    last.rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(last)
        .to_string()
}

fn check_source(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("empty; a path, an http(s):// URL or s3://bucket/key".into());
    }
    if let Some(rest) = s.strip_prefix("s3://") {
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() || key.is_empty() {
            return Err(format!("{s:?}: expected s3://bucket/key"));
        }
    } else if s.contains("://") && !s.starts_with("http://") && !s.starts_with("https://") {
        return Err(format!(
            "{s:?}: only paths, http(s):// and s3:// sources are read"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suite_with_defaults() {
        let s = parse(
            Path::new("s.yaml"),
            "name: gate\npause: 2s\nexperiments:\n  - source: a/checkout.yaml\n  - {name: b, source: 's3://bk/x/b.json', vars: {delay: 300}, retries: 2}\n",
        )
        .unwrap();
        assert_eq!(s.names, ["checkout", "b"]);
        assert_eq!(s.spec.pause, Some(Duration::from_secs(2)));
        assert_eq!(s.spec.on_failure, OnFailure::Continue);
        assert_eq!(s.spec.experiments[1].retries, Some(2));
    }

    #[test]
    fn every_problem_is_located() {
        let e = parse(
            Path::new("s.yaml"),
            "name: gate\nexperiments:\n  - source: ftp://x/y.yaml\n  - source: a.yaml\n  - source: b/a.yaml\n",
        )
        .unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].starts_with("s.yaml:3: experiments[0].source:"),
            "{e:?}"
        );
        assert!(e[1].starts_with("s.yaml:5: experiments[2].name:"), "{e:?}");

        let e = parse(
            Path::new("s.yaml"),
            "name: gate\nexperiments:\n  - {source: a.yaml, retry: 2}\n",
        )
        .unwrap_err();
        assert!(e[0].starts_with("s.yaml:3:"), "{e:?}");
        assert!(e[0].contains("retry"), "{e:?}");

        let e = parse(
            Path::new("s.yaml"),
            "name: gate\npause: soon\nexperiments: [{source: a}]\n",
        )
        .unwrap_err();
        assert!(
            e[0].contains("pause") && e[0].contains("not a duration"),
            "{e:?}"
        );
    }
}
