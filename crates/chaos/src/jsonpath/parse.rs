//! The jsonpath2 grammar: `$`, `.name`, `["name"]`, `*`, `..`, indexes,
//! slices, unions, `length()` and filters `[?(...)]` with `=`, `!=`, `<`,
//! `<=`, `>`, `>=`, `and`, `or`, `not`; `==` is refused, as jsonpath2 does.

use serde_json::Value;

use super::{Expr, Operand, Path, Step, Sub};

pub(super) struct Parser<'a> {
    s: &'a [u8],
    pub(super) i: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn at_end(&self) -> bool {
        self.i == self.s.len()
    }

    pub(super) fn new(s: &'a str) -> Self {
        Parser {
            s: s.as_bytes(),
            i: 0,
        }
    }

    pub(super) fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    pub(super) fn eat(&mut self, t: &[u8]) -> bool {
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

    pub(super) fn steps(&mut self) -> Result<Path, String> {
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
