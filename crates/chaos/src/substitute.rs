//! `${name}` substitution, as chaoslib does it: Python's
//! `string.Template.safe_substitute` over configuration then every secret
//! scope, except that a string that is exactly `${name}` yields the value
//! itself with its type (an int stays an int).

use serde_json::{Map, Value};

use crate::pyrepr::py_str;

/// The names a template can use: configuration first, then each secret
/// scope in declaration order (chaoslib's `ChainMap`).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The loaded configuration, by key.
    pub configuration: Map<String, Value>,
    /// The loaded secrets: scope name to an object of keys.
    pub secrets: Map<String, Value>,
}

impl Scope {
    /// Looks a name up the way the `ChainMap` does.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.configuration.get(name).or_else(|| {
            self.secrets
                .values()
                .filter_map(Value::as_object)
                .find_map(|m| m.get(name))
        })
    }

    /// chaoslib skips substitution of provider arguments when both are empty.
    pub fn is_empty(&self) -> bool {
        self.configuration.is_empty() && self.secrets.is_empty()
    }
}

/// Substitutes every string inside `v` (dict values, not keys; lists).
pub fn substitute(v: &Value, scope: &Scope) -> Value {
    match v {
        Value::String(s) => substitute_str(s, scope),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, scope)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), substitute(x, scope)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One string: the typed shortcut, else the rendered template.
pub fn substitute_str(s: &str, scope: &Scope) -> Value {
    if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
        && is_identifier(name)
        && let Some(v) = scope.get(name)
    {
        return v.clone();
    }
    Value::String(render(s, scope))
}

/// `Template.safe_substitute`: `$$` is `$`, `$name` and `${name}` are
/// replaced when known, anything else stays as written.
pub fn render(s: &str, scope: &Scope) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        out.push_str(&s[last..i]);
        let rest = &s[i + 1..];
        if rest.starts_with('$') {
            out.push('$');
            i += 2;
        } else if let Some(inner) = rest.strip_prefix('{') {
            let n = ident_len(inner);
            match (n > 0 && inner[n..].starts_with('}'), scope.get(&inner[..n])) {
                (true, Some(v)) => {
                    out.push_str(&py_str(v));
                    i += 3 + n;
                }
                _ => {
                    out.push('$');
                    i += 1;
                }
            }
        } else {
            let n = ident_len(rest);
            match scope.get(&rest[..n]).filter(|_| n > 0) {
                Some(v) => {
                    out.push_str(&py_str(v));
                    i += 1 + n;
                }
                None => {
                    out.push('$');
                    i += 1;
                }
            }
        }
        last = i;
    }
    out.push_str(&s[last..]);
    out
}

fn ident_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.is_empty() || !(b[0] == b'_' || b[0].is_ascii_alphabetic()) {
        return 0;
    }
    1 + b[1..]
        .iter()
        .take_while(|c| **c == b'_' || c.is_ascii_alphanumeric())
        .count()
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && ident_len(s) == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        let c = json!({"count": 1, "obj": {"a": [1]}, "b": true, "n": null, "shared": "config"});
        let s = json!({"one": {"tok": "t1", "shared": "secret"}, "two": {"tok2": "t2"}});
        Scope {
            configuration: c.as_object().unwrap().clone(),
            secrets: s.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn a_whole_template_keeps_the_type() {
        assert_eq!(substitute_str("${count}", &scope()), json!(1));
        assert_eq!(substitute_str("${obj}", &scope()), json!({"a": [1]}));
        assert_eq!(substitute_str("${n}", &scope()), json!(null));
    }

    #[test]
    fn other_templates_render_with_python_str() {
        let s = scope();
        assert_eq!(render("n${count}", &s), "n1");
        assert_eq!(render("x${obj}", &s), "x{'a': [1]}");
        assert_eq!(render("${b} ", &s), "True ");
        assert_eq!(render("n=${n}", &s), "n=None");
        assert_eq!(render("$count!", &s), "1!");
        assert_eq!(render("$$count", &s), "$count");
        assert_eq!(
            render("${a-b} ${missing} $ end$", &s),
            "${a-b} ${missing} $ end$"
        );
    }

    #[test]
    fn configuration_wins_then_secret_scopes_in_order() {
        let s = scope();
        assert_eq!(render("${shared}/${tok}/${tok2}", &s), "config/t1/t2");
    }

    #[test]
    fn dict_keys_are_not_substituted() {
        let v = substitute(&json!({"${count}": ["${count}", "a$count"]}), &scope());
        assert_eq!(v, json!({"${count}": [1, "a1"]}));
    }
}
