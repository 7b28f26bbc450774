//! The jsonpath2 dialect chaoslib uses for `jsonpath` tolerances. It differs
//! from RFC 9535 and Goessner: a filter `[?(...)]` tests the *current* node
//! (so `$.items.*[?(@.id = 1)]` selects an item), equality is `=`, and paths
//! must start with `$`. Existing experiments depend on this, so squall
//! evaluates the same dialect rather than using a standard engine.

mod parse;

use serde_json::Value;

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path(Vec<Step>);

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Child(Vec<Sub>),
    Descend(Vec<Sub>),
}

#[derive(Debug, Clone, PartialEq)]
enum Sub {
    Name(String),
    Wildcard,
    Index(i64),
    Slice(Option<i64>, Option<i64>),
    Filter(Expr),
    Length,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, &'static str, Operand),
    Exists(Operand),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Current(Path),
    Lit(Value),
}

/// A path that is not jsonpath2: where the parser stopped and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonPathError(pub String);

impl Path {
    /// Parses a path; the error says where it stopped.
    pub fn parse(s: &str) -> Result<Path, JsonPathError> {
        Self::parse_text(s).map_err(JsonPathError)
    }

    fn parse_text(s: &str) -> Result<Path, String> {
        let mut p = parse::Parser::new(s);
        p.ws();
        if !p.eat(b"$") {
            return Err("a path must start with $".into());
        }
        let path = p.steps()?;
        p.ws();
        if !p.at_end() {
            return Err(format!("unexpected text at offset {}", p.i));
        }
        Ok(path)
    }

    /// Every match, in document order.
    pub fn find(&self, root: &Value) -> Vec<Value> {
        let mut cur = vec![root.clone()];
        for step in &self.0 {
            let mut next = Vec::new();
            for node in &cur {
                match step {
                    Step::Child(subs) => apply(subs, node, &mut next),
                    Step::Descend(subs) => {
                        let mut all = Vec::new();
                        descendants(node, &mut all);
                        for n in &all {
                            apply(subs, n, &mut next);
                        }
                    }
                }
            }
            cur = next;
        }
        cur
    }
}

fn descendants(v: &Value, out: &mut Vec<Value>) {
    out.push(v.clone());
    match v {
        Value::Array(a) => a.iter().for_each(|x| descendants(x, out)),
        Value::Object(m) => m.values().for_each(|x| descendants(x, out)),
        _ => {}
    }
}

fn apply(subs: &[Sub], node: &Value, out: &mut Vec<Value>) {
    for sub in subs {
        match (sub, node) {
            (Sub::Name(n), Value::Object(m)) => out.extend(m.get(n).cloned()),
            (Sub::Wildcard, Value::Object(m)) => out.extend(m.values().cloned()),
            (Sub::Wildcard, Value::Array(a)) => out.extend(a.iter().cloned()),
            (Sub::Index(i), Value::Array(a)) => {
                let i = if *i < 0 { a.len() as i64 + i } else { *i };
                if i >= 0 {
                    out.extend(a.get(i as usize).cloned());
                }
            }
            (Sub::Slice(lo, hi), Value::Array(a)) => {
                let n = a.len() as i64;
                let fix = |x: i64| (if x < 0 { n + x } else { x }).clamp(0, n) as usize;
                let (lo, hi) = (fix(lo.unwrap_or(0)), fix(hi.unwrap_or(n)));
                if lo < hi {
                    out.extend(a[lo..hi].iter().cloned());
                }
            }
            (Sub::Filter(e), n) if eval(e, n) => out.push(n.clone()),
            (Sub::Length, Value::Array(a)) => out.push(Value::from(a.len())),
            (Sub::Length, Value::Object(m)) => out.push(Value::from(m.len())),
            (Sub::Length, Value::String(s)) => out.push(Value::from(s.chars().count())),
            _ => {}
        }
    }
}

fn eval(e: &Expr, node: &Value) -> bool {
    match e {
        Expr::Or(a, b) => eval(a, node) || eval(b, node),
        Expr::And(a, b) => eval(a, node) && eval(b, node),
        Expr::Not(a) => !eval(a, node),
        Expr::Exists(o) => !operand(o, node).is_empty(),
        Expr::Cmp(a, op, b) => {
            let (xs, ys) = (operand(a, node), operand(b, node));
            xs.iter().any(|x| {
                ys.iter().any(|y| {
                    let ord = crate::python::py_cmp(x, y).ok();
                    match *op {
                        "=" => crate::python::py_eq(x, y),
                        "!=" => !crate::python::py_eq(x, y),
                        "<" => ord.is_some_and(|o| o.is_lt()),
                        "<=" => ord.is_some_and(|o| o.is_le()),
                        ">" => ord.is_some_and(|o| o.is_gt()),
                        _ => ord.is_some_and(|o| o.is_ge()),
                    }
                })
            })
        }
    }
}

fn operand(o: &Operand, node: &Value) -> Vec<Value> {
    match o {
        Operand::Current(p) => p.find(node),
        Operand::Lit(v) => vec![v.clone()],
    }
}

#[cfg(test)]
mod tests;
