//! Fault types with validated arguments.

use std::time::Duration;

use crate::deterioration::{self, CpuCycle, Deterioration, InvocationRule};
use crate::limits::Limits;
use crate::tree::FaultSpec;

/// A fault ready to apply.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Sleep `delay` plus up to `jitter`.
    Latency {
        /// Fixed part.
        delay: Duration,
        /// Uniform extra.
        jitter: Duration,
    },
    /// Hold `mb` megabytes (really touched) for `duration`, then release them.
    MemoryLeak {
        /// Megabytes.
        mb: u64,
        /// How long.
        duration: Duration,
    },
    /// Burn `share` of one core for `duration` (the request waits).
    CpuLoad {
        /// How long.
        duration: Duration,
        /// 0..=1 of a core.
        share: f64,
    },
    /// Answer with `status`, with `probability` percent chance.
    Error {
        /// HTTP status (400..=599).
        status: u16,
        /// 0..=100.
        probability: f64,
    },
    /// Close the connection without a response.
    Abort,
    /// Send the response body at `bytes_per_sec`.
    SlowBody {
        /// Bytes per second.
        bytes_per_sec: u64,
    },
    /// Exit the service's process (only where a supervisor restarts it).
    Crash,
    /// MiSArch's service-invocation rules (persistent only).
    Invocation(Vec<InvocationRule>),
    /// MiSArch's pub/sub deterioration of deliveries (persistent only).
    PubSub(Deterioration),
    /// MiSArch's artificial memory: bytes held (persistent only).
    Memory {
        /// Bytes held.
        bytes: u64,
    },
    /// MiSArch's artificial CPU: one busy/pause thread per entry
    /// (persistent only).
    Cpu(Vec<CpuCycle>),
}

impl Fault {
    /// Whether the fault describes a state held for a lease, not something a
    /// request tree can ask for once.
    pub fn persistent_only(&self) -> bool {
        matches!(
            self,
            Fault::Invocation(_) | Fault::PubSub(_) | Fault::Memory { .. } | Fault::Cpu(_)
        )
    }
}

type Args = serde_json::Map<String, serde_json::Value>;

/// Fault types the simulator implements.
pub const SIM_FAULT_TYPES: &[&str] = &[
    "latency",
    "memory-leak",
    "cpu-load",
    "error",
    "abort",
    "slow-body",
    "crash",
    deterioration::INVOCATION,
    deterioration::PUBSUB,
    deterioration::MEMORY,
    deterioration::CPU,
];

/// Why a fault was refused: the field (`type`, `args.delay`, `lease`) and
/// what was expected, so callers can point at the line that is wrong.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct FaultError {
    /// Dotted path of the offending field.
    pub field: String,
    /// What was expected.
    pub message: String,
}

impl FaultError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FaultError {
            field: field.into(),
            message: message.into(),
        }
    }

    fn arg(name: &str, message: String) -> Self {
        FaultError::new(format!("args.{name}"), message)
    }
}

/// Unknown argument names: refused where a fault is installed on purpose
/// (`strict`, the admin API checks before a run), ignored and returned
/// where a request tree carries it (MicroSim ignores them).
fn unknown_args(
    kind: &str,
    args: &Args,
    known: &[&str],
    strict: bool,
) -> Result<Vec<String>, FaultError> {
    let mut ignored = Vec::new();
    for k in args.keys() {
        if !known.contains(&k.as_str()) {
            if !strict {
                ignored.push(format!("args.{k}"));
                continue;
            }
            let expected = if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            };
            return Err(FaultError::arg(
                k,
                format!("{kind}: unknown argument {k:?} (expected: {expected})"),
            ));
        }
    }
    Ok(ignored)
}

/// A non-negative number; fractions allowed (MicroSim takes `delay: 100.5`).
fn number(kind: &str, args: &Args, name: &str, default: Option<f64>) -> Result<f64, FaultError> {
    match args.get(name) {
        None => default
            .ok_or_else(|| FaultError::arg(name, format!("{kind}: argument {name:?} is required"))),
        Some(v) => v
            .as_f64()
            .filter(|x| *x >= 0.0 && x.is_finite())
            .ok_or_else(|| {
                FaultError::arg(
                    name,
                    format!("{kind}: argument {name:?} must be a non-negative number, got {v}"),
                )
            }),
    }
}

/// A non-negative whole number (`100` or `100.0`).
fn uint(kind: &str, args: &Args, name: &str, default: Option<u64>) -> Result<u64, FaultError> {
    let x = number(kind, args, name, default.map(|d| d as f64))?;
    if x.fract() != 0.0 || x > u64::MAX as f64 {
        return Err(FaultError::arg(
            name,
            format!("{kind}: argument {name:?} must be a whole number, got {x}"),
        ));
    }
    Ok(x as u64)
}

/// Milliseconds, fractions allowed, under the duration cap.
fn ms(
    kind: &str,
    args: &Args,
    name: &str,
    default: Option<u64>,
    limits: &Limits,
) -> Result<Duration, FaultError> {
    let x = number(kind, args, name, default.map(|d| d as f64))?;
    let cap = limits.max_fault_duration;
    if x > cap.as_millis() as f64 {
        return Err(FaultError::arg(
            name,
            format!(
                "{kind}: {name} {x} ms exceeds the cap of {} ms",
                cap.as_millis()
            ),
        ));
    }
    Ok(Duration::from_secs_f64(x / 1000.0))
}

impl Fault {
    /// Validates a fault against the service's caps; unknown arguments are
    /// refused.
    pub fn parse(spec: &FaultSpec, limits: &Limits) -> Result<Fault, FaultError> {
        Self::parse_with(spec, limits, true).map(|(f, _)| f)
    }

    /// Validates a fault from a request tree: unknown arguments are ignored
    /// and returned (`args.NAME`), as MicroSim's services ignore them.
    pub fn read(spec: &FaultSpec, limits: &Limits) -> Result<(Fault, Vec<String>), FaultError> {
        Self::parse_with(spec, limits, false)
    }

    fn parse_with(
        spec: &FaultSpec,
        limits: &Limits,
        strict: bool,
    ) -> Result<(Fault, Vec<String>), FaultError> {
        let (k, a) = (spec.kind.as_str(), &spec.args);
        let ignored;
        let fault = match k {
            "latency" => {
                ignored = unknown_args(k, a, &["delay", "jitter"], strict)?;
                Fault::Latency {
                    delay: ms(k, a, "delay", None, limits)?,
                    jitter: ms(k, a, "jitter", Some(0), limits)?,
                }
            }
            "memory-leak" => {
                ignored = unknown_args(k, a, &["size", "duration"], strict)?;
                let mb = uint(k, a, "size", None)?;
                if mb > limits.max_leak_mb {
                    return Err(FaultError::arg(
                        "size",
                        format!(
                            "{k}: size {mb} MB exceeds the cap of {} MB",
                            limits.max_leak_mb
                        ),
                    ));
                }
                Fault::MemoryLeak {
                    mb,
                    duration: ms(k, a, "duration", None, limits)?,
                }
            }
            "cpu-load" => {
                ignored = unknown_args(k, a, &["duration", "share"], strict)?;
                let share = match a.get("share") {
                    None => 1.0,
                    Some(v) => v
                        .as_f64()
                        .filter(|s| (0.0..=1.0).contains(s))
                        .ok_or_else(|| {
                            FaultError::arg(
                                "share",
                                format!("{k}: share must be within 0..1, got {v}"),
                            )
                        })?,
                };
                Fault::CpuLoad {
                    duration: ms(k, a, "duration", None, limits)?,
                    share,
                }
            }
            "error" => {
                ignored = unknown_args(k, a, &["status", "probability"], strict)?;
                let status = uint(k, a, "status", Some(500))?;
                if !(400..=599).contains(&status) {
                    return Err(FaultError::arg(
                        "status",
                        format!("{k}: status must be within 400..599, got {status}"),
                    ));
                }
                let probability = number(k, a, "probability", Some(100.0))?;
                if probability > 100.0 {
                    return Err(FaultError::arg(
                        "probability",
                        format!("{k}: probability must be within 0..100, got {probability}"),
                    ));
                }
                Fault::Error {
                    status: status as u16,
                    probability,
                }
            }
            "abort" => {
                ignored = unknown_args(k, a, &[], strict)?;
                Fault::Abort
            }
            "slow-body" => {
                ignored = unknown_args(k, a, &["rate"], strict)?;
                let rate = uint(k, a, "rate", None)?;
                if rate == 0 {
                    return Err(FaultError::arg(
                        "rate",
                        format!("{k}: rate must be at least 1 byte per second"),
                    ));
                }
                Fault::SlowBody {
                    bytes_per_sec: rate,
                }
            }
            "crash" => {
                ignored = unknown_args(k, a, &[], strict)?;
                Fault::Crash
            }
            // MiSArch's variables are checked field by field whoever sends
            // them: the sidecar refuses unknown fields too.
            deterioration::INVOCATION => {
                ignored = Vec::new();
                Fault::Invocation(deterioration::parse_invocation(a, limits)?)
            }
            deterioration::PUBSUB => {
                ignored = Vec::new();
                Fault::PubSub(deterioration::parse_pubsub(a, limits)?)
            }
            deterioration::MEMORY => {
                ignored = Vec::new();
                Fault::Memory {
                    bytes: deterioration::parse_memory(a, limits)?,
                }
            }
            deterioration::CPU => {
                ignored = Vec::new();
                Fault::Cpu(deterioration::parse_cpu(a, limits)?)
            }
            other => {
                return Err(FaultError::new(
                    "type",
                    format!(
                        "fault type {other:?} is not implemented (known: {})",
                        SIM_FAULT_TYPES.join(", ")
                    ),
                ));
            }
        };
        Ok((fault, ignored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: &str, args: serde_json::Value) -> FaultSpec {
        FaultSpec {
            kind: kind.into(),
            args: args.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn validates_arguments_and_caps() {
        let l = Limits::default();
        assert_eq!(
            Fault::parse(&spec("latency", serde_json::json!({"delay": 600})), &l).unwrap(),
            Fault::Latency {
                delay: Duration::from_millis(600),
                jitter: Duration::ZERO
            }
        );
        let e = |k: &str, a: serde_json::Value| Fault::parse(&spec(k, a), &l).unwrap_err().message;
        let field =
            |k: &str, a: serde_json::Value| Fault::parse(&spec(k, a), &l).unwrap_err().field;
        assert_eq!(field("latncy", serde_json::json!({})), "type");
        assert_eq!(
            field("latency", serde_json::json!({"dleay": 100})),
            "args.dleay"
        );
        assert_eq!(
            field("latency", serde_json::json!({"delay": "300"})),
            "args.delay"
        );
        assert_eq!(
            field("error", serde_json::json!({"status": 999})),
            "args.status"
        );
        assert!(e("latency", serde_json::json!({})).contains("\"delay\" is required"));
        assert!(e("latency", serde_json::json!({"delay": -5})).contains("non-negative number"));
        assert!(
            e("latency", serde_json::json!({"delay": 5, "dely": 1}))
                .contains("unknown argument \"dely\"")
        );
        assert!(
            e(
                "memory-leak",
                serde_json::json!({"size": 100_000, "duration": 10})
            )
            .contains("exceeds the cap")
        );
        assert!(e("error", serde_json::json!({"status": 200})).contains("400..599"));
        assert!(e("cpu-spike", serde_json::json!({})).contains("not implemented"));
        assert!(e("cpu-load", serde_json::json!({"duration": 10, "share": 2})).contains("share"));
        assert!(e("error", serde_json::json!({"probability": 150})).contains("0..100"));
    }

    #[test]
    fn trees_may_carry_unknown_arguments_and_fractions() {
        let l = Limits::default();
        let (f, ignored) = Fault::read(
            &spec("latency", serde_json::json!({"delay": 100.5, "unit": "ms"})),
            &l,
        )
        .unwrap();
        assert_eq!(
            f,
            Fault::Latency {
                delay: Duration::from_micros(100_500),
                jitter: Duration::ZERO
            }
        );
        assert_eq!(ignored, vec!["args.unit"]);
        let (f, _) = Fault::read(
            &spec(
                "memory-leak",
                serde_json::json!({"size": 10.0, "duration": 5}),
            ),
            &l,
        )
        .unwrap();
        assert!(matches!(f, Fault::MemoryLeak { mb: 10, .. }));
        assert!(
            Fault::read(
                &spec(
                    "memory-leak",
                    serde_json::json!({"size": 1.5, "duration": 5})
                ),
                &l
            )
            .is_err()
        );
    }
}
