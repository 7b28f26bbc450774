//! What a lease is, as data: what the API shows, what the ledger writes,
//! and how someone else can end it. A leaf module, so that the lease table
//! (`lease`) and the ledger (`ledger`) both build on it without depending
//! on each other both ways.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a lease is, as APIs and the ledger show it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LeaseInfo {
    /// Unique within the injector.
    pub id: String,
    /// Fault type, e.g. `stress-cpu`, `pause`, `toxic:latency`.
    pub kind: String,
    /// What it acts on, human readable (`pid 4242 (nginx)`, `proxy redis`).
    pub target: String,
    /// The fault's parameters.
    pub params: Value,
    /// ms since the Unix epoch.
    pub started_unix_ms: u64,
    /// ms since the Unix epoch; the fault is reverted by then at the latest.
    pub deadline_unix_ms: u64,
    /// How another process can undo it if this one dies.
    pub recovery: Recovery,
}

/// How a fault can be undone by someone other than the process holding it,
/// written to the ledger so a restarted orchestrator can finish the job.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "how", rename_all = "kebab-case")]
pub enum Recovery {
    /// The fault lives inside the injecting process (a stress thread, a toxic
    /// of an in-process proxy): it ends with that process.
    DiesWithProcess,
    /// A stopped process to continue (`SIGCONT`), checked by its start time
    /// so a recycled pid is left alone.
    Continue {
        /// Process id.
        pid: i32,
        /// Start time in clock ticks since boot (`/proc/PID/stat` field 22).
        start_ticks: u64,
    },
    /// A fault held by another service with its own lease: `DELETE` this URL
    /// to end it early (it expires there by itself anyway).
    HttpDelete {
        /// The lease's URL.
        url: String,
    },
}

/// Now, in ms since the Unix epoch.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
