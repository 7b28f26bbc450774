//! Replays recorded seconds from many simulated generators into a real
//! coordinator (`squall load --fleet N`), for `bench/fleet-coordinator.sh`.
//!
//! 1. Records: runs the real load engine against `--target` for a few
//!    seconds with `--names` request names and keeps each second as the
//!    generator would send it (HdrHistogram-compressed, base64).
//! 2. Replays: `--generators N` simulated generators register, get ready
//!    and, once the coordinator announces the start, each sends one
//!    recorded second per second for `--seconds` seconds (spread over the
//!    second, as independent machines would), then says it is done.
//!
//! Prints one JSON line: generators, seconds, requests sent in the
//! replayed seconds, reports refused. The coordinator's CPU time is read
//! by the script from /proc.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::Method;
use squall_fleet::protocol::{Ack, Hello, Next, PROTOCOL, Report, Welcome};
use squall_http::client::{HttpClient, call_as};
use squall_metrics::WireSnapshot;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

async fn call<T: serde::de::DeserializeOwned>(
    c: &HttpClient,
    method: Method,
    url: &str,
    body: Option<String>,
) -> Result<T, String> {
    let (status, text) = call_as(c, method, url, body, Duration::from_secs(30), None)
        .await
        .map_err(|e| e.to_string())?;
    if !(200..300).contains(&status) {
        return Err(format!("{url}: {status} {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{url}: {e}"))
}

/// Runs the real engine and keeps its full seconds.
async fn record(target: &str, names: usize, rate: u32) -> Vec<WireSnapshot> {
    let steps: String = (0..names)
        .map(|i| format!("      - request: {{name: r{i}, url: /r{i}}}\n"))
        .collect();
    let plan = format!(
        "base_url: {target}\nscenarios:\n  - name: s\n    steps:\n{steps}load: {{model: open, max_vus: 200, stages: [{{rate: {rate}, for: 4s}}]}}\n"
    );
    let file = Path::new("<recording>");
    let p = squall_load::plan::parse_plan(file, &plan).expect("recording plan parses");
    let c = squall_load::compile(&p, file).expect("recording plan compiles");
    let mut run = squall_load::start(
        Arc::new(c),
        squall_load::RunOptions {
            threads: 1,
            ..Default::default()
        },
    );
    let mut out = Vec::new();
    while let Some(s) = run.snapshots.recv().await {
        if s.length_ms >= 1000 {
            out.push(WireSnapshot::from(&s));
        }
    }
    tokio::task::spawn_blocking(move || run.join()).await.ok();
    out
}

#[tokio::main]
async fn main() {
    let coordinator = arg("--coordinator", "http://127.0.0.1:7400");
    let target = arg("--target", "http://127.0.0.1:18471");
    let generators: usize = arg("--generators", "100").parse().expect("--generators N");
    let seconds: u64 = arg("--seconds", "10").parse().expect("--seconds N");
    let names: usize = arg("--names", "5").parse().expect("--names N");
    let rate: u32 = arg("--rate", "500").parse().expect("--rate N");
    let recorded = Arc::new(record(&target, names, rate).await);
    assert!(!recorded.is_empty(), "nothing recorded");
    let per_cycle: u64 = recorded
        .iter()
        .map(|s| s.requests.iter().map(|r| r.requests).sum::<u64>())
        .sum();
    let refused = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for g in 0..generators {
        let (base, recorded) = (coordinator.clone(), recorded.clone());
        let (refused, sent) = (refused.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let c = squall_http::client::client();
            let hello = Hello {
                protocol: PROTOCOL,
                name: format!("sim-{g}"),
                index: None,
                threads: 1,
                version: "replay".into(),
            };
            let w: Welcome = call(
                &c,
                Method::POST,
                &format!("{base}/api/v1/fleet/generators"),
                Some(serde_json::to_string(&hello).unwrap()),
            )
            .await
            .expect("register");
            let next_url = |known: Option<u64>| match known {
                Some(v) => format!("{base}/api/v1/fleet/generators/{}/next?known={v}", w.id),
                None => format!("{base}/api/v1/fleet/generators/{}/next", w.id),
            };
            let report_url = format!("{base}/api/v1/fleet/generators/{}/report", w.id);
            let mut known = None;
            let order = loop {
                let n: Next = call(&c, Method::GET, &next_url(known), None)
                    .await
                    .expect("poll");
                known = Some(n.version);
                if let Some(o) = n.order {
                    break o;
                }
            };
            let ready = Report {
                run: order.run.clone(),
                ready: true,
                ..Report::default()
            };
            let _: Ack = call(
                &c,
                Method::POST,
                &report_url,
                Some(serde_json::to_string(&ready).unwrap()),
            )
            .await
            .expect("ready");
            let start = loop {
                let n: Next = call(&c, Method::GET, &next_url(known), None)
                    .await
                    .expect("poll");
                known = Some(n.version);
                if let Some(at) = n.order.and_then(|o| o.start_unix_ms) {
                    break at;
                }
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64()
                * 1000.0;
            // Each generator reports at its own point of the second.
            let offset = (g as f64 / generators as f64) * 900.0 + 50.0;
            let t0 = tokio::time::Instant::now()
                + Duration::from_secs_f64(((start - now).max(0.0)) / 1000.0);
            for k in 0..seconds {
                tokio::time::sleep_until(
                    t0 + Duration::from_millis((k + 1) * 1000)
                        + Duration::from_secs_f64(offset / 1000.0),
                )
                .await;
                let mut snap = recorded[k as usize % recorded.len()].clone();
                snap.second = k;
                let r = Report {
                    run: order.run.clone(),
                    seconds: vec![snap],
                    done: (k + 1 == seconds).then_some(seconds),
                    ..Report::default()
                };
                match call::<Ack>(
                    &c,
                    Method::POST,
                    &report_url,
                    Some(serde_json::to_string(&r).unwrap()),
                )
                .await
                {
                    Ok(a) if a.through == Some(k) => {
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("a simulated generator panicked");
    }
    let cycle_len = recorded.len() as u64;
    let full_cycles = seconds / cycle_len;
    let rest: u64 = recorded
        .iter()
        .take((seconds % cycle_len) as usize)
        .map(|s| s.requests.iter().map(|r| r.requests).sum::<u64>())
        .sum();
    let expected = generators as u64 * (full_cycles * per_cycle + rest);
    println!(
        "{{\"generators\": {generators}, \"seconds\": {seconds}, \"names\": {names}, \"reports_acknowledged\": {}, \"reports_refused\": {}, \"requests_expected\": {expected}, \"bytes_per_report\": {}}}",
        sent.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        serde_json::to_string(&recorded[0]).unwrap().len()
    );
}
