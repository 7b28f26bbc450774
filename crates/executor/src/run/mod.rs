//! One experiment run on one clock: prepare, warm-up (baseline), main run
//! with the workload and the fault schedule sharing the start instant t0,
//! abort conditions each second, then every fault reverted and goals
//! evaluated. Measurements stream to files each second, so an interrupted
//! or aborted run keeps what it measured.
//!
//! The flow, as ARCHITECTURE.md draws it: leftovers cleared
//! ([`clear_leftovers`]) -> warm-up ([`warm_up`]) -> main phase (workload and
//! one task per fault, [`fault`]) -> every fault reverted -> goals evaluated
//! ([`evaluate`]).

mod evaluate;
mod fault;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use squall_fleet::LoadSource;
use squall_load::RunOptions;
use squall_metrics::Interval;
use squall_report::Sink;
use squall_report::run_report::{EntryKind, FaultRecord, GoalRecord, PhaseFigures, TimelineEntry};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::chaos_part;
use crate::event::Event;
use crate::inject::{self, HttpClient};
use crate::phases::PhaseBook;
use crate::prepare::{Prepared, TOXIC_PREFIX};
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
    /// The fleet coordinator, when the workload runs on generators.
    pub coordinator: Option<Arc<squall_fleet::Coordinator>>,
}

/// The figures so far, the last second and the faults in force, for a
/// Prometheus endpoint.
pub type Live = Arc<std::sync::Mutex<squall_report::prometheus::LiveFigures>>;

/// See [`Settings::open_sinks`].
pub type OpenSinks = Box<dyn FnOnce(f64) -> Result<Vec<Box<dyn Sink>>, String> + Send + Sync>;

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
    /// The experiment's Prometheus queries over the run.
    pub prometheus: Vec<squall_report::run_report::QueryRecord>,
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
    /// The fleet did not form (too few generators, one refused the plan...).
    #[error("fleet: {0}")]
    Fleet(String),
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
    let mut notes = Notes {
        timeline: Vec::new(),
        events: events.clone(),
    };
    // 1. No fault is left over from before (the target was checked by `preflight`).
    clear_leftovers(p, &client, &mut notes).await;
    let agent = settings.agent.clone();
    // 2. Warm-up: the baseline.
    let warm = match warm_up(p, &settings, &mut notes).await {
        Ok(w) => w,
        Err(figures) => {
            return Ok(early_end(
                p,
                figures,
                notes.timeline,
                "interrupted during the warm-up",
            ));
        }
    };
    let (warmup_figures, baseline) = (warm.figures, warm.baseline);
    // 3. Main run: workload and faults from the same t0 (a fleet's shared
    // start once every generator is ready).
    let (source, t0) = match main_source(p, &settings, &events).await? {
        Some(fleet) => {
            let t0 = fleet.t0;
            (LoadSource::Fleet(fleet), t0)
        }
        None => {
            let t0 = Instant::now() + Duration::from_millis(100);
            let run = squall_load::start(
                p.plan.clone(),
                RunOptions {
                    threads: settings.threads,
                    seed: settings.seed,
                    start_at: Some(t0),
                    ..Default::default()
                },
            );
            (LoadSource::Local(run), t0)
        }
    };
    let started_unix_ms = unix_ms_at(t0);
    notes.note(0.0, EntryKind::Phase, "main run starts".into());
    let mut sink_errors = Vec::new();
    let mut sinks = match (settings.open_sinks)(started_unix_ms as f64 / 1000.0) {
        Ok(s) => s,
        Err(e) => {
            sink_errors.push(e);
            Vec::new()
        }
    };
    let (cancel_tx, cancel_rx) = watch::channel(false);
    // Whether each fault is in force, for the live gauge.
    let watches: Vec<Arc<fault::FaultWatch>> = p.faults.iter().map(|_| Arc::default()).collect();
    let fault_tasks: Vec<_> = p
        .faults
        .iter()
        .zip(&watches)
        .map(|(f, watch)| {
            tokio::spawn(fault::run_fault(
                f.clone(),
                t0,
                client.clone(),
                agent.clone(),
                cancel_rx.clone(),
                events.clone(),
                watch.clone(),
            ))
        })
        .collect();
    let show_faults = |l: &mut squall_report::prometheus::LiveFigures| {
        for (g, w) in l.faults.iter_mut().zip(&watches) {
            g.active = w.in_force();
        }
    };
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
    let mut aborts = AbortWatch::new(p);
    let (elapsed, interrupted, fleet) = drive(source, settings.stop.clone(), |snap| {
        let row = SecondRow::of(snap, 0.0);
        book.add(snap);
        if let Some(l) = &settings.live {
            let mut l = l.lock().expect("live lock");
            l.total = book.overall.clone();
            l.last = Some(snap.clone());
            show_faults(&mut l);
        }
        let phase = book.schedule_phase(row.start_s, row.end_s);
        let held: Vec<String> = p
            .faults
            .iter()
            .zip(&watches)
            .filter(|(f, w)| w.held_during(row.start_s, row.end_s, f.end().as_secs_f64()))
            .map(|(f, _)| f.name.clone())
            .collect();
        for s in sinks.iter_mut() {
            s.experiment(&phase, &held);
            if let Err(e) = s.second(snap) {
                sink_errors.push(e.to_string());
            }
        }
        let _ = events.send(Event::Second {
            phase: book.phase_at(row.end_s),
            row: row.clone(),
        });
        let t = row.end_s;
        rows.push(row);
        if !p.goals.is_empty() {
            let goals = evaluate::goals_so_far(p, &book, &rows, baseline.as_ref(), t);
            let _ = events.send(Event::Goals { t, goals });
        }
        let gate_failed = chaos_watch.failed_before.load(Ordering::SeqCst);
        aborts.second(p, snap, gate_failed)
    })
    .await;
    let aborted = aborts.reason;
    // 4. End: every fault reverted, whatever ended the run.
    let _ = cancel_tx.send(true);
    let mut faults = Vec::new();
    for t in fault_tasks {
        if let Ok(rec) = t.await {
            faults.push(rec);
        }
    }
    if let Some(l) = &settings.live {
        show_faults(&mut l.lock().expect("live lock"));
    }
    let mut timeline = notes.timeline;
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
    if let Some(f) = &fleet {
        for g in f.generators.iter().filter(|g| g.lost) {
            timeline.push(TimelineEntry {
                t: g.seconds as f64,
                kind: EntryKind::Error,
                text: format!(
                    "generator {} (segment {}/{}) lost after {} s; what it sent counts",
                    g.name,
                    g.index + 1,
                    f.count,
                    g.seconds
                ),
            });
        }
        if let Some(why) = &f.failure {
            invalid_because.push(format!("the fleet failed: {why}"));
        }
    }
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
    timeline.extend(faults.iter().flat_map(fault::timeline));
    let ended_early = match (&aborted, interrupted) {
        (Some(a), _) => Some(a.clone()),
        (None, true) => Some("interrupted (Ctrl-C or SIGTERM)".to_string()),
        _ => None,
    };
    if let Some(e) = &ended_early {
        timeline.push(TimelineEntry {
            t: duration_s,
            kind: EntryKind::Abort,
            text: e.clone(),
        });
    }
    timeline.push(TimelineEntry {
        t: duration_s,
        kind: EntryKind::Phase,
        text: "main run ends".into(),
    });
    // 5. The system's own metrics, once Prometheus has scraped the end.
    let prometheus = match &p.prometheus {
        Some(prom) => {
            let warm_s = p.warmup.as_ref().map_or(0.0, |(_, d)| d.as_secs_f64());
            let zero = started_unix_ms as f64 / 1000.0;
            let _ = events.send(Event::Note {
                t: duration_s,
                kind: EntryKind::Phase,
                text: format!(
                    "querying Prometheus at {} in {} (its last scrape)",
                    prom.url,
                    humantime::format_duration(prom.wait)
                ),
            });
            tokio::time::sleep(prom.wait).await;
            let records = crate::prometheus::query_range(
                prom,
                &client,
                zero - warm_s,
                zero + duration_s,
                zero,
            )
            .await;
            for r in &records {
                timeline.push(TimelineEntry {
                    t: duration_s,
                    kind: if r.error.is_some() {
                        EntryKind::Error
                    } else {
                        EntryKind::Phase
                    },
                    text: match &r.error {
                        Some(e) => format!("prometheus query {:?} failed: {e}", r.name),
                        None => format!(
                            "prometheus query {:?}: {} series, {} samples",
                            r.name,
                            r.series.len(),
                            r.series.iter().map(|s| s.points.len()).sum::<usize>()
                        ),
                    },
                });
            }
            records
        }
        None => Vec::new(),
    };
    timeline.sort_by(|a, b| a.t.total_cmp(&b.t));
    // 6. Goals.
    let (goal_records, phases) =
        evaluate::goals_and_phases(p, &book, &rows, baseline.as_ref(), duration_s, &prometheus);
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
        prometheus,
    })
}

/// Abort conditions, checked each second: a condition that holds for its
/// number of seconds in a row ends the run, as does the Chaos Toolkit
/// hypothesis failing before the method.
struct AbortWatch {
    streaks: Vec<u32>,
    reason: Option<String>,
}

impl AbortWatch {
    fn new(p: &Prepared) -> Self {
        AbortWatch {
            streaks: vec![0; p.aborts.len()],
            reason: None,
        }
    }

    /// The reason to stop after this second, the first time there is one.
    fn second(
        &mut self,
        p: &Prepared,
        snap: &squall_metrics::Snapshot,
        gate_failed: bool,
    ) -> Option<String> {
        if self.reason.is_some() {
            return None;
        }
        if gate_failed {
            self.reason = Some("the steady-state hypothesis was not met before the method".into());
            return self.reason.clone();
        }
        let len = Duration::from_millis(snap.length_ms.max(1));
        for (i, a) in p.aborts.iter().enumerate() {
            if a.threshold.evaluate(&snap.interval, len).passed {
                self.streaks[i] += 1;
                if self.streaks[i] >= a.seconds {
                    self.reason = Some(format!(
                        "abort condition `{}` held for {} s",
                        a.label, a.seconds
                    ));
                    return self.reason.clone();
                }
            } else {
                self.streaks[i] = 0;
            }
        }
        None
    }
}

/// The run's timeline as it is written, each entry also sent as an event.
struct Notes {
    timeline: Vec<TimelineEntry>,
    events: mpsc::UnboundedSender<Event>,
}

impl Notes {
    fn note(&mut self, t: f64, kind: EntryKind, text: String) {
        let _ = self.events.send(Event::Note {
            t,
            kind,
            text: text.clone(),
        });
        self.timeline.push(TimelineEntry { t, kind, text });
    }
}

/// Clears what an earlier run left on the experiment's services and proxies.
async fn clear_leftovers(p: &Prepared, client: &HttpClient, notes: &mut Notes) {
    for base in &p.fault_services {
        match inject::clear(client, base).await {
            Ok(0) => {}
            Ok(n) => notes.note(
                0.0,
                EntryKind::Revert,
                format!("cleared {n} leftover fault(s) on {base}"),
            ),
            Err(e) => notes.note(
                0.0,
                EntryKind::Error,
                format!("cannot clear leftover faults: {e}"),
            ),
        }
    }
    for (api, proxy) in &p.fault_proxies {
        match inject::clear_toxics(client, api, proxy, TOXIC_PREFIX).await {
            Ok(0) => {}
            Ok(n) => notes.note(
                0.0,
                EntryKind::Revert,
                format!("removed {n} leftover toxic(s) from proxy {proxy} at {api}"),
            ),
            Err(e) => notes.note(
                0.0,
                EntryKind::Error,
                format!("cannot clear leftover toxics: {e}"),
            ),
        }
    }
}

/// What the warm-up measured: its figures and the baseline goals compare with.
struct WarmUp {
    figures: Option<PhaseFigures>,
    baseline: Option<(Interval, Duration)>,
}

/// Runs the warm-up, if the experiment has one; `Err` with its figures
/// when a stop signal ended it.
async fn warm_up(
    p: &Prepared,
    settings: &Settings,
    notes: &mut Notes,
) -> Result<WarmUp, Option<PhaseFigures>> {
    let Some((plan, len)) = &p.warmup else {
        return Ok(WarmUp {
            figures: None,
            baseline: None,
        });
    };
    let secs = len.as_secs_f64();
    notes.note(
        -secs,
        EntryKind::Phase,
        format!("warm-up for {}", humantime::format_duration(*len)),
    );
    let mut total = Interval::new(&plan.request_names, &plan.check_names);
    let events = notes.events.clone();
    let run = squall_load::start(
        plan.clone(),
        RunOptions {
            threads: settings.threads,
            seed: settings.seed,
            start_at: Some(Instant::now() + Duration::from_millis(50)),
            ..Default::default()
        },
    );
    let (_, stopped, _) = drive(LoadSource::Local(run), settings.stop.clone(), |snap| {
        total.merge(&snap.interval);
        if snap.length_ms >= 100 {
            let _ = events.send(Event::Second {
                phase: "warm-up".into(),
                row: SecondRow::of(snap, -secs),
            });
        }
        None
    })
    .await;
    let figures = Some(evaluate::figures("warmup", &total, secs));
    if stopped {
        return Err(figures);
    }
    Ok(WarmUp {
        figures,
        baseline: Some((total, *len)),
    })
}

/// Forms the fleet when the document names one: waits for the
/// generators (their news sent as notes), gives them the workload and
/// answers the run whose shared start is t0.
async fn main_source(
    p: &Prepared,
    settings: &Settings,
    events: &mpsc::UnboundedSender<Event>,
) -> Result<Option<squall_fleet::FleetRun>, RunError> {
    let Some(f) = &p.fleet else { return Ok(None) };
    let coordinator = settings.coordinator.as_ref().ok_or_else(|| {
        RunError::Fleet("no coordinator: only `squall serve` runs a fleet".into())
    })?;
    let payload = f
        .payload
        .clone()
        .ok_or_else(|| RunError::Fleet("the workload was not prepared for generators".into()))?;
    let spec = squall_fleet::FleetSpec {
        generators: f.generators,
        wait: f.wait,
        on_lost: f.on_lost,
        plan: payload,
        seed: settings.seed,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let names = Interval::new(&p.plan.request_names, &p.plan.check_names);
    // The fleet's news as notes, for as long as the coordinator sends any.
    let notes = events.clone();
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            let kind = match e {
                squall_fleet::FleetEvent::Lost { .. } | squall_fleet::FleetEvent::Failed { .. } => {
                    EntryKind::Error
                }
                _ => EntryKind::Phase,
            };
            let _ = notes.send(Event::Note {
                t: 0.0,
                kind,
                text: e.to_string(),
            });
        }
    });
    let mut stop = settings.stop.clone();
    tokio::select! {
        r = coordinator.run(spec, names, tx) => r.map(Some).map_err(|e| RunError::Fleet(e.to_string())),
        _ = stop.wait_for(|s| *s) => Err(RunError::Fleet("stopped while waiting for generators".into())),
    }
}

/// Drives a started run, calling `each` per merged second; `each` returns
/// a reason to stop early. Returns the measured length, whether the stop
/// signal ended it, and a fleet's summary.
async fn drive(
    mut source: LoadSource,
    mut signal: watch::Receiver<bool>,
    mut each: impl FnMut(&squall_metrics::Snapshot) -> Option<String>,
) -> (Duration, bool, Option<squall_fleet::FleetSummary>) {
    let stop = source.stop_handle();
    let mut interrupted = false;
    let mut measured = Duration::ZERO;
    loop {
        tokio::select! {
            snap = source.snapshots().recv() => {
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
    while source.errors().try_recv().is_ok() {}
    let fleet = source.finish().await;
    (measured, interrupted, fleet)
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
        faults: p.faults.iter().map(fault::planned).collect(),
        goals: Vec::new(),
        rows: Vec::new(),
        timeline,
        sink_errors: Vec::new(),
        journal: None,
        prometheus: Vec::new(),
    }
}
