//! The coordinator: generators register, a run takes `n` of them (or all),
//! gives each its segment of the plan and one start instant, and merges the
//! seconds they report into the snapshots a single-process run produces.
//!
//! State lives behind one mutex that is never held across an await; the
//! long polls wait on a version counter that changes whenever any
//! instruction changes.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
#[cfg(test)]
use squall_metrics::WireSnapshot;
use squall_metrics::{Interval, Snapshot};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::event::FleetEvent;
use crate::merge::{Merger, Refused};
use crate::plan_payload::PlanPayload;
use crate::protocol::{
    Ack, GeneratorInfo, Hello, Next, Order, PROTOCOL, Report, StopLevel, Welcome,
};

/// A generator above this utilization is warned about.
pub const BUSY_ABOVE: f64 = 0.8;
/// Distinct error messages passed on per run.
const MAX_ERROR_SAMPLES: usize = 1000;

/// How the coordinator judges its generators.
#[derive(Clone, Debug)]
pub struct CoordinatorConfig {
    /// Silence during a run after which a generator is lost.
    pub lost_after: Duration,
    /// Silence after which an idle generator no longer counts as registered.
    pub idle_after: Duration,
    /// Time between the start's announcement and the start itself.
    pub start_delay: Duration,
    /// How long a long poll is held.
    pub poll_hold: Duration,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        Self {
            lost_after: Duration::from_millis(2500),
            idle_after: Duration::from_secs(15),
            start_delay: Duration::from_secs(2),
            poll_hold: Duration::from_secs(5),
        }
    }
}

/// What a run does when a generator is lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnLost {
    /// Stop the others and fail the run (the default: the load sent was
    /// not the load planned).
    Fail,
    /// Go on with the others; the report says who was lost and when.
    Continue,
}

/// One fleet run asked of the coordinator.
#[derive(Clone, Debug)]
pub struct FleetSpec {
    /// Generators needed; 0 takes every registered one (at least one).
    pub generators: usize,
    /// How long to wait for them to register and be ready.
    pub wait: Duration,
    /// What a lost generator does to the run.
    pub on_lost: OnLost,
    /// The plan.
    pub plan: PlanPayload,
    /// The run's seed.
    pub seed: u64,
}

/// Why a fleet run could not start.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// Not enough generators registered in time.
    #[error(
        "{have} of {want} generators registered within {}s{}",
        waited.as_secs(),
        if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) }
    )]
    NotEnough {
        /// Usable generators found.
        have: usize,
        /// Generators needed.
        want: usize,
        /// How long it waited.
        waited: Duration,
        /// The ones found.
        names: Vec<String>,
    },
    /// Generators were assigned but not all got ready in time.
    #[error("generators not ready within {}s: {}", waited.as_secs(), names.join(", "))]
    NotReady {
        /// The ones that did not report ready.
        names: Vec<String>,
        /// How long it waited.
        waited: Duration,
    },
    /// A generator refused its part.
    #[error("generator {name} cannot take part: {message}")]
    GeneratorFailed {
        /// Its name.
        name: String,
        /// Why.
        message: String,
    },
    /// Another fleet run is in progress.
    #[error("the fleet is busy with run {0}")]
    Busy(String),
}

/// Why a generator's call was refused (becomes an HTTP status).
#[derive(Debug, thiserror::Error)]
pub enum CallRefused {
    /// The request is wrong.
    #[error("{0}")]
    Bad(String),
    /// Unknown generator (register again).
    #[error("no generator {0}: register again")]
    UnknownGenerator(String),
    /// The generator is not (or no longer) part of that run.
    #[error("{0}")]
    Gone(String),
    /// Name or index taken.
    #[error("{0}")]
    Conflict(String),
}

/// One generator of a run, as the report shows it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MemberSummary {
    /// Its name.
    pub name: String,
    /// Its segment index (0-based).
    pub index: u64,
    /// Seconds it reported.
    pub seconds: u64,
    /// Whether it was lost.
    pub lost: bool,
    /// It finished its segment.
    pub ended: bool,
    /// Its highest utilization.
    pub max_utilization: f64,
    /// Its clock's offset from the coordinator's, as it estimated it (ms).
    pub clock_offset_ms: Option<f64>,
}

/// What the fleet did in a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FleetSummary {
    /// The run's id.
    pub run: String,
    /// Segments.
    pub count: u64,
    /// Each generator.
    pub generators: Vec<MemberSummary>,
    /// Why the run failed because of the fleet (a lost generator...).
    pub failure: Option<String>,
}

struct Generator {
    name: String,
    index: Option<u64>,
    threads: usize,
    last_seen: Instant,
    run: Option<(String, usize)>,
}

struct Member {
    generator: String,
    ready: bool,
    last_contact: Instant,
    busy_warned: bool,
}

struct RunState {
    id: String,
    plan: PlanPayload,
    seed: u64,
    members: Vec<Member>,
    merger: Merger,
    start_unix_ms: Option<f64>,
    stop: Option<StopLevel>,
    failed: Option<(String, String)>,
    on_lost: OnLost,
    snapshots: Option<mpsc::UnboundedSender<Snapshot>>,
    errors: mpsc::UnboundedSender<String>,
    events: mpsc::UnboundedSender<FleetEvent>,
    seen_errors: HashSet<String>,
    summary: Arc<Mutex<FleetSummary>>,
}

#[derive(Default)]
struct State {
    generators: BTreeMap<String, Generator>,
    run: Option<RunState>,
}

/// The coordinator of a fleet.
pub struct Coordinator {
    cfg: CoordinatorConfig,
    state: Mutex<State>,
    /// Changes when any generator's instructions change (long polls wait on it).
    version: watch::Sender<u64>,
    /// Changes on anything a forming run waits for (registrations,
    /// readiness) that changes no instruction: kept apart so a thousand
    /// generators getting ready do not wake a thousand long polls each.
    news: watch::Sender<u64>,
}

/// A fleet run in progress: the same shape as a local run's.
pub struct FleetRun {
    /// Merged seconds, in order; closes when every generator finished or was lost.
    pub snapshots: mpsc::UnboundedReceiver<Snapshot>,
    /// New distinct error messages.
    pub errors: mpsc::UnboundedReceiver<String>,
    /// The shared start on this process's clock.
    pub t0: Instant,
    /// Generators in the run.
    pub generators: usize,
    stop: FleetStop,
    summary: Arc<Mutex<FleetSummary>>,
}

/// Asks a fleet run's generators to stop.
#[derive(Clone)]
pub struct FleetStop {
    coordinator: Arc<Coordinator>,
    run: String,
}

impl FleetStop {
    /// Start nothing new; requests in flight finish.
    pub fn soft(&self) {
        self.coordinator.stop(&self.run, StopLevel::Soft);
    }

    /// Cancel everything now.
    pub fn hard(&self) {
        self.coordinator.stop(&self.run, StopLevel::Hard);
    }
}

impl FleetRun {
    /// A handle that stops the run.
    pub fn stop_handle(&self) -> FleetStop {
        self.stop.clone()
    }

    /// What the fleet did so far (complete once `snapshots` closed).
    pub fn summary(&self) -> FleetSummary {
        lock(&self.summary).clone()
    }
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator")
            .field("config", &self.cfg)
            .field("generators", &lock(&self.state).generators.len())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0
}

impl Coordinator {
    /// A coordinator with no generators yet.
    pub fn new(cfg: CoordinatorConfig) -> Arc<Self> {
        Arc::new(Self {
            cfg,
            state: Mutex::new(State::default()),
            version: watch::channel(0).0,
            news: watch::channel(0).0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CoordinatorConfig {
        &self.cfg
    }

    fn bump(&self) {
        self.version.send_modify(|v| *v += 1);
        self.tell();
    }

    fn tell(&self) {
        self.news.send_modify(|v| *v += 1);
    }

    /// Registers a generator.
    pub fn register(&self, hello: Hello) -> Result<Welcome, CallRefused> {
        if hello.protocol != PROTOCOL {
            return Err(CallRefused::Bad(format!(
                "protocol {} is not spoken here (this coordinator speaks {PROTOCOL})",
                hello.protocol
            )));
        }
        let name = hello.name.trim().to_string();
        if name.is_empty() || name.len() > 128 {
            return Err(CallRefused::Bad("name must be 1 to 128 characters".into()));
        }
        let now = Instant::now();
        let mut st = lock(&self.state);
        let idle_after = self.cfg.idle_after;
        // A generator that registers again under its name (or index)
        // replaces its old self once that one has gone quiet; a live one
        // keeps it, so two generators never share a segment.
        let mut stale = Vec::new();
        for (id, g) in &st.generators {
            if g.name != name && (hello.index.is_none() || g.index != hello.index) {
                continue;
            }
            if g.run.is_none() && now - g.last_seen > idle_after {
                stale.push(id.clone());
            } else {
                return Err(CallRefused::Conflict(format!(
                    "a live generator already has the name {name:?}{}; it is forgotten {} s after it was last heard from",
                    hello
                        .index
                        .map(|i| format!(" or index {i}"))
                        .unwrap_or_default(),
                    idle_after.as_secs()
                )));
            }
        }
        for id in stale {
            st.generators.remove(&id);
        }
        let id = uuid::Uuid::now_v7().to_string();
        st.generators.insert(
            id.clone(),
            Generator {
                name,
                index: hello.index,
                threads: hello.threads,
                last_seen: now,
                run: None,
            },
        );
        drop(st);
        self.tell();
        Ok(Welcome {
            id,
            lost_after_ms: self.cfg.lost_after.as_millis() as u64,
        })
    }

    /// Every registered generator.
    pub fn generators(&self) -> Vec<GeneratorInfo> {
        let now = Instant::now();
        lock(&self.state)
            .generators
            .iter()
            .map(|(id, g)| GeneratorInfo {
                id: id.clone(),
                name: g.name.clone(),
                index: g.index,
                threads: g.threads,
                run: g.run.as_ref().map(|(r, _)| r.clone()),
                silent_ms: (now - g.last_seen).as_millis() as u64,
            })
            .collect()
    }

    /// The long poll: answers at once when `known` is not the current
    /// version, else when it changes or after the hold time.
    pub async fn next(&self, id: &str, known: Option<u64>) -> Result<Next, CallRefused> {
        let mut rx = self.version.subscribe();
        let deadline = Instant::now() + self.cfg.poll_hold;
        loop {
            let version = *rx.borrow_and_update();
            {
                let mut st = lock(&self.state);
                let g = st
                    .generators
                    .get_mut(id)
                    .ok_or_else(|| CallRefused::UnknownGenerator(id.into()))?;
                g.last_seen = Instant::now();
                if known != Some(version) || Instant::now() >= deadline {
                    return Ok(Next {
                        version,
                        order: order_for(&st, id),
                    });
                }
            }
            let _ = tokio::time::timeout_at(deadline, rx.changed()).await;
        }
    }

    /// A generator's report: stores its new seconds, answers what is stored
    /// and whether to stop.
    pub fn report(&self, id: &str, report: Report) -> Result<Ack, CallRefused> {
        let mut decoded = Vec::with_capacity(report.seconds.len());
        for w in &report.seconds {
            decoded.push(
                w.decode()
                    .map_err(|e| CallRefused::Bad(format!("second {}: {e}", w.second)))?,
            );
        }
        let now = Instant::now();
        let mut guard = lock(&self.state);
        let st = &mut *guard;
        let g = st
            .generators
            .get_mut(id)
            .ok_or_else(|| CallRefused::UnknownGenerator(id.into()))?;
        g.last_seen = now;
        let gone =
            || CallRefused::Gone(format!("this generator is not part of run {}", report.run));
        let m = match &g.run {
            Some((r, m)) if *r == report.run => *m,
            _ => return Err(gone()),
        };
        let name = g.name.clone();
        let run = st
            .run
            .as_mut()
            .filter(|r| r.id == report.run)
            .ok_or_else(gone)?;
        if run.merger.member(m).lost {
            return Err(CallRefused::Gone(format!(
                "generator {name} was lost from run {}: its later seconds are not counted",
                run.id
            )));
        }
        let mut changed = false;
        let mut news = false;
        run.members[m].last_contact = now;
        if let Some(o) = report.clock_offset_ms {
            lock(&run.summary).generators[m].clock_offset_ms = Some(o);
        }
        if let Some(message) = report.failed {
            let _ = run.events.send(FleetEvent::Failed {
                name: name.clone(),
                message: message.clone(),
            });
            if run.failed.is_none() {
                run.failed = Some((name.clone(), message.clone()));
            }
            if run.start_unix_ms.is_some() {
                run.merger.lose(m);
                lock(&run.summary).generators[m].lost = true;
                fail_run(run, format!("generator {name} failed: {message}"));
                changed = true;
            }
            news = true;
        }
        if report.ready && !run.members[m].ready {
            run.members[m].ready = true;
            let _ = run.events.send(FleetEvent::Ready {
                name: name.clone(),
                clock_offset_ms: report.clock_offset_ms,
            });
            news = true;
        }
        for snap in &decoded {
            match run.merger.accept(m, snap) {
                Ok(()) | Err(Refused::Duplicate(_)) => {}
                Err(Refused::Gap { .. }) => break,
            }
            let mut sum = lock(&run.summary);
            let s = &mut sum.generators[m];
            s.seconds = run.merger.member(m).received();
            s.max_utilization = s.max_utilization.max(snap.utilization);
            drop(sum);
            if snap.utilization > BUSY_ABOVE && !run.members[m].busy_warned {
                run.members[m].busy_warned = true;
                let _ = run.events.send(FleetEvent::Busy {
                    name: name.clone(),
                    utilization: snap.utilization,
                });
            }
        }
        for e in report.errors {
            if run.seen_errors.len() < MAX_ERROR_SAMPLES && run.seen_errors.insert(e.clone()) {
                let _ = run.errors.send(e);
            }
        }
        if let Some(n) = report.done
            && run.merger.member(m).done_after.is_none()
        {
            run.merger.done(m, n);
        }
        if run.merger.member(m).finished() && !lock(&run.summary).generators[m].ended {
            lock(&run.summary).generators[m].ended = true;
            let _ = run.events.send(FleetEvent::Ended {
                name: name.clone(),
                seconds: run.merger.member(m).received(),
            });
        }
        let ack = Ack {
            through: run.merger.member(m).through,
            stop: run.stop,
        };
        if seal(st) {
            changed = true;
        }
        drop(guard);
        if changed {
            self.bump();
        } else if news {
            self.tell();
        }
        Ok(ack)
    }

    fn stop(&self, run_id: &str, level: StopLevel) {
        let mut st = lock(&self.state);
        if let Some(run) = st.run.as_mut().filter(|r| r.id == run_id)
            && run.stop.is_none_or(|s| s < level)
        {
            run.stop = Some(level);
            drop(st);
            self.bump();
        }
    }

    /// Starts a fleet run: waits for the generators, assigns the segments,
    /// waits until each is ready, then announces one start instant.
    pub async fn run(
        self: &Arc<Self>,
        spec: FleetSpec,
        names: Interval,
        events: mpsc::UnboundedSender<FleetEvent>,
    ) -> Result<FleetRun, FleetError> {
        let deadline = Instant::now() + spec.wait;
        let mut rx = self.news.subscribe();
        let mut last_have = usize::MAX;
        let chosen = loop {
            rx.borrow_and_update();
            let (have, pick) = self.pick(spec.generators)?;
            if let Some(pick) = pick {
                break pick;
            }
            if have.len() != last_have {
                last_have = have.len();
                let _ = events.send(FleetEvent::Waiting {
                    have: have.len(),
                    want: spec.generators,
                });
            }
            if Instant::now() >= deadline {
                return Err(FleetError::NotEnough {
                    have: have.len(),
                    want: spec.generators.max(1),
                    waited: spec.wait,
                    names: have,
                });
            }
            let _ = tokio::time::timeout(Duration::from_millis(500), rx.changed()).await;
        };
        let count = chosen.len() as u64;
        let id = uuid::Uuid::now_v7().to_string();
        let (snap_tx, snap_rx) = mpsc::unbounded_channel();
        let (err_tx, err_rx) = mpsc::unbounded_channel();
        let summary = Arc::new(Mutex::new(FleetSummary {
            run: id.clone(),
            count,
            generators: Vec::new(),
            failure: None,
        }));
        {
            let mut st = lock(&self.state);
            let now = Instant::now();
            let mut members = Vec::new();
            for (i, gid) in chosen.iter().enumerate() {
                let g = st
                    .generators
                    .get_mut(gid)
                    .expect("picked under this lock's predecessor");
                g.run = Some((id.clone(), i));
                let _ = events.send(FleetEvent::Assigned {
                    name: g.name.clone(),
                    index: i as u64,
                    count,
                });
                lock(&summary).generators.push(MemberSummary {
                    name: g.name.clone(),
                    index: i as u64,
                    ..MemberSummary::default()
                });
                members.push(Member {
                    generator: gid.clone(),
                    ready: false,
                    last_contact: now,
                    busy_warned: false,
                });
            }
            st.run = Some(RunState {
                id: id.clone(),
                plan: spec.plan.clone(),
                seed: spec.seed,
                merger: Merger::new(members.len(), names),
                members,
                start_unix_ms: None,
                stop: None,
                failed: None,
                on_lost: spec.on_lost,
                snapshots: Some(snap_tx),
                errors: err_tx,
                events: events.clone(),
                seen_errors: HashSet::new(),
                summary: summary.clone(),
            });
        }
        self.bump();
        let mut abandon = Abandon {
            coordinator: self.clone(),
            run: id.clone(),
            armed: true,
        };
        // Every generator compiles the plan and says it is ready.
        loop {
            rx.borrow_and_update();
            {
                let st = lock(&self.state);
                let run = st.run.as_ref().expect("our run until abandoned");
                if let Some((name, message)) = &run.failed {
                    return Err(FleetError::GeneratorFailed {
                        name: name.clone(),
                        message: message.clone(),
                    });
                }
                if run.members.iter().all(|m| m.ready) {
                    break;
                }
                if Instant::now() >= deadline {
                    let names = run
                        .members
                        .iter()
                        .filter(|m| !m.ready)
                        .map(|m| {
                            st.generators
                                .get(&m.generator)
                                .map(|g| g.name.clone())
                                .unwrap_or_default()
                        })
                        .collect();
                    return Err(FleetError::NotReady {
                        names,
                        waited: spec.wait,
                    });
                }
            }
            let _ = tokio::time::timeout(Duration::from_millis(500), rx.changed()).await;
        }
        let start_unix_ms = unix_ms() + self.cfg.start_delay.as_secs_f64() * 1000.0;
        let t0 = Instant::now() + self.cfg.start_delay;
        {
            let mut st = lock(&self.state);
            let run = st.run.as_mut().expect("our run until abandoned");
            run.start_unix_ms = Some(start_unix_ms);
            // Silence counts from the start itself: before it, generators
            // only wait (an Instant in the future reads as no silence).
            for m in &mut run.members {
                m.last_contact = t0;
            }
        }
        abandon.armed = false;
        self.bump();
        let _ = events.send(FleetEvent::Started {
            generators: count as usize,
            start_unix_ms,
        });
        tokio::spawn(watch_silence(self.clone(), id.clone()));
        Ok(FleetRun {
            snapshots: snap_rx,
            errors: err_rx,
            t0,
            generators: count as usize,
            stop: FleetStop {
                coordinator: self.clone(),
                run: id,
            },
            summary,
        })
    }

    /// The generators a run would take now: (the usable ones' names, the
    /// chosen ids in segment order once there are enough).
    #[allow(clippy::type_complexity)]
    fn pick(&self, want: usize) -> Result<(Vec<String>, Option<Vec<String>>), FleetError> {
        let st = lock(&self.state);
        if let Some(r) = &st.run {
            return Err(FleetError::Busy(r.id.clone()));
        }
        let now = Instant::now();
        let usable: Vec<(&String, &Generator)> = st
            .generators
            .iter()
            .filter(|(_, g)| g.run.is_none() && now - g.last_seen <= self.cfg.idle_after)
            .collect();
        let names = usable.iter().map(|(_, g)| g.name.clone()).collect();
        let n = if want == 0 { usable.len() } else { want };
        if n == 0 || usable.len() < n {
            return Ok((names, None));
        }
        // Generators that asked for an index get it; the rest fill the gaps
        // in the order they registered.
        let mut slots: Vec<Option<String>> = vec![None; n];
        for (id, g) in &usable {
            if let Some(i) = g.index
                && (i as usize) < n
                && slots[i as usize].is_none()
            {
                slots[i as usize] = Some((*id).clone());
            }
        }
        let free: Vec<String> = usable
            .iter()
            .filter(|(id, g)| {
                g.index.is_none() && !slots.iter().any(|s| s.as_deref() == Some(id.as_str()))
            })
            .map(|(id, _)| (*id).clone())
            .collect();
        let mut free = free.into_iter();
        for s in slots.iter_mut().filter(|s| s.is_none()) {
            *s = free.next();
        }
        Ok((names, slots.into_iter().collect()))
    }
}

/// Clears a run that never started (its future was dropped or it failed).
struct Abandon {
    coordinator: Arc<Coordinator>,
    run: String,
    armed: bool,
}

impl Drop for Abandon {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut st = lock(&self.coordinator.state);
        if st.run.as_ref().is_some_and(|r| r.id == self.run) {
            st.run = None;
            for g in st.generators.values_mut() {
                if g.run.as_ref().is_some_and(|(r, _)| *r == self.run) {
                    g.run = None;
                }
            }
        }
        drop(st);
        self.coordinator.bump();
    }
}

fn order_for(st: &State, id: &str) -> Option<Order> {
    let g = st.generators.get(id)?;
    let (run_id, m) = g.run.as_ref()?;
    let run = st.run.as_ref().filter(|r| r.id == *run_id)?;
    Some(Order {
        run: run.id.clone(),
        index: *m as u64,
        count: run.members.len() as u64,
        plan: run.plan.clone(),
        seed: run.seed,
        start_unix_ms: run.start_unix_ms,
        stop: if run.merger.member(*m).lost {
            Some(StopLevel::Hard)
        } else {
            run.stop
        },
    })
}

fn fail_run(run: &mut RunState, why: String) {
    let mut sum = lock(&run.summary);
    if sum.failure.is_none() {
        sum.failure = Some(why);
    }
    drop(sum);
    if run.stop.is_none() {
        run.stop = Some(StopLevel::Soft);
    }
}

/// Hands on the seconds now sealed; ends the run once every generator
/// finished. Answers whether the run ended.
fn seal(st: &mut State) -> bool {
    let Some(run) = st.run.as_mut() else {
        return false;
    };
    let sealed = run.merger.seal();
    if let Some(tx) = &run.snapshots {
        for s in sealed {
            let _ = tx.send(s);
        }
    }
    if !run.merger.complete() {
        return false;
    }
    let id = run.id.clone();
    st.run = None;
    for g in st.generators.values_mut() {
        if g.run.as_ref().is_some_and(|(r, _)| *r == id) {
            g.run = None;
        }
    }
    true
}

/// Marks generators lost after `lost_after` of silence, until the run ends.
async fn watch_silence(c: Arc<Coordinator>, run_id: String) {
    let tick = (c.cfg.lost_after / 10).clamp(Duration::from_millis(20), Duration::from_millis(200));
    loop {
        tokio::time::sleep(tick).await;
        let now = Instant::now();
        let mut guard = lock(&c.state);
        let st = &mut *guard;
        let Some(run) = st.run.as_mut().filter(|r| r.id == run_id) else {
            return;
        };
        let mut changed = false;
        for m in 0..run.members.len() {
            let silent = now - run.members[m].last_contact;
            let member = run.merger.member(m);
            if member.finished() || silent <= c.cfg.lost_after {
                continue;
            }
            let last_second = member.through;
            run.merger.lose(m);
            let name = st
                .generators
                .get(&run.members[m].generator)
                .map(|g| g.name.clone())
                .unwrap_or_default();
            lock(&run.summary).generators[m].lost = true;
            let _ = run.events.send(FleetEvent::Lost {
                name: name.clone(),
                index: m as u64,
                last_second,
                silent_ms: silent.as_millis() as u64,
            });
            if run.on_lost == OnLost::Fail {
                fail_run(
                    run,
                    format!(
                        "generator {name} (segment {}/{}) was lost{}",
                        m + 1,
                        run.members.len(),
                        match last_second {
                            Some(s) => format!(" after second {s}"),
                            None => " before its first second".into(),
                        }
                    ),
                );
            }
            changed = true;
        }
        if changed {
            seal(st);
            drop(guard);
            c.bump();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use squall_load::quick::QuickSpec;

    fn hello(name: &str) -> Hello {
        Hello {
            protocol: PROTOCOL,
            name: name.into(),
            index: None,
            threads: 1,
            version: String::new(),
        }
    }

    fn spec(generators: usize) -> FleetSpec {
        FleetSpec {
            generators,
            wait: Duration::from_secs(5),
            on_lost: OnLost::Fail,
            plan: PlanPayload::Quick {
                spec: QuickSpec {
                    url: "http://127.0.0.1:9/".into(),
                    connections: 1,
                    duration: Duration::from_secs(1),
                    rate: Some(1.0),
                    requests: None,
                    method: "GET".into(),
                    headers: Vec::new(),
                    body: None,
                    timeout: Duration::from_secs(1),
                    http2: false,
                    insecure: false,
                    max_redirects: None,
                    thresholds: Default::default(),
                },
            },
            seed: 1,
        }
    }

    fn second(k: u64, requests: u64, utilization: f64) -> WireSnapshot {
        let mut iv = Interval::new(&["home".to_string()], &[]);
        iv.requests[0].requests = requests;
        for _ in 0..requests {
            iv.requests[0].latency.record_us(250);
        }
        WireSnapshot::from(&Snapshot {
            second: k,
            start_ms: k * 1000,
            length_ms: 1000,
            interval: iv,
            utilization,
            ..Snapshot::default()
        })
    }

    fn report(run: &str, seconds: Vec<WireSnapshot>, done: Option<u64>) -> Report {
        Report {
            run: run.into(),
            seconds,
            done,
            ..Report::default()
        }
    }

    #[tokio::test]
    async fn a_resent_second_counts_once_and_a_busy_generator_is_named() {
        let c = Coordinator::new(CoordinatorConfig {
            start_delay: Duration::from_millis(10),
            ..CoordinatorConfig::default()
        });
        let a = c.register(hello("a")).unwrap().id;
        let b = c.register(hello("b")).unwrap().id;
        assert!(matches!(
            c.register(hello("a")),
            Err(CallRefused::Conflict(_))
        ));
        let (tx, mut events) = mpsc::unbounded_channel();
        let forming = {
            let c = c.clone();
            let names = Interval::new(&["home".to_string()], &[]);
            tokio::spawn(async move { c.run(spec(2), names, tx).await })
        };
        let mut known = None;
        let order = loop {
            // With the version known, the poll waits for a change (and lets
            // the forming run go on).
            let n = c.next(&a, known).await.unwrap();
            known = Some(n.version);
            if let Some(o) = n.order {
                break o;
            }
        };
        assert_eq!(order.count, 2);
        for g in [&a, &b] {
            let ready = Report {
                run: order.run.clone(),
                ready: true,
                ..Report::default()
            };
            c.report(g, ready).unwrap();
        }
        let mut fleet = forming.await.unwrap().unwrap();
        let first = c
            .report(&a, report(&order.run, vec![second(0, 3, 0.9)], None))
            .unwrap();
        assert_eq!(first.through, Some(0));
        // The answer was lost: the same second comes again.
        let again = c
            .report(&a, report(&order.run, vec![second(0, 3, 0.9)], Some(1)))
            .unwrap();
        assert_eq!(again.through, Some(0));
        c.report(&b, report(&order.run, vec![second(0, 4, 0.1)], Some(1)))
            .unwrap();
        let merged = fleet.snapshots.recv().await.unwrap();
        assert_eq!(
            merged.interval.requests[0].requests, 7,
            "3 + 4, the resend not counted"
        );
        assert_eq!(merged.interval.requests[0].latency.len(), 7);
        assert!(
            fleet.snapshots.recv().await.is_none(),
            "both ended: the run is over"
        );
        let mut seen = Vec::new();
        while let Ok(e) = events.try_recv() {
            seen.push(e);
        }
        assert!(
            seen.iter()
                .any(|e| matches!(e, FleetEvent::Busy { name, .. } if name == "a")),
            "{seen:?}"
        );
        assert!(
            !seen
                .iter()
                .any(|e| matches!(e, FleetEvent::Busy { name, .. } if name == "b"))
        );
        let summary = fleet.summary();
        assert!(
            summary
                .generators
                .iter()
                .all(|g| g.ended && !g.lost && g.seconds == 1)
        );
        // A report after the end is refused: the generator is no longer in a run.
        assert!(matches!(
            c.report(&a, report(&order.run, vec![], None)),
            Err(CallRefused::Gone(_))
        ));
    }

    #[tokio::test]
    async fn too_few_generators_is_an_error_naming_those_that_came() {
        let c = Coordinator::new(CoordinatorConfig::default());
        c.register(hello("only")).unwrap();
        let mut s = spec(3);
        s.wait = Duration::from_millis(300);
        let (tx, _rx) = mpsc::unbounded_channel();
        let e = c
            .run(s, Interval::default(), tx)
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("1 of 3 generators") && e.contains("(only)"),
            "{e}"
        );
    }
}
