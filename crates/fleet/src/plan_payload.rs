//! The plan as it travels to generators: its text and the feeder files it
//! names, or quick mode's flags. Generators compile it themselves and read
//! no file a remote plan names.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use squall_load::CompiledPlan;
use squall_load::compile::{Feeders, compile_with};
use squall_load::plan::{self, Plan, PlanError};
use squall_load::quick::{self, QuickSpec};

/// What a generator runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PlanPayload {
    /// A plan file.
    File {
        /// The file's name, for messages.
        name: String,
        /// Its text (YAML or JSON).
        text: String,
        /// Feeder CSV texts keyed by the path the plan writes.
        #[serde(default)]
        feeders: BTreeMap<String, String>,
        /// `--http2` given to the coordinator.
        #[serde(default)]
        http2: bool,
        /// `--insecure` given to the coordinator.
        #[serde(default)]
        insecure: bool,
    },
    /// Quick mode's flags.
    Quick {
        /// The flags.
        spec: QuickSpec,
    },
}

impl PlanPayload {
    /// The payload of a plan file already parsed (and compiled) from
    /// `path`: its text and the feeder files it reads.
    pub fn file(
        path: &Path,
        text: String,
        parsed: &Plan,
        http2: bool,
        insecure: bool,
    ) -> std::io::Result<Self> {
        let mut feeders = BTreeMap::new();
        for s in &parsed.scenarios {
            if let Some(f) = &s.data {
                let p = path.parent().unwrap_or(Path::new(".")).join(&f.csv);
                feeders.insert(f.csv.clone(), std::fs::read_to_string(p)?);
            }
        }
        Ok(PlanPayload::File {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "plan".into()),
            text,
            feeders,
            http2,
            insecure,
        })
    }

    /// Compiles the plan on a generator.
    pub fn compile(&self) -> Result<CompiledPlan, PlanError> {
        match self {
            PlanPayload::File {
                name,
                text,
                feeders,
                http2,
                insecure,
            } => {
                let label = Path::new("<coordinator>").join(name);
                let mut p = plan::parse_plan(&label, text)?;
                p.http2 |= http2;
                p.insecure |= insecure;
                compile_with(&p, &label, Feeders::Given(feeders))
            }
            PlanPayload::Quick { spec } => compile_with(
                &quick::plan(spec),
                Path::new("<command line>"),
                Feeders::Disk,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "base_url: http://127.0.0.1:9\nscenarios:\n  - name: s\n    data: {csv: users.csv}\n    steps:\n      - request: {name: home, url: \"/u/${user}\"}\nload: {model: open, stages: [{rate: 5, for: 1s}]}\n";

    #[test]
    fn carries_the_feeders_and_compiles_without_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.yaml");
        std::fs::write(&path, PLAN).unwrap();
        std::fs::write(dir.path().join("users.csv"), "user\nann\nbob\n").unwrap();
        let parsed = plan::read_plan(&path).unwrap();
        let payload = PlanPayload::file(&path, PLAN.into(), &parsed, false, false).unwrap();
        drop(dir);
        let json = serde_json::to_string(&payload).unwrap();
        let back: PlanPayload = serde_json::from_str(&json).unwrap();
        let c = back.compile().unwrap();
        assert_eq!(c.request_names, vec!["home".to_string()]);
    }

    #[test]
    fn a_feeder_not_sent_is_an_error_naming_it() {
        let payload = PlanPayload::File {
            name: "plan.yaml".into(),
            text: PLAN.into(),
            feeders: BTreeMap::new(),
            http2: false,
            insecure: false,
        };
        let e = payload.compile().unwrap_err().to_string();
        assert!(e.contains("users.csv was not sent"), "{e}");
    }
}
