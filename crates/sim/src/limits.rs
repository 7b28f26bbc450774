//! Caps that bound what any request or admin call can make a service do.
//!
//! A request that asks for more than a cap gets an error entry in its
//! response instead of exhausting the machine.

use std::time::Duration;

use serde::Deserialize;

use crate::millis::Millis;

/// Effective caps of one service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Memory held by memory-leak faults at once, MB.
    pub max_leak_mb: u64,
    /// CPU-burning faults running at once.
    pub max_cpu_burners: u32,
    /// Longest single latency, CPU or leak duration a fault may ask for.
    pub max_fault_duration: Duration,
    /// Deepest request tree accepted (root = 1).
    pub max_depth: u32,
    /// Most children of one node.
    pub max_fanout: u32,
    /// Timeout of each call to another service.
    pub call_timeout: Duration,
    /// Longest lease of a persistent fault.
    pub max_lease: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_leak_mb: 256,
            max_cpu_burners: 2,
            max_fault_duration: Duration::from_secs(300),
            max_depth: 32,
            max_fanout: 64,
            call_timeout: Duration::from_secs(30),
            max_lease: Duration::from_secs(3600),
        }
    }
}

/// Caps as written in a topology; unset fields inherit.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// See [`Limits::max_leak_mb`].
    pub max_leak_mb: Option<u64>,
    /// See [`Limits::max_cpu_burners`].
    pub max_cpu_burners: Option<u32>,
    /// See [`Limits::max_fault_duration`].
    pub max_fault_duration: Option<Millis>,
    /// See [`Limits::max_depth`].
    pub max_depth: Option<u32>,
    /// See [`Limits::max_fanout`].
    pub max_fanout: Option<u32>,
    /// See [`Limits::call_timeout`].
    pub call_timeout: Option<Millis>,
    /// See [`Limits::max_lease`].
    pub max_lease: Option<Millis>,
}

impl LimitsSpec {
    /// These caps on top of `base`.
    pub fn resolve(&self, base: &Limits) -> Limits {
        Limits {
            max_leak_mb: self.max_leak_mb.unwrap_or(base.max_leak_mb),
            max_cpu_burners: self.max_cpu_burners.unwrap_or(base.max_cpu_burners),
            max_fault_duration: self
                .max_fault_duration
                .map(|m| m.0)
                .unwrap_or(base.max_fault_duration),
            max_depth: self.max_depth.unwrap_or(base.max_depth),
            max_fanout: self.max_fanout.unwrap_or(base.max_fanout),
            call_timeout: self.call_timeout.map(|m| m.0).unwrap_or(base.call_timeout),
            max_lease: self.max_lease.map(|m| m.0).unwrap_or(base.max_lease),
        }
    }
}
