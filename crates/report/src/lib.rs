//! Squall's outputs: everything a run produces for people and other tools.
//!
//! Sinks receive each merged [`squall_metrics::Snapshot`] as it is produced
//! and the [`Summary`] at the end. Streaming formats (CSV, HdrHistogram log,
//! InfluxDB line protocol) write and flush every second, so an interrupted
//! run keeps what it measured; the JSON document is written at the end to a
//! temporary file and renamed into place, so it is never half-written.
//!
//! This crate knows nothing about how the metrics were produced.

// Libraries do not print: the binary decides what people see.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod csv_out;
pub mod grafana;
pub mod hlog;
pub mod html;
pub mod influx;
pub mod influx_live;
pub mod json_out;
pub mod junit_out;
pub mod prometheus;
mod record;
pub mod run_report;
pub mod summary;
pub mod summary_export;

pub use record::{PercentilesMs, SecondRecord};
/// The plain record types outputs are made of.
pub mod record_types {
    pub use crate::record::{IterationRecord, RequestRecord};
}
pub use summary::{Summary, ThresholdOutcome};

use std::path::{Path, PathBuf};

use squall_metrics::Snapshot;

/// An output could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct OutputError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub source: std::io::Error,
}

impl OutputError {
    pub(crate) fn at(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
        move |source| OutputError {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Something that receives a run's measurements.
pub trait Sink: Send {
    /// Called for every merged second, in order.
    fn second(&mut self, snap: &Snapshot) -> Result<(), OutputError>;
    /// Called once at the end, also after an interruption.
    fn finish(&mut self, summary: &Summary) -> Result<(), OutputError>;
    /// After `finish`: what became of the output, when that is not just
    /// "written" (a live database: points written and dropped).
    fn outcome(&self) -> Option<String> {
        None
    }
    /// Before each `second` of an experiment run: the phase of the
    /// schedule the second is in and the faults in force at its end.
    /// Outputs that show them keep it; the others ignore it.
    fn experiment(&mut self, _phase: &str, _faults: &[String]) {}
}

/// The kinds of file output, as named on the command line (`--out KIND=FILE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// Per-second snapshots plus summary (schema: `docs/schemas/load-output.schema.json`).
    Json,
    /// Per-second rows.
    Csv,
    /// HdrHistogram interval log.
    Hlog,
    /// InfluxDB line protocol.
    Influx,
    /// JUnit XML of the thresholds, written at the end.
    Junit,
    /// InfluxDB line protocol written to a running InfluxDB: the
    /// destination is its URL (`influxdb=http://...`), not a file.
    InfluxLive,
}

impl std::str::FromStr for OutputKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "json" => Ok(OutputKind::Json),
            "csv" => Ok(OutputKind::Csv),
            "hlog" => Ok(OutputKind::Hlog),
            "influx" | "influxdb" => Ok(OutputKind::Influx),
            "junit" => Ok(OutputKind::Junit),
            other => Err(format!(
                "unknown output kind {other:?} (json, csv, hlog, influx, influxdb, junit)"
            )),
        }
    }
}

/// Opens a sink writing `kind` to `path`; `start_unix` is the run's start in seconds since the epoch.
pub fn open(kind: OutputKind, path: &Path, start_unix: f64) -> Result<Box<dyn Sink>, OutputError> {
    Ok(match kind {
        OutputKind::Json => Box::new(json_out::JsonSink::new(path, start_unix)),
        OutputKind::Csv => Box::new(csv_out::CsvSink::create(path, start_unix)?),
        OutputKind::Hlog => Box::new(hlog::HlogSink::create(path, start_unix)?),
        OutputKind::Influx => Box::new(influx::InfluxSink::create(path, start_unix)?),
        OutputKind::Junit => Box::new(junit_out::JunitSink::new(path)),
        OutputKind::InfluxLive => {
            let url = path.to_string_lossy();
            let token = std::env::var("INFLUX_TOKEN").ok();
            let target = influx_live::InfluxTarget::parse(&url, token.as_deref()).map_err(|e| {
                OutputError {
                    path: path.to_path_buf(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
                }
            })?;
            Box::new(influx_live::InfluxLiveSink::start(target, start_unix)?)
        }
    })
}
