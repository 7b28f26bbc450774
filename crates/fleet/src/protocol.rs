//! The messages between a generator and its coordinator (protocol 1).
//!
//! Plain HTTP and JSON under `/api/v1/fleet/`, every call made by the
//! generator (it dials out, so generators behind NAT or in pods need no
//! inbound port):
//!
//! - `POST /generators` with [`Hello`] → [`Welcome`]: registration.
//! - `GET /generators/{id}/next?known=V` → [`Next`]: a long poll that
//!   answers when the coordinator's instructions change (a run assigned,
//!   its start instant set, a stop) or after a while with the same ones.
//! - `POST /generators/{id}/report` with [`Report`] → [`Ack`]: readiness,
//!   the seconds not yet acknowledged, the end. Sent at least once a second
//!   during a run: the reports are the heartbeat.
//! - `GET /clock` → [`Clock`]: the coordinator's wall clock, for the
//!   generator's offset estimate.
//!
//! Seconds are numbered from the shared start and acknowledged by number,
//! so a report that is lost or repeated after a network blip neither loses
//! nor double-counts a second.

use serde::{Deserialize, Serialize};
use squall_metrics::WireSnapshot;

use crate::plan_payload::PlanPayload;

/// The protocol version both sides must speak.
pub const PROTOCOL: u32 = 1;

/// A generator introduces itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// Must be [`PROTOCOL`].
    pub protocol: u32,
    /// A name for people (unique among live generators).
    pub name: String,
    /// A fixed place in the fleet (a Kubernetes Indexed Job's completion index).
    #[serde(default)]
    pub index: Option<u64>,
    /// Worker threads it will run.
    pub threads: usize,
    /// Squall's version.
    #[serde(default)]
    pub version: String,
}

/// The coordinator's answer to [`Hello`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Welcome {
    /// The generator's id for every later call.
    pub id: String,
    /// Silence longer than this during a run marks the generator lost.
    pub lost_after_ms: u64,
}

/// How hard to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StopLevel {
    /// Start nothing new; requests in flight finish.
    Soft,
    /// Cancel everything now.
    Hard,
}

/// This generator's share of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Order {
    /// The run's id (reports name it).
    pub run: String,
    /// The segment: `index` of `count`.
    pub index: u64,
    /// Generators in the run.
    pub count: u64,
    /// What to run.
    pub plan: PlanPayload,
    /// The run's seed (each generator derives its own from it and its index).
    pub seed: u64,
    /// The shared start on the coordinator's wall clock (ms since the Unix
    /// epoch); absent until every generator is ready.
    pub start_unix_ms: Option<f64>,
    /// Stop asked for.
    pub stop: Option<StopLevel>,
}

/// The answer to a long poll.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Next {
    /// Changes whenever the coordinator's instructions change.
    pub version: u64,
    /// The run this generator takes part in, if any.
    pub order: Option<Order>,
}

/// What a generator reports.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The run this report is about.
    pub run: String,
    /// The plan compiled and the generator waits for the start.
    #[serde(default)]
    pub ready: bool,
    /// The generator cannot take part (the plan did not compile...).
    #[serde(default)]
    pub failed: Option<String>,
    /// Seconds not yet acknowledged, in order.
    #[serde(default)]
    pub seconds: Vec<WireSnapshot>,
    /// New distinct error messages.
    #[serde(default)]
    pub errors: Vec<String>,
    /// The run ended here after this many seconds (0..n were all sent).
    #[serde(default)]
    pub done: Option<u64>,
    /// The generator's clock offset estimate (coordinator minus generator, ms).
    #[serde(default)]
    pub clock_offset_ms: Option<f64>,
}

/// The coordinator's answer to a [`Report`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Ack {
    /// Seconds up to and including this one are stored.
    pub through: Option<u64>,
    /// Stop asked for.
    pub stop: Option<StopLevel>,
}

/// The coordinator's wall clock.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Clock {
    /// Milliseconds since the Unix epoch.
    pub unix_ms: f64,
}

/// A generator as the coordinator lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GeneratorInfo {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The index it asked for.
    pub index: Option<u64>,
    /// Worker threads.
    pub threads: usize,
    /// `idle`, or the run it takes part in.
    pub run: Option<String>,
    /// Milliseconds since it was last heard from.
    pub silent_ms: u64,
}
