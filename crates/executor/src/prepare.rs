//! From a parsed experiment to a runnable one: the workload compiled, the
//! warm-up derived from it, fault targets resolved, goals and abort
//! conditions compiled. Every problem is reported, not just the first.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use squall_load::plan::ThresholdSpec;
use squall_load::threshold::Threshold;
use squall_load::{CompiledPlan, compile};

use crate::document::{Experiment, warmup_load};
use crate::goals::{self, Goal};

/// A fault ready to schedule.
#[derive(Clone, Debug)]
pub struct PreparedFault {
    /// Name used by goals and the report.
    pub name: String,
    /// Fault type.
    pub kind: String,
    /// Service name or URL, for people.
    pub target: String,
    /// Base URL of the service's `/_sim/` API.
    pub base_url: String,
    /// Arguments.
    pub args: serde_json::Map<String, serde_json::Value>,
    /// Offset from the main run's start.
    pub at: Duration,
    /// Length.
    pub duration: Duration,
}

impl PreparedFault {
    /// When the fault is due to end.
    pub fn end(&self) -> Duration {
        self.at + self.duration
    }
}

/// An abort condition.
#[derive(Clone, Debug)]
pub struct AbortRule {
    /// `metric condition`, for the report.
    pub label: String,
    /// The condition; it aborts when it holds.
    pub threshold: Threshold,
    /// Consecutive seconds it must hold.
    pub seconds: u32,
}

/// A runnable experiment.
pub struct Prepared {
    /// Title.
    pub title: String,
    /// The main workload.
    pub plan: Arc<CompiledPlan>,
    /// The warm-up workload and its length.
    pub warmup: Option<(Arc<CompiledPlan>, Duration)>,
    /// Faults, in document order.
    pub faults: Vec<PreparedFault>,
    /// Goals, in document order.
    pub goals: Vec<Goal>,
    /// Abort conditions.
    pub aborts: Vec<AbortRule>,
    /// URL that must answer before the run.
    pub target: Option<String>,
    /// Services whose leftover faults are cleared before the run.
    pub fault_services: Vec<String>,
    /// Non-fatal remarks (faults past the end of the workload...).
    pub warnings: Vec<String>,
}

/// Prepares `exp`; `sim` maps simulated service names to base URLs.
pub fn prepare(
    file: &Path,
    exp: &Experiment,
    sim: &BTreeMap<String, String>,
) -> Result<Prepared, Vec<String>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let title = exp.title.clone().unwrap_or_else(|| {
        file.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "experiment".into())
    });
    let Some(workload) = &exp.workload else {
        return Err(vec![format!(
            "{}: workload: required by `squall run` (a `squall load` plan: scenarios and load); \
             for a Chaos Toolkit experiment alone use `squall chaos run`",
            file.display()
        )]);
    };
    let plan = match compile(workload, file) {
        Ok(p) => Some(Arc::new(p)),
        Err(e) => {
            errors.push(format!("workload: {e}"));
            None
        }
    };
    let warmup = exp.warmup.as_ref().and_then(|w| {
        let load = match warmup_load(w) {
            Ok(l) => l,
            Err(e) => {
                errors.push(format!("{}: warmup: {e}", file.display()));
                return None;
            }
        };
        let mut p = workload.clone();
        p.load = load;
        p.thresholds.clear();
        match compile(&p, file) {
            Ok(c) => Some((Arc::new(c), w.duration.get())),
            Err(e) => {
                errors.push(format!("warmup: {e}"));
                None
            }
        }
    });
    let mut faults = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut fault_services = Vec::new();
    for (i, f) in exp.faults.iter().enumerate() {
        let at = format!("{}: faults[{i}]", file.display());
        let (target, base) = match (&f.fault.service, &f.fault.url) {
            (Some(s), None) => match sim.get(s) {
                Some(u) => (s.clone(), u.clone()),
                None => {
                    let known: Vec<&str> = sim.keys().map(String::as_str).collect();
                    errors.push(if known.is_empty() {
                        format!("{at}.fault.service: {s:?} names a simulated service, but the experiment starts no `sim`; give `url` instead")
                    } else {
                        format!("{at}.fault.service: no simulated service named {s:?} (services: {})", known.join(", "))
                    });
                    continue;
                }
            },
            (None, Some(u)) if u.starts_with("http://") => (u.clone(), u.clone()),
            (None, Some(u)) => {
                errors.push(format!("{at}.fault.url: {u:?} is not an http:// URL"));
                continue;
            }
            _ => {
                errors.push(format!(
                    "{at}.fault: give exactly one of `service` (a simulated service) or `url`"
                ));
                continue;
            }
        };
        let name = f
            .name
            .clone()
            .unwrap_or_else(|| format!("{} on {target}", f.fault.kind));
        if names.contains(&name) {
            errors.push(format!("{at}.name: {name:?} is used by another fault"));
        }
        if f.duration.get().is_zero() {
            errors.push(format!("{at}.for: a fault must last longer than 0"));
        }
        if let Some(p) = &plan {
            let len = p.load.duration();
            if f.at.get() + f.duration.get() > len {
                warnings.push(format!(
                    "fault {name:?} ends at {} but the workload ends at {}; it will be reverted then",
                    humantime::format_duration(f.at.get() + f.duration.get()),
                    humantime::format_duration(len)
                ));
            }
        }
        if !fault_services.contains(&base) {
            fault_services.push(base.clone());
        }
        names.push(name.clone());
        faults.push(PreparedFault {
            name,
            kind: f.fault.kind.clone(),
            target,
            base_url: base,
            args: f.fault.args.clone(),
            at: f.at.get(),
            duration: f.duration.get(),
        });
    }
    let request_names = plan
        .as_ref()
        .map(|p| p.request_names.clone())
        .unwrap_or_default();
    let mut compiled_goals = Vec::new();
    for (i, g) in exp.goals.iter().enumerate() {
        match goals::compile(g, &names, &request_names, warmup.is_some()) {
            Ok(g) => compiled_goals.push(g),
            Err(e) => errors.push(format!("{}: goals[{i}].{e}", file.display())),
        }
    }
    let mut aborts = Vec::new();
    for (i, a) in exp.abort.iter().enumerate() {
        match Threshold::compile(
            &a.metric,
            &ThresholdSpec::Plain(a.condition.clone()),
            &request_names,
        ) {
            Ok(t) => aborts.push(AbortRule {
                label: format!("{} {}", a.metric, a.condition),
                threshold: t,
                seconds: a
                    .duration
                    .map(|d| d.get().as_secs().max(1) as u32)
                    .unwrap_or(1),
            }),
            Err(e) => errors.push(format!("{}: abort[{i}]: {e}", file.display())),
        }
    }
    let target = exp.target.clone();
    match (errors.is_empty(), plan) {
        (true, Some(plan)) => Ok(Prepared {
            title,
            plan,
            warmup,
            faults,
            goals: compiled_goals,
            aborts,
            target,
            fault_services,
            warnings,
        }),
        _ => Err(errors),
    }
}
