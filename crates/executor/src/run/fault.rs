//! One scheduled fault: injected at its offset through its injector with a
//! lease ending at its planned end, reverted at that end or when the run is
//! cancelled, and entered in the agent's lease table so the ledger knows it.

use std::sync::Arc;
use std::time::Duration;

use squall_report::run_report::{EntryKind, FaultRecord, TimelineEntry};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::event::Event;
use crate::inject::{self, HttpClient};
use crate::prepare::{PreparedFault, Via};

/// When a fault was really in force, as its task learns it: from the
/// injector's confirmation to the confirmed revert (seconds since t0).
#[derive(Debug, Default)]
pub(super) struct FaultWatch {
    window: std::sync::Mutex<(Option<f64>, Option<f64>)>,
}

impl FaultWatch {
    fn applied(&self, t: f64) {
        self.window.lock().expect("fault window").0 = Some(t);
    }

    fn reverted(&self, t: f64) {
        self.window.lock().expect("fault window").1 = Some(t);
    }

    /// Applied and not confirmed reverted.
    pub(super) fn in_force(&self) -> bool {
        matches!(*self.window.lock().expect("fault window"), (Some(_), None))
    }

    /// Whether the fault was in force for a real part of `[s, e]`: at
    /// least half of the shorter of the second and the fault's window (the
    /// rule the phases use), so a revert a few ms into the next second
    /// does not name the fault there. A fault not reverted yet is taken to
    /// last until `planned_end`.
    pub(super) fn held_during(&self, s: f64, e: f64, planned_end: f64) -> bool {
        let (Some(a), b) = *self.window.lock().expect("fault window") else {
            return false;
        };
        crate::phases::overlaps(s, e, a, b.unwrap_or(planned_end.max(e)))
    }
}

/// Injects one fault at its offset and reverts it at its end, or at once
/// when the run is cancelled. The lease given to the injector ends at the
/// planned end, so the fault ends even if this process dies.
pub(super) async fn run_fault(
    f: PreparedFault,
    t0: Instant,
    client: HttpClient,
    agent: Arc<squall_faults::Agent>,
    mut cancel: watch::Receiver<bool>,
    events: mpsc::UnboundedSender<Event>,
    watch: Arc<FaultWatch>,
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
                kind: EntryKind::Error,
                text: format!("{}: {e}", f.name),
            });
            rec.error = Some(e.to_string());
            return rec;
        }
    };
    rec.injected_s = Some(since(t0));
    watch.applied(rec.injected_s.unwrap_or_default());
    let _ = events.send(Event::Fault {
        t: since(t0),
        fault: rec.clone(),
        active: true,
    });
    tokio::select! {
        _ = tokio::time::sleep_until(end) => {}
        _ = cancel.wait_for(|c| *c) => {}
    }
    match undo(&f, &client, &agent, held).await {
        Ok(()) => {
            rec.reverted_s = Some(since(t0));
            watch.reverted(rec.reverted_s.unwrap_or_default());
            // Only a confirmed revert closes the fault's window.
            let _ = events.send(Event::Fault {
                t: since(t0),
                fault: rec.clone(),
                active: false,
            });
        }
        Err(e) => {
            let why = format!("revert failed (the lease still ends it at its deadline): {e}");
            let _ = events.send(Event::Note {
                t: since(t0),
                kind: EntryKind::Error,
                text: format!("{}: {why}", f.name),
            });
            rec.error = Some(why);
        }
    }
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
        Via::Host(fault) => {
            let applied = agent
                .apply(fault.clone().lasting(lease))
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

/// What happened to a fault, as timeline entries (injected, reverted, its error).
pub(super) fn timeline(f: &FaultRecord) -> Vec<TimelineEntry> {
    let mut out = Vec::new();
    if let Some(s) = f.injected_s {
        out.push(TimelineEntry {
            t: s,
            kind: EntryKind::Fault,
            text: format!("{} injected ({} on {})", f.name, f.kind, f.target),
        });
    }
    if let Some(s) = f.reverted_s {
        out.push(TimelineEntry {
            t: s,
            kind: EntryKind::Revert,
            text: format!("{} reverted", f.name),
        });
    }
    if let Some(e) = &f.error {
        out.push(TimelineEntry {
            t: f.planned_start_s,
            kind: EntryKind::Error,
            text: format!("{}: {e}", f.name),
        });
    }
    out
}

/// A fault's record before anything happened to it.
pub(super) fn planned(f: &PreparedFault) -> FaultRecord {
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
