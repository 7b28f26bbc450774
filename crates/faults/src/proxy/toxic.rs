//! Toxics: the network faults a proxy applies to the bytes it carries, with
//! Toxiproxy's names, attributes and JSON shape so its clients work unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::FaultError;

/// Which way the bytes flow: `upstream` is client to server, `downstream`
/// server to client (Toxiproxy's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Client to server.
    Upstream,
    /// Server to client.
    #[default]
    Downstream,
}

impl Stream {
    /// The name used in JSON and default toxic names.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Upstream => "upstream",
            Stream::Downstream => "downstream",
        }
    }
}

/// What a toxic does, with its validated attributes.
#[derive(Clone, Debug, PartialEq)]
pub enum ToxicKind {
    /// Delays every chunk by `latency` ms plus or minus up to `jitter` ms.
    Latency {
        /// Base delay, ms.
        latency: u64,
        /// Uniform jitter, ms.
        jitter: u64,
    },
    /// Caps the rate at `rate` KB/s (1 KB = 1000 bytes); 0 means no cap.
    Bandwidth {
        /// KB per second.
        rate: u64,
    },
    /// Delays the close that follows the end of the stream by `delay` ms.
    SlowClose {
        /// ms.
        delay: u64,
    },
    /// Drops all data and closes the connection after `timeout` ms (never
    /// when 0: data is dropped until the toxic is removed).
    Timeout {
        /// ms; 0 keeps the connection open.
        timeout: u64,
    },
    /// Resets the connection (TCP RST) after `timeout` ms.
    ResetPeer {
        /// ms.
        timeout: u64,
    },
    /// Cuts data into slices of `average_size` ± `size_variation` bytes,
    /// `delay` microseconds apart.
    Slicer {
        /// Bytes.
        average_size: u64,
        /// Bytes.
        size_variation: u64,
        /// Microseconds between slices.
        delay: u64,
    },
    /// Closes the connection once `bytes` bytes went through.
    LimitData {
        /// Bytes.
        bytes: u64,
    },
}

/// A toxic's type without its attributes: the one place its Toxiproxy
/// name and attribute names are written. Adding a toxic adds a variant
/// here and in [`ToxicKind`]; the exhaustive matches below and in
/// `link.rs` point at everything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToxicType {
    /// `latency`.
    Latency,
    /// `bandwidth`.
    Bandwidth,
    /// `slow_close`.
    SlowClose,
    /// `timeout`.
    Timeout,
    /// `reset_peer`.
    ResetPeer,
    /// `slicer`.
    Slicer,
    /// `limit_data`.
    LimitData,
}

impl ToxicType {
    /// Every type, in Toxiproxy's documentation order.
    pub const ALL: [ToxicType; 7] = [
        ToxicType::Latency,
        ToxicType::Bandwidth,
        ToxicType::SlowClose,
        ToxicType::Timeout,
        ToxicType::ResetPeer,
        ToxicType::Slicer,
        ToxicType::LimitData,
    ];

    /// The Toxiproxy type name.
    pub fn name(self) -> &'static str {
        match self {
            ToxicType::Latency => "latency",
            ToxicType::Bandwidth => "bandwidth",
            ToxicType::SlowClose => "slow_close",
            ToxicType::Timeout => "timeout",
            ToxicType::ResetPeer => "reset_peer",
            ToxicType::Slicer => "slicer",
            ToxicType::LimitData => "limit_data",
        }
    }

    /// The attributes it takes.
    pub fn attribute_names(self) -> &'static [&'static str] {
        match self {
            ToxicType::Latency => &["latency", "jitter"],
            ToxicType::Bandwidth => &["rate"],
            ToxicType::SlowClose => &["delay"],
            ToxicType::Timeout | ToxicType::ResetPeer => &["timeout"],
            ToxicType::Slicer => &["average_size", "size_variation", "delay"],
            ToxicType::LimitData => &["bytes"],
        }
    }

    /// The type a client names.
    pub fn parse(name: &str) -> Option<ToxicType> {
        ToxicType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Every type name, for messages.
    pub fn names() -> Vec<&'static str> {
        ToxicType::ALL.iter().map(|t| t.name()).collect()
    }
}

impl ToxicKind {
    /// Builds a toxic from its Toxiproxy type name and attributes; missing
    /// attributes are 0 as in Toxiproxy, unknown ones and negatives are errors.
    pub fn from_attributes(kind: &str, attrs: &Map<String, Value>) -> Result<Self, FaultError> {
        let Some(ty) = ToxicType::parse(kind) else {
            return Err(FaultError::invalid(
                "type",
                format!(
                    "unknown toxic type `{kind}`; expected one of {}",
                    ToxicType::names().join(", ")
                ),
            ));
        };
        let allowed = ty.attribute_names();
        if let Some(k) = attrs.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(FaultError::invalid(
                format!("attributes.{k}"),
                format!(
                    "`{kind}` has no attribute `{k}`; expected {}",
                    allowed.join(", ")
                ),
            ));
        }
        let get = |name: &str| -> Result<u64, FaultError> { attr_u64(attrs, name) };
        // Times are milliseconds (slicer's delay microseconds): no toxic
        // waits longer than a fault may last (an hour).
        let ms = |name: &str| -> Result<u64, FaultError> {
            let v = get(name)?;
            let cap = if ty == ToxicType::Slicer {
                MAX_TOXIC_MS * 1000
            } else {
                MAX_TOXIC_MS
            };
            if v > cap {
                return Err(FaultError::invalid(
                    format!("attributes.{name}"),
                    format!("{v} is over the limit of {cap} (an hour)"),
                ));
            }
            Ok(v)
        };
        Ok(match ty {
            ToxicType::Latency => ToxicKind::Latency {
                latency: ms("latency")?,
                jitter: ms("jitter")?,
            },
            ToxicType::Bandwidth => ToxicKind::Bandwidth { rate: get("rate")? },
            ToxicType::SlowClose => ToxicKind::SlowClose {
                delay: ms("delay")?,
            },
            ToxicType::Timeout => ToxicKind::Timeout {
                timeout: ms("timeout")?,
            },
            ToxicType::ResetPeer => ToxicKind::ResetPeer {
                timeout: ms("timeout")?,
            },
            ToxicType::Slicer => ToxicKind::Slicer {
                average_size: get("average_size")?,
                size_variation: get("size_variation")?,
                delay: ms("delay")?,
            },
            ToxicType::LimitData => ToxicKind::LimitData {
                bytes: get("bytes")?,
            },
        })
    }

    /// Its type.
    pub fn toxic_type(&self) -> ToxicType {
        match self {
            ToxicKind::Latency { .. } => ToxicType::Latency,
            ToxicKind::Bandwidth { .. } => ToxicType::Bandwidth,
            ToxicKind::SlowClose { .. } => ToxicType::SlowClose,
            ToxicKind::Timeout { .. } => ToxicType::Timeout,
            ToxicKind::ResetPeer { .. } => ToxicType::ResetPeer,
            ToxicKind::Slicer { .. } => ToxicType::Slicer,
            ToxicKind::LimitData { .. } => ToxicType::LimitData,
        }
    }

    /// The Toxiproxy type name.
    pub fn type_name(&self) -> &'static str {
        self.toxic_type().name()
    }

    /// The attributes as Toxiproxy shows them.
    pub fn attributes(&self) -> Map<String, Value> {
        let pairs: Vec<(&str, u64)> = match *self {
            ToxicKind::Latency { latency, jitter } => {
                vec![("latency", latency), ("jitter", jitter)]
            }
            ToxicKind::Bandwidth { rate } => vec![("rate", rate)],
            ToxicKind::SlowClose { delay } => vec![("delay", delay)],
            ToxicKind::Timeout { timeout } | ToxicKind::ResetPeer { timeout } => {
                vec![("timeout", timeout)]
            }
            ToxicKind::Slicer {
                average_size,
                size_variation,
                delay,
            } => vec![
                ("average_size", average_size),
                ("size_variation", size_variation),
                ("delay", delay),
            ],
            ToxicKind::LimitData { bytes } => vec![("bytes", bytes)],
        };
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect()
    }
}

/// The longest wait a toxic's attribute may ask for, in milliseconds.
pub const MAX_TOXIC_MS: u64 = 3_600_000;

fn attr_u64(attrs: &Map<String, Value>, name: &str) -> Result<u64, FaultError> {
    match attrs.get(name) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => {
            if let Some(n) = v.as_u64() {
                return Ok(n);
            }
            if let Some(f) = v.as_f64().filter(|f| *f >= 0.0 && f.is_finite()) {
                return Ok(f.round() as u64);
            }
            Err(FaultError::invalid(
                format!("attributes.{name}"),
                format!("expected a number ≥ 0, got {v}"),
            ))
        }
    }
}

/// A toxic in force on a proxy.
#[derive(Clone, Debug)]
pub struct Toxic {
    /// Unique among the proxy's toxics.
    pub name: String,
    /// Which way it acts.
    pub stream: Stream,
    /// Chance (0..=1) that it applies to a given connection.
    pub toxicity: f64,
    /// What it does.
    pub kind: ToxicKind,
    /// Changes on every add or update, so live connections redraw toxicity
    /// and restart timers for a toxic that changed.
    pub uid: u64,
    /// Lease id when the toxic was added with a lease (a Squall extension).
    pub lease: Option<LeaseTag>,
}

/// The lease of a toxic, shown beside Toxiproxy's fields.
#[derive(Clone, Debug, Serialize)]
pub struct LeaseTag {
    /// Lease id.
    pub id: String,
    /// Deadline, ms since the Unix epoch.
    pub deadline_unix_ms: u64,
    /// Shown in the toxic's JSON only when the client asked for a lease, so
    /// Toxiproxy clients see Toxiproxy's fields alone.
    #[serde(skip)]
    pub shown: bool,
}

/// A toxic as Toxiproxy's API shows it.
#[derive(Serialize)]
pub struct ToxicView {
    attributes: Map<String, Value>,
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    stream: &'static str,
    toxicity: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease: Option<LeaseTag>,
}

impl Toxic {
    /// The JSON view.
    pub fn view(&self) -> ToxicView {
        ToxicView {
            attributes: self.kind.attributes(),
            name: self.name.clone(),
            kind: self.kind.type_name(),
            stream: self.stream.as_str(),
            toxicity: self.toxicity,
            lease: self.lease.clone().filter(|l| l.shown),
        }
    }
}

/// Body of `POST /proxies/{p}/toxics` and of a toxic update: every field
/// optional so an update can change one.
#[derive(Deserialize, Default, Debug)]
pub struct ToxicRequest {
    /// Name; defaults to `<type>_<stream>`.
    pub name: Option<String>,
    /// Type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `upstream` or `downstream`.
    pub stream: Option<String>,
    /// 0..=1.
    pub toxicity: Option<f64>,
    /// Type-specific attributes.
    pub attributes: Option<Map<String, Value>>,
    /// Squall extension: lease in ms after which the toxic removes itself.
    #[serde(alias = "lease_ms")]
    pub ttl_ms: Option<u64>,
}

/// Parses a stream name.
pub fn parse_stream(s: &str) -> Result<Stream, FaultError> {
    match s {
        "upstream" => Ok(Stream::Upstream),
        "downstream" => Ok(Stream::Downstream),
        other => Err(FaultError::invalid(
            "stream",
            format!("unknown stream `{other}`; expected upstream or downstream"),
        )),
    }
}

/// Checks a toxicity value.
pub fn check_toxicity(t: f64) -> Result<f64, FaultError> {
    if (0.0..=1.0).contains(&t) {
        Ok(t)
    } else {
        Err(FaultError::invalid(
            "toxicity",
            format!("expected a probability between 0 and 1, got {t}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn parses_every_type_with_defaults_of_zero() {
        for t in ToxicType::ALL {
            let k = ToxicKind::from_attributes(t.name(), &Map::new()).unwrap();
            assert_eq!(k.toxic_type(), t);
            assert_eq!(k.type_name(), t.name());
            assert!(k.attributes().values().all(|v| v == 0));
            let attributes = k.attributes();
            let mut shown: Vec<&str> = attributes.keys().map(String::as_str).collect();
            shown.sort();
            let mut named = t.attribute_names().to_vec();
            named.sort();
            assert_eq!(shown, named, "{t:?} shows what it takes");
        }
        let k =
            ToxicKind::from_attributes("latency", &attrs(json!({"latency": 300, "jitter": 10})))
                .unwrap();
        assert_eq!(
            k,
            ToxicKind::Latency {
                latency: 300,
                jitter: 10
            }
        );
    }

    #[test]
    fn rejects_unknown_types_attributes_and_negatives() {
        let e = ToxicKind::from_attributes("lag", &Map::new()).unwrap_err();
        assert!(e.to_string().contains("unknown toxic type `lag`"), "{e}");
        let e = ToxicKind::from_attributes("latency", &attrs(json!({"delay": 1}))).unwrap_err();
        assert!(e.to_string().contains("attributes.delay"), "{e}");
        let e = ToxicKind::from_attributes("latency", &attrs(json!({"latency": -5}))).unwrap_err();
        assert!(e.to_string().contains("≥ 0"), "{e}");
        assert!(check_toxicity(1.5).is_err());
        assert!(parse_stream("sideways").is_err());
    }
}
