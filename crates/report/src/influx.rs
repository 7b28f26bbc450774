//! InfluxDB line protocol, one batch of lines per second.
//!
//! Measurement `squall_http` with tag `name` (`all` for the overall figures)
//! and measurement `squall_generator` for users, in-flight and utilization.
//! Timestamps are nanoseconds at the end of each second.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use squall_metrics::Snapshot;

use crate::record::{RequestRecord, SecondRecord};
use crate::{OutputError, Sink, Summary};

/// Streams line protocol.
pub struct InfluxSink {
    path: PathBuf,
    out: BufWriter<File>,
    start_ns: u128,
}

impl InfluxSink {
    /// Creates the file.
    pub fn create(path: &Path, start_unix: f64) -> Result<Self, OutputError> {
        let file = File::create(path).map_err(OutputError::at(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            start_ns: (start_unix * 1e9) as u128,
        })
    }
}

/// Escapes a tag value (commas, equals signs and spaces).
pub fn escape_tag(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, ',' | '=' | ' ') {
            o.push('\\');
        }
        if c == '\n' {
            o.push_str("\\n");
            continue;
        }
        o.push(c);
    }
    o
}

fn http_line(r: &RequestRecord, ts: u128) -> String {
    let l = &r.latency_ms;
    let e = &r.errors;
    // A second without requests has no latency: the fields are left out
    // (InfluxDB then has no point, and Grafana draws a gap, not 0 ms).
    let latency = if l.count == 0 {
        String::new()
    } else {
        format!(
            ",latency_p50_ms={},latency_p90_ms={},latency_p95_ms={},latency_p99_ms={},latency_max_ms={},service_p99_ms={}",
            l.p50, l.p90, l.p95, l.p99, l.max, r.service_ms.p99
        )
    };
    format!(
        "squall_http,name={} requests={}i,failed={}i,err_connect={}i,err_timeout={}i,err_status={}i,err_check={}i,err_protocol={}i,\
bytes_in={}i,bytes_out={}i{latency} {ts}",
        escape_tag(&r.name),
        r.requests,
        r.failed,
        e.connect,
        e.timeout,
        e.status,
        e.check,
        e.protocol,
        r.bytes_in,
        r.bytes_out,
    )
}

/// The lines for one second.
pub fn lines(rec: &SecondRecord, start_ns: u128) -> Vec<String> {
    let ts = start_ns + u128::from(rec.start_ms + rec.length_ms) * 1_000_000;
    let mut v = vec![http_line(&rec.overall, ts)];
    v.extend(rec.by_name.iter().map(|r| http_line(r, ts)));
    v.push(format!(
        "squall_generator vus={}i,in_flight={}i,utilization={},rate={},iterations_late={}i,iterations_dropped={}i {ts}",
        rec.vus, rec.in_flight, rec.utilization, rec.rate, rec.iterations.late, rec.iterations.dropped
    ));
    v
}

impl Sink for InfluxSink {
    fn second(&mut self, snap: &Snapshot) -> Result<(), OutputError> {
        let rec: SecondRecord = snap.into();
        let mut w = || -> std::io::Result<()> {
            for l in lines(&rec, self.start_ns) {
                writeln!(self.out, "{l}")?;
            }
            self.out.flush()
        };
        w().map_err(OutputError::at(&self.path))
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), OutputError> {
        self.out.flush().map_err(OutputError::at(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_tags() {
        assert_eq!(escape_tag("GET /a b,c=d"), "GET\\ /a\\ b\\,c\\=d");
    }

    #[test]
    fn integers_carry_the_i_suffix_and_timestamps_are_ns() {
        let mut rec = SecondRecord {
            second: 2,
            start_ms: 2000,
            length_ms: 1000,
            ..SecondRecord::default()
        };
        rec.overall.name = "all".into();
        rec.overall.requests = 5;
        let l = lines(&rec, 1_000_000_000);
        assert!(
            l[0].starts_with("squall_http,name=all requests=5i,"),
            "{}",
            l[0]
        );
        assert!(l[0].ends_with(" 4000000000"), "{}", l[0]);
    }
}
