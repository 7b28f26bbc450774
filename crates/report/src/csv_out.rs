//! Per-second CSV: one row per second, flushed as it is written. Latency
//! cells are empty for a second without requests (no latency is not 0 ms).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use squall_metrics::Snapshot;

use crate::record::SecondRecord;
use crate::{OutputError, Sink, Summary};

/// The header row (documented in `docs/outputs.md`).
pub const HEADER: &str = "second,start_ms,length_ms,requests,rate,failed,err_connect,err_timeout,err_status,err_check,err_protocol,\
bytes_in,bytes_out,latency_p50_ms,latency_p90_ms,latency_p95_ms,latency_p99_ms,latency_p999_ms,latency_max_ms,\
service_p50_ms,service_p99_ms,iterations_started,iterations_completed,iterations_late,iterations_dropped,vus,in_flight,utilization,\
latency_min_ms,latency_mean_ms,latency_stddev_ms,unix_ms,time";

/// The two columns `squall run` adds: the second's phase of the fault
/// schedule, and the faults in force at its end (`;`-separated).
pub const EXPERIMENT_COLUMNS: &str = "phase,faults";

/// Streams per-second rows.
pub struct CsvSink {
    path: PathBuf,
    out: BufWriter<File>,
    start_unix_ms: u64,
    /// `Some` in an experiment run: the next row's phase and faults.
    experiment: Option<(String, String)>,
}

impl CsvSink {
    /// Creates the file and writes the header; `start_unix` (seconds since
    /// the epoch) dates each row.
    pub fn create(path: &Path, start_unix: f64) -> Result<Self, OutputError> {
        Self::open(path, start_unix, false)
    }

    /// [`CsvSink::create`] with the experiment's columns (`phase`, `faults`).
    pub fn create_for_experiment(path: &Path, start_unix: f64) -> Result<Self, OutputError> {
        Self::open(path, start_unix, true)
    }

    fn open(path: &Path, start_unix: f64, experiment: bool) -> Result<Self, OutputError> {
        let file = File::create(path).map_err(OutputError::at(path))?;
        let mut out = BufWriter::new(file);
        if experiment {
            writeln!(out, "{HEADER},{EXPERIMENT_COLUMNS}")
        } else {
            writeln!(out, "{HEADER}")
        }
        .map_err(OutputError::at(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            out,
            start_unix_ms: (start_unix * 1000.0) as u64,
            experiment: experiment.then(Default::default),
        })
    }
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break.
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The columns after `utilization`: the second's latency minimum, mean and
/// standard deviation (Stressgrid's summary figures; empty without
/// requests), and when the second started, as Unix ms and RFC 3339 (UTC).
fn tail(snap: &Snapshot, start_unix_ms: u64) -> String {
    let all = snap.interval.overall("all");
    let h = &all.latency;
    let stats = if h.is_empty() {
        ",,".to_string()
    } else {
        format!(
            "{},{:.3},{:.3}",
            h.min() as f64 / 1000.0,
            h.mean() / 1000.0,
            h.hdr().stdev() / 1000.0
        )
    };
    let at = start_unix_ms + snap.start_ms;
    let time = humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(at),
    );
    format!("{stats},{at},{time}")
}

/// One row for a second.
pub fn row(r: &SecondRecord) -> String {
    let o = &r.overall;
    let e = &o.errors;
    let l = &o.latency_ms;
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        r.second,
        r.start_ms,
        r.length_ms,
        o.requests,
        r.rate,
        o.failed,
        e.connect,
        e.timeout,
        e.status,
        e.check,
        e.protocol,
        o.bytes_in,
        o.bytes_out,
        l.cell(l.p50),
        l.cell(l.p90),
        l.cell(l.p95),
        l.cell(l.p99),
        l.cell(l.p999),
        l.cell(l.max),
        o.service_ms.cell(o.service_ms.p50),
        o.service_ms.cell(o.service_ms.p99),
        r.iterations.started,
        r.iterations.completed,
        r.iterations.late,
        r.iterations.dropped,
        r.vus,
        r.in_flight,
        r.utilization
    )
}

impl Sink for CsvSink {
    fn second(&mut self, snap: &Snapshot) -> Result<(), OutputError> {
        let line = row(&snap.into());
        let tail = tail(snap, self.start_unix_ms);
        match &self.experiment {
            Some((phase, faults)) => writeln!(self.out, "{line},{tail},{phase},{faults}"),
            None => writeln!(self.out, "{line},{tail}"),
        }
        .and_then(|_| self.out.flush())
        .map_err(OutputError::at(&self.path))
    }

    fn experiment(&mut self, phase: &str, faults: &[String]) {
        if let Some(e) = self.experiment.as_mut() {
            *e = (cell(phase), cell(&faults.join(";")));
        }
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), OutputError> {
        self.out.flush().map_err(OutputError::at(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_has_as_many_columns_as_the_header() {
        let snap = Snapshot {
            second: 2,
            start_ms: 2000,
            length_ms: 1000,
            interval: squall_metrics::Interval::new(&["a".into()], &[]),
            vus: 1,
            in_flight: 0,
            utilization: 0.0,
        };
        let line = format!(
            "{},{}",
            row(&(&snap).into()),
            tail(&snap, 1_700_000_000_000)
        );
        assert_eq!(line.split(',').count(), HEADER.split(',').count(), "{line}");
        assert!(
            line.ends_with(",,,1700000002000,2023-11-14T22:13:22.000Z"),
            "{line}"
        );
    }
}
