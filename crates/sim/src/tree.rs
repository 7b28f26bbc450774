//! MicroSim's request tree and response tree.
//!
//! Compatible with MicroSim's JSON (`designation`, `probability`,
//! `faults.before/after`, `routes`; responses `{service, address, errors,
//! response}`), with two extensions: `parallel: true` on a node calls its
//! children concurrently, and a route skipped by its probability appears in
//! `response` as `{"service": designation, "skipped": true, ...}` so a
//! client can tell "not called" from "failed" (`null`, with an entry in
//! `errors`).

use serde::{Deserialize, Serialize};

/// A node of the request tree.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Service name (resolved through the topology) or a full URL.
    pub designation: String,
    /// Chance 0..=100 that this node is called by its parent (default 100).
    #[serde(default = "hundred")]
    pub probability: u8,
    /// Faults run before and after the children.
    #[serde(default)]
    pub faults: Faults,
    /// Children, called in order (or concurrently with `parallel`).
    #[serde(default)]
    pub routes: Option<Vec<Route>>,
    /// Extension: call the children concurrently.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub parallel: bool,
}

fn hundred() -> u8 {
    100
}

/// Faults of a node.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Run in order before the children.
    #[serde(default)]
    pub before: Vec<FaultSpec>,
    /// Run in order after the children.
    #[serde(default)]
    pub after: Vec<FaultSpec>,
}

/// A fault as written: a type and its arguments.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `latency`, `memory-leak`, `cpu-load`, `error`, `abort`, `slow-body`, `crash`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Arguments of the type.
    #[serde(default)]
    pub args: serde_json::Map<String, serde_json::Value>,
}

/// A node of the response tree.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Reply {
    /// The service that answered (or the designation, for a skipped route).
    pub service: String,
    /// The address it was called at.
    pub address: String,
    /// What went wrong at this node (faults, failed children, caps).
    pub errors: Vec<String>,
    /// Children's replies in route order; `null` for a child that failed.
    pub response: Vec<Option<Reply>>,
    /// Extension: true when the route was skipped by its probability.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

impl Route {
    /// Depth of this subtree (a leaf is 1).
    pub fn depth(&self) -> u32 {
        1 + self
            .routes
            .iter()
            .flatten()
            .map(Route::depth)
            .max()
            .unwrap_or(0)
    }

    /// The children (none when `routes` is absent or null).
    pub fn children(&self) -> &[Route] {
        self.routes.as_deref().unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_reference_sample_shape() {
        let r: Route = serde_json::from_str(
            r#"{"designation":"service_1","probability":100,"faults":{"before":[{"type":"latency","args":{"delay":600}}],"after":[]},
               "routes":[{"designation":"service_2","probability":50,"faults":{"before":[],"after":[]},
               "routes":[{"designation":"service_4","probability":100,"faults":{"before":[],"after":[]}}]}]}"#,
        )
        .unwrap();
        assert_eq!(r.depth(), 3);
        assert_eq!(r.faults.before[0].kind, "latency");
        assert_eq!(r.children()[0].probability, 50);
    }
}
