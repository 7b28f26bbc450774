//! MicroSim's request tree and response tree, read as MicroSim reads them.
//!
//! Compatible with MicroSim's JSON (`designation`, `probability`,
//! `faults.before/after`, `routes`; responses `{service, address, errors,
//! response}`), with two extensions: `parallel: true` on a node calls its
//! children concurrently, and a route skipped by its probability appears in
//! `response` as `{"service": designation, "skipped": true, ...}` so a
//! client can tell "not called" from "failed" (`null`, with an entry in
//! `errors`).
//!
//! The reader is tolerant because MicroSim's services are: a tree produced
//! for MicroSim must run here. Unknown fields are ignored and named in the
//! reply's `warnings`; a child route that cannot be used (no designation, a
//! field of the wrong type, a probability outside 0..100) becomes one error
//! entry and a `null` at its place while its siblings are still called; only
//! a root that cannot be read is refused.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A node of the request tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// Service name (resolved through the topology) or a full URL.
    pub designation: String,
    /// Chance 0..=100 that this node is called by its parent (default 100).
    pub probability: f64,
    /// Faults run before and after the children.
    pub faults: Faults,
    /// Children, called in order (or concurrently with `parallel`).
    pub routes: Vec<Node>,
    /// Extension: call the children concurrently.
    pub parallel: bool,
    /// Fields of this node (not of its children) that were ignored, as
    /// paths relative to the node (`color`, `faults.before[0].note`).
    pub ignored: Vec<String>,
    /// The node as received: what is forwarded to its designation, so
    /// fields this reader ignores travel on unchanged, as in MicroSim.
    pub raw: Value,
}

/// A child as read: a usable route, or why it cannot be used.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// A route that can be called.
    Route(Box<Route>),
    /// A route that cannot: `field: message`.
    Unusable(String),
}

/// Faults of a node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Run in order before the children.
    pub before: Vec<FaultItem>,
    /// Run in order after the children.
    pub after: Vec<FaultItem>,
}

/// A fault entry as read: a spec, or why it cannot be used (it becomes an
/// error entry of its node, as an unknown fault type does in MicroSim).
pub type FaultItem = Result<FaultSpec, String>;

/// A fault as written: a type and its arguments.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `latency`, `memory-leak`, `cpu-load`, `error`, `abort`, `slow-body`, `crash`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Arguments of the type.
    #[serde(default)]
    pub args: serde_json::Map<String, Value>,
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
    /// Extension: fields of this node's request that were ignored; absent
    /// when none were, so replies to clean trees are MicroSim's shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

const ROUTE_FIELDS: &[&str] = &["designation", "probability", "faults", "routes", "parallel"];

impl Route {
    /// Reads a node and its subtree; `Err` is `field: message` for a node
    /// that cannot be used (for the root: a 400).
    pub fn read(v: &Value) -> Result<Route, String> {
        let Some(o) = v.as_object() else {
            return Err(format!("a route must be an object, got {}", kind_of(v)));
        };
        let designation = match o.get("designation") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::String(_)) => return Err("designation: must not be empty".into()),
            None | Some(Value::Null) => return Err("designation: is required".into()),
            Some(other) => {
                return Err(format!(
                    "designation: must be a string, got {}",
                    kind_of(other)
                ));
            }
        };
        let probability = match o.get("probability") {
            None | Some(Value::Null) => 100.0,
            Some(Value::Number(n)) => {
                let p = n.as_f64().unwrap_or(f64::NAN);
                if !(0.0..=100.0).contains(&p) {
                    return Err(format!("probability: must be within 0..100, got {n}"));
                }
                p
            }
            Some(other) => {
                return Err(format!(
                    "probability: must be a number within 0..100, got {}",
                    kind_of(other)
                ));
            }
        };
        let parallel = match o.get("parallel") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(format!(
                    "parallel: must be true or false, got {}",
                    kind_of(other)
                ));
            }
        };
        let mut ignored: Vec<String> = o
            .keys()
            .filter(|k| !ROUTE_FIELDS.contains(&k.as_str()))
            .cloned()
            .collect();
        let faults = read_faults(o.get("faults"), &mut ignored)?;
        let routes = match o.get("routes") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(children)) => children
                .iter()
                .enumerate()
                .map(|(i, c)| match Route::read(c) {
                    Ok(r) => Node::Route(Box::new(r)),
                    Err(e) => Node::Unusable(format!("routes[{i}].{e}")),
                })
                .collect(),
            Some(other) => {
                return Err(format!("routes: must be a list, got {}", kind_of(other)));
            }
        };
        Ok(Route {
            designation,
            probability,
            faults,
            routes,
            parallel,
            ignored,
            raw: v.clone(),
        })
    }

    /// Depth of this subtree (a leaf is 1).
    pub fn depth(&self) -> u32 {
        1 + self.children().map(Route::depth).max().unwrap_or(0)
    }

    /// The usable children.
    pub fn children(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter().filter_map(|n| match n {
            Node::Route(r) => Some(r.as_ref()),
            Node::Unusable(_) => None,
        })
    }
}

fn read_faults(v: Option<&Value>, ignored: &mut Vec<String>) -> Result<Faults, String> {
    let o = match v {
        None | Some(Value::Null) => return Ok(Faults::default()),
        Some(Value::Object(o)) => o,
        Some(other) => {
            return Err(format!(
                "faults: must be an object with before and after, got {}",
                kind_of(other)
            ));
        }
    };
    for k in o.keys().filter(|k| *k != "before" && *k != "after") {
        ignored.push(format!("faults.{k}"));
    }
    let mut list = |name: &str| -> Result<Vec<FaultItem>, String> {
        match o.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, f)| read_fault(f, &format!("faults.{name}[{i}]"), ignored))
                .collect()),
            Some(other) => Err(format!(
                "faults.{name}: must be a list, got {}",
                kind_of(other)
            )),
        }
    };
    Ok(Faults {
        before: list("before")?,
        after: list("after")?,
    })
}

fn read_fault(v: &Value, at: &str, ignored: &mut Vec<String>) -> FaultItem {
    let Some(o) = v.as_object() else {
        return Err(format!(
            "{at}: a fault must be an object, got {}",
            kind_of(v)
        ));
    };
    let kind = match o.get("type") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => return Err(format!("{at}.type: is required")),
        Some(other) => {
            return Err(format!(
                "{at}.type: must be a string, got {}",
                kind_of(other)
            ));
        }
    };
    let args = match o.get("args") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(a)) => a.clone(),
        Some(other) => {
            return Err(format!(
                "{at}.args: must be an object, got {}",
                kind_of(other)
            ));
        }
    };
    for k in o.keys().filter(|k| *k != "type" && *k != "args") {
        ignored.push(format!("{at}.{k}"));
    }
    Ok(FaultSpec { kind, args })
}

/// What a JSON value is, for messages.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Result<Route, String> {
        Route::read(&serde_json::from_str(s).unwrap())
    }

    #[test]
    fn reads_the_reference_sample_shape() {
        let r = read(
            r#"{"designation":"service_1","probability":100,"faults":{"before":[{"type":"latency","args":{"delay":600}}],"after":[]},
               "routes":[{"designation":"service_2","probability":50,"faults":{"before":[],"after":[]},
               "routes":[{"designation":"service_4","probability":100,"faults":{"before":[],"after":[]}}]}]}"#,
        )
        .unwrap();
        assert_eq!(r.depth(), 3);
        assert_eq!(r.faults.before[0].as_ref().unwrap().kind, "latency");
        assert_eq!(r.children().next().unwrap().probability, 50.0);
        assert!(r.ignored.is_empty());
    }

    #[test]
    fn unknown_fields_are_ignored_and_named_at_their_node() {
        let r = read(
            r#"{"designation":"a","color":"red","faults":{"before":[{"type":"latency","args":{"delay":100.5},"note":1}],"during":[]},
               "routes":[{"designation":"b","weight":3}]}"#,
        )
        .unwrap();
        assert_eq!(
            r.ignored,
            vec!["color", "faults.during", "faults.before[0].note"]
        );
        let child = r.children().next().unwrap();
        assert_eq!(child.ignored, vec!["weight"]);
        assert_eq!(child.raw["weight"], 3, "forwarded unchanged");
    }

    #[test]
    fn an_unusable_child_is_named_and_its_siblings_stay() {
        let r = read(
            r#"{"designation":"a","routes":[{"probability":100},{"designation":"b","probability":150},
               {"designation":"c","probability":100.0},{"designation":"d","routes":"x"},{"designation":7}]}"#,
        )
        .unwrap();
        let nodes: Vec<String> = r
            .routes
            .iter()
            .map(|n| match n {
                Node::Route(r) => format!("ok {} {}", r.designation, r.probability),
                Node::Unusable(e) => e.clone(),
            })
            .collect();
        assert_eq!(
            nodes,
            vec![
                "routes[0].designation: is required",
                "routes[1].probability: must be within 0..100, got 150",
                "ok c 100",
                "routes[3].routes: must be a list, got a string",
                "routes[4].designation: must be a string, got a number",
            ]
        );
    }

    #[test]
    fn a_root_that_cannot_be_read_is_an_error() {
        assert!(read("[]").unwrap_err().contains("must be an object"));
        assert_eq!(read("{}").unwrap_err(), "designation: is required");
        assert!(read(r#"{"designation":"a","probability":-1}"#).is_err());
    }

    #[test]
    fn a_fault_without_a_type_is_an_entry_not_a_refusal() {
        let r = read(r#"{"designation":"a","faults":{"after":[{"args":{}}, "x"]}}"#).unwrap();
        assert_eq!(
            r.faults.after,
            vec![
                Err("faults.after[0].type: is required".to_string()),
                Err("faults.after[1]: a fault must be an object, got a string".to_string())
            ]
        );
    }
}
