//! `squall load lg.yaml` where the file is MicroSim's `LoadGenerator`
//! resource: its trees go to a running `squall sim` the way MicroSim's
//! operator sends them (see `squall_sim::loadgen`), and what the resource's
//! `status` would show is printed as YAML, with squall's figures beside it.

use std::path::{Path, PathBuf};

use anyhow::Result;
use squall_sim::loadgen::{self, LoadGenOptions, LoadGenStatus};
use squall_sim::microsim::{self, Kind, LoadGenerator};
use tokio::sync::watch;

use super::load::LoadArgs;
use crate::exit::{self, InvalidInput};
use crate::signals::StopSignals;

/// The file named by `squall load`, when it is a `LoadGenerator`.
pub(crate) fn detect(args: &LoadArgs) -> Option<(PathBuf, String)> {
    let target = args.target.as_deref()?;
    if target.contains("://") {
        return None;
    }
    let text = std::fs::read_to_string(target).ok()?;
    (microsim::detect(&text) == Some(Kind::LoadGenerator)).then(|| (PathBuf::from(target), text))
}

/// Flags of `squall load` that mean nothing for a `LoadGenerator`: refused
/// before anything is sent rather than silently ignored.
fn refuse_plan_flags(args: &LoadArgs) -> Result<(), InvalidInput> {
    let mut used = Vec::new();
    if args.fleet.fleet.is_some() {
        used.push("--fleet");
    }
    if !args.outputs.is_empty() {
        used.push("--out");
    }
    if !args.thresholds.is_empty() {
        used.push("--threshold");
    }
    if args.rate.is_some() {
        used.push("--rate");
    }
    if args.requests.is_some() {
        used.push("-n/--requests");
    }
    if args.body.is_some() {
        used.push("--body");
    }
    if !args.headers.is_empty() {
        used.push("-H/--header");
    }
    if used.is_empty() {
        Ok(())
    } else {
        Err(InvalidInput(format!(
            "{} cannot be used with a MicroSim LoadGenerator (its spec says what is sent: requests, replicas, betweenDelay, requestCount, timeout)",
            used.join(", ")
        )))
    }
}

pub(crate) async fn run(args: &LoadArgs, path: &Path, text: &str) -> Result<u8> {
    refuse_plan_flags(args)?;
    let lg = LoadGenerator::parse(path, text).map_err(|e| InvalidInput(e.join("\n")))?;
    let bound = match (lg.request_count, lg.timeout) {
        (Some(n), Some(t)) => format!("{n} batches or {}", humantime::format_duration(t)),
        (Some(n), None) => format!("{n} batches"),
        (None, Some(t)) => humantime::format_duration(t).to_string(),
        (None, None) => format!(
            "{} (-d; the resource sets neither requestCount nor timeout)",
            humantime::format_duration(args.duration)
        ),
    };
    eprintln!(
        "squall load: MicroSim LoadGenerator {}: {} tree(s) x {} replicas every {}, until {bound}, via {}",
        lg.name,
        lg.requests.len(),
        lg.replicas,
        humantime::format_duration(lg.between_delay),
        args.sim_control
    );
    let opts = LoadGenOptions {
        control: args.sim_control.clone(),
        seed: args.seed,
        limit: args.duration,
    };
    let (tx, rx) = watch::channel(false);
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupted.clone();
    tokio::spawn(async move {
        StopSignals::new().next().await;
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = tx.send(true);
    });
    let status = loadgen::run(&lg, &opts, rx).await;
    print!("{}", render(&status));
    if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
        return Ok(exit::INTERRUPTED);
    }
    if status.sent > 0 && status.ok == 0 {
        eprintln!(
            "squall load: no request was answered with a reply tree (is `squall sim up` running at {}?)",
            args.sim_control
        );
        return Ok(exit::ERROR);
    }
    Ok(exit::OK)
}

/// MicroSim's status fields first, then squall's, as YAML.
fn render(s: &LoadGenStatus) -> String {
    let q = |p: f64| {
        humantime::format_duration(std::time::Duration::from_micros(s.latency.percentile(p)))
            .to_string()
    };
    let mut o = String::from("status:\n");
    o += &format!("  doneRequests: {}\n", s.done_requests);
    o += &format!(
        "  totalResponseTime: {:.3}s\n",
        s.total_response_time.as_secs_f64()
    );
    o += &format!("  replicas: {}\n", s.replicas);
    o += &format!(
        "  responses: {}  # distinct (request, response) pairs\n",
        s.responses
    );
    o += "squall:\n";
    o += &format!(
        "  sent: {}\n  ok: {}\n  failed: {}\n",
        s.sent, s.ok, s.failed
    );
    if s.skipped_ticks > 0 {
        o += &format!(
            "  skippedTicks: {}  # too many requests in flight\n",
            s.skipped_ticks
        );
    }
    if s.sent > 0 {
        o += &format!(
            "  latency: {{p50: {}, p99: {}, max: {}}}\n",
            q(50.0),
            q(99.0),
            q(100.0)
        );
    }
    o += "  calls:  # nodes answered, by service\n";
    for (svc, n) in &s.calls {
        o += &format!("    {svc}: {n}\n");
    }
    if !s.errors.is_empty() {
        o += "  errors:\n";
        for e in &s.errors {
            o += &format!("    - {}\n", serde_json::to_string(e).expect("a string"));
        }
    }
    o
}
