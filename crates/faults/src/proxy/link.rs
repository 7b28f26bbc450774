//! One proxied connection: two pumps (client to upstream, upstream to client)
//! that carry bytes through the toxics in force, re-reading them whenever the
//! proxy's toxics change, so a toxic added or removed acts on live
//! connections too.
//!
//! With no toxic in force a pump is a plain read-then-write loop. With
//! toxics, every chunk gets a delivery time (arrival + latency, bandwidth
//! pacing, slicer gaps) and waits in a small queue, so delays overlap as they
//! do in Toxiproxy instead of adding up chunk after chunk.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::sync::watch;
use tokio::time::Instant;

use super::toxic::{Stream, Toxic, ToxicKind};

/// How a connection ends when a toxic ends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Open,
    Close,
    Reset,
}

/// Byte counters of a proxy, per direction.
#[derive(Default)]
pub struct Traffic {
    /// Bytes carried client to upstream.
    pub upstream_bytes: AtomicU64,
    /// Bytes carried upstream to client.
    pub downstream_bytes: AtomicU64,
}

const BUF: usize = 32 * 1024;
const QUEUE: usize = 64;

/// Carries one client connection to the upstream until either side or a
/// toxic ends it, or the proxy is disabled (`kill` turns true).
pub(super) async fn run(
    mut client: TcpStream,
    mut upstream: TcpStream,
    toxics: watch::Receiver<Arc<Vec<Toxic>>>,
    mut kill: watch::Receiver<bool>,
    traffic: Arc<Traffic>,
) {
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (end_tx, _) = watch::channel(End::Open);
    {
        let (cr, cw) = client.split();
        let (ur, uw) = upstream.split();
        let up = pump(
            cr,
            uw,
            Stream::Upstream,
            toxics.clone(),
            &end_tx,
            &traffic.upstream_bytes,
        );
        let down = pump(
            ur,
            cw,
            Stream::Downstream,
            toxics,
            &end_tx,
            &traffic.downstream_bytes,
        );
        tokio::select! {
            _ = async { tokio::join!(up, down) } => {}
            _ = killed(&mut kill) => {}
        }
    }
    if *end_tx.borrow() == End::Reset {
        // Closing with a zero linger sends RST instead of FIN.
        let _ = client.set_zero_linger();
        let _ = upstream.set_zero_linger();
    }
}

/// Per-connection state of one toxic.
struct Active {
    uid: u64,
    /// Drawn once per connection from the toxic's toxicity.
    enabled: bool,
    /// Bytes let through (limit_data).
    passed: u64,
    /// When the link is free again (bandwidth).
    free_at: Instant,
    /// Last chunk seen (timeout counts from here).
    last_data: Instant,
    /// When a reset_peer toxic saw its first chunk or the end of stream.
    triggered: Option<Instant>,
    /// Whether the toxic was in force when the connection started: only
    /// then does reset_peer send RST (Toxiproxy sets the linger at accept).
    at_start: bool,
    /// A timeout toxic: removing it closes the connection, as in Toxiproxy.
    is_timeout: bool,
    /// The toxic's name: an update keeps the name, a removal does not.
    name: String,
}

struct Pump<'a> {
    dir: Stream,
    born: Instant,
    toxics: Arc<Vec<Toxic>>,
    active: Vec<Active>,
    rng: SmallRng,
    queue: VecDeque<(Instant, Bytes)>,
    /// Close once the queue is delivered (limit_data reached).
    close_after_queue: bool,
    end: &'a watch::Sender<End>,
}

async fn pump(
    mut r: ReadHalf<'_>,
    mut w: WriteHalf<'_>,
    dir: Stream,
    mut toxics: watch::Receiver<Arc<Vec<Toxic>>>,
    end: &watch::Sender<End>,
    counter: &AtomicU64,
) {
    let mut p = Pump {
        dir,
        born: Instant::now(),
        toxics: Arc::new(Vec::new()),
        active: Vec::new(),
        rng: SmallRng::from_rng(&mut rand::rng()),
        queue: VecDeque::new(),
        close_after_queue: false,
        end,
    };
    p.refresh(toxics.borrow_and_update().clone());
    let mut end_rx = end.subscribe();
    let mut buf = vec![0u8; BUF];
    let mut eof = false;
    loop {
        if eof && p.queue.is_empty() && !p.reset_pending() {
            if let Some(delay) = p.slow_close() {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = ended(&mut end_rx) => return,
                }
            }
            let _ = w.shutdown().await;
            return;
        }
        if !eof && p.queue.is_empty() && !p.any_enabled() {
            // Fast path: plain copying. The control future is made once and
            // stays registered across reads, instead of per read.
            let fast = {
                let ctl = control(&mut toxics, &mut end_rx);
                tokio::pin!(ctl);
                loop {
                    tokio::select! {
                        biased;
                        _ = &mut ctl => break Ok(()),
                        res = r.read(&mut buf) => match res {
                            Ok(0) => {
                                eof = true;
                                break Ok(());
                            }
                            Ok(n) => {
                                if w.write_all(&buf[..n]).await.is_err() {
                                    break Err(());
                                }
                                counter.fetch_add(n as u64, Ordering::Relaxed);
                            }
                            Err(_) => break Err(()),
                        },
                    }
                }
            };
            if fast.is_err() {
                p.finish(End::Close);
                return;
            }
            if *end_rx.borrow() != End::Open {
                return;
            }
            // `changed()` may have marked the new list seen: refresh anyway
            // (known toxics keep their state).
            if toxics.has_changed().is_err() {
                return;
            }
            p.refresh(toxics.borrow_and_update().clone());
            if eof {
                p.trigger_resets(Instant::now());
            }
            continue;
        }
        let timer = p.next_timer();
        tokio::select! {
            biased;
            _ = ended(&mut end_rx) => return,
            changed = toxics.changed() => {
                if changed.is_err() {
                    return;
                }
                p.refresh(toxics.borrow_and_update().clone());
            }
            _ = sleep_until_opt(timer), if timer.is_some() => {
                if p.fire_timers() {
                    return;
                }
                if !p.deliver_due(&mut w, counter).await {
                    return;
                }
            }
            res = r.read(&mut buf), if !eof && p.queue.len() < QUEUE => {
                match res {
                    Ok(0) => {
                        eof = true;
                        p.trigger_resets(Instant::now());
                    }
                    Ok(n) => {
                        if p.queue.is_empty() && !p.any_enabled() {
                            if w.write_all(&buf[..n]).await.is_err() {
                                p.finish(End::Close);
                                return;
                            }
                            counter.fetch_add(n as u64, Ordering::Relaxed);
                        } else {
                            p.admit(Bytes::copy_from_slice(&buf[..n]), Instant::now());
                            if !p.deliver_due(&mut w, counter).await {
                                return;
                            }
                        }
                    }
                    Err(_) => {
                        p.finish(End::Close);
                        return;
                    }
                }
            }
        }
    }
}

/// Resolves when the toxics change, the sender is gone, or the connection
/// is ended by the other pump.
async fn control(toxics: &mut watch::Receiver<Arc<Vec<Toxic>>>, end: &mut watch::Receiver<End>) {
    tokio::select! {
        _ = toxics.changed() => {}
        _ = ended(end) => {}
    }
}

async fn ended(rx: &mut watch::Receiver<End>) {
    let _ = rx.wait_for(|e| *e != End::Open).await;
}

async fn killed(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|k| *k).await;
}

async fn sleep_until_opt(t: Option<Instant>) {
    if let Some(t) = t {
        tokio::time::sleep_until(t).await;
    }
}

impl Pump<'_> {
    fn finish(&self, how: End) {
        self.end.send_if_modified(|e| {
            if *e == End::Open {
                *e = how;
                true
            } else {
                false
            }
        });
    }

    /// Takes a new toxic list: keeps the state of toxics this connection
    /// knows, draws toxicity for new or changed ones.
    fn refresh(&mut self, toxics: Arc<Vec<Toxic>>) {
        let now = Instant::now();
        let mut next = Vec::with_capacity(toxics.len());
        for t in toxics.iter().filter(|t| t.stream == self.dir) {
            if let Some(i) = self.active.iter().position(|a| a.uid == t.uid) {
                next.push(self.active.swap_remove(i));
            } else {
                let enabled = t.toxicity >= 1.0 || self.rng.random::<f64>() < t.toxicity;
                next.push(Active {
                    uid: t.uid,
                    enabled,
                    passed: 0,
                    free_at: now,
                    last_data: now,
                    triggered: None,
                    at_start: now.duration_since(self.born) < Duration::from_millis(5),
                    is_timeout: matches!(t.kind, ToxicKind::Timeout { .. }),
                    name: t.name.clone(),
                });
            }
        }
        // Removing a timeout toxic closes the connections it held.
        let removed_timeout = self
            .active
            .iter()
            .any(|a| a.enabled && a.is_timeout && !next.iter().any(|n| n.name == a.name));
        if removed_timeout {
            self.finish(End::Close);
        }
        self.active = next;
        self.toxics = toxics;
    }

    /// The toxics of this direction that apply to this connection, in order.
    fn enabled(&self) -> impl Iterator<Item = (usize, &Toxic)> {
        let mut i = 0;
        self.toxics
            .iter()
            .filter(|t| t.stream == self.dir)
            .map(move |t| {
                let idx = i;
                i += 1;
                (idx, t)
            })
            .filter(|(idx, _)| self.active.get(*idx).is_some_and(|a| a.enabled))
    }

    fn any_enabled(&self) -> bool {
        self.active.iter().any(|a| a.enabled)
    }

    fn slow_close(&self) -> Option<Duration> {
        self.enabled().find_map(|(_, t)| match t.kind {
            ToxicKind::SlowClose { delay } if delay > 0 => Some(Duration::from_millis(delay)),
            ToxicKind::SlowClose { .. }
            | ToxicKind::Latency { .. }
            | ToxicKind::Bandwidth { .. }
            | ToxicKind::Timeout { .. }
            | ToxicKind::ResetPeer { .. }
            | ToxicKind::Slicer { .. }
            | ToxicKind::LimitData { .. } => None,
        })
    }

    /// The earliest moment something must happen without new data.
    fn next_timer(&self) -> Option<Instant> {
        let mut next = self.queue.front().map(|(at, _)| *at);
        for (i, t) in self.enabled() {
            let at = match t.kind {
                ToxicKind::Timeout { timeout } if timeout > 0 => {
                    self.active[i].last_data + Duration::from_millis(timeout)
                }
                ToxicKind::ResetPeer { timeout } => match self.active[i].triggered {
                    Some(t) => t + Duration::from_millis(timeout),
                    None => continue,
                },
                // No timer of their own: their chunks' delivery times are in the queue.
                ToxicKind::Timeout { .. }
                | ToxicKind::Latency { .. }
                | ToxicKind::Bandwidth { .. }
                | ToxicKind::SlowClose { .. }
                | ToxicKind::Slicer { .. }
                | ToxicKind::LimitData { .. } => continue,
            };
            next = Some(next.map_or(at, |n| n.min(at)));
        }
        next
    }

    /// Ends the connection when a timeout or reset_peer toxic's time came.
    /// True when the pump must stop.
    fn fire_timers(&self) -> bool {
        let now = Instant::now();
        for (i, t) in self.enabled() {
            let a = &self.active[i];
            match t.kind {
                ToxicKind::ResetPeer { timeout }
                    if a.triggered
                        .is_some_and(|at| at + Duration::from_millis(timeout) <= now) =>
                {
                    self.finish(if a.at_start { End::Reset } else { End::Close });
                    return true;
                }
                ToxicKind::Timeout { timeout }
                    if timeout > 0 && a.last_data + Duration::from_millis(timeout) <= now =>
                {
                    self.finish(End::Close);
                    return true;
                }
                ToxicKind::ResetPeer { .. }
                | ToxicKind::Timeout { .. }
                | ToxicKind::Latency { .. }
                | ToxicKind::Bandwidth { .. }
                | ToxicKind::SlowClose { .. }
                | ToxicKind::Slicer { .. }
                | ToxicKind::LimitData { .. } => {}
            }
        }
        false
    }

    /// The end of the stream arms reset_peer toxics too.
    fn trigger_resets(&mut self, now: Instant) {
        let idx: Vec<usize> = self
            .enabled()
            .filter(|(_, t)| matches!(t.kind, ToxicKind::ResetPeer { .. }))
            .map(|(i, _)| i)
            .collect();
        for i in idx {
            self.active[i].triggered.get_or_insert(now);
        }
    }

    fn reset_pending(&self) -> bool {
        self.enabled().any(|(i, t)| {
            matches!(t.kind, ToxicKind::ResetPeer { .. }) && self.active[i].triggered.is_some()
        })
    }

    /// Runs one chunk through the toxics and queues what comes out.
    fn admit(&mut self, data: Bytes, arrived: Instant) {
        let mut segs: Vec<(Instant, Bytes)> = vec![(arrived, data)];
        let order: Vec<usize> = self.enabled().map(|(i, _)| i).collect();
        let mine: Vec<&Toxic> = self
            .toxics
            .iter()
            .filter(|t| t.stream == self.dir)
            .collect();
        for i in order {
            let kind = mine[i].kind.clone();
            match kind {
                ToxicKind::Latency { latency, jitter } => {
                    for (at, _) in &mut segs {
                        let j = if jitter > 0 {
                            self.rng.random_range(0..=2 * jitter) as i64 - jitter as i64
                        } else {
                            0
                        };
                        let ms = (latency as i64 + j).max(0) as u64;
                        *at += Duration::from_millis(ms);
                    }
                }
                ToxicKind::Bandwidth { rate } if rate > 0 => {
                    // rate KB/s = rate bytes per ms; pieces of 100 ms at most.
                    let piece = (rate * 100).max(1) as usize;
                    let mut out = Vec::new();
                    let a = &mut self.active[i];
                    for (at, data) in segs {
                        let mut off = 0;
                        while off < data.len() {
                            let n = piece.min(data.len() - off);
                            let start = at.max(a.free_at);
                            let done = start + Duration::from_micros(n as u64 * 1000 / rate);
                            a.free_at = done;
                            out.push((done, data.slice(off..off + n)));
                            off += n;
                        }
                    }
                    segs = out;
                }
                ToxicKind::Slicer {
                    average_size,
                    size_variation,
                    delay,
                } if average_size > 0 => {
                    let mut out = Vec::new();
                    for (at, data) in segs {
                        let mut off = 0;
                        let mut t = at;
                        while off < data.len() {
                            let var = size_variation.min(average_size - 1) as i64;
                            let size = if var > 0 {
                                average_size as i64 + self.rng.random_range(-var..=var)
                            } else {
                                average_size as i64
                            };
                            let n = (size.max(1) as usize).min(data.len() - off);
                            out.push((t, data.slice(off..off + n)));
                            off += n;
                            t += Duration::from_micros(delay);
                        }
                    }
                    segs = out;
                }
                ToxicKind::LimitData { bytes } => {
                    let a = &mut self.active[i];
                    let mut out = Vec::new();
                    for (at, data) in segs {
                        let left = bytes.saturating_sub(a.passed) as usize;
                        if left == 0 {
                            break;
                        }
                        let n = left.min(data.len());
                        a.passed += n as u64;
                        out.push((at, data.slice(..n)));
                    }
                    segs = out;
                    if a.passed >= bytes {
                        self.close_after_queue = true;
                    }
                }
                ToxicKind::Timeout { .. } => {
                    // Data stops here: dropped, as Toxiproxy does; the
                    // close timer restarts with every chunk.
                    self.active[i].last_data = arrived;
                    segs.clear();
                }
                ToxicKind::ResetPeer { .. } => {
                    // The first chunk arms the reset and is dropped, as is
                    // everything after it.
                    self.active[i].triggered.get_or_insert(arrived);
                    segs.clear();
                }
                // Slow close acts at the end of the stream; a slicer with
                // no size and a bandwidth of 0 pass data as it comes.
                ToxicKind::SlowClose { .. }
                | ToxicKind::Slicer { .. }
                | ToxicKind::Bandwidth { .. } => {}
            }
        }
        let mut last = self.queue.back().map(|(at, _)| *at);
        for (at, data) in segs {
            let at = last.map_or(at, |l| at.max(l));
            last = Some(at);
            self.queue.push_back((at, data));
        }
        if self.close_after_queue && self.queue.is_empty() {
            self.finish(End::Close);
        }
    }

    /// Writes every queued chunk whose time has come. False when the pump
    /// must stop (write failed, or limit reached).
    async fn deliver_due(&mut self, w: &mut WriteHalf<'_>, counter: &AtomicU64) -> bool {
        let now = Instant::now();
        while self.queue.front().is_some_and(|(at, _)| *at <= now) {
            let (_, data) = self.queue.pop_front().expect("front exists");
            if w.write_all(&data).await.is_err() {
                self.finish(End::Close);
                return false;
            }
            counter.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        if self.close_after_queue && self.queue.is_empty() {
            let _ = w.flush().await;
            self.finish(End::Close);
            return false;
        }
        true
    }
}
