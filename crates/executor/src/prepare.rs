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

use crate::document::{Experiment, FaultSpec, warmup_load};
use crate::goals::{self, Goal};
use crate::problem::Problem;

/// A fault ready to schedule.
#[derive(Clone, Debug)]
pub struct PreparedFault {
    /// Name used by goals and the report.
    pub name: String,
    /// Fault type.
    pub kind: String,
    /// Service name or URL, for people.
    pub target: String,
    /// Which injector applies it.
    pub via: Via,
    /// Arguments.
    pub args: serde_json::Map<String, serde_json::Value>,
    /// Offset from the main run's start.
    pub at: Duration,
    /// Length.
    pub duration: Duration,
}

/// The injector behind a fault: every one is a lease with the fault's
/// length, so the fault ends even if squall does not.
#[derive(Clone, Debug)]
pub enum Via {
    /// A simulated service's `/_sim/faults` API at this base URL.
    Sim(String),
    /// Squall's own injectors in this process (stress, pause, kill,
    /// restart): the fault parsed once, lasting the planned duration (the
    /// lease at injection time replaces it).
    Host(squall_faults::HostFault),
    /// A toxic on one of the experiment's own proxies (in this process).
    LocalToxic {
        /// Proxy name.
        proxy: String,
        /// The toxic as Toxiproxy's API takes it.
        body: serde_json::Value,
    },
    /// A toxic on a Toxiproxy-compatible API (`squall proxy`, or Toxiproxy).
    Toxic {
        /// The API's base URL.
        api: String,
        /// Proxy name.
        proxy: String,
        /// The toxic as Toxiproxy's API takes it (its name starts with
        /// `squall:` so leftovers can be found).
        body: serde_json::Value,
    },
}

/// Toxic names squall gives the toxics it schedules.
pub const TOXIC_PREFIX: &str = "squall:";

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
    /// Proxies (API, name) whose leftover `squall:` toxics are removed before the run.
    pub fault_proxies: Vec<(String, String)>,
    /// The experiment's own proxies: name, listen address, upstream.
    pub proxies: Vec<(String, String, String)>,
    /// Non-fatal remarks (faults past the end of the workload...).
    pub warnings: Vec<String>,
    /// The fleet that runs the workload, when the document names one.
    pub fleet: Option<PreparedFleet>,
    /// The Prometheus server and queries, when the document names them.
    pub prometheus: Option<crate::prometheus::PreparedPrometheus>,
}

/// A fleet as the document asks for it.
#[derive(Clone, Debug)]
pub struct PreparedFleet {
    /// Generators; 0 is every registered one.
    pub generators: usize,
    /// How long to wait for them.
    pub wait: Duration,
    /// What a lost generator does.
    pub on_lost: squall_fleet::OnLost,
    /// The workload as generators receive it (set by `execute`, which has
    /// the substituted text).
    pub payload: Option<squall_fleet::PlanPayload>,
}

fn prepare_fleet(exp: &Experiment, errors: &mut Vec<Problem>) -> Option<PreparedFleet> {
    let f = exp.fleet.as_ref()?;
    let generators = match &f.generators {
        crate::document::FleetSize::Count(0) => {
            errors.push(Problem::at(
                "fleet.generators",
                "must be at least 1 (or `all`)",
            ));
            0
        }
        crate::document::FleetSize::Count(n) => *n as usize,
        crate::document::FleetSize::Word(w) if w == "all" => 0,
        crate::document::FleetSize::Word(w) => {
            errors.push(Problem::at(
                "fleet.generators",
                format!("must be a number or `all`, got {w:?}"),
            ));
            0
        }
    };
    let on_lost = match f.on_lost.as_deref() {
        None | Some("fail") => squall_fleet::OnLost::Fail,
        Some("continue") => squall_fleet::OnLost::Continue,
        Some(o) => {
            errors.push(Problem::at(
                "fleet.on_lost",
                format!("must be `fail` or `continue`, got {o:?}"),
            ));
            squall_fleet::OnLost::Fail
        }
    };
    if exp.warmup.is_some() {
        errors.push(Problem::at(
            "fleet",
            "a warm-up does not run on a fleet yet: remove `warmup` (goals then need absolute bounds) or `fleet`",
        ));
    }
    Some(PreparedFleet {
        generators,
        wait: f.wait.map(|d| d.get()).unwrap_or(Duration::from_secs(60)),
        on_lost,
        payload: None,
    })
}

/// Prepares `exp`; `sim` maps simulated service names to base URLs.
pub fn prepare(
    file: &Path,
    exp: &Experiment,
    sim: &BTreeMap<String, String>,
) -> Result<Prepared, Vec<Problem>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let title = exp.title.clone().unwrap_or_else(|| {
        file.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "experiment".into())
    });
    if let Some(sync) = &exp.sync {
        errors.extend(check_sync(sync));
    }
    let fleet = prepare_fleet(exp, &mut errors);
    let Some(workload) = &exp.workload else {
        return Err(vec![Problem::at(
            "workload",
            "required by `squall run` (a `squall load` plan: scenarios and load); \
             for a Chaos Toolkit experiment alone use `squall chaos run`",
        )]);
    };
    let plan = match compile(workload, file) {
        Ok(p) => Some(Arc::new(p)),
        Err(e) => {
            errors.push(Problem::whole(format!("workload: {e}")));
            None
        }
    };
    let warmup = exp.warmup.as_ref().and_then(|w| {
        let load = match warmup_load(w) {
            Ok(l) => l,
            Err(e) => {
                errors.push(Problem::at("warmup", e));
                return None;
            }
        };
        let mut p = workload.clone();
        p.load = load;
        p.thresholds.clear();
        // The warm-up has its own load: scenarios' own arrivals belong to
        // the main run (the warm-up picks scenarios by weight).
        for s in &mut p.scenarios {
            s.arrivals = None;
        }
        match compile(&p, file) {
            Ok(c) => Some((Arc::new(c), w.duration.get())),
            Err(e) => {
                errors.push(Problem::whole(format!("warmup: {e}")));
                None
            }
        }
    });
    let mut faults = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut fault_services = Vec::new();
    let mut fault_proxies: Vec<(String, String)> = Vec::new();
    let mut proxies: Vec<(String, String, String)> = Vec::new();
    for (i, p) in exp.proxies.iter().enumerate() {
        if proxies.iter().any(|(n, _, _)| *n == p.name) {
            errors.push(Problem::at(
                format!("proxies[{i}].name"),
                format!("{:?} is used by another proxy", p.name),
            ));
        }
        proxies.push((p.name.clone(), p.listen.clone(), p.upstream.clone()));
    }
    let declared: Vec<String> = proxies.iter().map(|(n, _, _)| n.clone()).collect();
    for (i, f) in exp.faults.iter().enumerate() {
        let at = format!("faults[{i}]");
        // A default name is made unique (`latency on a #2`); a name the
        // user gave twice is an error, since goals refer to it.
        let name = f.name.clone().unwrap_or_else(|| {
            let base = format!("{} on {}", f.fault.kind, describe_target(&f.fault));
            (1..)
                .map(|n| {
                    if n == 1 {
                        base.clone()
                    } else {
                        format!("{base} #{n}")
                    }
                })
                .find(|c| {
                    !names.contains(c) && !exp.faults.iter().any(|o| o.name.as_ref() == Some(c))
                })
                .expect("an unused name")
        });
        // `.args.delay: message`, or `: message` about the fault as a whole.
        let located = |e: String| {
            let (field, message) = e.split_once(": ").unwrap_or(("", &e));
            Problem::at(format!("{at}.fault{field}"), message)
        };
        let resolved = if squall_faults::agent::HOST_FAULT_TYPES.contains(&f.fault.kind.as_str()) {
            host_fault(&f.fault, f.duration.get(), &at)
        } else if f.fault.kind == "toxic" {
            toxic_fault(&f.fault, &format!("{i}-{name}"), &declared).map_err(located)
        } else {
            sim_fault(&f.fault, sim).map_err(located)
        };
        let (target, via) = match resolved {
            Ok(r) => r,
            Err(problem) => {
                errors.push(problem);
                continue;
            }
        };
        match &via {
            Via::Sim(base) if !fault_services.contains(base) => fault_services.push(base.clone()),
            Via::Toxic { api, proxy, .. } => {
                let key = (api.clone(), proxy.clone());
                if !fault_proxies.contains(&key) {
                    fault_proxies.push(key);
                }
            }
            _ => {}
        }
        if names.contains(&name) {
            errors.push(Problem::at(
                format!("{at}.name"),
                format!("{name:?} is used by another fault"),
            ));
        }
        if f.duration.get().is_zero() {
            errors.push(Problem::at(
                format!("{at}.for"),
                "a fault must last longer than 0",
            ));
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
        let candidate = PreparedFault {
            name: name.clone(),
            kind: f.fault.kind.clone(),
            target,
            via,
            args: f.fault.args.clone(),
            at: f.at.get(),
            duration: f.duration.get(),
        };
        if let Some(earlier) = faults.iter().find(|e| replaces(e, &candidate)) {
            errors.push(Problem::at(
                format!("{at}.at"),
                format!(
                    "overlaps fault {:?} of the same type on the same service; a {} replaces the service's earlier one, so {:?} would not hold for its whole window (put both in one fault, or start this one when that one ends)",
                    earlier.name, candidate.kind, earlier.name
                ),
            ));
        }
        names.push(name);
        faults.push(candidate);
    }
    let scope = plan.as_ref().map(|p| p.scope.clone()).unwrap_or_default();
    let prometheus = exp.prometheus.as_ref().map(|section| {
        let run_s = plan
            .as_ref()
            .map_or(0.0, |p| p.load.duration().as_secs_f64())
            + warmup.as_ref().map_or(0.0, |(_, d)| d.as_secs_f64());
        crate::prometheus::prepare(section, run_s, &mut errors)
    });
    let query_names: Vec<String> = prometheus
        .iter()
        .flat_map(|p| p.queries.iter().map(|q| q.name.clone()))
        .collect();
    let mut compiled_goals = Vec::new();
    for (i, g) in exp.goals.iter().enumerate() {
        match goals::compile(g, &names, &scope, &query_names, warmup.is_some()) {
            Ok(g) => compiled_goals.push(g),
            Err(e) => errors.push(goal_problem(&format!("goals[{i}]"), &e)),
        }
    }
    let mut aborts = Vec::new();
    for (i, a) in exp.abort.iter().enumerate() {
        match Threshold::compile(
            &a.metric,
            &ThresholdSpec::Plain(a.condition.clone()),
            &scope,
        ) {
            Ok(t) => aborts.push(AbortRule {
                label: format!("{} {}", a.metric, a.condition),
                threshold: t,
                seconds: a
                    .duration
                    .map(|d| d.get().as_secs().max(1) as u32)
                    .unwrap_or(1),
            }),
            Err(e) => errors.push(Problem::at(format!("abort[{i}]"), e.to_string())),
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
            fault_proxies,
            proxies,
            warnings,
            fleet,
            prometheus,
        }),
        _ => Err(errors),
    }
}

/// Goal errors start with their field (`condition: ...`); split it off so
/// the problem is located at that field.
fn goal_problem(at: &str, e: &str) -> Problem {
    match e.split_once(": ") {
        Some((field, message)) if !field.contains(' ') => {
            Problem::at(format!("{at}.{field}"), message)
        }
        _ => Problem::at(at, e),
    }
}

/// What a fault acts on, for its default name.
fn describe_target(f: &FaultSpec) -> String {
    if let Some(s) = &f.service {
        return s.clone();
    }
    let arg = |k: &str| {
        f.args
            .get(k)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
    };
    if f.kind == "toxic" {
        return arg("proxy").map_or_else(|| "proxy".into(), |p| format!("proxy {p}"));
    }
    if let Some(n) = arg("name") {
        return n;
    }
    if let Some(p) = arg("pid") {
        return format!("pid {p}");
    }
    match &f.url {
        Some(u) => u.clone(),
        None => "host".into(),
    }
}

/// Whether `later` would end `earlier` by replacing it: MiSArch's fault
/// types hold one value per service, so two overlapping ones on the same
/// service cannot both be in force as the schedule says.
fn replaces(earlier: &PreparedFault, later: &PreparedFault) -> bool {
    let same_service = matches!((&earlier.via, &later.via), (Via::Sim(a), Via::Sim(b)) if a == b);
    same_service
        && earlier.kind == later.kind
        && squall_sim::deterioration::REPLACING.contains(&later.kind.as_str())
        && earlier.at < later.end()
        && later.at < earlier.end()
}

/// A fault on a simulated service. Errors start with the field path after `fault`.
fn sim_fault(f: &FaultSpec, sim: &BTreeMap<String, String>) -> Result<(String, Via), String> {
    match (&f.service, &f.url) {
        (Some(s), None) => match sim.get(s) {
            Some(u) => Ok((s.clone(), Via::Sim(u.clone()))),
            None => {
                let known: Vec<&str> = sim.keys().map(String::as_str).collect();
                Err(if known.is_empty() {
                    format!(
                        ".service: {s:?} names a simulated service, but the experiment starts no `sim`; give `url` instead"
                    )
                } else {
                    format!(
                        ".service: no simulated service named {s:?} (services: {})",
                        known.join(", ")
                    )
                })
            }
        },
        (None, Some(u)) if u.starts_with("http://") => Ok((u.clone(), Via::Sim(u.clone()))),
        (None, Some(u)) => Err(format!(".url: {u:?} is not an http:// URL")),
        _ => Err(format!(
            ": give exactly one of `service` (a simulated service) or `url`; or use a host fault ({}) or `toxic`",
            squall_faults::agent::HOST_FAULT_TYPES.join(", ")
        )),
    }
}

/// A host or process fault, parsed now as the injector will parse it
/// (problems located as the checks before the run locate them).
fn host_fault(f: &FaultSpec, duration: Duration, at: &str) -> Result<(String, Via), Problem> {
    if f.service.is_some() || f.url.is_some() {
        return Err(Problem::at(
            format!("{at}.fault"),
            format!(
                "`{}` runs in the squall process; it takes no `service` or `url`",
                f.kind
            ),
        ));
    }
    let mut v = serde_json::Map::new();
    v.insert("type".into(), f.kind.clone().into());
    v.extend(f.args.clone());
    let fault = squall_faults::HostFault::parse_lasting(v, duration)
        .map_err(|e| crate::fault_check::host_problem(at, &f.args, e))?;
    Ok((describe_target(f), Via::Host(fault)))
}

/// A toxic on one of the experiment's proxies, or on a Toxiproxy-compatible
/// API, checked now.
fn toxic_fault(f: &FaultSpec, name: &str, declared: &[String]) -> Result<(String, Via), String> {
    let Some(proxy) = f.args.get("proxy").and_then(|p| p.as_str()) else {
        return Err(".args.proxy: the name of the proxy to put the toxic on".into());
    };
    let api = match (&f.url, &f.service) {
        (Some(u), None) if u.starts_with("http://") => Some(u.trim_end_matches('/').to_string()),
        (Some(u), None) => return Err(format!(".url: {u:?} is not an http:// URL")),
        (None, None) if declared.iter().any(|d| d == proxy) => None,
        (None, None) => {
            return Err(format!(
                ".args.proxy: {proxy:?} is not one of the experiment's `proxies`{}; or give the `url` of a Toxiproxy-compatible API (e.g. squall proxy at http://127.0.0.1:8474)",
                if declared.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", declared.join(", "))
                }
            ));
        }
        (_, Some(_)) => return Err(".service: a toxic acts on a proxy, not on a service".into()),
    };
    if let Some(k) = f
        .args
        .keys()
        .find(|k| !["proxy", "type", "stream", "toxicity", "attributes"].contains(&k.as_str()))
    {
        return Err(format!(
            ".args.{k}: unknown; a toxic takes proxy, type, stream, toxicity, attributes"
        ));
    }
    let kind = f
        .args
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or_default();
    let attrs = match f.args.get("attributes") {
        None => serde_json::Map::new(),
        Some(serde_json::Value::Object(m)) => m.clone(),
        Some(_) => return Err(".args.attributes: expected a mapping".into()),
    };
    use squall_faults::proxy::toxic;
    let bad = |e: squall_faults::FaultError| match e {
        squall_faults::FaultError::Invalid { field, message } => {
            format!(".args.{field}: {message}")
        }
        e => format!(".args: {e}"),
    };
    toxic::ToxicKind::from_attributes(kind, &attrs).map_err(bad)?;
    let stream = f
        .args
        .get("stream")
        .and_then(|s| s.as_str())
        .unwrap_or("downstream");
    toxic::parse_stream(stream).map_err(bad)?;
    let toxicity = f
        .args
        .get("toxicity")
        .and_then(|t| t.as_f64())
        .unwrap_or(1.0);
    toxic::check_toxicity(toxicity).map_err(bad)?;
    let body = serde_json::json!({
        // URL-safe: the name goes into the API's paths.
        "name": format!(
            "{TOXIC_PREFIX}{}",
            name.chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
                .collect::<String>()
        ),
        "type": kind,
        "stream": stream,
        "toxicity": toxicity,
        "attributes": attrs,
    });
    let via = match api {
        Some(api) => Via::Toxic {
            api,
            proxy: proxy.to_string(),
            body,
        },
        None => Via::LocalToxic {
            proxy: proxy.to_string(),
            body,
        },
    };
    Ok((format!("proxy {proxy}"), via))
}

/// The longest a run waits for its external components.
pub const MAX_SYNC_WAIT: Duration = Duration::from_secs(3600);

/// `sync`: named clients, each once, and a wait of at most an hour.
fn check_sync(sync: &crate::document::SyncSpec) -> Vec<Problem> {
    let mut problems = Vec::new();
    if sync.clients.is_empty() {
        problems.push(Problem::at(
            "sync.clients",
            "name at least one client to wait for",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, c) in sync.clients.iter().enumerate() {
        if c.is_empty() || c.len() > 100 || c.chars().any(char::is_control) {
            problems.push(Problem::at(
                format!("sync.clients[{i}]"),
                "a name of 1 to 100 printable characters",
            ));
        } else if !seen.insert(c) {
            problems.push(Problem::at(
                format!("sync.clients[{i}]"),
                format!("{c:?} is named twice"),
            ));
        }
    }
    if let Some(t) = sync.timeout
        && (t.get().is_zero() || t.get() > MAX_SYNC_WAIT)
    {
        problems.push(Problem::at("sync.timeout", "between 1 ms and 1 hour"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn check(faults: &str) -> Result<Vec<String>, String> {
        let text = format!(
            "title: t\nsim: demo\nworkload:\n  base_url: ${{sim.gateway}}\n  scenarios:\n    - name: s\n      steps:\n        - request: {{name: home, url: /}}\n  load: {{model: open, max_vus: 5, stages: [{{rate: 1, for: 30s}}]}}\nfaults:\n{faults}"
        );
        crate::execute::check_document(Path::new("exp.yaml"), &text).map_err(|e| e.to_string())
    }

    #[test]
    fn overlapping_misarch_faults_of_one_type_on_one_service_are_refused() {
        let rules = "{rules: {path: /, errorProbability: 0.5}}";
        let e = check(&format!(
            "  - {{name: a, at: 1s, for: 10s, fault: {{type: service-invocation-deterioration, service: catalog, args: {rules}}}}}\n  - {{name: b, at: 5s, for: 10s, fault: {{type: service-invocation-deterioration, service: catalog, args: {rules}}}}}\n"
        ))
        .unwrap_err();
        assert!(
            e.contains("faults[1].at") && e.contains("overlaps fault \"a\""),
            "{e}"
        );
        // One after the other, on another service, or of another type: fine.
        check(&format!(
            "  - {{name: a, at: 1s, for: 4s, fault: {{type: service-invocation-deterioration, service: catalog, args: {rules}}}}}\n  - {{name: b, at: 5s, for: 10s, fault: {{type: service-invocation-deterioration, service: catalog, args: {rules}}}}}\n  - {{name: c, at: 5s, for: 10s, fault: {{type: service-invocation-deterioration, service: cart, args: {rules}}}}}\n  - {{name: d, at: 5s, for: 10s, fault: {{type: artificial-memory, service: catalog, args: {{bytes: 1024}}}}}}\n"
        ))
        .unwrap();
    }
}
