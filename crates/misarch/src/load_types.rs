//! The arrival shapes of MiSArch's generated load types, per second, as
//! its generator makes them (`d` = testDuration seconds, `r` = rate):
//!
//! - **ScalabilityLoadTest**: `max(1, ⌊i·r⌋)` for i in 0..d, one scenario.
//! - **ElasticityLoadTest**: three times `max(1, ⌊i·r⌋)` for d/6 seconds,
//!   then d/6 seconds of 1; one scenario.
//! - **ResilienceLoadTest**: `max(1, ⌊i·r/2⌋)` for d/6, 1 for d/6, a spike
//!   `max(1, ⌊i·r·25⌋)` up for d/24 and mirrored down, 1 for d/6, 100 for
//!   d/3, 1 for d/12; the same curve for both scenarios.
//! - **NormalLoadTest** ("Realistic"): a day of traffic scaled so its peak
//!   is `maximumArrivingUsersPerSecond`, split between buying (⌊n/2⌋, none
//!   below 2) and aborting (⌊n/2⌋, all below 2) users, as the original
//!   splits. The original cuts a window from a recorded day that is not
//!   ours to ship; this one is squall's own: a whole day compressed into
//!   `d` seconds (quiet night, morning rise, lunch and evening peaks) with
//!   a fixed ±10 % texture, the same for the same `d`.

/// MiSArch's load types.
pub const LOAD_TYPES: &[&str] = &[
    "NormalLoadTest",
    "ScalabilityLoadTest",
    "ElasticityLoadTest",
    "ResilienceLoadTest",
];

/// Arrivals per second of each scenario of a generated experiment:
/// `(buying, aborting)`; the aborting list is empty for the load types
/// that have one scenario.
pub fn arrivals(
    load_type: &str,
    d: u32,
    rate: f64,
    max_users: u32,
) -> Option<(Vec<u32>, Vec<u32>)> {
    let ramp = |n: u32, k: f64| (0..n).map(move |i| ((f64::from(i) * k) as u32).max(1));
    let ones = |n: u32| std::iter::repeat_n(1u32, n as usize);
    Some(match load_type {
        "ScalabilityLoadTest" => (ramp(d, rate).collect(), Vec::new()),
        "ElasticityLoadTest" => {
            let cycle: Vec<u32> = ramp(d / 6, rate).chain(ones(d / 6)).collect();
            (cycle.repeat(3), Vec::new())
        }
        "ResilienceLoadTest" => {
            let spike: Vec<u32> = ramp(d / 24, rate * 25.0).collect();
            let curve: Vec<u32> = ramp(d / 6, rate / 2.0)
                .chain(ones(d / 6))
                .chain(spike.iter().copied())
                .chain(spike.iter().rev().copied())
                .chain(ones(d / 6))
                .chain(std::iter::repeat_n(100, (d / 3) as usize))
                .chain(ones(d / 12))
                .collect();
            (curve.clone(), curve)
        }
        "NormalLoadTest" => {
            let day = day_shape(d);
            let users: Vec<u32> = day
                .iter()
                .map(|v| (v * f64::from(max_users)) as u32)
                .collect();
            let buy = users
                .iter()
                .map(|n| if *n < 2 { 0 } else { n / 2 })
                .collect();
            let abort = users
                .iter()
                .map(|n| if *n < 2 { *n } else { n / 2 })
                .collect();
            (buy, abort)
        }
        _ => return None,
    })
}

fn bump(t: f64, at: f64, width: f64) -> f64 {
    (-((t - at) / width).powi(2) / 2.0).exp()
}

/// A day compressed into `d` seconds, peak exactly 1.
fn day_shape(d: u32) -> Vec<f64> {
    let raw: Vec<f64> = (0..d)
        .map(|i| {
            let t = f64::from(i) / f64::from(d.max(1));
            let level = 0.08
                + 0.45 * bump(t, 0.40, 0.07)
                + 0.60 * bump(t, 0.53, 0.05)
                + 1.00 * bump(t, 0.82, 0.06);
            // A fixed texture: the same for the same second.
            let h = (u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as f64
                / (1u64 << 24) as f64;
            level * (0.9 + 0.2 * h)
        })
        .collect();
    let peak = raw.iter().copied().fold(0.0, f64::max);
    raw.iter()
        .map(|v| if peak > 0.0 { v / peak } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_original_formulas() {
        let (s, none) = arrivals("ScalabilityLoadTest", 5, 0.9, 10).unwrap();
        assert_eq!((s, none), (vec![1, 1, 1, 2, 3], vec![]));
        let (e, _) = arrivals("ElasticityLoadTest", 12, 2.0, 10).unwrap();
        assert_eq!(e, vec![1, 2, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1]);
        let (r, r2) = arrivals("ResilienceLoadTest", 48, 1.0, 10).unwrap();
        assert_eq!(r, r2);
        assert_eq!(r.len(), 8 + 8 + 2 + 2 + 8 + 16 + 4);
        assert_eq!(&r[16..20], &[1, 25, 25, 1], "the spike up and down");
        assert_eq!(r[28], 100);
        assert!(arrivals("Other", 10, 1.0, 1).is_none());
    }

    #[test]
    fn the_day_peaks_at_the_maximum_and_splits_as_the_original() {
        let (buy, abort) = arrivals("NormalLoadTest", 1800, 0.9, 10).unwrap();
        let total: Vec<u32> = buy.iter().zip(&abort).map(|(a, b)| a + b).collect();
        assert_eq!(buy.len(), 1800);
        let peak = *total.iter().max().unwrap();
        assert!(
            (9..=10).contains(&peak),
            "peak {peak} (odd counts lose one in the split)"
        );
        assert!(total[..100].iter().all(|n| *n <= 2), "a quiet night");
        for (b, a) in buy.iter().zip(&abort) {
            assert!(*b == *a || (*b == 0 && *a < 2), "{b} {a}");
        }
    }
}
