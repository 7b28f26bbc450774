//! The agent: every injector of one squall process behind one lease table,
//! and the host and process faults described as data, so the HTTP API, the
//! CLI and the experiment runner apply them the same way.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FaultError;
use crate::guardian::GuardianLauncher;
use crate::lease::{Injector, LeaseInfo};
use crate::procfs;
use crate::proxy::{Proxies, ProxyOptions};
use crate::stress::{self, MemoryAmount, StressBudget};
use crate::{process, proxy};

/// A host or process fault. The API's JSON is `{"type": "stress-cpu", ...}`;
/// [`Agent::parse`] reads it (through the externally tagged form, so that
/// errors can name the field).
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum HostFault {
    /// Burn CPU.
    StressCpu {
        /// Threads to burn (default 1).
        #[serde(default = "one")]
        cores: usize,
        /// Share of each core, (0, 1] (default 1).
        #[serde(default = "full")]
        load: f64,
        /// How long (ms).
        duration_ms: u64,
    },
    /// Hold memory.
    StressMemory {
        /// Bytes to hold.
        bytes: Option<u64>,
        /// Or a percent of the memory available now.
        percent: Option<f64>,
        /// How long (ms).
        duration_ms: u64,
    },
    /// Stop a process (SIGSTOP), continued at the end of the lease.
    Pause {
        /// Process id.
        pid: Option<i32>,
        /// Or a process name (must match one process unless `all`).
        name: Option<String>,
        /// Act on every process of that name.
        #[serde(default)]
        all: bool,
        /// How long (ms).
        duration_ms: u64,
    },
    /// Send a signal once.
    Kill {
        /// Process id.
        pid: Option<i32>,
        /// Or a process name.
        name: Option<String>,
        /// Act on every process of that name.
        #[serde(default)]
        all: bool,
        /// Signal name or number (default TERM).
        signal: Option<String>,
    },
    /// Signal the process, then start it again with a command.
    Restart {
        /// Process id.
        pid: Option<i32>,
        /// Or a process name.
        name: Option<String>,
        /// Act on every process of that name.
        #[serde(default)]
        all: bool,
        /// Signal name or number (default TERM).
        signal: Option<String>,
        /// Shell command that starts the service again.
        command: String,
        /// How long to wait for the old process to exit (ms, default 5000).
        grace_ms: Option<u64>,
    },
}

fn one() -> usize {
    1
}
fn full() -> f64 {
    1.0
}

/// The fault types [`HostFault`] accepts.
pub const HOST_FAULT_TYPES: &[&str] = &["stress-cpu", "stress-memory", "pause", "kill", "restart"];

/// The types that hold something for a time and so take `duration_ms`
/// (the others act once). Kept beside the enum; a test checks both lists
/// against it.
const TIMED_TYPES: &[&str] = &["stress-cpu", "stress-memory", "pause"];

impl HostFault {
    /// The same fault lasting `d` when it holds something for a time;
    /// one-shot faults (kill, restart) are unchanged.
    pub fn lasting(mut self, d: Duration) -> Self {
        let ms = d.as_millis() as u64;
        match &mut self {
            HostFault::StressCpu { duration_ms, .. }
            | HostFault::StressMemory { duration_ms, .. }
            | HostFault::Pause { duration_ms, .. } => *duration_ms = ms,
            HostFault::Kill { .. } | HostFault::Restart { .. } => {}
        }
        self
    }

    /// Parses a fault as an experiment writes it: `{"type": ..., args...}`
    /// without a duration, which is the fault's length `d` when it takes one.
    pub fn parse_lasting(
        mut v: serde_json::Map<String, Value>,
        d: Duration,
    ) -> Result<HostFault, FaultError> {
        if v.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| TIMED_TYPES.contains(&t))
        {
            v.insert("duration_ms".into(), (d.as_millis() as u64).into());
        }
        Agent::parse(Value::Object(v))
    }
}

/// What applying a fault did.
#[derive(Serialize, Debug)]
pub struct Applied {
    /// Leases now in force (stress, pause).
    pub leases: Vec<LeaseInfo>,
    /// Processes signalled (kill, restart).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signalled: Vec<i32>,
    /// The process the restart command started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_pid: Option<u32>,
}

/// Every injector of one process.
pub struct Agent {
    /// The lease table.
    pub injector: Arc<Injector>,
    /// The TCP proxies.
    pub proxies: Arc<Proxies>,
    budget: Arc<StressBudget>,
    guardian: Option<GuardianLauncher>,
}

impl Agent {
    /// An agent; `guardian` protects paused processes if this process dies.
    pub fn new(
        injector: Arc<Injector>,
        options: ProxyOptions,
        guardian: Option<GuardianLauncher>,
    ) -> Arc<Self> {
        Arc::new(Agent {
            proxies: proxy::Proxies::new(injector.clone(), options),
            injector,
            budget: Arc::new(StressBudget::default()),
            guardian,
        })
    }

    /// Parses a fault from JSON, naming the field that is wrong.
    pub fn parse(v: Value) -> Result<HostFault, FaultError> {
        let kind = v.get("type").and_then(Value::as_str).map(str::to_string);
        match kind {
            None => Err(FaultError::invalid(
                "type",
                format!(
                    "missing fault type; expected one of {}",
                    HOST_FAULT_TYPES.join(", ")
                ),
            )),
            Some(k) if !HOST_FAULT_TYPES.contains(&k.as_str()) => Err(FaultError::invalid(
                "type",
                format!(
                    "unknown fault type `{k}`; expected one of {}",
                    HOST_FAULT_TYPES.join(", ")
                ),
            )),
            Some(k) => {
                let mut rest = v;
                if let Some(m) = rest.as_object_mut() {
                    m.remove("type");
                }
                let tagged = serde_json::json!({ k.clone(): rest });
                serde_path_to_error::deserialize::<_, HostFault>(tagged).map_err(|e| {
                    let path = e.path().to_string();
                    let field = path
                        .strip_prefix(&k)
                        .unwrap_or(&path)
                        .trim_start_matches('.');
                    FaultError::invalid(
                        if field.is_empty() { "body" } else { field },
                        e.into_inner().to_string(),
                    )
                })
            }
        }
    }

    /// Every check [`Agent::apply`] makes before it acts, without acting:
    /// arguments, caps (with what is held now), signals, and that the
    /// target processes exist now. A run calls it for each of its faults
    /// before it starts, so a fault that cannot be applied stops the run
    /// from starting instead of failing in the middle of it.
    pub fn check(&self, f: &HostFault) -> Result<(), FaultError> {
        let limits = &self.injector.limits;
        match f {
            HostFault::StressCpu {
                cores,
                load,
                duration_ms,
            } => {
                stress::check_cpu(*cores, *load)?;
                self.injector.check_duration(ms(*duration_ms))?;
                self.budget
                    .room_for_cores(*cores as u64, limits.max_cpu_cores as u64)
            }
            HostFault::StressMemory {
                bytes,
                percent,
                duration_ms,
            } => {
                let amount = stress::memory_bytes(memory_amount(*bytes, *percent)?)?;
                self.injector.check_duration(ms(*duration_ms))?;
                self.budget.room_for_bytes(amount, limits.max_memory_bytes)
            }
            HostFault::Pause {
                pid,
                name,
                all,
                duration_ms,
            } => {
                self.injector.check_duration(ms(*duration_ms))?;
                procfs::resolve(*pid, name.as_deref(), *all).map(|_| ())
            }
            HostFault::Kill {
                pid,
                name,
                all,
                signal,
            }
            | HostFault::Restart {
                pid,
                name,
                all,
                signal,
                ..
            } => {
                procfs::parse_signal(signal.as_deref().unwrap_or("TERM"))?;
                procfs::resolve(*pid, name.as_deref(), *all).map(|_| ())
            }
        }
    }

    /// Applies a fault; nothing is applied when it fails.
    pub async fn apply(&self, f: HostFault) -> Result<Applied, FaultError> {
        let none = || Applied {
            leases: Vec::new(),
            signalled: Vec::new(),
            started_pid: None,
        };
        match f {
            HostFault::StressCpu {
                cores,
                load,
                duration_ms,
            } => {
                let l =
                    stress::stress_cpu(&self.injector, &self.budget, cores, load, ms(duration_ms))?;
                Ok(Applied {
                    leases: vec![l],
                    ..none()
                })
            }
            HostFault::StressMemory {
                bytes,
                percent,
                duration_ms,
            } => {
                let amount = memory_amount(bytes, percent)?;
                let l =
                    stress::stress_memory(&self.injector, &self.budget, amount, ms(duration_ms))
                        .await?;
                Ok(Applied {
                    leases: vec![l],
                    ..none()
                })
            }
            HostFault::Pause {
                pid,
                name,
                all,
                duration_ms,
            } => {
                let targets = procfs::resolve(pid, name.as_deref(), all)?;
                self.injector.check_duration(ms(duration_ms))?;
                let mut leases = Vec::new();
                for t in &targets {
                    match process::pause(&self.injector, self.guardian.as_ref(), t, ms(duration_ms))
                    {
                        Ok(l) => leases.push(l),
                        Err(e) => {
                            // Nothing half-applied: undo the pauses already made.
                            for l in &leases {
                                self.injector.revert(&l.id);
                            }
                            return Err(e);
                        }
                    }
                }
                Ok(Applied { leases, ..none() })
            }
            HostFault::Kill {
                pid,
                name,
                all,
                signal,
            } => {
                let sig = procfs::parse_signal(signal.as_deref().unwrap_or("TERM"))?;
                let targets = procfs::resolve(pid, name.as_deref(), all)?;
                process::kill(&targets, sig)?;
                Ok(Applied {
                    signalled: targets.iter().map(|t| t.pid).collect(),
                    ..none()
                })
            }
            HostFault::Restart {
                pid,
                name,
                all,
                signal,
                command,
                grace_ms,
            } => {
                let sig = procfs::parse_signal(signal.as_deref().unwrap_or("TERM"))?;
                let targets = procfs::resolve(pid, name.as_deref(), all)?;
                let started =
                    process::restart(&targets, sig, &command, ms(grace_ms.unwrap_or(5000))).await?;
                Ok(Applied {
                    signalled: targets.iter().map(|t| t.pid).collect(),
                    started_pid: Some(started),
                    ..none()
                })
            }
        }
    }
}

/// `bytes` or `percent`, exactly one.
fn memory_amount(bytes: Option<u64>, percent: Option<f64>) -> Result<MemoryAmount, FaultError> {
    match (bytes, percent) {
        (Some(b), None) => Ok(MemoryAmount::Bytes(b)),
        (None, Some(p)) => Ok(MemoryAmount::PercentAvailable(p)),
        _ => Err(FaultError::invalid(
            "bytes",
            "give exactly one of bytes or percent",
        )),
    }
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listed type parses as an experiment writes it, and `lasting`
    /// sets the duration of exactly the timed ones.
    #[test]
    fn the_type_lists_match_the_enum() {
        for t in HOST_FAULT_TYPES {
            let mut v = serde_json::Map::new();
            v.insert("type".into(), (*t).into());
            match *t {
                "stress-memory" => {
                    v.insert("bytes".into(), 1.into());
                }
                "pause" | "kill" => {
                    v.insert("pid".into(), 2.into());
                }
                "restart" => {
                    v.insert("pid".into(), 2.into());
                    v.insert("command".into(), "true".into());
                }
                _ => {}
            }
            let f = HostFault::parse_lasting(v, Duration::from_secs(7))
                .unwrap_or_else(|e| panic!("{t}: {e}"));
            let timed = matches!(
                f.clone().lasting(Duration::from_secs(9)),
                HostFault::StressCpu {
                    duration_ms: 9000,
                    ..
                } | HostFault::StressMemory {
                    duration_ms: 9000,
                    ..
                } | HostFault::Pause {
                    duration_ms: 9000,
                    ..
                }
            );
            assert_eq!(timed, TIMED_TYPES.contains(t), "{t}");
        }
    }
}
