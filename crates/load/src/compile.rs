//! Turns a parsed [`Plan`] into the validated form the engine runs.
//!
//! Everything that can be checked before the first request is checked here
//! (URLs resolve, variables are defined, JSON paths parse, the profile fits
//! its model) and reported with the field that is wrong, all errors at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json_path::JsonPath;

use crate::compiled;
use crate::feeder::FeederData;
use crate::http::{Origin, PreparedRequest, Want};
use crate::plan::{Capture, Check, LoadSpec, Model, Plan, PlanError, Stage, Step, Think};
use crate::schedule::{ArrivalSchedule, LevelCurve};
use crate::template::{Template, Vars};
use crate::threshold::{RequestTags, Threshold, ThresholdScope};

/// Default request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A plan ready to run.
#[derive(Debug)]
pub struct CompiledPlan {
    /// Scenarios in plan order.
    pub scenarios: Vec<compiled::Scenario>,
    /// Request names, indexed by request id.
    pub request_names: Vec<String>,
    /// Check names, indexed by check id.
    pub check_names: Vec<String>,
    /// Origins, indexed by origin id.
    pub origins: Vec<Origin>,
    /// Use HTTP/2.
    pub http2: bool,
    /// TLS connectors, when some origin is `https`.
    pub tls: Option<crate::http::Tls>,
    /// Variables every user starts with.
    pub vars: Vars,
    /// Injection profile.
    pub load: LoadProfile,
    /// Time in-flight iterations get once the plan ends.
    pub graceful_stop: Duration,
    /// Thresholds.
    pub thresholds: Vec<Threshold>,
    /// What thresholds and goals can filter on (names, methods, scenarios, checks).
    pub scope: ThresholdScope,
    /// Redirects followed per request (0: none).
    pub max_redirects: u32,
    /// Whether each user keeps a cookie jar.
    pub cookies: bool,
}

/// Redirects a plan may ask to follow.
pub const MAX_REDIRECTS: u32 = 100;

/// The validated injection profile.
#[derive(Debug)]
pub enum LoadProfile {
    /// Arrival rate.
    Open {
        /// When each arrival is due.
        schedule: ArrivalSchedule,
        /// Most iterations in flight at once (whole plan).
        max_vus: u64,
        /// Most iterations waiting for a free user (whole plan).
        max_backlog: u64,
        /// The scenario of each arrival, when scenarios give their own
        /// arrivals; none: scenarios by weight.
        scenario_of: Option<Arc<[u16]>>,
    },
    /// Concurrent users.
    Closed {
        /// Users over time (whole plan).
        curve: LevelCurve,
    },
    /// A fixed number of iterations.
    Iterations {
        /// Total iterations (whole plan).
        count: u64,
        /// Users sharing them (whole plan).
        vus: u64,
        /// Cap on the run's length.
        max_duration: Duration,
    },
}

impl LoadProfile {
    /// The planned length of the run (without graceful stop).
    pub fn duration(&self) -> Duration {
        match self {
            LoadProfile::Open { schedule, .. } => schedule.duration(),
            LoadProfile::Closed { curve } => curve.duration(),
            LoadProfile::Iterations { max_duration, .. } => *max_duration,
        }
    }

    /// The most users (or iterations in flight) the profile can need.
    pub fn peak_vus(&self) -> u64 {
        match self {
            LoadProfile::Open { max_vus, .. } => *max_vus,
            LoadProfile::Closed { curve } => curve.peak(),
            LoadProfile::Iterations { vus, .. } => *vus,
        }
    }
}

/// The name outputs give the figures over all requests; no request may use it.
pub const RESERVED_NAME: &str = "all";

/// Names the engine sets on every user.
pub const BUILTIN_VARS: [&str; 2] = ["__vu", "__iter"];

struct Ctx<'a> {
    file: &'a Path,
    errors: Vec<String>,
    request_names: Vec<String>,
    check_names: Vec<String>,
    origins: Vec<Origin>,
    base: Option<(usize, String)>,
    defaults_timeout: Duration,
    default_headers: Vec<(String, Template)>,
    known_vars: BTreeSet<String>,
    /// The scenario being compiled, for the requests' tags.
    scenario: String,
    /// Each request's name, method and scenario, for threshold filters.
    scope: ThresholdScope,
}

impl<'a> Ctx<'a> {
    fn new(file: &'a Path) -> Self {
        Ctx {
            file,
            errors: Vec::new(),
            request_names: Vec::new(),
            check_names: Vec::new(),
            origins: Vec::new(),
            base: None,
            defaults_timeout: DEFAULT_TIMEOUT,
            default_headers: Vec::new(),
            known_vars: BTreeSet::new(),
            scenario: String::new(),
            scope: ThresholdScope::default(),
        }
    }

    fn err(&mut self, field: &str, msg: impl std::fmt::Display) {
        self.errors
            .push(format!("{}: {field}: {msg}", self.file.display()));
    }

    fn intern(list: &mut Vec<String>, name: String) -> usize {
        match list.iter().position(|n| *n == name) {
            Some(i) => i,
            None => {
                list.push(name);
                list.len() - 1
            }
        }
    }

    fn origin(&mut self, o: Origin) -> usize {
        match self.origins.iter().position(|x| *x == o) {
            Some(i) => i,
            None => {
                self.origins.push(o);
                self.origins.len() - 1
            }
        }
    }

    /// A header: the name a valid HTTP token, the value free of CR, LF and
    /// NUL (which would end the header and start another: injection).
    fn header(&mut self, field: &str, name: &str, value: &str) -> Option<Template> {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            self.err(
                field,
                format!(
                    "{name:?} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)"
                ),
            );
            return None;
        }
        if value.contains(['\r', '\n', '\0']) {
            self.err(field, "a header value cannot contain CR, LF or NUL");
            return None;
        }
        self.template(field, value)
    }

    fn template(&mut self, field: &str, s: &str) -> Option<Template> {
        match Template::parse(s) {
            Ok(t) => {
                for v in t.vars() {
                    if !self.known_vars.contains(v) {
                        self.err(field, format!("variable `${{{v}}}` is never set (define it in `vars`, a feeder column or a capture)"));
                    }
                }
                Some(t)
            }
            Err(e) => {
                self.err(field, e);
                None
            }
        }
    }
}

/// Where a plan's feeder CSV files are read from.
#[derive(Clone, Copy, Debug)]
pub enum Feeders<'a> {
    /// From disk, relative to the plan file.
    Disk,
    /// Only from these texts, keyed by the path as the plan writes it (a
    /// fleet generator: it never opens a file a remote plan names).
    Given(&'a std::collections::BTreeMap<String, String>),
}

/// The load profile alone, validated, without resolving a single URL: for
/// manifests written on a machine that cannot resolve the cluster's names.
pub fn load_profile(plan: &Plan, file: &Path) -> Result<LoadProfile, PlanError> {
    let mut cx = Ctx::new(file);
    let load = compile_load(&mut cx, &plan.load, &plan.scenarios);
    if plan.max_redirects.is_some_and(|n| n > MAX_REDIRECTS) {
        cx.err("max_redirects", format!("at most {MAX_REDIRECTS}"));
    }
    match cx.errors.is_empty() {
        true => Ok(load),
        false => Err(PlanError::Invalid {
            file: file.to_path_buf(),
            location: String::new(),
            field: String::new(),
            message: cx.errors.join("\n  "),
        }),
    }
}

/// Validates and compiles a plan. `file` locates relative feeder paths and
/// names the plan in errors.
pub fn compile(plan: &Plan, file: &Path) -> Result<CompiledPlan, PlanError> {
    compile_with(plan, file, Feeders::Disk)
}

/// [`compile`] with the feeder files taken from `feeders`.
pub fn compile_with(
    plan: &Plan,
    file: &Path,
    feeders: Feeders<'_>,
) -> Result<CompiledPlan, PlanError> {
    let mut cx = Ctx::new(file);
    if let Some(t) = plan.defaults.timeout {
        cx.defaults_timeout = t.get();
    }
    if let Some(base) = &plan.base_url {
        match Origin::parse(base) {
            Ok((o, path)) => {
                let id = cx.origin(o);
                cx.base = Some((id, path.trim_end_matches('/').to_string()));
            }
            Err(e) => cx.err("base_url", e),
        }
    }
    let global_vars: BTreeSet<String> = plan
        .vars
        .keys()
        .cloned()
        .chain(BUILTIN_VARS.iter().map(|s| s.to_string()))
        .collect();
    cx.known_vars = global_vars.clone();
    for (k, v) in &plan.defaults.headers {
        if let Some(t) = cx.header(&format!("defaults.headers.{k}"), k, v) {
            cx.default_headers.push((k.clone(), t));
        }
    }
    if plan.scenarios.is_empty() {
        cx.err("scenarios", "at least one scenario is needed");
    }
    let mut scenarios = Vec::new();
    for (si, s) in plan.scenarios.iter().enumerate() {
        let field = format!("scenarios[{si}]");
        let feeder = s.data.as_ref().and_then(|f| {
            let path = file.parent().unwrap_or(Path::new(".")).join(&f.csv);
            let data = match feeders {
                Feeders::Disk => FeederData::load(&path, f.mode),
                Feeders::Given(texts) => match texts.get(&f.csv) {
                    Some(text) => FeederData::parse(text, Path::new(&f.csv), f.mode),
                    None => Err(crate::feeder::FeederError(format!(
                        "{} was not sent with the plan",
                        f.csv
                    ))),
                },
            };
            match data {
                Ok(d) => Some(Arc::new(d)),
                Err(e) => {
                    cx.err(&format!("{field}.data.csv"), e);
                    None
                }
            }
        });
        let mut known = global_vars.clone();
        if let Some(f) = &feeder {
            known.extend(f.columns.iter().cloned());
        }
        collect_captures(&s.steps, &mut known);
        cx.known_vars = known;
        if s.weight == 0 {
            cx.err(&format!("{field}.weight"), "must be at least 1");
        }
        if s.steps.is_empty() {
            cx.err(
                &format!("{field}.steps"),
                "a scenario needs at least one step",
            );
        }
        cx.scenario = s.name.clone();
        let steps = compile_steps(&mut cx, &s.steps, &format!("{field}.steps"));
        scenarios.push(compiled::Scenario {
            name: s.name.clone(),
            weight: s.weight,
            steps,
            feeder,
        });
    }
    let load = compile_load(&mut cx, &plan.load, &plan.scenarios);
    let mut thresholds = Vec::new();
    for (metric, specs) in &plan.thresholds {
        for (i, spec) in specs.iter().enumerate() {
            cx.scope.checks = cx.check_names.clone();
            match Threshold::compile(metric, spec, &cx.scope) {
                Ok(t) => thresholds.push(t),
                Err(e) => cx.err(&format!("thresholds.{metric}[{i}]"), e),
            }
        }
    }
    if !cx.errors.is_empty() {
        return Err(PlanError::Invalid {
            file: file.to_path_buf(),
            location: String::new(),
            field: String::new(),
            message: format!(
                "{} problem{}:\n  {}",
                cx.errors.len(),
                if cx.errors.len() == 1 { "" } else { "s" },
                cx.errors.join("\n  ")
            ),
        });
    }
    let tls = cx
        .origins
        .iter()
        .any(|o| o.scheme == "https")
        .then(|| crate::http::Tls::new(plan.insecure));
    Ok(CompiledPlan {
        max_redirects: plan.max_redirects.unwrap_or(10),
        cookies: plan.cookies.unwrap_or(true),
        tls,
        scenarios,
        request_names: cx.request_names,
        scope: ThresholdScope {
            checks: cx.check_names.clone(),
            ..cx.scope
        },
        check_names: cx.check_names,
        origins: cx.origins,
        http2: plan.http2,
        vars: plan
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        load,
        graceful_stop: plan
            .load
            .graceful_stop
            .map(|d| d.get())
            .unwrap_or(Duration::from_secs(5)),
        thresholds,
    })
}

fn collect_captures(steps: &[Step], out: &mut BTreeSet<String>) {
    for s in steps {
        match s {
            Step::Request { captures, .. } => out.extend(captures.keys().cloned()),
            Step::Loop(l) => collect_captures(&l.steps, out),
            Step::Think(_) => {}
        }
    }
}

fn compile_steps(cx: &mut Ctx<'_>, steps: &[Step], field: &str) -> Vec<compiled::Step> {
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let f = format!("{field}[{i}]");
        match s {
            Step::Think(t) => {
                if let Think::Uniform { min, max } = t
                    && min > max
                {
                    cx.err(&format!("{f}.think"), "`min` is greater than `max`");
                }
                out.push(compiled::Step::Think(t.clone()));
            }
            Step::Loop(l) => {
                if l.steps.is_empty() {
                    cx.err(&format!("{f}.loop.steps"), "a loop needs at least one step");
                }
                let inner = compile_steps(cx, &l.steps, &format!("{f}.loop.steps"));
                out.push(compiled::Step::Loop {
                    count: l.count,
                    steps: inner,
                });
            }
            Step::Request {
                request,
                checks,
                captures,
            } => {
                if let Some(r) = compile_request(cx, request, checks, captures, &f) {
                    out.push(compiled::Step::Request(Box::new(r)));
                }
            }
        }
    }
    out
}

/// A request's URL split into a fixed origin (interned) and a path that may
/// hold `${}` variables; a relative URL goes under the plan's `base_url`.
fn request_target(
    cx: &mut Ctx<'_>,
    r: &crate::plan::RequestSpec,
    field: &str,
) -> Option<(usize, String)> {
    let target = if r.url.starts_with("http://") || r.url.starts_with("https://") {
        let after = r.url.find("://").map(|i| i + 3).unwrap_or(0);
        let cut = r.url[after..]
            .find('/')
            .map(|i| i + after)
            .unwrap_or(r.url.len());
        let (root, path) = r.url.split_at(cut);
        if root.contains("${") {
            cx.err(
                &format!("{field}.request.url"),
                "variables are not allowed in the host part of a URL",
            );
            return None;
        }
        match Origin::parse(root) {
            Ok((o, _)) => (
                cx.origin(o),
                if path.is_empty() {
                    "/".to_string()
                } else {
                    path.to_string()
                },
            ),
            Err(e) => {
                cx.err(&format!("{field}.request.url"), e);
                return None;
            }
        }
    } else if let Some((id, base_path)) = cx.base.clone() {
        let sep = if r.url.starts_with('/') { "" } else { "/" };
        (id, format!("{base_path}{sep}{}", r.url))
    } else {
        cx.err(
            &format!("{field}.request.url"),
            format!("{:?} is a path but the plan has no `base_url`", r.url),
        );
        return None;
    };
    Some(target)
}

/// Header names with their (possibly templated) values, in sending order.
type Headers = Vec<(String, Template)>;

/// A request's headers (the plan's defaults, then its own, each checked)
/// and its body (`body`, or `json` with a JSON content type).
fn request_headers_and_body(
    cx: &mut Ctx<'_>,
    r: &crate::plan::RequestSpec,
    field: &str,
) -> Option<(Headers, Option<Template>)> {
    let mut headers = cx.default_headers.clone();
    for (k, v) in &r.headers {
        let t = cx.header(&format!("{field}.request.headers.{k}"), k, v)?;
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        headers.push((k.clone(), t));
    }
    let body_src = match (&r.body, &r.json) {
        (Some(_), Some(_)) => {
            cx.err(
                &format!("{field}.request"),
                "give either `body` or `json`, not both",
            );
            return None;
        }
        (Some(b), None) => Some(b.clone()),
        (None, Some(j)) => {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                headers.push((
                    "Content-Type".into(),
                    Template::parse("application/json").ok()?,
                ));
            }
            Some(j.to_string())
        }
        (None, None) => None,
    };
    let body = match body_src {
        Some(b) => Some(cx.template(&format!("{field}.request.body"), &b)?),
        None => None,
    };
    Some((headers, body))
}

fn compile_request(
    cx: &mut Ctx<'_>,
    r: &crate::plan::RequestSpec,
    checks: &[Check],
    captures: &BTreeMap<String, Capture>,
    field: &str,
) -> Option<compiled::Request> {
    let method_s = r.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    let method = match http::Method::from_bytes(method_s.as_bytes()) {
        Ok(m) => m,
        Err(_) => {
            cx.err(
                &format!("{field}.request.method"),
                format!("invalid HTTP method {method_s:?}"),
            );
            return None;
        }
    };
    let (origin, path_src) = request_target(cx, r, field)?;
    let path = cx.template(&format!("{field}.request.url"), &path_src)?;
    let (headers, body) = request_headers_and_body(cx, r, field)?;
    let name = r
        .name
        .clone()
        .unwrap_or_else(|| format!("{method_s} {}", r.url));
    if name == RESERVED_NAME {
        // Outputs tag the overall figures `all` (InfluxDB, CSV, Prometheus):
        // a request of that name would overwrite them.
        cx.err(
            &format!("{field}.request.name"),
            "`all` is reserved for the overall figures; give the request another name",
        );
    }
    let id = Ctx::intern(&mut cx.request_names, name.clone());
    let tags = RequestTags {
        name: name.clone(),
        method: method_s.clone(),
        scenario: cx.scenario.clone(),
    };
    if !cx.scope.requests.contains(&tags) {
        cx.scope.requests.push(tags);
    }
    let mut want = Want::default();
    let mut cchecks = Vec::new();
    for (i, c) in checks.iter().enumerate() {
        let f = format!("{field}.checks[{i}]");
        let (label, cc) = match c {
            Check::Status(s) => (format!("status == {s}"), compiled::Check::Status(*s)),
            Check::BodyContains(s) => {
                want.body = true;
                (
                    format!("body contains {s:?}"),
                    compiled::Check::BodyContains(s.clone()),
                )
            }
            Check::Json(j) => {
                want.body = true;
                let Ok(path) = JsonPath::parse(&j.path) else {
                    cx.err(
                        &format!("{f}.json.path"),
                        format!(
                            "invalid JSONPath {:?} (RFC 9535 syntax, e.g. $.items[0].id)",
                            j.path
                        ),
                    );
                    continue;
                };
                match (&j.equals, j.exists) {
                    (Some(v), None) => (
                        format!("json {} == {v}", j.path),
                        compiled::Check::JsonEquals(path, v.clone()),
                    ),
                    (None, Some(e)) => (
                        format!(
                            "json {} {}",
                            j.path,
                            if e { "exists" } else { "does not exist" }
                        ),
                        compiled::Check::JsonExists(path, e),
                    ),
                    (None, None) => (
                        format!("json {} exists", j.path),
                        compiled::Check::JsonExists(path, true),
                    ),
                    (Some(_), Some(_)) => {
                        cx.err(&f, "give either `equals` or `exists`, not both");
                        continue;
                    }
                }
            }
        };
        let cid = Ctx::intern(&mut cx.check_names, format!("{name}: {label}"));
        cchecks.push((cid, cc));
    }
    let mut ccaptures = Vec::new();
    for (var, c) in captures {
        let f = format!("{field}.captures.{var}");
        match c {
            Capture::Json(p) => match JsonPath::parse(p) {
                Ok(path) => {
                    want.body = true;
                    ccaptures.push((var.clone(), compiled::Capture::Json(path)));
                }
                Err(_) => cx.err(&f, format!("invalid JSONPath {p:?}")),
            },
            Capture::Header(h) => {
                want.headers = true;
                ccaptures.push((
                    var.clone(),
                    compiled::Capture::Header(h.to_ascii_lowercase()),
                ));
            }
        }
    }
    let origin_ref = &cx.origins[origin];
    let fixed = (path.is_static()
        && headers.iter().all(|(_, t)| t.is_static())
        && body.as_ref().is_none_or(|b| b.is_static()))
    .then(|| {
        let empty = Vars::new();
        PreparedRequest::new(
            method.clone(),
            &origin_ref.authority,
            &path.render(&empty),
            headers
                .iter()
                .map(|(k, t)| (k.clone(), t.render(&empty)))
                .collect(),
            body.as_ref()
                .map(|b| Bytes::from(b.render(&empty)))
                .unwrap_or_default(),
        )
    });
    Some(compiled::Request {
        id,
        origin,
        method,
        path,
        headers,
        body,
        fixed,
        timeout: r.timeout.map(|d| d.get()).unwrap_or(cx.defaults_timeout),
        expect_status: r.expect_status.clone(),
        checks: cchecks,
        captures: ccaptures,
        want,
    })
}

/// The most arrivals per second one squall process schedules (more is a
/// fleet's job: `--segment i/n` on several generators).
pub const MAX_RATE: f64 = 1_000_000.0;
/// The most concurrent users (closed model, `max_vus`, `vus`) one squall
/// process runs: each holds a connection and its buffers (about 7 KiB idle).
pub const MAX_USERS: u64 = 100_000;
/// The most iterations one `burst` stage makes due at once.
pub const MAX_BURST: u64 = 1_000_000;

/// Levels within the documented maxima, so a typo (`rate: 1e9`,
/// `users: 100000000`) is an error instead of a spinning CPU or a machine
/// out of memory.
fn check_levels(cx: &mut Ctx<'_>, l: &LoadSpec) {
    let (max, unit) = match l.model {
        Model::Open => (MAX_RATE, "arrivals per second"),
        _ => (MAX_USERS as f64, "users"),
    };
    for (i, st) in l.stages.iter().enumerate() {
        let levels = match st {
            Stage::Hold { level, .. } => vec![*level],
            Stage::Ramp { from, to, .. } => from.iter().copied().chain([*to]).collect(),
            Stage::Burst(n) => {
                if *n > MAX_BURST {
                    cx.err(
                        &format!("load.stages[{i}].burst"),
                        format!("{n} is over the limit of {MAX_BURST} iterations at once per squall process"),
                    );
                }
                Vec::new()
            }
        };
        for v in levels {
            if !(v.is_finite() && v <= max) {
                cx.err(
                    &format!("load.stages[{i}]"),
                    format!(
                        "{v} is over the limit of {max} {unit} per squall process; split the load over several generators (--segment i/n)"
                    ),
                );
            }
        }
    }
    for (name, v) in [("max_vus", l.max_vus), ("vus", l.vus)] {
        if let Some(v) = v
            && v > MAX_USERS
        {
            cx.err(
                &format!("load.{name}"),
                format!("{v} is over the limit of {MAX_USERS} users per squall process"),
            );
        }
    }
}

/// Scenarios' own arrivals (`scenarios[].arrivals`), checked: every
/// scenario gives them once one does, within the caps, with no stages.
/// Returns the per-scenario lists, or none when no scenario gives them.
fn scenario_arrivals<'p>(
    cx: &mut Ctx<'_>,
    l: &LoadSpec,
    scenarios: &'p [crate::plan::Scenario],
) -> Option<Vec<&'p [u32]>> {
    if scenarios.iter().all(|s| s.arrivals.is_none()) {
        return None;
    }
    if l.model != Model::Open {
        cx.err(
            "load.model",
            "scenarios' `arrivals` are arrivals per second: they need the open model",
        );
    }
    if !l.stages.is_empty() {
        cx.err(
            "load.stages",
            "not with scenarios' `arrivals` (they make the schedule); leave `stages` out",
        );
    }
    if scenarios.len() > crate::arrivals::MAX_SCENARIOS {
        cx.err(
            "scenarios",
            format!(
                "at most {} scenarios can give `arrivals`",
                crate::arrivals::MAX_SCENARIOS
            ),
        );
    }
    let mut lists = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        match &s.arrivals {
            Some(a) => lists.push(a.as_slice()),
            None => {
                cx.err(
                    &format!("scenarios[{i}].arrivals"),
                    "every scenario gives `arrivals` once one does",
                );
                lists.push(&[][..]);
            }
        }
        if s.weight != 1 {
            cx.err(
                &format!("scenarios[{i}].weight"),
                "not with `arrivals` (they say how many iterations each scenario gets)",
            );
        }
    }
    let total = crate::arrivals::total(&lists);
    if total > crate::arrivals::MAX_ARRIVALS {
        cx.err(
            "scenarios",
            format!(
                "{total} arrivals are over the limit of {} for arrivals given per scenario",
                crate::arrivals::MAX_ARRIVALS
            ),
        );
    }
    for (k, st) in crate::arrivals::stages(&lists).iter().enumerate() {
        if let Stage::Hold { level, .. } = st
            && *level > MAX_RATE
        {
            cx.err(
                "scenarios",
                format!(
                    "{level} arrivals in one second (run of seconds {k}) are over the limit of {MAX_RATE} per squall process"
                ),
            );
        }
    }
    Some(lists)
}

fn compile_load(
    cx: &mut Ctx<'_>,
    l: &LoadSpec,
    scenarios: &[crate::plan::Scenario],
) -> LoadProfile {
    if let Some(lists) = scenario_arrivals(cx, l, scenarios) {
        let max_vus = l.max_vus.unwrap_or(100);
        if max_vus == 0 {
            cx.err("load.max_vus", "must be at least 1");
        }
        let ok = cx.errors.is_empty();
        return LoadProfile::Open {
            schedule: ArrivalSchedule::new(&crate::arrivals::stages(&lists)),
            max_vus,
            max_backlog: l
                .max_backlog
                .unwrap_or(max_vus.saturating_mul(10).saturating_add(10_000)),
            scenario_of: ok.then(|| Arc::from(crate::arrivals::scenario_of_arrivals(&lists))),
        };
    }
    check_levels(cx, l);
    let only = |cx: &mut Ctx<'_>, present: bool, name: &str, model: &str| {
        if present {
            cx.err(
                &format!("load.{name}"),
                format!("not used by the {model} model"),
            );
        }
    };
    match l.model {
        Model::Open => {
            only(cx, l.iterations.is_some(), "iterations", "open");
            only(cx, l.vus.is_some(), "vus", "open (use max_vus)");
            if l.stages.is_empty() {
                cx.err(
                    "load.stages",
                    "the open model needs at least one stage, e.g. {rate: 100, for: 30s}",
                );
            }
            let max_vus = l.max_vus.unwrap_or(100);
            if max_vus == 0 {
                cx.err("load.max_vus", "must be at least 1");
            }
            LoadProfile::Open {
                schedule: ArrivalSchedule::new(&l.stages),
                max_vus,
                max_backlog: l
                    .max_backlog
                    .unwrap_or(max_vus.saturating_mul(10).saturating_add(10_000)),
                scenario_of: None,
            }
        }
        Model::Closed => {
            only(cx, l.iterations.is_some(), "iterations", "closed");
            only(cx, l.max_vus.is_some(), "max_vus", "closed");
            for (i, s) in l.stages.iter().enumerate() {
                if matches!(s, Stage::Burst(_)) {
                    cx.err(
                        &format!("load.stages[{i}]"),
                        "`burst` only exists in the open model",
                    );
                }
            }
            if l.stages.is_empty() {
                cx.err(
                    "load.stages",
                    "the closed model needs at least one stage, e.g. {users: 10, for: 30s}",
                );
            }
            LoadProfile::Closed {
                curve: LevelCurve::new(&l.stages),
            }
        }
        Model::Iterations => {
            if !l.stages.is_empty() {
                cx.err(
                    "load.stages",
                    "the iterations model has no stages (use `iterations` and `vus`)",
                );
            }
            let count = l.iterations.unwrap_or_else(|| {
                cx.err("load.iterations", "the iterations model needs `iterations`");
                0
            });
            let vus = l.vus.unwrap_or(1);
            if vus == 0 {
                cx.err("load.vus", "must be at least 1");
            }
            LoadProfile::Iterations {
                count,
                vus,
                max_duration: l
                    .max_duration
                    .map(|d| d.get())
                    .unwrap_or(Duration::from_secs(600)),
            }
        }
    }
}
