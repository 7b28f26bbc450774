//! The JSON document: every second plus the summary, written atomically at
//! the end (schema: `docs/schemas/load-output.schema.json`).

use std::path::{Path, PathBuf};

use serde::Serialize;
use squall_metrics::Snapshot;

use crate::record::SecondRecord;
use crate::{OutputError, Sink, Summary};

/// Version of the document's schema.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: &'static str,
    tool_version: &'static str,
    seconds: &'a [SecondRecord],
    summary: &'a Summary,
}

/// Collects seconds in memory (a few KB each) and writes once.
pub struct JsonSink {
    path: PathBuf,
    seconds: Vec<SecondRecord>,
}

impl JsonSink {
    /// A sink for `path`; nothing is written until [`Sink::finish`].
    pub fn new(path: &Path, _start_unix: f64) -> Self {
        Self {
            path: path.to_path_buf(),
            seconds: Vec::new(),
        }
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so
/// readers never see a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

impl Sink for JsonSink {
    fn second(&mut self, snap: &Snapshot) -> Result<(), OutputError> {
        self.seconds.push(snap.into());
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), OutputError> {
        let doc = Document {
            schema_version: SCHEMA_VERSION,
            tool: "squall",
            tool_version: env!("CARGO_PKG_VERSION"),
            seconds: &self.seconds,
            summary,
        };
        let bytes = serde_json::to_vec_pretty(&doc).expect("plain data serializes");
        write_atomic(&self.path, &bytes).map_err(OutputError::at(&self.path))
    }
}
