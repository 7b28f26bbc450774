//! Compact encoding of histograms: HdrHistogram's V2 + deflate format in
//! base64, the form HdrHistogram interval logs use and the form generators
//! ship to a coordinator.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

use crate::LatencyHistogram;

/// Why a histogram could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not valid base64.
    #[error("histogram is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// Not a valid V2 (deflate) histogram.
    #[error("histogram could not be decoded: {0:?}")]
    Decode(hdrhistogram::serialization::DeserializeError),
    /// A V2 histogram that is cut short or inconsistent.
    #[error("histogram could not be decoded: {0}")]
    Malformed(String),
}

/// Encodes a histogram as base64 of its V2 + deflate serialization.
pub fn encode(h: &LatencyHistogram) -> String {
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h.hdr(), &mut buf)
        .expect("serializing into memory cannot fail");
    STANDARD.encode(buf)
}

/// Decodes what [`encode`] produced (or any V2/V2-deflate histogram).
///
/// A histogram with squall's own range and precision is read as its
/// non-zero buckets only (a coordinator adds those into the merged second
/// without building a 188 KB counts array per report); any other is read
/// by HdrHistogram's deserializer and fitted into squall's range.
pub fn decode(s: &str) -> Result<LatencyHistogram, WireError> {
    let bytes = STANDARD.decode(s.trim())?;
    if let Some(buckets) = own_buckets(&bytes)? {
        return Ok(LatencyHistogram::from_buckets(buckets));
    }
    let h = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(WireError::Decode)?;
    Ok(LatencyHistogram::from_hdr(h))
}

/// HdrHistogram's V2 cookies for 8-byte counts (base `0x1c849303` /
/// `0x1c849304`, `| 0x10` for the word size).
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_DEFLATE_COOKIE: u32 = 0x1c84_9314;
/// More than any counts payload at squall's range (23,552 counts of at most 9 bytes).
const MAX_PAYLOAD: u64 = 1 << 20;
/// Counts per half sub-bucket at 3 significant digits (2^10).
const HALF_MAGNITUDE: u32 = 10;

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The non-zero buckets of a V2 histogram with squall's range, or `None`
/// for any other histogram (read the general way).
fn own_buckets(bytes: &[u8]) -> Result<Option<Vec<(u64, u64)>>, WireError> {
    let bad = |why: &str| WireError::Malformed(why.to_string());
    let inflated;
    let v2: &[u8] = match be_u32(bytes, 0) {
        Some(V2_DEFLATE_COOKIE) => {
            let len = be_u32(bytes, 4).ok_or_else(|| bad("truncated header"))? as usize;
            let body = bytes.get(8..8 + len).ok_or_else(|| bad("truncated body"))?;
            let mut out = Vec::new();
            std::io::Read::read_to_end(
                &mut std::io::Read::take(flate2::read::ZlibDecoder::new(body), MAX_PAYLOAD),
                &mut out,
            )
            .map_err(|e| bad(&format!("cannot inflate: {e}")))?;
            inflated = out;
            &inflated
        }
        Some(V2_COOKIE) => bytes,
        _ => return Ok(None),
    };
    if be_u32(v2, 0) != Some(V2_COOKIE) {
        return Ok(None);
    }
    let (Some(len), Some(offset), Some(digits), Some(low), Some(high), Some(ratio)) = (
        be_u32(v2, 4),
        be_u32(v2, 8),
        be_u32(v2, 12),
        be_u64(v2, 16),
        be_u64(v2, 24),
        be_u64(v2, 32),
    ) else {
        return Ok(None);
    };
    let ours = offset == 0
        && digits == u32::from(crate::histogram::SIGFIG)
        && low == crate::histogram::LOWEST_US
        && high == crate::histogram::HIGHEST_US
        && f64::from_bits(ratio) == 1.0;
    if !ours {
        return Ok(None);
    }
    let payload = v2
        .get(40..40 + len as usize)
        .ok_or_else(|| bad("truncated payload"))?;
    static COUNTS_LEN: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let counts_len = *COUNTS_LEN.get_or_init(|| LatencyHistogram::new().hdr().distinct_values());
    let mut buckets = Vec::new();
    let (mut at, mut index) = (0usize, 0usize);
    while at < payload.len() {
        let (n, used) = varint(&payload[at..]).ok_or_else(|| bad("truncated count"))?;
        at += used;
        let n = ((n >> 1) as i64) ^ -((n & 1) as i64);
        if n < 0 {
            index = index.saturating_add(n.unsigned_abs() as usize);
            continue;
        }
        if index >= counts_len {
            return Err(bad("a count beyond the histogram's range"));
        }
        if n > 0 {
            buckets.push((value_at(index), n as u64));
        }
        index += 1;
    }
    Ok(Some(buckets))
}

/// HdrHistogram's LEB128 variant: 7 bits per byte for 8 bytes, all 8 bits
/// of a ninth.
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..9 {
        let byte = *b.get(i)?;
        if i == 8 {
            return Some((v | (u64::from(byte) << 56), 9));
        }
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// The lowest value of counts index `index` at squall's range (lowest 1,
/// so unit magnitude 0) and precision.
fn value_at(index: usize) -> u64 {
    let half = 1usize << HALF_MAGNITUDE;
    let mut bucket = (index >> HALF_MAGNITUDE) as i64 - 1;
    let mut sub = (index & (half - 1)) + half;
    if bucket < 0 {
        sub -= half;
        bucket = 0;
    }
    (sub as u64) << bucket
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut h = LatencyHistogram::new();
        for v in [1, 10, 100, 1000, 1_000_000] {
            h.record_us(v);
        }
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back.len(), 5);
        assert_eq!(back.percentiles(), h.percentiles());
    }

    #[test]
    fn the_bucket_reading_equals_hdrhistograms_own() {
        // Values over the whole range, many per bucket and wide gaps
        // between (zero runs), as recorded latencies are.
        let mut h = LatencyHistogram::new();
        let mut x = 7u64;
        for i in 0..20_000u64 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let v = match i % 4 {
                0 => 1 + x % 2_000,
                1 => 1 + x % 200_000,
                2 => 1 + x % 60_000_000,
                _ => 1 + x % HIGHEST_TEST,
            };
            h.record_us(v);
        }
        h.record_us(1);
        h.record_us(3_600_000_000);
        let encoded = encode(&h);
        let bytes = STANDARD.decode(&encoded).unwrap();
        assert!(
            own_buckets(&bytes).unwrap().is_some(),
            "squall's own histograms are read bucket by bucket"
        );
        let ours = decode(&encoded).unwrap();
        let theirs = Deserializer::new()
            .deserialize::<u64, _>(&mut bytes.as_slice())
            .unwrap();
        assert_eq!(ours.hdr(), &theirs);
        assert_eq!(ours.hdr(), h.hdr());
        assert_eq!(ours.percentiles(), h.percentiles());
        // Added into another histogram without being made dense first.
        let mut sum = LatencyHistogram::new();
        sum.record_us(5);
        sum.merge(&ours);
        let mut want = h.clone();
        want.record_us(5);
        assert_eq!(sum.hdr(), want.hdr());
    }

    const HIGHEST_TEST: u64 = 3_600_000_000;

    #[test]
    fn a_cut_histogram_is_an_error() {
        let mut h = LatencyHistogram::new();
        h.record_us(1000);
        let bytes = STANDARD.decode(encode(&h)).unwrap();
        let cut = STANDARD.encode(&bytes[..bytes.len() - 3]);
        assert!(decode(&cut).is_err());
    }

    #[test]
    fn rejects_garbage() {
        assert!(decode("not base64!").is_err());
        assert!(decode("aGVsbG8=").is_err());
    }
}
