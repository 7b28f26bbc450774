//! HdrHistogram interval log (`.hlog`): the standard format that
//! HdrHistogram's own tools (HistogramLogProcessor, hdrh for Python,
//! HdrHistogramVisualizer) read.
//!
//! Each second adds one line per series: the untagged series is overall
//! latency (from intended start), `Tag=service` is overall service time, and
//! `Tag=name:<request>` is each request name's latency. Values are
//! microseconds; `MaxValueDivisor` 1000 makes the max column milliseconds.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use squall_metrics::{LatencyHistogram, Snapshot, wire};

use crate::{OutputError, Sink, Summary};

/// Streams an interval log, one flush per second.
pub struct HlogSink {
    path: PathBuf,
    out: BufWriter<File>,
}

impl HlogSink {
    /// Creates the file and writes the header.
    pub fn create(path: &Path, start_unix: f64) -> Result<Self, OutputError> {
        let file = File::create(path).map_err(OutputError::at(path))?;
        let mut out = BufWriter::new(file);
        let header = format!(
            "#squall latency log: values in microseconds; untagged = latency from intended start, \
             Tag=service = service time, Tag=name:<request> = per request name\n\
             #[StartTime: {start_unix:.3} (seconds since epoch)]\n\
             #[BaseTime: {start_unix:.3} (seconds since epoch)]\n\
             #[MaxValueDivisor: 1000.000]\n\
             \"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"
        );
        out.write_all(header.as_bytes())
            .map_err(OutputError::at(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            out,
        })
    }

    fn line(
        &mut self,
        tag: Option<&str>,
        start_s: f64,
        len_s: f64,
        h: &LatencyHistogram,
    ) -> std::io::Result<()> {
        if h.is_empty() {
            return Ok(());
        }
        if let Some(t) = tag {
            write!(self.out, "Tag={},", sanitize_tag(t))?;
        }
        writeln!(
            self.out,
            "{start_s:.3},{len_s:.3},{:.3},{}",
            h.max() as f64 / 1000.0,
            wire::encode(h)
        )
    }
}

/// Tags may not contain `,`, spaces or line breaks.
fn sanitize_tag(t: &str) -> String {
    t.chars()
        .map(|c| {
            if c == ',' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

impl Sink for HlogSink {
    fn second(&mut self, snap: &Snapshot) -> Result<(), OutputError> {
        let start = snap.start_ms as f64 / 1000.0;
        let len = snap.length_ms as f64 / 1000.0;
        let overall = snap.interval.overall("all");
        let path = self.path.clone();
        let write = |me: &mut Self| -> std::io::Result<()> {
            me.line(None, start, len, &overall.latency)?;
            me.line(Some("service"), start, len, &overall.service)?;
            for r in &snap.interval.requests {
                me.line(Some(&format!("name:{}", r.name)), start, len, &r.latency)?;
            }
            me.out.flush()
        };
        write(self).map_err(OutputError::at(&path))
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), OutputError> {
        self.out.flush().map_err(OutputError::at(&self.path))?;
        self.out
            .get_ref()
            .sync_all()
            .map_err(OutputError::at(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    use squall_metrics::Interval;

    #[test]
    fn the_crate_reader_parses_what_we_write() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.hlog");
        let mut sink = HlogSink::create(&p, 1_700_000_000.0).unwrap();
        let mut interval = Interval::new(&["GET /a, b".to_string()], &[]);
        for v in 1..=1000 {
            interval.requests[0].latency.record_us(v);
            interval.requests[0].service.record_us(v);
        }
        let snap = Snapshot {
            second: 0,
            start_ms: 0,
            length_ms: 1000,
            interval,
            ..Snapshot::default()
        };
        sink.second(&snap).unwrap();
        sink.finish(&Summary::new(&Interval::default(), 0.0, 0.0))
            .unwrap();
        let text = std::fs::read(&p).unwrap();
        let mut hists = 0;
        for e in IntervalLogIterator::new(&text) {
            if let LogEntry::Interval(h) = e.unwrap() {
                let decoded = wire::decode(h.encoded_histogram()).unwrap();
                assert_eq!(decoded.len(), 1000);
                assert!((h.max() - 1.0).abs() < 0.01, "max in ms: {}", h.max());
                hists += 1;
            }
        }
        assert_eq!(hists, 3);
    }
}
