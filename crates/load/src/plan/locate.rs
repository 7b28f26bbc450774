//! Where a field is in a document's text, for problems found after parsing
//! (validation against a target, a simulator's answer), so they are located
//! as `file:line:col:` like parse errors are.
//!
//! The parsers know positions only while they parse, and report them only
//! on errors; so the document is parsed once more with a visitor that walks
//! the field path and fails on purpose when it reaches the field. The
//! parser then attaches the position of that node to the error.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a field path.
#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// `faults[1].fault.args.delay` -> key, index, key, key, key.
fn segments(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Segment::Key(key.to_string()));
        }
        while let Some(end) = rest.find(']') {
            if let Ok(i) = rest[1..end].parse() {
                out.push(Segment::Index(i));
            }
            rest = &rest[end + 1..];
        }
    }
    out
}

const FOUND: &str = "\u{0}squall-locate-found";

/// Line and column (1-based) of the value at `path` in a YAML or JSON
/// document (JSON when it starts with `{`); `None` when the path is not in
/// the document.
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let path = segments(path);
    if text.trim_start().starts_with('{') {
        let mut de = serde_json::Deserializer::from_str(text);
        match (Probe { path: &path }).deserialize(&mut de) {
            Err(e) if e.to_string().contains(FOUND) => Some((e.line(), e.column())),
            _ => None,
        }
    } else {
        let de = yaml_serde::Deserializer::from_str(text);
        match (Probe { path: &path }).deserialize(de) {
            Err(e) if e.to_string().contains(FOUND) => e.location().map(|l| (l.line(), l.column())),
            _ => None,
        }
    }
}

/// `line:col:` of `path` in `text`, or an empty string.
pub fn location_prefix(text: &str, path: &str) -> String {
    locate(text, path)
        .map(|(l, c)| format!("{l}:{c}:"))
        .unwrap_or_default()
}

struct Probe<'p> {
    path: &'p [Segment],
}

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Segment::Key(want), rest)) = self.path.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        while let Some(k) = map.next_key::<KeyText>()? {
            if k.0 == *want {
                return map.next_value_seed(Probe { path: rest });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Segment::Index(want), rest)) = self.path.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        let mut i = 0;
        loop {
            if i == *want {
                return seq.next_element_seed(Probe { path: rest }).map(|_| ());
            }
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
}

impl Probe<'_> {
    /// A scalar is the target when the path ends here; a path that goes on
    /// into a scalar is not in the document.
    fn scalar<E: de::Error>(self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

/// A mapping key as text (YAML keys may be numbers or booleans).
struct KeyText(String);

impl<'de> de::Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText("null".into()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "title: t\nfaults:\n  - at: 1s\n    fault:\n      type: latency\n      args: {delay: 5}\n  - at: 2s\n    fault:\n      type: latncy\n      args:\n        dleay: 100\n";

    #[test]
    fn finds_nested_yaml_fields() {
        assert_eq!(locate(YAML, "faults[1].fault.type"), Some((9, 13)));
        assert_eq!(locate(YAML, "faults[1].fault.args.dleay"), Some((11, 16)));
        assert_eq!(locate(YAML, "faults[0].fault.args.delay"), Some((6, 21)));
        assert_eq!(locate(YAML, "faults[1]").map(|p| p.0), Some(7));
    }

    #[test]
    fn missing_paths_have_no_location() {
        assert_eq!(locate(YAML, "faults[2].fault"), None);
        assert_eq!(locate(YAML, "faults[0].fault.type.deeper"), None);
        assert_eq!(locate(YAML, "nothing"), None);
    }

    #[test]
    fn finds_json_fields() {
        let json = "{\n  \"faults\": [\n    {\"at\": \"1s\", \"fault\": {\"type\": \"x\"}}\n  ]\n}";
        let (line, _) = locate(json, "faults[0].fault.type").unwrap();
        assert_eq!(line, 3);
    }
}
