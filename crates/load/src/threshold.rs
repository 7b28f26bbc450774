//! k6-style thresholds: `http_req_duration: ["p(95)<300ms"]`, evaluated on
//! merged histograms, during the run (for abort-on-fail) and at its end.

use std::time::Duration;

use squall_metrics::{Interval, LatencyHistogram, RequestStats};

use crate::plan::ThresholdSpec;

/// Which measurement a threshold reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Latency from intended start (histogram, ms).
    ReqDuration,
    /// Latency from actual send (histogram, ms).
    ReqServiceTime,
    /// Time to first byte (histogram, ms).
    ReqWaiting,
    /// Connection set-up (histogram, ms).
    ReqConnecting,
    /// Iteration duration (histogram, ms).
    IterationDuration,
    /// Share of failed requests, as k6 counts them: transport failures and
    /// unexpected statuses (failed checks are in `checks`).
    ReqFailed,
    /// Share of failed requests, failed checks included (Gatling's KO,
    /// squall's own error rate).
    ReqKo,
    /// Requests (count or per-second rate).
    Reqs,
    /// Completed iterations.
    Iterations,
    /// Dropped iterations.
    DroppedIterations,
    /// Share of passing checks.
    Checks,
    /// Bytes received (count or per-second rate).
    DataReceived,
    /// Bytes sent (count or per-second rate).
    DataSent,
}

/// What thresholds can filter on: every request's name, method and
/// scenario, and the check names.
#[derive(Clone, Debug, Default)]
pub struct ThresholdScope {
    /// One entry per distinct (name, method, scenario).
    pub requests: Vec<RequestTags>,
    /// Check names.
    pub checks: Vec<String>,
}

/// The tags of one request of a plan, as k6 tags its samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestTags {
    /// Request name.
    pub name: String,
    /// HTTP method, upper case.
    pub method: String,
    /// Scenario.
    pub scenario: String,
}

impl ThresholdScope {
    /// Only names, for callers that know nothing else (every request `GET`
    /// in scenario `default`).
    pub fn of_names(names: &[String]) -> Self {
        ThresholdScope {
            requests: names
                .iter()
                .map(|n| RequestTags {
                    name: n.clone(),
                    method: "GET".into(),
                    scenario: "default".into(),
                })
                .collect(),
            checks: Vec::new(),
        }
    }

    fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.requests.iter().map(|r| r.name.as_str()).collect();
        v.dedup();
        v
    }
}

/// The tag filters of a metric key, `{name:a,method:POST,...}`.
#[derive(Clone, Debug, Default, PartialEq)]
struct Filters {
    name: Option<String>,
    method: Option<String>,
    scenario: Option<String>,
    status: Option<u16>,
    check: Option<String>,
    expected_response: Option<bool>,
}

/// The aggregation applied to the metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Agg {
    /// Percentile 0..=100.
    P(f64),
    /// Mean.
    Avg,
    /// Minimum.
    Min,
    /// Maximum.
    Max,
    /// Median.
    Med,
    /// Count.
    Count,
    /// Rate: a share for `*_failed`/`checks`, per second for counters.
    Rate,
    /// `share(<800ms)`, `share(800ms..1200ms)`, `share(>=1200ms)`: the
    /// share of all requests (of the name filter) whose duration (among
    /// those `expected_response` selects) lies in `[lo, hi)` ms, as
    /// Gatling's response-time groups count them.
    Share {
        /// Lower bound, ms (inclusive); none: from zero.
        lo: Option<f64>,
        /// Upper bound, ms (exclusive); none: no bound.
        hi: Option<f64>,
    },
}

/// Comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

/// A compiled threshold.
#[derive(Clone, Debug)]
pub struct Threshold {
    /// The metric key as written, e.g. `http_req_duration{name:home}`.
    pub key: String,
    /// The expression as written, e.g. `p(95)<300ms`.
    pub expr: String,
    /// Metric read.
    pub metric: Metric,
    /// Request name filter (the `name` tag).
    pub name: Option<String>,
    /// The request names whose figures the threshold reads, when a tag
    /// (`name`, `method`, `scenario`) narrows them; `None`: all requests.
    pub requests: Option<Vec<String>>,
    /// The `status` tag: only responses with this status (`http_reqs`).
    pub status: Option<u16>,
    /// The `check` tag: only this check (`checks`).
    pub check: Option<String>,
    /// k6's `expected_response` tag: only successful (`true`) or failed
    /// (`false`) requests' durations.
    pub expected_response: Option<bool>,
    /// Aggregation.
    pub agg: Agg,
    /// Operator.
    pub op: Op,
    /// Bound (milliseconds for durations, a fraction for rates of shares).
    pub bound: f64,
    /// Stop the run when it fails.
    pub abort_on_fail: bool,
    /// Do not abort before this much of the run.
    pub delay_abort_eval: Duration,
}

/// A threshold's verdict.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// Metric key.
    pub key: String,
    /// Expression.
    pub expr: String,
    /// The observed value (same unit as the bound).
    pub observed: f64,
    /// Whether it held.
    pub passed: bool,
}

/// A threshold that cannot be checked: unknown metric or aggregate, bad bound.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ThresholdError(pub String);

impl Threshold {
    /// Compiles `spec` for metric key `key`; `scope` is what the plan's
    /// requests and checks can be filtered on.
    pub fn compile(
        key: &str,
        spec: &ThresholdSpec,
        scope: &ThresholdScope,
    ) -> Result<Self, ThresholdError> {
        Self::compile_text(key, spec, scope).map_err(ThresholdError)
    }

    fn compile_text(
        key: &str,
        spec: &ThresholdSpec,
        scope: &ThresholdScope,
    ) -> Result<Self, String> {
        let (expr, abort_on_fail, delay) = match spec {
            ThresholdSpec::Plain(s) => (s.clone(), false, Duration::ZERO),
            ThresholdSpec::Full {
                threshold,
                abort_on_fail,
                delay_abort_eval,
            } => (
                threshold.clone(),
                *abort_on_fail,
                delay_abort_eval.map(|d| d.get()).unwrap_or_default(),
            ),
        };
        let (metric_name, filters) = split_tag(key)?;
        let Filters {
            name,
            method,
            scenario,
            status,
            check,
            expected_response,
        } = filters;
        let metric = match metric_name {
            "http_req_duration" => Metric::ReqDuration,
            "http_req_service_time" => Metric::ReqServiceTime,
            "http_req_waiting" => Metric::ReqWaiting,
            "http_req_connecting" => Metric::ReqConnecting,
            "iteration_duration" => Metric::IterationDuration,
            "http_req_failed" => Metric::ReqFailed,
            "http_req_ko" => Metric::ReqKo,
            "http_reqs" => Metric::Reqs,
            "iterations" => Metric::Iterations,
            "dropped_iterations" => Metric::DroppedIterations,
            "checks" => Metric::Checks,
            "data_received" => Metric::DataReceived,
            "data_sent" => Metric::DataSent,
            other => {
                return Err(format!(
                    "unknown metric {other:?}; known: http_req_duration, http_req_service_time, http_req_waiting, \
                     http_req_connecting, iteration_duration, http_req_failed, http_req_ko, http_reqs, iterations, dropped_iterations, checks, \
                     data_received, data_sent"
                ));
            }
        };
        let per_request = matches!(
            metric,
            Metric::ReqDuration
                | Metric::ReqServiceTime
                | Metric::ReqWaiting
                | Metric::ReqConnecting
                | Metric::ReqFailed
                | Metric::ReqKo
                | Metric::Reqs
                | Metric::DataReceived
                | Metric::DataSent
        );
        let requests = if name.is_some() || method.is_some() || scenario.is_some() {
            if !per_request {
                return Err(format!(
                    "{metric_name} cannot be filtered by request name, method or scenario"
                ));
            }
            Some(select(scope, &name, &method, &scenario)?)
        } else {
            None
        };
        if status.is_some() && metric != Metric::Reqs {
            return Err(format!(
                "{metric_name} cannot be filtered by status (http_reqs can: squall counts statuses, it keeps no durations per status)"
            ));
        }
        if let Some(c) = &check {
            if metric != Metric::Checks {
                return Err(format!(
                    "{metric_name} cannot be filtered by check (checks can)"
                ));
            }
            if !scope.checks.contains(c) {
                return Err(format!(
                    "no check is named {c:?} (checks: {})",
                    scope.checks.join(", ")
                ));
            }
        }
        if expected_response.is_some() && metric != Metric::ReqDuration {
            return Err(format!(
                "{metric_name} cannot be filtered by expected_response (http_req_duration can)"
            ));
        }
        let (agg, op, bound) = parse_expr(&expr, metric)?;
        Ok(Self {
            key: key.to_string(),
            expr,
            metric,
            name,
            requests,
            status,
            check,
            expected_response,
            agg,
            op,
            bound,
            abort_on_fail,
            delay_abort_eval: delay,
        })
    }

    /// Evaluates on cumulative stats over `elapsed` of run time.
    pub fn evaluate(&self, total: &Interval, elapsed: Duration) -> Verdict {
        let observed = self.observe(total, elapsed);
        let passed = match self.op {
            Op::Lt => observed < self.bound,
            Op::Le => observed <= self.bound,
            Op::Gt => observed > self.bound,
            Op::Ge => observed >= self.bound,
            Op::Eq => (observed - self.bound).abs() < 1e-9,
            Op::Ne => (observed - self.bound).abs() >= 1e-9,
        };
        Verdict {
            key: self.key.clone(),
            expr: self.expr.clone(),
            observed,
            passed,
        }
    }

    /// Whether `total` holds anything this threshold can be judged on: a
    /// latency percentile or an error rate over no requests, or a check
    /// rate over no checks, is no data, not 0 (counts are data even at 0).
    pub fn has_data(&self, total: &Interval) -> bool {
        if self.agg == Agg::Count {
            return true;
        }
        let requests = self.selected(total).requests;
        match self.metric {
            Metric::ReqDuration
            | Metric::ReqServiceTime
            | Metric::ReqWaiting
            | Metric::ReqConnecting
            | Metric::ReqFailed
            | Metric::ReqKo => requests > 0,
            Metric::IterationDuration => !total.iterations.duration.is_empty(),
            Metric::Checks => {
                let (p, f) = self.checks(total);
                p + f > 0
            }
            Metric::Reqs
            | Metric::Iterations
            | Metric::DroppedIterations
            | Metric::DataReceived
            | Metric::DataSent => true,
        }
    }

    /// The figures of the requests the tags select, merged.
    fn selected(&self, total: &Interval) -> RequestStats {
        match &self.requests {
            None => total.overall("all"),
            Some(names) => {
                let mut all = RequestStats::new("selected");
                for r in total.requests.iter().filter(|r| names.contains(&r.name)) {
                    all.merge(r);
                }
                all
            }
        }
    }

    /// Passes and fails of the checks the `check` tag selects.
    fn checks(&self, total: &Interval) -> (u64, u64) {
        match &self.check {
            None => total.check_totals(),
            Some(c) => total
                .checks
                .iter()
                .filter(|s| s.name == *c)
                .fold((0, 0), |(p, f), s| (p + s.passes, f + s.fails)),
        }
    }

    fn observe(&self, total: &Interval, elapsed: Duration) -> f64 {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let req = self.selected(total);
        let requests = req.requests;
        let hist = |h: &LatencyHistogram| match self.agg {
            Agg::Share { lo, hi } => {
                if requests == 0 {
                    return 0.0;
                }
                let lo_us = lo.map_or(0, |ms| (ms * 1000.0) as u64);
                let hi_us = hi.map_or(u64::MAX, |ms| (ms * 1000.0) as u64);
                h.count_in(lo_us, hi_us) as f64 / requests as f64
            }
            Agg::P(p) => h.percentile(p) as f64 / 1000.0,
            Agg::Avg => h.mean() / 1000.0,
            Agg::Min => h.min() as f64 / 1000.0,
            Agg::Max => h.max() as f64 / 1000.0,
            Agg::Med => h.percentile(50.0) as f64 / 1000.0,
            Agg::Count => h.len() as f64,
            Agg::Rate => h.len() as f64 / secs,
        };
        let counter = |n: u64| match self.agg {
            Agg::Rate => n as f64 / secs,
            _ => n as f64,
        };
        match self.metric {
            Metric::ReqDuration => match self.expected_response {
                None => hist(&req.latency),
                Some(true) => hist(&req.ok_latency()),
                Some(false) => hist(&req.ko_latency()),
            },
            Metric::ReqServiceTime => hist(&req.service),
            Metric::ReqWaiting => hist(&req.ttfb),
            Metric::ReqConnecting => hist(&req.connect),
            Metric::IterationDuration => hist(&total.iterations.duration),
            // As k6: requests that failed, not failed checks (those are in
            // `checks`); squall's own error rate (reports, goals'
            // `error_rate`) counts both.
            Metric::ReqFailed => {
                let failed = req.failed() - req.errors[squall_metrics::ErrorKind::Check.index()];
                match self.agg {
                    Agg::Count => failed as f64,
                    _ if requests == 0 => 0.0,
                    _ => failed as f64 / requests as f64,
                }
            }
            Metric::ReqKo => match self.agg {
                Agg::Count => req.failed() as f64,
                _ => req.failure_rate(),
            },
            Metric::Reqs => match self.status {
                Some(code) => counter(req.statuses.get(&code).copied().unwrap_or(0)),
                None => counter(req.requests),
            },
            Metric::DataReceived => counter(req.bytes_in),
            Metric::DataSent => counter(req.bytes_out),
            Metric::Iterations => counter(total.iterations.completed),
            Metric::DroppedIterations => counter(total.iterations.dropped),
            Metric::Checks => {
                let (p, f) = self.checks(total);
                match self.agg {
                    Agg::Count => p as f64,
                    _ if p + f == 0 => 1.0,
                    _ => p as f64 / (p + f) as f64,
                }
            }
        }
    }
}

/// An observed value as k6 prints it, with its unit: durations as
/// `199.9µs`, `12.31ms`, `1.52s`; shares as `0.52%`; rates as `123.4/s`;
/// counts as they are. `metric_key` and `expr` are the threshold's.
pub fn display_observed(metric_key: &str, expr: &str, observed: f64) -> String {
    let metric = metric_key.split('{').next().unwrap_or("").trim();
    let agg = expr.replace(' ', "");
    let is_hist = matches!(
        metric,
        "http_req_duration"
            | "http_req_service_time"
            | "http_req_waiting"
            | "http_req_connecting"
            | "iteration_duration"
    );
    let is_share_metric = matches!(metric, "http_req_failed" | "http_req_ko" | "checks");
    if agg.starts_with("share(") || (is_share_metric && agg.starts_with("rate")) {
        return format!("{:.2}%", observed * 100.0);
    }
    if agg.starts_with("count") {
        return format!("{observed}");
    }
    if agg.starts_with("rate") {
        return format!("{observed:.1}/s");
    }
    if !is_hist {
        return format!("{observed}");
    }
    // Milliseconds, printed in the unit that reads best.
    if observed < 1.0 {
        format!("{:.1}µs", observed * 1000.0)
    } else if observed < 1000.0 {
        format!("{observed:.2}ms")
    } else {
        format!("{:.2}s", observed / 1000.0)
    }
}

/// `metric{name:x,expected_response:true}`: the metric, the request name
/// and k6's `expected_response` tag, each optional.
fn split_tag(key: &str) -> Result<(&str, Filters), String> {
    let Some(open) = key.find('{') else {
        return Ok((key.trim(), Filters::default()));
    };
    let inner = key[open + 1..]
        .strip_suffix('}')
        .ok_or_else(|| format!("unclosed tag filter in {key:?}"))?;
    let mut f = Filters::default();
    for part in inner.split(',') {
        let (tag, value) = part.split_once(':').ok_or_else(|| {
            format!("a tag filter is {{TAG:VALUE}} (name, method, scenario, status, check, expected_response), got {{{inner}}}")
        })?;
        let value = value.trim().trim_matches('"');
        match tag.trim() {
            "name" => f.name = Some(value.to_string()),
            "method" => f.method = Some(value.to_ascii_uppercase()),
            "scenario" => f.scenario = Some(value.to_string()),
            "check" => f.check = Some(value.to_string()),
            "status" => {
                f.status = Some(
                    value
                        .parse()
                        .map_err(|_| format!("status is an HTTP status code, got {value:?}"))?,
                )
            }
            "expected_response" => {
                f.expected_response = Some(match value {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(format!("expected_response is true or false, got {other:?}"));
                    }
                })
            }
            other => {
                return Err(format!(
                    "squall filters on the tags name, method, scenario, status, check and expected_response, got {other:?}"
                ));
            }
        }
    }
    Ok((key[..open].trim(), f))
}

/// The request names a `name`/`method`/`scenario` filter selects; one that
/// selects nothing is refused, since its threshold could never be judged.
fn select(
    scope: &ThresholdScope,
    name: &Option<String>,
    method: &Option<String>,
    scenario: &Option<String>,
) -> Result<Vec<String>, String> {
    if let Some(n) = name
        && !scope.requests.iter().any(|r| r.name == *n)
    {
        return Err(format!(
            "no request is named {n:?} (names: {})",
            scope.names().join(", ")
        ));
    }
    if let Some(s) = scenario
        && !scope.requests.iter().any(|r| r.scenario == *s)
    {
        let mut all: Vec<&str> = scope.requests.iter().map(|r| r.scenario.as_str()).collect();
        all.dedup();
        return Err(format!(
            "no scenario is named {s:?} (scenarios: {})",
            all.join(", ")
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for r in &scope.requests {
        let keep = name.as_ref().is_none_or(|n| r.name == *n)
            && method.as_ref().is_none_or(|m| r.method == *m)
            && scenario.as_ref().is_none_or(|s| r.scenario == *s);
        if keep && !names.contains(&r.name) {
            names.push(r.name.clone());
        }
    }
    if names.is_empty() {
        return Err("no request of the plan has these tags".into());
    }
    Ok(names)
}

/// `share(<800ms)`, `share(>=1200ms)` or `share(800ms..1200ms)` as bounds
/// in ms.
fn parse_share(inner: &str, expr: &str) -> Result<Agg, String> {
    let ms = |v: &str| {
        parse_value(v, true, false).map_err(|m| format!("{expr:?}: share bound {v:?}: {m}"))
    };
    let (lo, hi) = if let Some(v) = inner.strip_prefix("<") {
        (None, Some(ms(v)?))
    } else if let Some(v) = inner.strip_prefix(">=").or_else(|| inner.strip_prefix('>')) {
        (Some(ms(v)?), None)
    } else if let Some((a, b)) = inner.split_once("..") {
        (Some(ms(a)?), Some(ms(b)?))
    } else {
        return Err(format!(
            "{expr:?}: share(...) takes <D, >=D or D1..D2, e.g. share(<800ms)"
        ));
    };
    if let (Some(a), Some(b)) = (lo, hi)
        && a >= b
    {
        return Err(format!("{expr:?}: share({inner}) is an empty range"));
    }
    Ok(Agg::Share { lo, hi })
}

fn parse_expr(expr: &str, metric: Metric) -> Result<(Agg, Op, f64), String> {
    let e = expr.replace(' ', "");
    // `share(<800ms)` holds an operator of its own: look after it.
    let skip = if e.starts_with("share(") {
        e.find(')').map_or(0, |i| i + 1)
    } else {
        0
    };
    let op_at = e[skip..]
        .find(['<', '>', '=', '!'])
        .map(|i| i + skip)
        .ok_or_else(|| format!("{expr:?}: expected AGG OP VALUE, e.g. p(95)<300ms or rate<0.01"))?;
    let (agg_s, rest) = e.split_at(op_at);
    let (op, value_s) = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ]
    .iter()
    .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (*op, v)))
    .ok_or_else(|| format!("{expr:?}: unknown operator"))?;
    let agg = match agg_s {
        "avg" => Agg::Avg,
        "min" => Agg::Min,
        "max" => Agg::Max,
        "med" => Agg::Med,
        "count" => Agg::Count,
        "rate" => Agg::Rate,
        sh if sh.starts_with("share(") && sh.ends_with(')') => {
            if metric != Metric::ReqDuration {
                return Err(format!("{expr:?}: share(...) applies to http_req_duration"));
            }
            parse_share(&sh[6..sh.len() - 1], expr)?
        }
        p if p.starts_with("p(") && p.ends_with(')') => {
            let v: f64 = p[2..p.len() - 1]
                .parse()
                .map_err(|_| format!("{expr:?}: bad percentile {p}"))?;
            if !(0.0..=100.0).contains(&v) {
                return Err(format!("{expr:?}: percentile must be within 0..100"));
            }
            Agg::P(v)
        }
        other => {
            return Err(format!(
                "{expr:?}: unknown aggregation {other:?} (p(N), avg, min, max, med, count, rate, share(<D))"
            ));
        }
    };
    let is_hist = matches!(
        metric,
        Metric::ReqDuration
            | Metric::ReqServiceTime
            | Metric::ReqWaiting
            | Metric::ReqConnecting
            | Metric::IterationDuration
    );
    let is_share = matches!(metric, Metric::ReqFailed | Metric::ReqKo | Metric::Checks);
    let allowed = match agg {
        Agg::P(_) | Agg::Avg | Agg::Min | Agg::Max | Agg::Med | Agg::Share { .. } => is_hist,
        Agg::Count => true,
        Agg::Rate => true,
    };
    if !allowed {
        return Err(format!(
            "{expr:?}: {agg_s} does not apply to this metric (use rate or count)"
        ));
    }
    let is_share_agg = matches!(agg, Agg::Share { .. });
    let time_valued = is_hist && !matches!(agg, Agg::Count | Agg::Rate | Agg::Share { .. });
    let bound = parse_value(
        value_s,
        time_valued,
        (is_share && agg == Agg::Rate) || is_share_agg,
    )
    .map_err(|m| format!("{expr:?}: {m}"))?;
    Ok((agg, op, bound))
}

fn parse_value(s: &str, time: bool, share: bool) -> Result<f64, String> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().map_err(|_| format!("bad number {num:?}"))?;
    match (unit, time, share) {
        ("", _, _) => Ok(v),
        ("%", _, true) => Ok(v / 100.0),
        ("us", true, _) => Ok(v / 1000.0),
        ("ms", true, _) => Ok(v),
        ("s", true, _) => Ok(v * 1000.0),
        ("m", true, _) => Ok(v * 60_000.0),
        (u, _, _) => Err(format!("unit {u:?} does not apply here")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(key: &str, expr: &str) -> Threshold {
        Threshold::compile(
            key,
            &ThresholdSpec::Plain(expr.into()),
            &ThresholdScope::of_names(&["home".to_string()]),
        )
        .unwrap()
    }

    #[test]
    fn observed_values_carry_their_units() {
        assert_eq!(
            display_observed("http_req_duration", "p(95)<1", 0.1999),
            "199.9µs"
        );
        assert_eq!(
            display_observed("http_req_duration{name:a}", "avg<1", 12.306),
            "12.31ms"
        );
        assert_eq!(
            display_observed("http_req_duration", "max<1", 1520.0),
            "1.52s"
        );
        assert_eq!(
            display_observed("http_req_failed", "rate<0.01", 0.0052),
            "0.52%"
        );
        assert_eq!(display_observed("http_reqs", "rate>10", 123.45), "123.5/s");
        assert_eq!(display_observed("http_reqs", "count>10", 42.0), "42");
        assert_eq!(
            display_observed(
                "http_req_duration{expected_response:true}",
                "share(<800ms)>0.9",
                0.95
            ),
            "95.00%"
        );
    }

    #[test]
    fn ok_ko_and_shares_as_gatling_counts_them() {
        // 10 requests: 6 ok (100, 200, 900, 1000, 1300, 2000 ms), 4 failed
        // (50, 60, 3000, 5000 ms).
        let mut i = Interval::new(&["home".to_string()], &[]);
        let r = &mut i.requests[0];
        for ms in [100, 200, 900, 1000, 1300, 2000] {
            r.requests += 1;
            r.latency.record(Duration::from_millis(ms));
        }
        for ms in [50, 60, 3000, 5000] {
            r.requests += 1;
            r.latency.record(Duration::from_millis(ms));
            r.record_failure(squall_metrics::ErrorKind::Status, Duration::from_millis(ms));
        }
        let d = Duration::from_secs(10);
        let obs = |k: &str, e: &str| t(k, e).evaluate(&i, d).observed;
        // Within the histogram's precision (0.1 %).
        let near = |a: f64, b: f64| assert!((a - b).abs() <= b * 0.001, "{a} vs {b}");
        near(
            obs("http_req_duration{expected_response:true}", "max<1"),
            2000.0,
        );
        near(
            obs("http_req_duration{expected_response:false}", "min<1"),
            50.0,
        );
        near(
            obs("http_req_duration{expected_response:false}", "max<1"),
            5000.0,
        );
        near(
            obs(
                "http_req_duration{name:home,expected_response:true}",
                "min<1",
            ),
            100.0,
        );
        near(obs("http_req_duration", "min<1"), 50.0);
        // Gatling's groups: OK requests by time, over every request.
        let ok = "http_req_duration{expected_response:true}";
        assert_eq!(obs(ok, "share(<800ms)>0"), 0.2);
        assert_eq!(obs(ok, "share(800ms..1200ms)>0"), 0.2);
        assert_eq!(obs(ok, "share(>=1200ms)>0"), 0.2);
        assert!(t(ok, "share(<800ms)>=20%").evaluate(&i, d).passed);
        assert!(!t(ok, "share(<800ms)>=21%").evaluate(&i, d).passed);
        let e = |k: &str, x: &str| {
            Threshold::compile(
                k,
                &ThresholdSpec::Plain(x.into()),
                &ThresholdScope::of_names(&["home".to_string()]),
            )
            .unwrap_err()
            .0
        };
        assert!(
            e("http_req_failed{expected_response:true}", "rate<1").contains("expected_response")
        );
        assert!(e(ok, "share(1200ms..800ms)>0").contains("empty range"));
        assert!(e(ok, "share(800)>0").contains("share(...) takes"));
        assert!(
            e("http_req_duration{status:200}", "p(95)<1").contains("cannot be filtered by status")
        );
    }

    fn interval_with(latencies_ms: &[u64], failed: u64) -> Interval {
        let mut i = Interval::new(&["home".to_string()], &[]);
        let r = &mut i.requests[0];
        for l in latencies_ms {
            r.latency.record_us(l * 1000);
            r.requests += 1;
        }
        r.errors[0] = failed;
        i
    }

    #[test]
    fn percentile_bounds_decide_exactly() {
        let i = interval_with(&(1..=100).collect::<Vec<_>>(), 0);
        // HDR keeps 3 significant digits: 95 ms reads back within 0.1 %.
        assert!(
            t("http_req_duration", "p(95)<=95.1ms")
                .evaluate(&i, Duration::from_secs(1))
                .passed
        );
        assert!(
            !t("http_req_duration", "p(95)<94.9ms")
                .evaluate(&i, Duration::from_secs(1))
                .passed
        );
        assert!(
            t("http_req_duration{name:home}", "max<0.2s")
                .evaluate(&i, Duration::from_secs(1))
                .passed
        );
    }

    #[test]
    fn rates_and_counts() {
        let i = interval_with(&[1, 1, 1, 1], 1);
        let v = t("http_req_failed", "rate<0.3").evaluate(&i, Duration::from_secs(2));
        assert!(v.passed && (v.observed - 0.25).abs() < 1e-9);
        assert!(
            !t("http_req_failed", "rate<20%")
                .evaluate(&i, Duration::from_secs(2))
                .passed
        );
        assert!(
            t("http_reqs", "rate==2")
                .evaluate(&i, Duration::from_secs(2))
                .passed
        );
        assert!(
            t("http_reqs", "count>=4")
                .evaluate(&i, Duration::from_secs(2))
                .passed
        );
    }

    #[test]
    fn tags_select_requests_methods_scenarios_statuses_and_checks() {
        let scope = ThresholdScope {
            requests: vec![
                RequestTags {
                    name: "list".into(),
                    method: "GET".into(),
                    scenario: "browse".into(),
                },
                RequestTags {
                    name: "buy".into(),
                    method: "POST".into(),
                    scenario: "shop".into(),
                },
                RequestTags {
                    name: "view".into(),
                    method: "GET".into(),
                    scenario: "shop".into(),
                },
            ],
            checks: vec!["buy: status == 201".into()],
        };
        let mut i = Interval::new(
            &["list".to_string(), "buy".to_string(), "view".to_string()],
            &["buy: status == 201".to_string()],
        );
        for (r, n, s) in [(0, 10, 200), (1, 4, 201), (2, 6, 200)] {
            i.requests[r].requests = n;
            i.requests[r].bytes_in = 100 * n;
            i.requests[r].statuses.insert(s, n);
        }
        // One transport failure and one failed check on `buy`.
        i.requests[1].errors[squall_metrics::ErrorKind::Connect.index()] = 1;
        i.requests[1].errors[squall_metrics::ErrorKind::Check.index()] = 1;
        i.checks[0].passes = 3;
        i.checks[0].fails = 1;
        let obs = |k: &str, x: &str| {
            Threshold::compile(k, &ThresholdSpec::Plain(x.into()), &scope)
                .unwrap()
                .evaluate(&i, Duration::from_secs(2))
                .observed
        };
        assert_eq!(obs("http_reqs{method:GET}", "count>0"), 16.0);
        assert_eq!(obs("http_reqs{scenario:shop}", "count>0"), 10.0);
        assert_eq!(obs("http_reqs{scenario:shop,method:get}", "count>0"), 6.0);
        assert_eq!(obs("http_reqs{status:201}", "count>0"), 4.0);
        assert_eq!(obs("http_reqs{status:200}", "rate>0"), 8.0);
        assert_eq!(obs("data_received{method:POST}", "count>0"), 400.0);
        assert_eq!(obs("data_received", "rate>0"), 1000.0);
        // k6's http_req_failed: the connect failure, not the failed check.
        assert_eq!(obs("http_req_failed{name:buy}", "rate<1"), 0.25);
        assert_eq!(obs("http_req_failed", "count<9"), 1.0);
        assert_eq!(obs("checks{check:buy: status == 201}", "rate>0"), 0.75);
        let e = |k: &str| {
            Threshold::compile(k, &ThresholdSpec::Plain("count>0".into()), &scope)
                .unwrap_err()
                .0
        };
        assert!(e("http_reqs{scenario:nope}").contains("scenarios: browse, shop"));
        assert!(e("http_reqs{method:DELETE}").contains("no request of the plan"));
        assert!(e("http_req_duration{status:200}").contains("cannot be filtered by status"));
        assert!(e("checks{check:nope}").contains("no check is named"));
        assert!(e("http_reqs{region:eu}").contains("name, method, scenario, status, check"));
    }

    #[test]
    fn errors_are_specific() {
        let e = |k: &str, x: &str| {
            Threshold::compile(
                k,
                &ThresholdSpec::Plain(x.into()),
                &ThresholdScope::of_names(&["home".to_string()]),
            )
            .unwrap_err()
            .0
        };
        assert!(e("http_req_durations", "p(95)<1").contains("unknown metric"));
        assert!(e("http_req_duration", "p(95)<1kg").contains("unit"));
        assert!(e("http_req_duration", "p(101)<1").contains("percentile"));
        assert!(e("http_req_failed", "p(95)<1").contains("does not apply"));
        assert!(e("http_req_duration{name:nope}", "p(95)<1").contains("no request is named"));
        assert!(e("http_req_duration", "fast").contains("expected AGG OP VALUE"));
    }
}
