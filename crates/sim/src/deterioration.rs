//! MiSArch's failure model: what its experiment-config sidecar does to a
//! service, given to the simulator as persistent fault types so
//! MiSArch-shaped failure schedules run against a simulated system.
//!
//! The sidecar's semantics, kept here:
//! - **service invocation**: rules by path prefix (case-sensitive; a rule
//!   without `path` matches every path); the first matching rule wins. With
//!   `delayProbability` the request waits `delay` ms; then, independently,
//!   with `errorProbability` it is answered `errorCode` (default 500) with
//!   an empty body and never reaches the service. A probability left out
//!   never fires; `delay` left out is 0.
//! - **pub/sub**: the same delay and error (always 500) on deliveries to
//!   the service; a delivery answered 500 is redelivered, as Dapr does.
//! - **memory**: `bytes` allocated and touched, held while the fault is in
//!   force; a new value replaces the old allocation.
//! - **CPU**: one thread per entry, busy `usageDuration` ms then asleep
//!   `pauseDuration` ms, over and over.
//!
//! A later fault of one of these types replaces the service's earlier one
//! of the same type (the sidecar keeps one value per variable).
//! Probabilities are 0..1 as MiSArch writes them (values above 1 are
//! refused rather than read as "always").

use std::time::Duration;

use serde_json::Value;

use crate::fault::FaultError;
use crate::limits::Limits;

/// Fault type of the service-invocation rules.
pub const INVOCATION: &str = "service-invocation-deterioration";
/// Fault type of the pub/sub deterioration.
pub const PUBSUB: &str = "pubsub-deterioration";
/// Fault type of the memory held.
pub const MEMORY: &str = "artificial-memory";
/// Fault type of the CPU threads.
pub const CPU: &str = "artificial-cpu";

/// Types that describe a state of the service, so a new one replaces the
/// earlier one instead of adding to it.
pub const REPLACING: &[&str] = &[INVOCATION, PUBSUB, MEMORY, CPU];

/// A delay and an error, each with its own chance.
#[derive(Clone, Debug, PartialEq)]
pub struct Deterioration {
    /// Added wait.
    pub delay: Duration,
    /// Chance 0..=1 that the delay applies; none: never.
    pub delay_probability: Option<f64>,
    /// Chance 0..=1 that the request is answered with `error_code`; none: never.
    pub error_probability: Option<f64>,
    /// Status of the error answer.
    pub error_code: u16,
}

/// One service-invocation rule.
#[derive(Clone, Debug, PartialEq)]
pub struct InvocationRule {
    /// Path prefix; none matches every path.
    pub path: Option<String>,
    /// What happens to a matching request.
    pub effect: Deterioration,
}

impl InvocationRule {
    /// Whether this rule applies to `path`.
    pub fn matches(&self, path: &str) -> bool {
        self.path.as_deref().is_none_or(|p| path.starts_with(p))
    }
}

/// The first rule that applies to `path`.
pub fn first_match<'a>(rules: &'a [InvocationRule], path: &str) -> Option<&'a Deterioration> {
    rules.iter().find(|r| r.matches(path)).map(|r| &r.effect)
}

/// One CPU thread's cycle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuCycle {
    /// Busy time per cycle.
    pub usage: Duration,
    /// Sleep per cycle.
    pub pause: Duration,
}

type Args = serde_json::Map<String, Value>;

fn field(at: &str, name: &str) -> String {
    if at.is_empty() {
        format!("args.{name}")
    } else {
        format!("args.{at}.{name}")
    }
}

fn check_keys(kind: &str, o: &Args, at: &str, known: &[&str]) -> Result<(), FaultError> {
    match o.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(FaultError::new(
            field(at, k),
            format!(
                "{kind}: unknown field {k:?} (expected: {})",
                known.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

fn probability(kind: &str, o: &Args, at: &str, name: &str) -> Result<Option<f64>, FaultError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(p) if (0.0..=1.0).contains(&p) => Ok(Some(p)),
            _ => Err(FaultError::new(
                field(at, name),
                format!("{kind}: {name} must be a number within 0..1, got {v}"),
            )),
        },
    }
}

fn millis(
    kind: &str,
    o: &Args,
    at: &str,
    name: &str,
    limits: &Limits,
) -> Result<Duration, FaultError> {
    let v = match o.get(name) {
        None | Some(Value::Null) => return Ok(Duration::ZERO),
        Some(v) => v,
    };
    let Some(ms) = v.as_u64() else {
        return Err(FaultError::new(
            field(at, name),
            format!("{kind}: {name} must be a whole number of ms, got {v}"),
        ));
    };
    let d = Duration::from_millis(ms);
    if d > limits.max_fault_duration {
        return Err(FaultError::new(
            field(at, name),
            format!(
                "{kind}: {name} {ms} ms exceeds the cap of {} ms",
                limits.max_fault_duration.as_millis()
            ),
        ));
    }
    Ok(d)
}

/// MiSArch writes one object or a list of them.
fn one_or_many<'a>(kind: &str, args: &'a Args, name: &str) -> Result<Vec<&'a Args>, FaultError> {
    let bad = |v: &Value| {
        FaultError::new(
            field("", name),
            format!(
                "{kind}: {name} must be an object or a list of objects, got {}",
                crate::tree::kind_of(v)
            ),
        )
    };
    match args.get(name) {
        None => Err(FaultError::new(
            field("", name),
            format!("{kind}: argument {name:?} is required"),
        )),
        Some(Value::Object(o)) => Ok(vec![o]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_object().ok_or_else(|| bad(v)))
            .collect(),
        Some(v) => Err(bad(v)),
    }
}

/// `{rules: [{path, delay, delayProbability, errorProbability, errorCode}]}`.
pub fn parse_invocation(args: &Args, limits: &Limits) -> Result<Vec<InvocationRule>, FaultError> {
    let kind = INVOCATION;
    check_keys(kind, args, "", &["rules"])?;
    let rules = one_or_many(kind, args, "rules")?;
    rules
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            let at = format!("rules[{i}]");
            check_keys(
                kind,
                o,
                &at,
                &[
                    "path",
                    "delay",
                    "delayProbability",
                    "errorProbability",
                    "errorCode",
                ],
            )?;
            let path = match o.get("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) => Some(p.clone()),
                Some(v) => {
                    return Err(FaultError::new(
                        field(&at, "path"),
                        format!("{kind}: path must be a string, got {v}"),
                    ));
                }
            };
            let error_code = match o.get("errorCode") {
                None | Some(Value::Null) => 500,
                Some(v) => match v.as_u64() {
                    Some(c @ 100..=599) => c as u16,
                    _ => {
                        return Err(FaultError::new(
                            field(&at, "errorCode"),
                            format!("{kind}: errorCode must be an HTTP status 100..599, got {v}"),
                        ));
                    }
                },
            };
            Ok(InvocationRule {
                path,
                effect: Deterioration {
                    delay: millis(kind, o, &at, "delay", limits)?,
                    delay_probability: probability(kind, o, &at, "delayProbability")?,
                    error_probability: probability(kind, o, &at, "errorProbability")?,
                    error_code,
                },
            })
        })
        .collect()
}

/// `{delay, delayProbability, errorProbability}`; errors are 500.
pub fn parse_pubsub(args: &Args, limits: &Limits) -> Result<Deterioration, FaultError> {
    let kind = PUBSUB;
    check_keys(
        kind,
        args,
        "",
        &["delay", "delayProbability", "errorProbability"],
    )?;
    Ok(Deterioration {
        delay: millis(kind, args, "", "delay", limits)?,
        delay_probability: probability(kind, args, "", "delayProbability")?,
        error_probability: probability(kind, args, "", "errorProbability")?,
        error_code: 500,
    })
}

/// `{bytes}`, under the service's memory cap.
pub fn parse_memory(args: &Args, limits: &Limits) -> Result<u64, FaultError> {
    let kind = MEMORY;
    check_keys(kind, args, "", &["bytes"])?;
    let v = args.get("bytes").ok_or_else(|| {
        FaultError::new(
            "args.bytes",
            format!("{kind}: argument \"bytes\" is required"),
        )
    })?;
    let bytes = v.as_u64().ok_or_else(|| {
        FaultError::new(
            "args.bytes",
            format!("{kind}: bytes must be a whole number, got {v}"),
        )
    })?;
    let cap = limits.max_leak_mb * 1024 * 1024;
    if bytes > cap {
        return Err(FaultError::new(
            "args.bytes",
            format!(
                "{kind}: {bytes} bytes exceed the cap of {} MB (max_leak_mb)",
                limits.max_leak_mb
            ),
        ));
    }
    Ok(bytes)
}

/// `{threads: [{usageDuration, pauseDuration}]}`, one thread per entry,
/// at most `max_cpu_burners` of them.
pub fn parse_cpu(args: &Args, limits: &Limits) -> Result<Vec<CpuCycle>, FaultError> {
    let kind = CPU;
    check_keys(kind, args, "", &["threads"])?;
    let entries = one_or_many(kind, args, "threads")?;
    if entries.len() as u64 > u64::from(limits.max_cpu_burners) {
        return Err(FaultError::new(
            "args.threads",
            format!(
                "{kind}: {} threads exceed the cap of {} (max_cpu_burners)",
                entries.len(),
                limits.max_cpu_burners
            ),
        ));
    }
    entries
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            let at = format!("threads[{i}]");
            check_keys(kind, o, &at, &["usageDuration", "pauseDuration"])?;
            let c = CpuCycle {
                usage: millis(kind, o, &at, "usageDuration", limits)?,
                pause: millis(kind, o, &at, "pauseDuration", limits)?,
            };
            if c.usage.is_zero() && c.pause.is_zero() {
                return Err(FaultError::new(
                    field(&at, "usageDuration"),
                    format!("{kind}: usageDuration and pauseDuration cannot both be 0"),
                ));
            }
            Ok(c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> Args {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_first_matching_prefix_wins() {
        let l = Limits::default();
        let rules = parse_invocation(
            &args(serde_json::json!({"rules": [
                {"path": "/api/slow", "delay": 100, "delayProbability": 1.0},
                {"path": "/api", "errorProbability": 0.5, "errorCode": 503},
                {"delay": 5, "delayProbability": 0.1}]})),
            &l,
        )
        .unwrap();
        assert_eq!(
            first_match(&rules, "/api/slow/x").unwrap().delay,
            Duration::from_millis(100)
        );
        assert_eq!(first_match(&rules, "/api/other").unwrap().error_code, 503);
        assert_eq!(
            first_match(&rules, "/API").unwrap().delay,
            Duration::from_millis(5),
            "case-sensitive; a rule without a path matches the rest"
        );
        let one = parse_invocation(&args(serde_json::json!({"rules": {"path": "/"}})), &l).unwrap();
        assert_eq!(one[0].effect.error_code, 500);
        assert_eq!(one[0].effect.error_probability, None, "never fires");
    }

    #[test]
    fn bad_values_name_their_field() {
        let l = Limits::default();
        let e = |v: Value| parse_invocation(&args(v), &l).unwrap_err();
        assert_eq!(
            e(serde_json::json!({"rules": [{"path": "/", "errorProbability": 1.5}]})).field,
            "args.rules[0].errorProbability"
        );
        assert_eq!(
            e(serde_json::json!({"rules": [{"path": "/", "dealy": 1}]})).field,
            "args.rules[0].dealy"
        );
        assert_eq!(e(serde_json::json!({"rules": 3})).field, "args.rules");
        assert!(
            parse_memory(&args(serde_json::json!({"bytes": 1u64 << 40})), &l)
                .unwrap_err()
                .message
                .contains("cap")
        );
        let cpu = |v: Value| parse_cpu(&args(v), &l);
        assert!(cpu(serde_json::json!({"threads": [{}, {}, {}]})).is_err());
        assert!(
            cpu(serde_json::json!({"threads": [{"usageDuration": 0, "pauseDuration": 0}]}))
                .is_err()
        );
        assert_eq!(
            cpu(serde_json::json!({"threads": {"usageDuration": 30, "pauseDuration": 70}}))
                .unwrap(),
            vec![CpuCycle {
                usage: Duration::from_millis(30),
                pause: Duration::from_millis(70)
            }]
        );
        assert!(
            parse_pubsub(
                &args(serde_json::json!({"delay": 10, "errorCode": 404})),
                &l
            )
            .is_err(),
            "pub/sub errors are always 500"
        );
    }
}
