//! Milliseconds as topology and fault files write them (`250`,
//! `"250ms"`, `"2s"`), shared by the topology and the caps without either
//! importing the other.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Milliseconds written as `250`, `"250ms"`, `"2s"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Millis(pub Duration);

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Ms(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Ms(ms) => Ok(Millis(Duration::from_millis(ms))),
            Raw::Text(s) => humantime::parse_duration(s.trim())
                .map(Millis)
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "invalid duration {s:?}: expected milliseconds or e.g. 250ms, 2s"
                    ))
                }),
        }
    }
}
