//! A virtual user: connections, variables, and the execution of scenario steps.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use squall_metrics::ErrorKind;
use squall_metrics::interval::LATE_AFTER_US;
use tokio::time::Instant;

use super::WorkerCtx;
use crate::compiled;
use crate::http::cookies::CookieJar;
use crate::http::redirect;
use crate::http::{Conn, ExchangeError, PreparedRequest, Response};
use crate::plan::Think;
use crate::template::Vars;

/// Whether a user should go on after a step.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Stop,
}

pub(crate) struct Vu {
    /// Index used by the closed model to decide who stops on a ramp-down.
    pub slot: u64,
    conns: Vec<Option<Conn>>,
    /// Cookies the origins set, sent back to them (when the plan keeps them).
    jar: CookieJar,
    vars: Vars,
    iterations: u64,
    rng: SmallRng,
    /// Reference instant for the next request's latency (intended start).
    pending_intended: Option<Instant>,
}

impl Vu {
    pub(super) fn new(ctx: &WorkerCtx, slot: u64) -> Self {
        let mut vars = ctx.plan.vars.clone();
        let global = ctx.share.segment.global(ctx.share.thread.global(slot));
        vars.insert("__vu".into(), global.to_string());
        let seed = ctx.rng.borrow_mut().random();
        Self {
            slot,
            conns: (0..ctx.plan.origins.len()).map(|_| None).collect(),
            jar: CookieJar::default(),
            vars,
            iterations: 0,
            rng: SmallRng::seed_from_u64(seed),
            pending_intended: None,
        }
    }

    /// `keep_going` is asked before every step; a `false` ends the
    /// iteration early. `scenario` is the plan's choice for this arrival;
    /// none: the next by weight.
    pub(super) async fn iteration(
        &mut self,
        ctx: &WorkerCtx,
        intended: Instant,
        scenario: Option<usize>,
        keep_going: &dyn Fn(&Vu) -> bool,
    ) -> Flow {
        let started = Instant::now();
        let scenario = &ctx.plan.scenarios[scenario.unwrap_or_else(|| ctx.next_scenario())];
        {
            let mut rec = ctx.rec.borrow_mut();
            rec.iterations.started += 1;
            let lag = started.saturating_duration_since(intended);
            if lag > Duration::ZERO {
                rec.iterations.start_lag.record(lag);
            }
            if lag.as_micros() as u64 > LATE_AFTER_US {
                rec.iterations.late += 1;
            }
        }
        if let Some(f) = &scenario.feeder {
            let r = self.rng.random();
            let row = f.row(self.iterations, r);
            for (c, v) in f.columns.iter().zip(row) {
                self.vars.insert(c.clone(), v.clone());
            }
        }
        self.vars
            .insert("__iter".into(), self.iterations.to_string());
        self.iterations += 1;
        self.pending_intended = Some(intended);
        ctx.busy_vus.set(ctx.busy_vus.get() + 1);
        let flow = self.steps(ctx, &scenario.steps, keep_going).await;
        ctx.busy_vus.set(ctx.busy_vus.get().saturating_sub(1));
        let mut rec = ctx.rec.borrow_mut();
        match flow {
            Flow::Continue => {
                rec.iterations.completed += 1;
                rec.iterations.duration.record(intended.elapsed());
            }
            Flow::Stop => rec.iterations.interrupted += 1,
        }
        flow
    }

    fn steps<'a>(
        &'a mut self,
        ctx: &'a WorkerCtx,
        steps: &'a [compiled::Step],
        keep_going: &'a dyn Fn(&Vu) -> bool,
    ) -> Pin<Box<dyn Future<Output = Flow> + 'a>> {
        Box::pin(async move {
            for step in steps {
                if !keep_going(self) {
                    return Flow::Stop;
                }
                match step {
                    compiled::Step::Request(r) => self.request(ctx, r).await,
                    compiled::Step::Think(t) => {
                        let d = self.think_time(t);
                        if !self.sleep(ctx, d, keep_going).await {
                            return Flow::Stop;
                        }
                    }
                    compiled::Step::Loop {
                        count,
                        steps: inner,
                    } => {
                        let mut i = 0u64;
                        while count.is_none_or(|c| i < c) {
                            // Endless loops end at wind-down (Stressgrid semantics).
                            if count.is_none() && ctx.stopping() {
                                return Flow::Stop;
                            }
                            if self.steps(ctx, inner, keep_going).await == Flow::Stop {
                                return Flow::Stop;
                            }
                            i += 1;
                        }
                    }
                }
            }
            Flow::Continue
        })
    }

    fn think_time(&mut self, t: &Think) -> Duration {
        match t {
            Think::Fixed(d) => d.get(),
            Think::Uniform { min, max } => {
                let (a, b) = (min.get().as_secs_f64(), max.get().as_secs_f64());
                Duration::from_secs_f64(if b > a {
                    self.rng.random_range(a..b)
                } else {
                    a
                })
            }
            Think::Normal { mean, stddev } => {
                // Box-Muller: one normal draw from two uniforms.
                let u1: f64 = self.rng.random_range(f64::EPSILON..1.0);
                let u2: f64 = self.rng.random();
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                Duration::from_secs_f64(
                    (mean.get().as_secs_f64() + z * stddev.get().as_secs_f64()).max(0.0),
                )
            }
        }
    }

    /// Sleeps, waking early (and returning false) when the user must stop.
    async fn sleep(&self, ctx: &WorkerCtx, d: Duration, keep_going: &dyn Fn(&Vu) -> bool) -> bool {
        let until = Instant::now() + d;
        loop {
            if !keep_going(self) {
                return false;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return true,
                _ = ctx.wake.notified() => {}
            }
        }
    }

    async fn request(&mut self, ctx: &WorkerCtx, r: &compiled::Request) {
        let mut prepared = match &r.fixed {
            Some(p) => Cow::Borrowed(p),
            None => Cow::Owned(self.render(ctx, r)),
        };
        if ctx.plan.cookies
            && let Some(c) = self.jar.header(r.origin)
        {
            prepared = Cow::Owned(with_cookies(&prepared, &c));
        }
        let t_ref = self.pending_intended.take().unwrap_or_else(Instant::now);
        ctx.in_flight.set(ctx.in_flight.get() + 1);
        let mut send_start = Instant::now();
        let mut connect_time = None;
        let mut bytes_out = 0u64;
        let mut off_origin = None;
        let outcome = {
            let slot = &mut self.conns[r.origin];
            let jar = &mut self.jar;
            let origin = &ctx.plan.origins[r.origin];
            let http2 = ctx.plan.http2;
            let tls = ctx.plan.tls.as_ref();
            let want = r.want;
            let (max_redirects, cookies) = (ctx.plan.max_redirects, ctx.plan.cookies);
            let exchange = async {
                let mut retried = false;
                let mut hops = 0u32;
                let mut earlier_bytes_in = 0u64;
                loop {
                    if slot.is_none() {
                        let t = Instant::now();
                        *slot = Some(Conn::connect(origin, http2, tls).await?);
                        if hops == 0 {
                            connect_time = Some(t.elapsed());
                        }
                    }
                    if hops == 0 {
                        send_start = Instant::now();
                    }
                    let conn = slot.as_mut().expect("connection set above");
                    match conn.exchange(&prepared, want).await {
                        Ok(mut resp) => {
                            bytes_out += prepared.wire.len() as u64;
                            if !resp.keep_alive {
                                *slot = None;
                            }
                            if cookies {
                                jar.store(r.origin, &resp.set_cookies);
                            }
                            // The same request again at its new place: one
                            // request in the figures, its latency the whole chain.
                            if hops < max_redirects
                                && redirect::is_redirect(resp.status)
                                && let Some(loc) = &resp.location
                            {
                                match redirect::same_origin_path(loc, origin, &prepared.path) {
                                    Some(path) => {
                                        hops += 1;
                                        retried = false;
                                        earlier_bytes_in += resp.bytes_in;
                                        prepared = Cow::Owned(next_hop(
                                            &prepared,
                                            resp.status,
                                            &path,
                                            cookies.then(|| jar.header(r.origin)).flatten(),
                                        ));
                                        continue;
                                    }
                                    None => off_origin = Some(loc.clone()),
                                }
                            }
                            resp.bytes_in += earlier_bytes_in;
                            return Ok(resp);
                        }
                        Err(e) => {
                            *slot = None;
                            // A keep-alive connection the server closed while idle:
                            // retry once on a fresh one, as browsers and wrk do.
                            if e.stale && !retried {
                                retried = true;
                                continue;
                            }
                            return Err(e);
                        }
                    }
                }
            };
            match tokio::time::timeout(r.timeout, exchange).await {
                Ok(res) => res,
                Err(_) => {
                    self.conns[r.origin] = None;
                    Err(ExchangeError::new(
                        ErrorKind::Timeout,
                        format!("no response within {:?}", r.timeout),
                    ))
                }
            }
        };
        ctx.in_flight.set(ctx.in_flight.get().saturating_sub(1));
        let end = Instant::now();
        drop(prepared);
        if let Some(loc) = off_origin {
            ctx.note_error(&format!(
                "{}: a redirect to another origin is not followed ({loc}); its 3xx is the response",
                ctx.plan.request_names[r.id]
            ));
        }
        let mut rec = ctx.rec.borrow_mut();
        let stats = &mut rec.requests[r.id];
        stats.requests += 1;
        stats.bytes_out += bytes_out;
        let latency = end.saturating_duration_since(t_ref);
        stats.latency.record(latency);
        stats
            .service
            .record(end.saturating_duration_since(send_start));
        if let Some(c) = connect_time {
            stats.connect.record(c);
        }
        match outcome {
            Err(e) => {
                stats.record_failure(e.kind, latency);
                drop(rec);
                ctx.note_error(&format!("{}: {}", ctx.plan.request_names[r.id], e));
            }
            Ok(resp) => {
                stats.bytes_in += resp.bytes_in;
                stats.record_status(resp.status);
                if let Some(fb) = resp.first_byte {
                    stats
                        .ttfb
                        .record(Instant::from_std(fb).saturating_duration_since(send_start));
                }
                let status_ok = match &r.expect_status {
                    Some(list) => list.contains(&resp.status),
                    None => (200..400).contains(&resp.status),
                };
                let mut checks_ok = true;
                for (id, c) in &r.checks {
                    let ok = check(c, &resp);
                    let cs = &mut rec.checks[*id];
                    if ok {
                        cs.passes += 1;
                    } else {
                        cs.fails += 1;
                        checks_ok = false;
                    }
                }
                let stats = &mut rec.requests[r.id];
                if !status_ok {
                    stats.record_failure(ErrorKind::Status, latency);
                } else if !checks_ok {
                    stats.record_failure(ErrorKind::Check, latency);
                }
                drop(rec);
                if !status_ok {
                    ctx.note_error(&format!(
                        "{}: unexpected status {}",
                        ctx.plan.request_names[r.id], resp.status
                    ));
                }
                for (var, c) in &r.captures {
                    match capture(c, &resp) {
                        Some(v) => {
                            self.vars.insert(var.clone(), v);
                        }
                        None => {
                            self.vars.remove(var);
                        }
                    }
                }
            }
        }
    }

    fn render(&self, ctx: &WorkerCtx, r: &compiled::Request) -> PreparedRequest {
        let origin = &ctx.plan.origins[r.origin];
        PreparedRequest::new(
            r.method.clone(),
            &origin.authority,
            &r.path.render(&self.vars),
            r.headers
                .iter()
                .map(|(k, t)| (k.clone(), t.render(&self.vars)))
                .collect(),
            r.body
                .as_ref()
                .map(|b| Bytes::from(b.render(&self.vars)))
                .unwrap_or_default(),
        )
    }
}

/// `p` with the jar's cookies after any `Cookie` header of its own.
fn with_cookies(p: &PreparedRequest, jar: &str) -> PreparedRequest {
    let mut headers = p.headers.clone();
    match headers
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case("cookie"))
    {
        Some((_, v)) => *v = format!("{v}; {jar}"),
        None => headers.push(("Cookie".into(), jar.to_string())),
    }
    PreparedRequest::new(
        p.method.clone(),
        &p.authority,
        &p.path,
        headers,
        p.body.clone(),
    )
}

/// The request a redirect leads to: `path` on the same origin, the method
/// and body the status says, the request's own headers (without its body's
/// when the body is dropped), and the jar's cookies as they are now (a
/// `Cookie` header the request set itself is not carried to the next hop,
/// as k6 does with a request's own cookies).
fn next_hop(p: &PreparedRequest, status: u16, path: &str, jar: Option<String>) -> PreparedRequest {
    let (method, body) = redirect::next_method(status, &p.method, &p.body);
    let mut headers: Vec<(String, String)> = p
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("cookie"))
        .filter(|(k, _)| {
            !body.is_empty()
                || !(k.eq_ignore_ascii_case("content-type")
                    || k.eq_ignore_ascii_case("content-length"))
        })
        .cloned()
        .collect();
    if let Some(c) = jar {
        headers.push(("Cookie".into(), c));
    }
    PreparedRequest::new(method, &p.authority, path, headers, body)
}

fn json_body(resp: &Response) -> Option<serde_json::Value> {
    serde_json::from_slice(&resp.body).ok()
}

fn check(c: &compiled::Check, resp: &Response) -> bool {
    match c {
        compiled::Check::Status(s) => resp.status == *s,
        compiled::Check::BodyContains(needle) => {
            let n = needle.as_bytes();
            n.is_empty() || resp.body.windows(n.len()).any(|w| w == n)
        }
        compiled::Check::JsonExists(path, expect) => match json_body(resp) {
            Some(v) => path.query(&v).is_empty() != *expect,
            None => false,
        },
        compiled::Check::JsonEquals(path, want) => match json_body(resp) {
            Some(v) => path.query(&v).first() == Some(want),
            None => false,
        },
    }
}

fn capture(c: &compiled::Capture, resp: &Response) -> Option<String> {
    match c {
        compiled::Capture::Header(name) => resp
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone()),
        compiled::Capture::Json(path) => {
            let v = json_body(resp)?;
            let first = path.query(&v).first()?.clone();
            Some(match first {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
        }
    }
}
