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

use super::segments::{self, Segments};
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
    /// Bytes written to the upstream (client to upstream, after toxics).
    pub upstream_bytes: AtomicU64,
    /// Bytes written to the client (upstream to client, after toxics).
    pub downstream_bytes: AtomicU64,
    /// Bytes read from the client (Toxiproxy's `received`, upstream).
    pub upstream_received: AtomicU64,
    /// Bytes read from the upstream (Toxiproxy's `received`, downstream).
    pub downstream_received: AtomicU64,
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
            (&traffic.upstream_received, &traffic.upstream_bytes),
        );
        let down = pump(
            ur,
            cw,
            Stream::Downstream,
            toxics,
            &end_tx,
            (&traffic.downstream_received, &traffic.downstream_bytes),
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

/// One toxic of this direction with its per-connection state: the
/// pump's one list, in the proxy's order.
struct Active {
    uid: u64,
    /// What the toxic does.
    kind: ToxicKind,
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
    /// The toxic's name: an update keeps the name, a removal does not.
    name: String,
}

struct Pump<'a> {
    dir: Stream,
    born: Instant,
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
    (received, counter): (&AtomicU64, &AtomicU64),
) {
    let mut p = Pump {
        dir,
        born: Instant::now(),
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
                                received.fetch_add(n as u64, Ordering::Relaxed);
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
                        received.fetch_add(n as u64, Ordering::Relaxed);
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
                    kind: t.kind.clone(),
                    enabled,
                    passed: 0,
                    free_at: now,
                    last_data: now,
                    triggered: None,
                    at_start: now.duration_since(self.born) < Duration::from_millis(5),
                    name: t.name.clone(),
                });
            }
        }
        // Removing a timeout toxic closes the connections it held.
        let removed_timeout = self.active.iter().any(|a| {
            a.enabled
                && matches!(a.kind, ToxicKind::Timeout { .. })
                && !next.iter().any(|n| n.name == a.name)
        });
        if removed_timeout {
            self.finish(End::Close);
        }
        self.active = next;
    }

    /// The toxics of this direction that apply to this connection, in order.
    fn enabled(&self) -> impl Iterator<Item = &Active> {
        self.active.iter().filter(|a| a.enabled)
    }

    fn any_enabled(&self) -> bool {
        self.active.iter().any(|a| a.enabled)
    }

    fn slow_close(&self) -> Option<Duration> {
        self.enabled().find_map(|a| match a.kind {
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
        for a in self.enabled() {
            let at = match a.kind {
                ToxicKind::Timeout { timeout } if timeout > 0 => {
                    a.last_data + Duration::from_millis(timeout)
                }
                ToxicKind::ResetPeer { timeout } => match a.triggered {
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
        for a in self.enabled() {
            match a.kind {
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
        for a in self.active.iter_mut().filter(|a| a.enabled) {
            if matches!(a.kind, ToxicKind::ResetPeer { .. }) {
                a.triggered.get_or_insert(now);
            }
        }
    }

    fn reset_pending(&self) -> bool {
        self.enabled()
            .any(|a| matches!(a.kind, ToxicKind::ResetPeer { .. }) && a.triggered.is_some())
    }

    /// Runs one chunk through the toxics in force, in order, and queues
    /// what comes out.
    fn admit(&mut self, data: Bytes, arrived: Instant) {
        let mut segs: Segments = vec![(arrived, data)];
        let Pump {
            active,
            rng,
            close_after_queue,
            ..
        } = self;
        for a in active.iter_mut().filter(|a| a.enabled) {
            segs = match a.kind {
                ToxicKind::Latency { latency, jitter } => {
                    segments::delay(segs, latency, jitter, rng)
                }
                ToxicKind::Bandwidth { rate } if rate > 0 => {
                    segments::pace(segs, rate, &mut a.free_at)
                }
                ToxicKind::Slicer {
                    average_size,
                    size_variation,
                    delay,
                } if average_size > 0 => {
                    segments::slice(segs, average_size, size_variation, delay, rng)
                }
                ToxicKind::LimitData { bytes } => {
                    let (out, reached) = segments::limit(segs, bytes, &mut a.passed);
                    *close_after_queue |= reached;
                    out
                }
                // Data stops here: dropped, as Toxiproxy does; the close
                // timer restarts with every chunk.
                ToxicKind::Timeout { .. } => {
                    a.last_data = arrived;
                    Vec::new()
                }
                // The first chunk arms the reset and is dropped, as is
                // everything after it.
                ToxicKind::ResetPeer { .. } => {
                    a.triggered.get_or_insert(arrived);
                    Vec::new()
                }
                // Slow close acts at the end of the stream; a slicer with
                // no size and a bandwidth of 0 pass data as it comes.
                ToxicKind::SlowClose { .. }
                | ToxicKind::Slicer { .. }
                | ToxicKind::Bandwidth { .. } => segs,
            };
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
