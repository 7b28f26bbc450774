//! One experiment run on one clock: prepare, warm-up (baseline), main run
//! with the workload and the fault schedule sharing the start instant t0,
//! abort conditions each second, then every fault reverted and goals
//! evaluated. Measurements stream to files each second, so an interrupted
//! or aborted run keeps what it measured.

use std::sync::Arc;
use std::time::Duration;

use squall_load::{CompiledPlan, RunOptions};
use squall_metrics::Interval;
use squall_report::run_report::{FaultRecord, GoalRecord, PhaseFigures, TimelineEntry};
use squall_report::{PercentilesMs, Sink};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::chaos_part;
use crate::event::Event;
use crate::goals::{self, Goal, Phase};
use crate::inject::{self, HttpClient};
use crate::phases::PhaseBook;
use crate::prepare::{Prepared, PreparedFault, TOXIC_PREFIX, Via};
use crate::series::SecondRow;

/// Run-wide settings.
pub struct Settings {
    /// Worker threads of the load engine.
    pub threads: usize,
    /// Seed of the load engine's random choices.
    pub seed: u64,
    /// Flips to true to stop the run (Ctrl-C).
    pub stop: watch::Receiver<bool>,
    /// Opens the per-second outputs of the main run, given its start in
    /// seconds since the epoch (known only once the warm-up is over).
    pub open_sinks: OpenSinks,
    /// Updated every second of the main run, when someone serves it.
    pub live: Option<Live>,
    /// The Chaos Toolkit part, run from t0 alongside the load.
    pub chaos: Option<serde_json::Value>,
    /// Squall's own injectors: host and process faults, the experiment's
    /// proxies, and the lease table every fault of the run is entered in.
    pub agent: Arc<squall_faults::Agent>,
}

/// The figures so far and the last second, for a Prometheus endpoint.
pub type Live = Arc<std::sync::Mutex<(Interval, Option<squall_metrics::Snapshot>)>>;

/// See [`Settings::open_sinks`].
pub type OpenSinks = Box<dyn FnOnce(f64) -> Result<Vec<Box<dyn Sink>>, String> + Send>;

/// What the run measured and how it ended.
pub struct Measured {
    /// Main run start, ms since the Unix epoch.
    pub started_unix_ms: u64,
    /// Main run length, seconds.
    pub duration_s: f64,
    /// Why it ended early (abort condition, Ctrl-C), if it did.
    pub ended_early: Option<String>,
    /// What makes the run not test what the experiment describes: faults
    /// refused when due, a Chaos Toolkit part stopped by an internal error.
    pub invalid_because: Vec<String>,
    /// Whether a person interrupted it.
    pub interrupted: bool,
    /// The warm-up's figures.
    pub warmup: Option<PhaseFigures>,
    /// Figures per phase.
    pub phases: Vec<PhaseFigures>,
    /// Each fault, as applied.
    pub faults: Vec<FaultRecord>,
    /// Each goal's outcome.
    pub goals: Vec<GoalRecord>,
    /// The per-second rows.
    pub rows: Vec<SecondRow>,
    /// What happened.
    pub timeline: Vec<TimelineEntry>,
    /// Errors writing outputs.
    pub sink_errors: Vec<String>,
    /// The Chaos Toolkit journal, when the experiment has a chaos part.
    pub journal: Option<serde_json::Value>,
}

/// Something prevented the run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The target did not answer before the start.
    #[error("the target {url} does not answer: {reason}")]
    TargetDown {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

fn unix_ms_at(t: Instant) -> u64 {
    let now_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i128)
        .unwrap_or(0);
    let now = Instant::now();
    let delta = if t >= now {
        (t - now).as_millis() as i128
    } else {
        -((now - t).as_millis() as i128)
    };
    (now_unix + delta).max(0) as u64
}

/// Checks that the target answers (any HTTP status), retrying for 5 s.
pub async fn preflight(p: &Prepared) -> Result<(), RunError> {
    let Some(url) = &p.target else { return Ok(()) };
    let client = inject::client();
    let mut last = String::new();
    for _ in 0..20 {
        match inject::answers(&client, url).await {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(RunError::TargetDown {
        url: url.clone(),
        reason: last,
    })
}

/// Runs a prepared experiment; `events` receives progress for the terminal.
pub async fn run(
    p: &Prepared,
    settings: Settings,
    events: mpsc::UnboundedSender<Event>,
) -> Result<Measured, RunError> {
    let client = inject::client();
    let mut timeline = Vec::new();
    let note = |timeline: &mut Vec<TimelineEntry>, t: f64, kind: &str, text: String| {
        let _ = events.send(Event::Note {
            t,
            kind: kind.to_string(),
            text: text.clone(),
        });
        timeline.push(TimelineEntry {
            t,
            kind: kind.into(),
            text,
        });
    };
    // 1. Prepare: no fault is left over from before (the target was checked by `preflight`).
    for base in &p.fault_services {
        match inject::clear(&client, base).await {
            Ok(0) => {}
            Ok(n) => note(
                &mut timeline,
                0.0,
                "revert",
                format!("cleared {n} leftover fault(s) on {base}"),
            ),
            Err(e) => note(
                &mut timeline,
                0.0,
                "error",
                format!("cannot clear leftover faults: {e}"),
            ),
        }
    }
    for (api, proxy) in &p.fault_proxies {
        match inject::clear_toxics(&client, api, proxy, TOXIC_PREFIX).await {
            Ok(0) => {}
            Ok(n) => note(
                &mut timeline,
                0.0,
                "revert",
                format!("removed {n} leftover toxic(s) from proxy {proxy} at {api}"),
            ),
            Err(e) => note(
                &mut timeline,
                0.0,
                "error",
                format!("cannot clear leftover toxics: {e}"),
            ),
        }
    }
    let agent = settings.agent.clone();
    // 2. Warm-up: the baseline.
    let mut warmup_figures = None;
    let mut baseline: Option<(Interval, Duration)> = None;
    if let Some((plan, len)) = &p.warmup {
        let secs = len.as_secs_f64();
        note(
            &mut timeline,
            -secs,
            "phase",
            format!("warm-up for {}", humantime::format_duration(*len)),
        );
        let mut total = Interval::new(&plan.request_names, &plan.check_names);
        let (_, stopped) = drive(
            plan.clone(),
            (settings.threads, settings.seed, settings.stop.clone()),
            Instant::now() + Duration::from_millis(50),
            |snap| {
                total.merge(&snap.interval);
                if snap.length_ms >= 100 {
                    let _ = events.send(Event::Second {
                        phase: "warm-up".into(),
                        row: SecondRow::of(snap, -secs),
                    });
                }
                None
            },
        )
        .await;
        warmup_figures = Some(figures("warmup", &total, secs));
        baseline = Some((total, *len));
        if stopped {
            return Ok(early_end(
                p,
                warmup_figures,
                timeline,
                "interrupted during the warm-up",
            ));
        }
    }
    // 3. Main run: workload and faults from the same t0.
    let t0 = Instant::now() + Duration::from_millis(100);
    let started_unix_ms = unix_ms_at(t0);
    note(&mut timeline, 0.0, "phase", "main run starts".into());
    let mut sink_errors = Vec::new();
    let mut sinks = match (settings.open_sinks)(started_unix_ms as f64 / 1000.0) {
        Ok(s) => s,
        Err(e) => {
            sink_errors.push(e);
            Vec::new()
        }
    };
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let fault_tasks: Vec<_> = p
        .faults
        .iter()
        .map(|f| {
            tokio::spawn(run_fault(
                f.clone(),
                t0,
                client.clone(),
                agent.clone(),
                cancel_rx.clone(),
                events.clone(),
            ))
        })
        .collect();
    let chaos_watch = Arc::new(chaos_part::Watch::default());
    let chaos_task = settings.chaos.clone().map(|part| {
        let (stop, events, w) = (settings.stop.clone(), events.clone(), chaos_watch.clone());
        tokio::spawn(async move {
            tokio::time::sleep_until(t0).await;
            chaos_part::run(part, stop, t0, events, w).await
        })
    });
    let mut book = PhaseBook::new(&p.plan, &p.faults);
    let mut rows = Vec::new();
    let mut abort_streaks = vec![0u32; p.aborts.len()];
    let mut aborted: Option<String> = None;
    let (elapsed, interrupted) = drive(
        p.plan.clone(),
        (settings.threads, settings.seed, settings.stop.clone()),
        t0,
        |snap| {
            let row = SecondRow::of(snap, 0.0);
            book.add(snap);
            if let Some(l) = &settings.live {
                *l.lock().expect("live lock") = (book.overall.clone(), Some(snap.clone()));
            }
            for s in sinks.iter_mut() {
                if let Err(e) = s.second(snap) {
                    sink_errors.push(e.to_string());
                }
            }
            let _ = events.send(Event::Second {
                phase: book.phase_at(row.end_s),
                row: row.clone(),
            });
            rows.push(row);
            if chaos_watch
                .failed_before
                .load(std::sync::atomic::Ordering::SeqCst)
                && aborted.is_none()
            {
                aborted = Some("the steady-state hypothesis was not met before the method".into());
                return aborted.clone();
            }
            for (i, a) in p.aborts.iter().enumerate() {
                let len = Duration::from_millis(snap.length_ms.max(1));
                if a.threshold.evaluate(&snap.interval, len).passed {
                    abort_streaks[i] += 1;
                    if abort_streaks[i] >= a.seconds && aborted.is_none() {
                        aborted = Some(format!(
                            "abort condition `{}` held for {} s",
                            a.label, a.seconds
                        ));
                        return aborted.clone();
                    }
                } else {
                    abort_streaks[i] = 0;
                }
            }
            None
        },
    )
    .await;
    // 4. End: every fault reverted, whatever ended the run.
    let _ = cancel_tx.send(true);
    let mut faults = Vec::new();
    for t in fault_tasks {
        if let Ok(rec) = t.await {
            faults.push(rec);
        }
    }
    // The chaos part ends with its hypothesis after and its rollbacks.
    let mut invalid_because: Vec<String> = faults
        .iter()
        .filter(|f| f.injected_s.is_none())
        .filter_map(|f| {
            f.error
                .as_ref()
                .map(|e| format!("fault {:?} was not applied: {e}", f.name))
        })
        .collect();
    let journal = match chaos_task {
        Some(t) => match t.await {
            Ok(j) => Some(j),
            Err(e) => {
                invalid_because.push(format!("the Chaos Toolkit part stopped: {e}"));
                None
            }
        },
        None => None,
    };
    if let Some(e) = chaos_watch
        .internal_error
        .lock()
        .expect("error lock")
        .take()
    {
        invalid_because.push(e);
    }
    timeline.extend(
        chaos_watch
            .timeline
            .lock()
            .expect("timeline lock")
            .drain(..),
    );
    let duration_s = elapsed.as_secs_f64();
    let mut summary =
        squall_report::Summary::new(&book.overall, started_unix_ms as f64 / 1000.0, duration_s);
    summary.ended = if aborted.is_some() {
        "aborted"
    } else if interrupted {
        "interrupted"
    } else {
        "completed"
    }
    .into();
    for s in sinks.iter_mut() {
        if let Err(e) = s.finish(&summary) {
            sink_errors.push(e.to_string());
        }
    }
    for f in &faults {
        if let Some(s) = f.injected_s {
            timeline.push(TimelineEntry {
                t: s,
                kind: "fault".into(),
                text: format!("{} injected ({} on {})", f.name, f.kind, f.target),
            });
        }
        if let Some(s) = f.reverted_s {
            timeline.push(TimelineEntry {
                t: s,
                kind: "revert".into(),
                text: format!("{} reverted", f.name),
            });
        }
        if let Some(e) = &f.error {
            timeline.push(TimelineEntry {
                t: f.planned_start_s,
                kind: "error".into(),
                text: format!("{}: {e}", f.name),
            });
        }
    }
    let ended_early = match (&aborted, interrupted) {
        (Some(a), _) => Some(a.clone()),
        (None, true) => Some("interrupted (Ctrl-C or SIGTERM)".to_string()),
        _ => None,
    };
    if let Some(e) = &ended_early {
        timeline.push(TimelineEntry {
            t: duration_s,
            kind: "abort".into(),
            text: e.clone(),
        });
    }
    timeline.push(TimelineEntry {
        t: duration_s,
        kind: "phase".into(),
        text: "main run ends".into(),
    });
    timeline.sort_by(|a, b| a.t.total_cmp(&b.t));
    // 5. Goals.
    let names: Vec<String> = p.faults.iter().map(|f| f.name.clone()).collect();
    let goal_records = p
        .goals
        .iter()
        .map(|g| {
            evaluate_goal(
                g,
                &book,
                &rows,
                &p.faults,
                &names,
                baseline.as_ref(),
                duration_s,
            )
        })
        .collect();
    let mut phases = vec![figures("overall", &book.overall, duration_s)];
    for (i, _) in p.faults.iter().enumerate() {
        for ph in [Phase::Before(i), Phase::During(i), Phase::After(i)] {
            let (iv, len) = book.get(ph);
            phases.push(figures(&ph.label(&names), iv, len.as_secs_f64()));
        }
    }
    Ok(Measured {
        started_unix_ms,
        duration_s,
        ended_early,
        invalid_because,
        interrupted: interrupted && aborted.is_none(),
        warmup: warmup_figures,
        phases,
        faults,
        goals: goal_records,
        rows,
        timeline,
        sink_errors,
        journal,
    })
}

/// Runs one plan from `start`, calling `each` per merged second; `each`
/// returns a reason to stop early. Returns the measured length and whether
/// the stop signal ended it.
async fn drive(
    plan: Arc<CompiledPlan>,
    (threads, seed, mut signal): (usize, u64, watch::Receiver<bool>),
    start: Instant,
    mut each: impl FnMut(&squall_metrics::Snapshot) -> Option<String>,
) -> (Duration, bool) {
    let opts = RunOptions {
        threads,
        seed,
        start_at: Some(start),
        ..Default::default()
    };
    let mut run = squall_load::start(plan, opts);
    let stop = run.stop_handle();
    let mut interrupted = false;
    let mut measured = Duration::ZERO;
    loop {
        tokio::select! {
            snap = run.snapshots.recv() => {
                let Some(snap) = snap else { break };
                measured = Duration::from_millis(snap.start_ms + snap.length_ms);
                if each(&snap).is_some() {
                    stop.soft();
                }
            }
            _ = signal.wait_for(|s| *s), if !interrupted => {
                interrupted = true;
                stop.soft();
            }
        }
    }
    while run.errors.try_recv().is_ok() {}
    tokio::task::spawn_blocking(move || run.join()).await.ok();
    (measured, interrupted)
}

/// Injects one fault at its offset and reverts it at its end, or at once
/// when the run is cancelled. The lease given to the injector ends at the
/// planned end, so the fault ends even if this process dies.
async fn run_fault(
    f: PreparedFault,
    t0: Instant,
    client: HttpClient,
    agent: Arc<squall_faults::Agent>,
    mut cancel: watch::Receiver<bool>,
    events: mpsc::UnboundedSender<Event>,
) -> FaultRecord {
    let mut rec = planned(&f);
    let since = |t0: Instant| Instant::now().saturating_duration_since(t0).as_secs_f64();
    tokio::select! {
        _ = tokio::time::sleep_until(t0 + f.at) => {}
        _ = cancel.wait_for(|c| *c) => return rec,
    }
    let end = t0 + f.end();
    let lease = end
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    let held = match apply(&f, &client, &agent, lease).await {
        Ok(h) => h,
        Err(e) => {
            let _ = events.send(Event::Note {
                t: since(t0),
                kind: "error".into(),
                text: format!("{}: {e}", f.name),
            });
            rec.error = Some(e.to_string());
            return rec;
        }
    };
    rec.injected_s = Some(since(t0));
    let _ = events.send(Event::Note {
        t: since(t0),
        kind: "fault".into(),
        text: format!("{} injected", f.name),
    });
    tokio::select! {
        _ = tokio::time::sleep_until(end) => {}
        _ = cancel.wait_for(|c| *c) => {}
    }
    match undo(&f, &client, &agent, held).await {
        Ok(()) => rec.reverted_s = Some(since(t0)),
        Err(e) => {
            rec.error = Some(format!(
                "revert failed (the lease still ends it at its deadline): {e}"
            ))
        }
    }
    let _ = events.send(Event::Note {
        t: since(t0),
        kind: "revert".into(),
        text: format!("{} reverted", f.name),
    });
    rec
}

/// What an applied fault holds until it is reverted: the remote lease, or
/// the local ones. Remote faults are also entered in the agent's lease
/// table (with nothing to undo locally), so the ledger knows them and a
/// later squall can delete them if this one dies.
enum Held {
    Sim { id: String, tracked: String },
    Host(Vec<String>),
    LocalToxic(String),
    Toxic { name: String, tracked: String },
}

/// Enters a fault held elsewhere into the agent's lease table.
fn track(agent: &squall_faults::Agent, f: &PreparedFault, lease: Duration, url: String) -> String {
    agent
        .injector
        .grant(
            f.kind.clone(),
            f.target.clone(),
            serde_json::Value::Object(f.args.clone()),
            lease,
            squall_faults::Recovery::HttpDelete { url },
            squall_faults::Undo::Elsewhere,
        )
        .id
}

/// Applies a fault through its injector with a lease of `lease`.
async fn apply(
    f: &PreparedFault,
    client: &HttpClient,
    agent: &squall_faults::Agent,
    lease: Duration,
) -> Result<Held, inject::InjectError> {
    match &f.via {
        Via::Sim(base) => {
            let id = inject::inject(client, base, &f.kind, &f.args, lease).await?;
            let url = format!("{}/_sim/faults/{id}", base.trim_end_matches('/'));
            let tracked = track(agent, f, lease, url);
            Ok(Held::Sim { id, tracked })
        }
        Via::Host(v) => {
            let mut v = v.clone();
            with_duration(&mut v, &f.kind, lease);
            let fault =
                squall_faults::Agent::parse(v).map_err(|e| inject::InjectError(e.to_string()))?;
            let applied = agent
                .apply(fault)
                .await
                .map_err(|e| inject::InjectError(e.to_string()))?;
            Ok(Held::Host(
                applied.leases.into_iter().map(|l| l.id).collect(),
            ))
        }
        Via::LocalToxic { proxy, body } => {
            let mut req: squall_faults::proxy::toxic::ToxicRequest =
                serde_json::from_value(body.clone())
                    .map_err(|e| inject::InjectError(e.to_string()))?;
            req.ttl_ms = Some(lease.as_millis() as u64);
            let name = req.name.clone().unwrap_or_default();
            agent
                .proxies
                .add_toxic(proxy, req)
                .map_err(|e| inject::InjectError(format!("proxy {proxy}: {e}")))?;
            Ok(Held::LocalToxic(name))
        }
        Via::Toxic { api, proxy, body } => {
            inject::add_toxic(client, api, proxy, body, lease).await?;
            let name = body["name"].as_str().unwrap_or_default().to_string();
            let tracked = track(
                agent,
                f,
                lease,
                format!("{api}/proxies/{proxy}/toxics/{name}"),
            );
            Ok(Held::Toxic { name, tracked })
        }
    }
}

/// Host faults that hold something for a time take the lease as their
/// `duration_ms`; one-shot faults (kill, restart) take none.
pub(crate) fn with_duration(v: &mut serde_json::Value, kind: &str, lease: Duration) {
    if matches!(kind, "stress-cpu" | "stress-memory" | "pause") {
        v["duration_ms"] = (lease.as_millis() as u64).into();
    }
}

/// Reverts what [`apply`] did (idempotent: an expired lease is fine).
async fn undo(
    f: &PreparedFault,
    client: &HttpClient,
    agent: &squall_faults::Agent,
    held: Held,
) -> Result<(), inject::InjectError> {
    match (&f.via, held) {
        (Via::Sim(base), Held::Sim { id, tracked }) => {
            let r = inject::revert(client, base, &id).await;
            agent.injector.revert(&tracked);
            r
        }
        (_, Held::Host(ids)) => {
            for id in ids {
                agent.injector.revert(&id);
            }
            Ok(())
        }
        (Via::LocalToxic { proxy, .. }, Held::LocalToxic(name)) => {
            match agent.proxies.remove_toxic(proxy, &name) {
                // Already ended by its lease.
                Ok(()) | Err(squall_faults::FaultError::NotFound(_)) => Ok(()),
                Err(e) => Err(inject::InjectError(e.to_string())),
            }
        }
        (Via::Toxic { api, proxy, .. }, Held::Toxic { name, tracked }) => {
            let r = inject::remove_toxic(client, api, proxy, &name).await;
            agent.injector.revert(&tracked);
            r
        }
        _ => Ok(()),
    }
}

/// A fault's record before anything happened to it.
fn planned(f: &PreparedFault) -> FaultRecord {
    FaultRecord {
        name: f.name.clone(),
        kind: f.kind.clone(),
        target: f.target.clone(),
        args: f.args.clone(),
        planned_start_s: f.at.as_secs_f64(),
        planned_end_s: f.end().as_secs_f64(),
        ..Default::default()
    }
}

fn figures(phase: &str, iv: &Interval, seconds: f64) -> PhaseFigures {
    let all = iv.overall("all");
    let failed = all.failed();
    PhaseFigures {
        phase: phase.into(),
        seconds,
        requests: all.requests,
        rps: if seconds > 0.0 {
            all.requests as f64 / seconds
        } else {
            0.0
        },
        failed,
        error_rate: if all.requests == 0 {
            0.0
        } else {
            failed as f64 / all.requests as f64
        },
        latency_ms: PercentilesMs::from(&all.latency),
    }
}

fn evaluate_goal(
    g: &Goal,
    book: &PhaseBook,
    rows: &[SecondRow],
    faults: &[PreparedFault],
    names: &[String],
    baseline: Option<&(Interval, Duration)>,
    duration_s: f64,
) -> GoalRecord {
    match g {
        Goal::Condition {
            name,
            phase,
            threshold,
            relative,
            written,
        } => {
            let (iv, len) = match phase {
                Phase::Warmup => baseline.map(|(i, l)| (i, *l)).expect("checked at prepare"),
                Phase::Overall => (&book.overall, Duration::from_secs_f64(duration_s)),
                other => book.get(*other),
            };
            let r = goals::evaluate_condition(
                threshold,
                *relative,
                iv,
                len,
                baseline.map(|(i, l)| (i, *l)),
            );
            GoalRecord {
                name: name.clone(),
                phase: phase.label(names),
                condition: written.clone(),
                observed: r.observed,
                bound: r.bound,
                passed: r.passed,
                no_data: r.no_data,
                detail: r.detail,
            }
        }
        Goal::Recovery {
            name,
            fault,
            metric,
            band,
            within,
        } => {
            let f = &faults[*fault];
            let base = match baseline {
                Some((iv, _)) => SecondRow::summary_value(iv, *metric),
                None => SecondRow::summary_value(book.get(Phase::Before(*fault)).0, *metric),
            };
            let r = goals::evaluate_recovery(
                rows,
                f.end().as_secs_f64(),
                base,
                *metric,
                *band,
                *within,
            );
            GoalRecord {
                name: name.clone(),
                phase: format!("recovery after {}", f.name),
                condition: format!("within {}", humantime::format_duration(*within)),
                observed: r.observed,
                bound: r.bound,
                passed: r.passed,
                no_data: r.no_data,
                detail: r.detail,
            }
        }
    }
}

fn early_end(
    p: &Prepared,
    warmup: Option<PhaseFigures>,
    timeline: Vec<TimelineEntry>,
    why: &str,
) -> Measured {
    Measured {
        started_unix_ms: unix_ms_at(Instant::now()),
        duration_s: 0.0,
        ended_early: Some(why.into()),
        invalid_because: Vec::new(),
        interrupted: true,
        warmup,
        phases: Vec::new(),
        faults: p.faults.iter().map(planned).collect(),
        goals: Vec::new(),
        rows: Vec::new(),
        timeline,
        sink_errors: Vec::new(),
        journal: None,
    }
}
