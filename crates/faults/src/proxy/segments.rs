//! How each toxic reshapes a chunk on its way through a connection: the
//! chunk is a list of segments, each with the instant it may be delivered,
//! and every toxic in force turns that list into the next. One function
//! per toxic that moves data, so adding one is one function and one arm
//! in `link.rs`'s exhaustive match.

use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use rand::rngs::SmallRng;
use tokio::time::Instant;

/// Pieces of a chunk with their delivery instants, in order.
pub(super) type Segments = Vec<(Instant, Bytes)>;

/// latency: every segment later by `latency` ms, give or take `jitter` ms.
pub(super) fn delay(mut segs: Segments, latency: u64, jitter: u64, rng: &mut SmallRng) -> Segments {
    for (at, _) in &mut segs {
        let j = if jitter > 0 {
            rng.random_range(0..=2 * jitter) as i64 - jitter as i64
        } else {
            0
        };
        let ms = (latency as i64 + j).max(0) as u64;
        *at += Duration::from_millis(ms);
    }
    segs
}

/// bandwidth: `rate` KB/s (= bytes per ms) from when the link is free
/// (`free_at`, kept per connection), in pieces of 100 ms at most.
pub(super) fn pace(segs: Segments, rate: u64, free_at: &mut Instant) -> Segments {
    let piece = (rate * 100).max(1) as usize;
    let mut out = Vec::new();
    for (at, data) in segs {
        let mut off = 0;
        while off < data.len() {
            let n = piece.min(data.len() - off);
            let start = at.max(*free_at);
            let done = start + Duration::from_micros(n as u64 * 1000 / rate);
            *free_at = done;
            out.push((done, data.slice(off..off + n)));
            off += n;
        }
    }
    out
}

/// slicer: pieces of `average` bytes (± `variation`), `delay_us` apart.
pub(super) fn slice(
    segs: Segments,
    average: u64,
    variation: u64,
    delay_us: u64,
    rng: &mut SmallRng,
) -> Segments {
    let mut out = Vec::new();
    for (at, data) in segs {
        let mut off = 0;
        let mut t = at;
        while off < data.len() {
            let var = variation.min(average - 1) as i64;
            let size = if var > 0 {
                average as i64 + rng.random_range(-var..=var)
            } else {
                average as i64
            };
            let n = (size.max(1) as usize).min(data.len() - off);
            out.push((t, data.slice(off..off + n)));
            off += n;
            t += Duration::from_micros(delay_us);
        }
    }
    out
}

/// limit_data: lets `bytes` through in all (`passed` is kept per
/// connection); also says whether the limit is reached.
pub(super) fn limit(segs: Segments, bytes: u64, passed: &mut u64) -> (Segments, bool) {
    let mut out = Vec::new();
    for (at, data) in segs {
        let left = bytes.saturating_sub(*passed) as usize;
        if left == 0 {
            break;
        }
        let n = left.min(data.len());
        *passed += n as u64;
        out.push((at, data.slice(..n)));
    }
    (out, *passed >= bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn chunk(n: usize) -> Segments {
        vec![(Instant::now(), Bytes::from(vec![0u8; n]))]
    }

    #[tokio::test]
    async fn each_toxic_keeps_every_byte_it_lets_through_in_order() {
        let mut rng = SmallRng::seed_from_u64(1);
        let t0 = Instant::now();
        let late = delay(chunk(10), 50, 0, &mut rng);
        assert!(late[0].0 >= t0 + Duration::from_millis(50));
        let mut free = t0;
        let paced = pace(chunk(2500), 10, &mut free);
        assert_eq!(
            paced.iter().map(|(_, d)| d.len()).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
        assert!(
            free >= t0 + Duration::from_millis(250),
            "2,500 bytes at 10 KB/s"
        );
        let sliced = slice(chunk(10), 3, 0, 100, &mut rng);
        assert_eq!(sliced.iter().map(|(_, d)| d.len()).sum::<usize>(), 10);
        assert_eq!(sliced.len(), 4);
        let mut passed = 0;
        let (first, done) = limit(chunk(6), 10, &mut passed);
        assert_eq!((first[0].1.len(), done), (6, false));
        let (second, done) = limit(chunk(6), 10, &mut passed);
        assert_eq!((second[0].1.len(), done), (4, true));
    }
}
