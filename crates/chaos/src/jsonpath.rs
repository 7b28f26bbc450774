//! The jsonpath2 dialect chaoslib uses for `jsonpath` tolerances. It differs
//! from RFC 9535 and Goessner: a filter `[?(...)]` tests the *current* node
//! (so `$.items.*[?(@.id = 1)]` selects an item), equality is `=`, and paths
//! must start with `$`. Existing experiments depend on this, so squall
//! evaluates the same dialect rather than using a standard engine.

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

impl Path {
    /// Parses a path; the error says where it stopped.
    pub fn parse(s: &str) -> Result<Path, String> {
        let mut p = Parser {
            s: s.as_bytes(),
            i: 0,
        };
        p.ws();
        if !p.eat(b"$") {
            return Err("a path must start with $".into());
        }
        let path = p.steps()?;
        p.ws();
        if p.i != p.s.len() {
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
                    let ord = crate::tolerance::py_cmp(x, y).ok();
                    match *op {
                        "=" => crate::tolerance::py_eq(x, y),
                        "!=" => !crate::tolerance::py_eq(x, y),
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

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, t: &[u8]) -> bool {
        if self.s[self.i..].starts_with(t) {
            self.i += t.len();
            true
        } else {
            false
        }
    }
    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("expected {what} at offset {}", self.i))
    }

    fn steps(&mut self) -> Result<Path, String> {
        let mut steps = Vec::new();
        loop {
            if self.eat(b"..") {
                let subs = if self.s.get(self.i) == Some(&b'[') {
                    self.i += 1;
                    self.subscripts()?
                } else {
                    vec![self.dot_member()?]
                };
                steps.push(Step::Descend(subs));
            } else if self.eat(b".") {
                steps.push(Step::Child(vec![self.dot_member()?]));
            } else if self.eat(b"[") {
                steps.push(Step::Child(self.subscripts()?));
            } else {
                return Ok(Path(steps));
            }
        }
    }

    fn dot_member(&mut self) -> Result<Sub, String> {
        if self.eat(b"*") {
            return Ok(Sub::Wildcard);
        }
        if self.eat(b"length()") {
            return Ok(Sub::Length);
        }
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || matches!(self.s[self.i], b'_' | b'-'))
        {
            self.i += 1;
        }
        if start == self.i {
            return self.err("a member name");
        }
        Ok(Sub::Name(
            String::from_utf8_lossy(&self.s[start..self.i]).into(),
        ))
    }

    fn subscripts(&mut self) -> Result<Vec<Sub>, String> {
        let mut subs = Vec::new();
        loop {
            self.ws();
            subs.push(self.subscript()?);
            self.ws();
            if self.eat(b"]") {
                return Ok(subs);
            }
            if !self.eat(b",") {
                return self.err("',' or ']'");
            }
        }
    }

    fn subscript(&mut self) -> Result<Sub, String> {
        if self.eat(b"*") {
            return Ok(Sub::Wildcard);
        }
        if self.eat(b"length()") {
            return Ok(Sub::Length);
        }
        if self.eat(b"?(") {
            let e = self.or_expr()?;
            self.ws();
            if !self.eat(b")") {
                return self.err("')'");
            }
            return Ok(Sub::Filter(e));
        }
        if matches!(self.s.get(self.i), Some(b'"' | b'\'')) {
            return Ok(Sub::Name(self.string()?));
        }
        let lo = self.int();
        self.ws();
        if self.eat(b":") {
            self.ws();
            return Ok(Sub::Slice(lo, self.int()));
        }
        match lo {
            Some(i) => Ok(Sub::Index(i)),
            None => self.err("a subscript"),
        }
    }

    fn int(&mut self) -> Option<i64> {
        let start = self.i;
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        let r = std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok();
        if r.is_none() {
            self.i = start;
        }
        r
    }

    fn string(&mut self) -> Result<String, String> {
        let q = self.s[self.i];
        self.i += 1;
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i] != q {
            self.i += 1;
        }
        if self.i == self.s.len() {
            return self.err("a closing quote");
        }
        let out = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.i += 1;
        Ok(out)
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut e = self.and_expr()?;
        loop {
            self.ws();
            if !self.eat(b"or ") {
                return Ok(e);
            }
            e = Expr::Or(Box::new(e), Box::new(self.and_expr()?));
        }
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        loop {
            self.ws();
            if !self.eat(b"and ") {
                return Ok(e);
            }
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.ws();
        if self.eat(b"not ") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat(b"(") {
            let e = self.or_expr()?;
            self.ws();
            if !self.eat(b")") {
                return self.err("')'");
            }
            return Ok(e);
        }
        let a = self.operand()?;
        self.ws();
        // `==` is a parse error in jsonpath2: only `=` is equality.
        if self.s[self.i..].starts_with(b"==") {
            return self.err("'=' (jsonpath2 has no '==')");
        }
        for op in ["!=", "<=", ">=", "=", "<", ">"] {
            if self.eat(op.as_bytes()) {
                self.ws();
                return Ok(Expr::Cmp(a, op, self.operand()?));
            }
        }
        Ok(Expr::Exists(a))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.ws();
        if self.eat(b"@") {
            return Ok(Operand::Current(self.steps()?));
        }
        if matches!(self.s.get(self.i), Some(b'"' | b'\'')) {
            return Ok(Operand::Lit(Value::String(self.string()?)));
        }
        for (w, v) in [
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Null),
        ] {
            if self.eat(w.as_bytes()) {
                return Ok(Operand::Lit(v));
            }
        }
        let start = self.i;
        while self.i < self.s.len()
            && matches!(
                self.s[self.i],
                b'0'..=b'9' | b'-' | b'.' | b'e' | b'E' | b'+'
            )
        {
            self.i += 1;
        }
        match serde_json::from_slice::<Value>(&self.s[start..self.i]) {
            Ok(v @ Value::Number(_)) => Ok(Operand::Lit(v)),
            _ => {
                self.i = start;
                self.err("'@' or a literal")
            }
        }
    }
}

#[cfg(test)]
mod tests;
