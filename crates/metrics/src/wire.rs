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
pub fn decode(s: &str) -> Result<LatencyHistogram, WireError> {
    let bytes = STANDARD.decode(s.trim())?;
    let h = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(WireError::Decode)?;
    Ok(LatencyHistogram::from_hdr(h))
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
    fn rejects_garbage() {
        assert!(decode("not base64!").is_err());
        assert!(decode("aGVsbG8=").is_err());
    }
}
