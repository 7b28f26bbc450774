//! The per-service admin API under `/_sim/`: persistent faults with leases,
//! health and Prometheus metrics.
//!
//! - `PUT /_sim/faults` `{"type": "latency", "args": {"delay": 100}, "lease": "30s"}` -> 201 with the lease
//! - `POST /_sim/faults/validate` with the same body: every check of `PUT`,
//!   nothing applied -> 200 `{"valid": true}` or the 400 `PUT` would answer,
//!   so a run can refuse a fault before it starts instead of during it
//! - `GET /_sim/faults` -> the leases in force with time left
//! - `DELETE /_sim/faults/{id}` or `DELETE /_sim/faults` (all)
//! - `GET /_sim/faults/history`: start and end (wall clock) of recent faults
//! - `GET /_sim/health`, `GET /_sim/metrics`

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde::Deserialize;

use super::Service;
use crate::deterioration;
use crate::fault::{Fault, FaultError};
use crate::http_util::{self, Body};
use crate::leases::{lease_end, stop_flag_at_end};
use crate::millis::Millis;
use crate::tree::FaultSpec;

/// Body of `PUT /_sim/faults`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutFault {
    /// Fault type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Fault arguments.
    #[serde(default)]
    pub args: serde_json::Map<String, serde_json::Value>,
    /// How long the fault lasts (required): ms or `30s`.
    pub lease: Millis,
}

pub(crate) async fn handle(svc: &Arc<Service>, req: Request<Incoming>) -> Response<Body> {
    if let Some(refusal) = http_util::refused(&req, svc.addr, &svc.directory) {
        return refusal;
    }
    let path = req.uri().path().trim_end_matches('/').to_string();
    match (req.method().clone(), path.as_str()) {
        (Method::GET, "/_sim/health") => http_util::json(
            200,
            &serde_json::json!({"service": svc.name, "status": "ok"}),
        ),
        (Method::GET, "/_sim/metrics") => http_util::text(200, metrics_text(svc)),
        (Method::GET, "/_sim/faults") => http_util::json(200, &svc.leases.list()),
        (Method::GET, "/_sim/faults/history") => http_util::json(200, &svc.leases.history()),
        (Method::POST, "/_sim/faults/validate") => {
            match http_util::read_json::<PutFault>(req, 64 * 1024).await {
                Ok(p) => match validate(svc, p) {
                    Ok(_) => http_util::json(200, &serde_json::json!({"valid": true})),
                    Err(e) => http_util::error(400, e.message, Some(&e.field)),
                },
                Err((msg, field)) => http_util::error(400, msg, field.as_deref()),
            }
        }
        (Method::PUT, "/_sim/faults") | (Method::POST, "/_sim/faults") => {
            match http_util::read_json::<PutFault>(req, 64 * 1024).await {
                Ok(p) => put_fault(svc, p).await,
                Err((msg, field)) => http_util::error(400, msg, field.as_deref()),
            }
        }
        (Method::DELETE, "/_sim/faults") => {
            http_util::json(200, &serde_json::json!({"cleared": svc.leases.clear()}))
        }
        (Method::DELETE, p) if p.starts_with("/_sim/faults/") => {
            let id = &p["/_sim/faults/".len()..];
            if svc.leases.remove(id) {
                http_util::json(200, &serde_json::json!({"cleared": 1, "id": id}))
            } else {
                http_util::error(404, format!("no active fault {id:?} on {}", svc.name), None)
            }
        }
        (_, p) => http_util::error(404, format!("no admin endpoint {} {p}", req.method()), None),
    }
}

/// Every check `PUT /_sim/faults` makes before applying anything: the
/// lease against its cap, the type and arguments against the fault's
/// schema and the service's caps, and whether the service can crash.
pub fn validate(
    svc: &Service,
    p: PutFault,
) -> Result<(FaultSpec, Fault, std::time::Duration), FaultError> {
    let lease = p.lease.0;
    if lease.is_zero() {
        return Err(FaultError::new("lease", "lease must be longer than 0"));
    }
    if lease > svc.limits.max_lease {
        return Err(FaultError::new(
            "lease",
            format!(
                "lease {} ms exceeds the cap of {} ms",
                lease.as_millis(),
                svc.limits.max_lease.as_millis()
            ),
        ));
    }
    let mut args = p.args;
    // Memory and CPU faults last for the lease unless given a shorter duration.
    if matches!(p.kind.as_str(), "memory-leak" | "cpu-load") && !args.contains_key("duration") {
        args.insert("duration".into(), (lease.as_millis() as u64).into());
    }
    let spec = FaultSpec { kind: p.kind, args };
    let fault = Fault::parse(&spec, &svc.limits)?;
    if fault == Fault::Crash && !svc.supervised {
        return Err(FaultError::new(
            "type",
            "crash needs a supervised service (squall sim up --processes), not available in single-process mode",
        ));
    }
    Ok((spec, fault, lease))
}

/// Validates and installs a persistent fault; nothing is installed on error.
pub async fn put_fault(svc: &Arc<Service>, p: PutFault) -> Response<Body> {
    let (spec, fault, lease) = match validate(svc, p) {
        Ok(v) => v,
        Err(e) => return http_util::error(400, e.message, Some(&e.field)),
    };
    if fault == Fault::Crash {
        // A crash is an event, not a state: answer, then exit; the
        // supervisor restarts the service.
        let name = svc.name.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            super::crash(&name)
        });
        return http_util::json(
            202,
            &serde_json::json!({"service": svc.name, "type": "crash", "status": "exiting"}),
        );
    }
    // MiSArch's variables hold one value each: a new one replaces the old
    // (freed first, as the sidecar frees memory before allocating).
    let replaced = if deterioration::REPLACING.contains(&spec.kind.as_str()) {
        svc.leases.replace_kind(&spec.kind)
    } else {
        0
    };
    let (mut view, deadline, cancel) = svc.leases.add(spec, fault.clone(), lease);
    view.replaced = replaced;
    let started = match fault {
        Fault::Memory { bytes } => svc
            .resources
            .hold(bytes, &svc.limits, lease_end(deadline, cancel))
            .await
            .map_err(|held| {
                format!(
                    "artificial-memory: {bytes} bytes would exceed the cap of {} MB ({held} bytes already held)",
                    svc.limits.max_leak_mb
                )
            }),
        Fault::Cpu(cycles) => {
            let stop = stop_flag_at_end(deadline, cancel);
            cycles
                .into_iter()
                .try_for_each(|c| svc.resources.cycle(c, &svc.limits, stop.clone()))
        }
        Fault::MemoryLeak { mb, duration } => {
            let end = deadline.min(tokio::time::Instant::now() + duration);
            svc.resources.leak(mb, &svc.limits, lease_end(end, cancel))
        }
        Fault::CpuLoad { duration, share } => {
            let stop = stop_flag_at_end(deadline, cancel);
            svc.resources
                .burn(duration.min(lease), share, &svc.limits, stop)
                .map(|_| ())
        }
        _ => Ok(()),
    };
    if let Err(e) = started {
        svc.leases.remove(&view.id);
        return http_util::error(400, e, Some("args"));
    }
    http_util::json(201, &view)
}

/// Prometheus' standard process metrics (CPU time and resident memory of
/// the process serving the service, from /proc), so a scraper sees what
/// CPU and memory faults really cost; absent where /proc is not.
fn process_metrics(o: &mut String) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // Fields after the command name: utime and stime are the 12th and 13th
    // (in USER_HZ, 100 per second on Linux).
    let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
        return;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let cpu = (num(11) + num(12)) / 100.0;
    // VmRSS is in kB, whatever the page size.
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        * 1024.0;
    let _ = writeln!(
        o,
        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {cpu}"
    );
    let _ = writeln!(
        o,
        "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {rss}"
    );
}

fn metrics_text(svc: &Service) -> String {
    let m = svc.metrics.lock().expect("metrics lock");
    let n = &svc.name;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# HELP squall_sim_requests_total Requests handled, by kind.\n# TYPE squall_sim_requests_total counter"
    );
    for (k, v) in &m.requests {
        let _ = writeln!(
            o,
            "squall_sim_requests_total{{service=\"{n}\",kind=\"{k}\"}} {v}"
        );
    }
    let _ = writeln!(
        o,
        "# HELP squall_sim_errors_total Responses >= 400 and aborted connections.\n# TYPE squall_sim_errors_total counter"
    );
    let _ = writeln!(o, "squall_sim_errors_total{{service=\"{n}\"}} {}", m.errors);
    let _ = writeln!(
        o,
        "# HELP squall_sim_latency_seconds Handling time of data-plane requests.\n# TYPE squall_sim_latency_seconds summary"
    );
    for q in [0.5, 0.9, 0.99] {
        let _ = writeln!(
            o,
            "squall_sim_latency_seconds{{service=\"{n}\",quantile=\"{q}\"}} {}",
            m.latency.percentile(q * 100.0) as f64 / 1e6
        );
    }
    let _ = writeln!(
        o,
        "squall_sim_latency_seconds_count{{service=\"{n}\"}} {}",
        m.latency.len()
    );
    let _ = writeln!(
        o,
        "squall_sim_latency_seconds_sum{{service=\"{n}\"}} {}",
        m.latency.mean() * m.latency.len() as f64 / 1e6
    );
    drop(m);
    let _ = writeln!(
        o,
        "# HELP squall_sim_active_faults Persistent faults in force.\n# TYPE squall_sim_active_faults gauge"
    );
    let _ = writeln!(
        o,
        "squall_sim_active_faults{{service=\"{n}\"}} {}",
        svc.leases.list().len()
    );
    let _ = writeln!(
        o,
        "# HELP squall_sim_leaked_bytes Memory held by memory-leak faults.\n# TYPE squall_sim_leaked_bytes gauge"
    );
    let _ = writeln!(
        o,
        "squall_sim_leaked_bytes{{service=\"{n}\"}} {}",
        svc.resources.leaked.load(Ordering::SeqCst)
    );
    let _ = writeln!(
        o,
        "# HELP squall_sim_cpu_burners CPU-load faults running.\n# TYPE squall_sim_cpu_burners gauge"
    );
    let _ = writeln!(
        o,
        "squall_sim_cpu_burners{{service=\"{n}\"}} {}",
        svc.resources.burners.load(Ordering::SeqCst)
    );
    process_metrics(&mut o);
    if !svc.topics.is_empty() {
        let _ = writeln!(
            o,
            "# HELP squall_sim_pubsub_messages_total Messages of asynchronous calls, by outcome.\n# TYPE squall_sim_pubsub_messages_total counter"
        );
        for t in &svc.topics {
            let c = &t.counters;
            for (outcome, v) in [
                ("published", &c.published),
                ("dropped", &c.dropped),
                ("delivered", &c.delivered),
                ("redelivered", &c.redelivered),
                ("failed", &c.failed),
            ] {
                let _ = writeln!(
                    o,
                    "squall_sim_pubsub_messages_total{{service=\"{n}\",to=\"{}\",outcome=\"{outcome}\"}} {}",
                    t.spec.to,
                    v.load(Ordering::Relaxed)
                );
            }
        }
        let _ = writeln!(
            o,
            "# HELP squall_sim_pubsub_pending Messages queued or being delivered.\n# TYPE squall_sim_pubsub_pending gauge"
        );
        for t in &svc.topics {
            let _ = writeln!(
                o,
                "squall_sim_pubsub_pending{{service=\"{n}\",to=\"{}\"}} {}",
                t.spec.to,
                t.counters.pending.load(Ordering::Relaxed)
            );
        }
    }
    o
}
