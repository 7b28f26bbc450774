//! Stages turned into time functions: when arrival `k` is due (open model)
//! and how many users should be running at time `t` (closed model).

use std::time::Duration;

use crate::plan::Stage;

/// Tolerance for floating-point error in cumulative arrival counts.
const EPS: f64 = 1e-9;

#[derive(Clone, Debug)]
struct Piece {
    start: f64,
    duration: f64,
    /// Cumulative (real-valued) arrivals before this piece.
    n_start: f64,
    /// Arrivals in this piece.
    n: f64,
    from: f64,
    to: f64,
}

/// When each arrival of an open-model plan is due, relative to the start.
///
/// Arrival `k` (0-based) is due when the integral of the rate reaches `k`;
/// a burst of `N` makes `N` arrivals due at the same instant. So a constant
/// 200/s for 5 s yields exactly arrivals 0..=999 at `k/200` s.
#[derive(Clone, Debug)]
pub struct ArrivalSchedule {
    pieces: Vec<Piece>,
    total: f64,
    end: f64,
}

impl ArrivalSchedule {
    /// Builds the schedule of a list of open-model stages.
    pub fn new(stages: &[Stage]) -> Self {
        let mut pieces = Vec::new();
        let (mut t, mut n, mut level) = (0.0f64, 0.0f64, 0.0f64);
        for s in stages {
            match *s {
                Stage::Hold { level: l, duration } => {
                    let d = duration.get().as_secs_f64();
                    pieces.push(Piece {
                        start: t,
                        duration: d,
                        n_start: n,
                        n: l * d,
                        from: l,
                        to: l,
                    });
                    t += d;
                    n += l * d;
                    level = l;
                }
                Stage::Ramp { from, to, duration } => {
                    let a = from.unwrap_or(level);
                    let d = duration.get().as_secs_f64();
                    let area = (a + to) / 2.0 * d;
                    pieces.push(Piece {
                        start: t,
                        duration: d,
                        n_start: n,
                        n: area,
                        from: a,
                        to,
                    });
                    t += d;
                    n += area;
                    level = to;
                }
                Stage::Burst(b) => {
                    let b = b as f64;
                    pieces.push(Piece {
                        start: t,
                        duration: 0.0,
                        n_start: n,
                        n: b,
                        from: 0.0,
                        to: 0.0,
                    });
                    n += b;
                }
            }
        }
        Self {
            pieces,
            total: n,
            end: t,
        }
    }

    /// Total arrivals of the whole plan (all segments).
    pub fn total_arrivals(&self) -> u64 {
        if self.total <= 0.0 {
            0
        } else {
            (self.total - EPS).ceil().max(0.0) as u64
        }
    }

    /// Length of the schedule.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.end)
    }

    /// When arrival `k` is due, or `None` past the end of the plan.
    pub fn time_of(&self, k: u64) -> Option<Duration> {
        let kf = k as f64;
        if kf >= self.total - EPS {
            return None;
        }
        // Pieces are few; a linear scan from the end finds the last piece
        // that starts at or before `k`.
        let p = self
            .pieces
            .iter()
            .rev()
            .find(|p| p.n_start <= kf + EPS && p.n > EPS)?;
        let m = (kf - p.n_start).max(0.0);
        let tau = if p.duration == 0.0 {
            0.0
        } else {
            let c1 = p.from;
            let c2 = (p.to - p.from) / (2.0 * p.duration);
            let disc = (c1 * c1 + 4.0 * c2 * m).max(0.0);
            let denom = c1 + disc.sqrt();
            if denom <= 0.0 {
                0.0
            } else {
                (2.0 * m / denom).min(p.duration)
            }
        };
        Some(Duration::from_secs_f64(p.start + tau))
    }
}

/// The closed-model user count over time, piecewise linear.
#[derive(Clone, Debug)]
pub struct LevelCurve {
    pieces: Vec<(f64, f64, f64, f64)>,
    end: f64,
}

impl LevelCurve {
    /// Builds the curve of a list of closed-model stages.
    pub fn new(stages: &[Stage]) -> Self {
        let mut pieces = Vec::new();
        let (mut t, mut level) = (0.0f64, 0.0f64);
        for s in stages {
            match *s {
                Stage::Hold { level: l, duration } => {
                    let d = duration.get().as_secs_f64();
                    pieces.push((t, d, l, l));
                    t += d;
                    level = l;
                }
                Stage::Ramp { from, to, duration } => {
                    let d = duration.get().as_secs_f64();
                    pieces.push((t, d, from.unwrap_or(level), to));
                    t += d;
                    level = to;
                }
                Stage::Burst(_) => {}
            }
        }
        Self { pieces, end: t }
    }

    /// Whole users wanted at `t` (0 after the end).
    pub fn users_at(&self, t: Duration) -> u64 {
        let t = t.as_secs_f64();
        if t >= self.end {
            return 0;
        }
        let Some(&(start, d, a, b)) = self.pieces.iter().rev().find(|p| p.0 <= t) else {
            return 0;
        };
        let frac = if d == 0.0 { 1.0 } else { (t - start) / d };
        (a + (b - a) * frac + EPS).floor().max(0.0) as u64
    }

    /// The highest level anywhere in the curve.
    pub fn peak(&self) -> u64 {
        self.pieces
            .iter()
            .map(|p| p.2.max(p.3) as u64)
            .max()
            .unwrap_or(0)
    }

    /// Length of the curve.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Dur;

    fn secs(s: f64) -> Dur {
        Dur(Duration::from_secs_f64(s))
    }

    #[test]
    fn constant_rate_gives_exact_count_and_spacing() {
        let s = ArrivalSchedule::new(&[Stage::Hold {
            level: 200.0,
            duration: secs(5.0),
        }]);
        assert_eq!(s.total_arrivals(), 1000);
        assert_eq!(s.time_of(0), Some(Duration::ZERO));
        assert_eq!(s.time_of(999).unwrap().as_micros(), 4_995_000);
        assert_eq!(s.time_of(1000), None);
    }

    #[test]
    fn ramp_then_burst_then_hold() {
        let s = ArrivalSchedule::new(&[
            Stage::Ramp {
                from: Some(0.0),
                to: 100.0,
                duration: secs(10.0),
            },
            Stage::Burst(50),
            Stage::Hold {
                level: 10.0,
                duration: secs(1.0),
            },
        ]);
        // Ramp area = 500, then 50 at once, then 10.
        assert_eq!(s.total_arrivals(), 560);
        // Halfway through the ramp's arrivals is at t = 10 / sqrt(2).
        let t = s.time_of(250).unwrap().as_secs_f64();
        assert!((t - 10.0 / 2f64.sqrt()).abs() < 1e-6, "{t}");
        assert_eq!(s.time_of(500).unwrap().as_secs_f64(), 10.0);
        assert_eq!(s.time_of(549).unwrap().as_secs_f64(), 10.0);
        let t = s.time_of(555).unwrap().as_secs_f64();
        assert!((t - 10.5).abs() < 1e-9, "{t}");
        // Times never go backwards.
        let mut last = Duration::ZERO;
        for k in 0..560 {
            let t = s.time_of(k).unwrap();
            assert!(t >= last);
            last = t;
        }
    }

    #[test]
    fn ramp_down_to_zero_ends_cleanly() {
        let s = ArrivalSchedule::new(&[
            Stage::Hold {
                level: 10.0,
                duration: secs(1.0),
            },
            Stage::Ramp {
                from: None,
                to: 0.0,
                duration: secs(2.0),
            },
        ]);
        assert_eq!(s.total_arrivals(), 20);
        assert!(s.time_of(19).unwrap() < Duration::from_secs(3));
    }

    #[test]
    fn users_ramp_up_sustain_down() {
        let c = LevelCurve::new(&[
            Stage::Ramp {
                from: None,
                to: 10.0,
                duration: secs(10.0),
            },
            Stage::Hold {
                level: 10.0,
                duration: secs(5.0),
            },
            Stage::Ramp {
                from: None,
                to: 0.0,
                duration: secs(5.0),
            },
        ]);
        assert_eq!(c.users_at(Duration::from_secs(0)), 0);
        assert_eq!(c.users_at(Duration::from_secs(5)), 5);
        assert_eq!(c.users_at(Duration::from_secs(12)), 10);
        assert_eq!(c.users_at(Duration::from_millis(17_500)), 5);
        assert_eq!(c.users_at(Duration::from_secs(20)), 0);
        assert_eq!(c.peak(), 10);
    }
}
