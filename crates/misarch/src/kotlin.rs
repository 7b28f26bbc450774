//! Gatling work files, as MiSArch's templates and frontend write them,
//! translated into squall scenario steps.
//!
//! The subset read (everything else is an error naming its line):
//!
//! ```text
//! package ...; import ...
//! val NAME = scenario("NAME")
//!     .exec { session -> [val x = session.getString("k")]... session.set("k", "text with $x and #{k}")[.set(...)] }
//!     .exec(http("name").get|post|put|delete|patch|head|options("url")
//!           .header("K", "V") .formParam("k", "v") .body(StringBody("...")) .asJson()
//!           .check(jsonPath("$.a").saveAs("v"), status().is(200), ...))
//!     .pause(Duration.ofMillis(a)[, Duration.ofMillis(b)])   // or ofSeconds, or plain seconds
//! ```
//!
//! Session variables set in `exec { }` blocks are text known when the file
//! is read, so they are written into the requests that use them
//! (`#{productsQuery}`); values saved by checks (`saveAs`) are squall
//! captures, read at run time as `${name}`. A `jsonPath` check must find
//! its path, as in Gatling (a miss fails the request).

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// A work file that cannot be translated: where and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct KotlinError {
    /// The file as named to the user (`buyProcessScenario.kt`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong and what is supported.
    pub message: String,
}

/// A translated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Translated {
    /// The `val` it is declared as (MiSArch requires it to be the file name).
    pub val_name: String,
    /// The name given to `scenario(...)`.
    pub scenario: String,
    /// Squall plan steps (`request` with checks and captures, `think`).
    pub steps: Vec<Value>,
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Lit(String),
    Var(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(Vec<Part>),
    Num(f64),
    Punct(char),
    Arrow,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: usize,
    col: usize,
}

struct Lexer<'a> {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
    file: &'a str,
}

impl<'a> Lexer<'a> {
    fn err(&self, line: usize, col: usize, message: impl Into<String>) -> KotlinError {
        KotlinError {
            file: self.file.to_string(),
            line,
            col,
            message: message.into(),
        }
    }

    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.i).copied()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn tokens(mut self) -> Result<Vec<Token>, KotlinError> {
        let mut out = Vec::new();
        while let Some(c) = self.peek(0) {
            let (line, col) = (self.line, self.col);
            if c.is_whitespace() || c == ';' {
                self.bump();
            } else if c == '/' && self.peek(1) == Some('/') {
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else if c == '/' && self.peek(1) == Some('*') {
                self.bump();
                self.bump();
                while !(self.peek(0) == Some('*') && self.peek(1) == Some('/')) {
                    if self.bump().is_none() {
                        return Err(self.err(line, col, "a comment that never ends"));
                    }
                }
                self.bump();
                self.bump();
            } else if c == '"' {
                let raw = self.peek(1) == Some('"') && self.peek(2) == Some('"');
                let parts = if raw {
                    self.raw_string(line, col)?
                } else {
                    self.string(line, col)?
                };
                out.push(Token {
                    tok: Tok::Str(parts),
                    line,
                    col,
                });
            } else if c.is_ascii_digit() {
                let mut s = String::new();
                while let Some(d) = self
                    .peek(0)
                    .filter(|d| d.is_ascii_digit() || *d == '.' || *d == '_')
                {
                    if d != '_' {
                        s.push(d);
                    }
                    self.bump();
                }
                if matches!(self.peek(0), Some('L' | 'l')) {
                    self.bump();
                }
                let n: f64 = s
                    .parse()
                    .map_err(|_| self.err(line, col, format!("{s:?} is not a number")))?;
                out.push(Token {
                    tok: Tok::Num(n),
                    line,
                    col,
                });
            } else if c.is_alphabetic() || c == '_' || c == '`' {
                let quoted = c == '`';
                if quoted {
                    self.bump();
                }
                let mut s = String::new();
                while let Some(d) = self.peek(0).filter(|d| d.is_alphanumeric() || *d == '_') {
                    s.push(d);
                    self.bump();
                }
                if quoted && self.bump() != Some('`') {
                    return Err(self.err(line, col, "a `quoted` name that never ends"));
                }
                out.push(Token {
                    tok: Tok::Ident(s),
                    line,
                    col,
                });
            } else if c == '-' && self.peek(1) == Some('>') {
                self.bump();
                self.bump();
                out.push(Token {
                    tok: Tok::Arrow,
                    line,
                    col,
                });
            } else if "(){}.,=:*".contains(c) {
                self.bump();
                out.push(Token {
                    tok: Tok::Punct(c),
                    line,
                    col,
                });
            } else {
                return Err(self.err(line, col, format!("unexpected {c:?}")));
            }
        }
        Ok(out)
    }

    /// `$name`, `${name}` or `${'$'}` after the `$` was seen.
    fn template(
        &mut self,
        parts: &mut Vec<Part>,
        lit: &mut String,
        line: usize,
        col: usize,
    ) -> Result<(), KotlinError> {
        if self.peek(0) == Some('{') {
            self.bump();
            let mut inner = String::new();
            loop {
                match self.bump() {
                    Some('}') => break,
                    Some(c) => inner.push(c),
                    None => return Err(self.err(line, col, "a ${...} that never ends")),
                }
            }
            let inner = inner.trim();
            if inner == "'$'" {
                lit.push('$');
                return Ok(());
            }
            if !is_ident(inner) {
                return Err(self.err(
                    line,
                    col,
                    format!(
                        "${{{inner}}}: only a variable's name can be written into a string here"
                    ),
                ));
            }
            parts.push(Part::Lit(std::mem::take(lit)));
            parts.push(Part::Var(inner.to_string()));
        } else if self.peek(0).is_some_and(|c| c.is_alphabetic() || c == '_') {
            let mut name = String::new();
            while let Some(d) = self.peek(0).filter(|d| d.is_alphanumeric() || *d == '_') {
                name.push(d);
                self.bump();
            }
            parts.push(Part::Lit(std::mem::take(lit)));
            parts.push(Part::Var(name));
        } else {
            lit.push('$');
        }
        Ok(())
    }

    fn string(&mut self, line: usize, col: usize) -> Result<Vec<Part>, KotlinError> {
        self.bump();
        let (mut parts, mut lit) = (Vec::new(), String::new());
        loop {
            let (l, c) = (self.line, self.col);
            match self.bump() {
                None | Some('\n') => {
                    return Err(self.err(line, col, "a string that never ends on its line"));
                }
                Some('"') => break,
                Some('\\') => match self.bump() {
                    Some('n') => lit.push('\n'),
                    Some('t') => lit.push('\t'),
                    Some('r') => lit.push('\r'),
                    Some('b') => lit.push('\u{8}'),
                    Some(e @ ('"' | '\\' | '$' | '\'')) => lit.push(e),
                    Some('u') => {
                        let hex: String = (0..4).filter_map(|_| self.bump()).collect();
                        let ch = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| {
                                self.err(l, c, format!("\\u{hex} is not a character"))
                            })?;
                        lit.push(ch);
                    }
                    other => {
                        return Err(self.err(
                            l,
                            c,
                            format!("unknown escape \\{}", other.unwrap_or(' ')),
                        ));
                    }
                },
                Some('$') => self.template(&mut parts, &mut lit, l, c)?,
                Some(ch) => lit.push(ch),
            }
        }
        parts.push(Part::Lit(lit));
        Ok(parts)
    }

    fn raw_string(&mut self, line: usize, col: usize) -> Result<Vec<Part>, KotlinError> {
        for _ in 0..3 {
            self.bump();
        }
        let (mut parts, mut lit) = (Vec::new(), String::new());
        loop {
            if self.peek(0) == Some('"') && self.peek(1) == Some('"') && self.peek(2) == Some('"') {
                for _ in 0..3 {
                    self.bump();
                }
                break;
            }
            let (l, c) = (self.line, self.col);
            match self.bump() {
                None => return Err(self.err(line, col, "a \"\"\"string\"\"\" that never ends")),
                Some('$') => self.template(&mut parts, &mut lit, l, c)?,
                Some(ch) => lit.push(ch),
            }
        }
        parts.push(Part::Lit(lit));
        Ok(parts)
    }
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_alphabetic() || f == '_')
        && c.all(|x| x.is_alphanumeric() || x == '_')
}

const SUPPORTED: &str = "supported: .exec { session -> ... }, .exec(http(...)...), .pause(...)";

struct Parser<'a> {
    toks: Vec<Token>,
    i: usize,
    file: &'a str,
    /// Session variables set in `exec { }` blocks: their squall text.
    sets: BTreeMap<String, String>,
    /// Values saved by checks so far (run-time captures).
    saved: Vec<String>,
    end: (usize, usize),
}

impl<'a> Parser<'a> {
    fn err_at(&self, t: Option<&Token>, message: impl Into<String>) -> KotlinError {
        let (line, col) = t.map_or(self.end, |t| (t.line, t.col));
        KotlinError {
            file: self.file.to_string(),
            line,
            col,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }

    fn is_punct(&self, c: char) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Punct(p), .. }) if *p == c)
    }

    fn is_ident(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Ident(n), .. }) if n == name)
    }

    fn punct(&mut self, c: char) -> Result<(), KotlinError> {
        match self.next() {
            Some(Token {
                tok: Tok::Punct(p), ..
            }) if p == c => Ok(()),
            t => Err(self.err_at(t.as_ref(), format!("expected `{c}`{}", found(t.as_ref())))),
        }
    }

    fn ident(&mut self) -> Result<(String, Token), KotlinError> {
        match self.next() {
            Some(
                t @ Token {
                    tok: Tok::Ident(_), ..
                },
            ) => {
                let Tok::Ident(n) = &t.tok else {
                    unreachable!()
                };
                Ok((n.clone(), t))
            }
            t => Err(self.err_at(t.as_ref(), format!("expected a name{}", found(t.as_ref())))),
        }
    }

    fn keyword(&mut self, name: &str) -> Result<Token, KotlinError> {
        let (n, t) = self.ident()?;
        if n != name {
            return Err(self.err_at(Some(&t), format!("expected `{name}`, found `{n}`")));
        }
        Ok(t)
    }

    fn string_token(&mut self) -> Result<(Vec<Part>, Token), KotlinError> {
        match self.next() {
            Some(
                t @ Token {
                    tok: Tok::Str(_), ..
                },
            ) => {
                let Tok::Str(p) = &t.tok else { unreachable!() };
                Ok((p.clone(), t))
            }
            t => Err(self.err_at(
                t.as_ref(),
                format!("expected a string{}", found(t.as_ref())),
            )),
        }
    }

    /// A plain string (no `$` templates): names, paths, keys.
    fn plain_string(&mut self) -> Result<String, KotlinError> {
        let (parts, t) = self.string_token()?;
        match parts.as_slice() {
            [Part::Lit(s)] => Ok(s.clone()),
            _ => Err(self.err_at(Some(&t), "a plain string is needed here (no $variables)")),
        }
    }

    /// A string in squall's template form: Kotlin `$local` and Gatling
    /// `#{name}` resolved against the session (text known now, or
    /// `${name}` read at run time).
    fn template(&mut self, locals: &BTreeMap<String, String>) -> Result<String, KotlinError> {
        let (parts, t) = self.string_token()?;
        let mut out = String::new();
        for p in parts {
            match p {
                Part::Lit(s) => out.push_str(&self.expand_el(&s, &t)?),
                Part::Var(v) => {
                    let key = locals.get(&v).ok_or_else(|| {
                        self.err_at(
                            Some(&t),
                            format!("${v}: no `val {v} = session.getString(...)` before it"),
                        )
                    })?;
                    out.push_str(&self.session_value(key, &t)?);
                }
            }
        }
        Ok(out)
    }

    fn session_value(&self, key: &str, at: &Token) -> Result<String, KotlinError> {
        if let Some(text) = self.sets.get(key) {
            return Ok(text.clone());
        }
        if self.saved.iter().any(|s| s == key) {
            return Ok(format!("${{{key}}}"));
        }
        Err(self.err_at(
            Some(at),
            format!("session variable {key:?} is neither set in an earlier exec {{ }} nor saved by an earlier check"),
        ))
    }

    /// Gatling EL `#{name}` in literal text; a literal `${` is escaped for
    /// squall's templates.
    fn expand_el(&self, s: &str, at: &Token) -> Result<String, KotlinError> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("#{") {
            out.push_str(&rest[..i].replace("${", "$${"));
            let after = &rest[i + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| self.err_at(Some(at), "a #{...} that never ends"))?;
            let name = &after[..end];
            if !is_ident(name) {
                return Err(self.err_at(
                    Some(at),
                    format!("#{{{name}}}: only a session variable's name is supported"),
                ));
            }
            out.push_str(&self.session_value(name, at)?);
            rest = &after[end + 1..];
        }
        out.push_str(&rest.replace("${", "$${"));
        Ok(out)
    }

    fn skip_header(&mut self) -> Result<(), KotlinError> {
        while self.is_ident("package") || self.is_ident("import") {
            self.next();
            self.ident()?;
            while self.is_punct('.') {
                self.next();
                if self.is_punct('*') {
                    self.next();
                } else {
                    self.ident()?;
                }
            }
        }
        Ok(())
    }

    fn file(mut self) -> Result<Translated, KotlinError> {
        self.skip_header()?;
        self.keyword("val")?;
        let (val_name, _) = self.ident()?;
        if self.is_punct(':') {
            self.next();
            self.ident()?;
        }
        self.punct('=')?;
        self.keyword("scenario")?;
        self.punct('(')?;
        let scenario = self.plain_string()?;
        self.punct(')')?;
        let mut steps = Vec::new();
        while self.is_punct('.') {
            self.next();
            let (call, t) = self.ident()?;
            match call.as_str() {
                "exec" if self.is_punct('{') => self.session_block()?,
                "exec" => {
                    self.punct('(')?;
                    steps.push(self.http()?);
                    self.punct(')')?;
                }
                "pause" => {
                    if let Some(p) = self.pause()? {
                        steps.push(p);
                    }
                }
                other => {
                    return Err(self.err_at(
                        Some(&t),
                        format!("`.{other}(...)` is not translated ({SUPPORTED})"),
                    ));
                }
            }
        }
        if let Some(t) = self.peek() {
            let t = t.clone();
            return Err(self.err_at(
                Some(&t),
                format!("unexpected text after the scenario{}", found(Some(&t))),
            ));
        }
        Ok(Translated {
            val_name,
            scenario,
            steps,
        })
    }

    /// `{ session -> val x = session.getString("k") ... session.set("k", "v").set(...) }`
    fn session_block(&mut self) -> Result<(), KotlinError> {
        self.punct('{')?;
        let (param, _) = self.ident()?;
        match self.next() {
            Some(Token {
                tok: Tok::Arrow, ..
            }) => {}
            t => return Err(self.err_at(t.as_ref(), format!("expected `->` after `{param}`"))),
        }
        let mut locals = BTreeMap::new();
        while !self.is_punct('}') {
            if self.is_ident("val") {
                self.next();
                let (name, _) = self.ident()?;
                self.punct('=')?;
                self.keyword(&param)?;
                self.punct('.')?;
                let (getter, t) = self.ident()?;
                if !matches!(getter.as_str(), "getString" | "get") {
                    return Err(self.err_at(
                        Some(&t),
                        format!("`{param}.{getter}`: only getString(...) and get(...) are read"),
                    ));
                }
                self.punct('(')?;
                let key = self.plain_string()?;
                self.punct(')')?;
                locals.insert(name, key);
                continue;
            }
            let t = self.keyword(&param).map_err(|e| KotlinError {
                message: format!("{} (an exec {{ }} block holds `val x = {param}.getString(...)` and `{param}.set(...)`)", e.message),
                ..e
            })?;
            while self.is_punct('.') {
                self.next();
                let (m, mt) = self.ident()?;
                if m != "set" {
                    return Err(self.err_at(
                        Some(&mt),
                        format!("`{param}.{m}` is not translated (only set(...))"),
                    ));
                }
                self.punct('(')?;
                let key = self.plain_string()?;
                self.punct(',')?;
                let value = match self.peek().map(|t| t.tok.clone()) {
                    Some(Tok::Num(n)) => {
                        self.next();
                        format_number(n)
                    }
                    _ => self.template(&locals)?,
                };
                if self.is_punct(',') {
                    self.next();
                }
                self.punct(')')?;
                self.sets.insert(key, value);
            }
            let _ = t;
        }
        self.punct('}')?;
        Ok(())
    }

    fn http(&mut self) -> Result<Value, KotlinError> {
        let start = self.keyword("http")?;
        self.punct('(')?;
        let name = self.plain_string()?;
        self.punct(')')?;
        let no_locals = BTreeMap::new();
        let (mut method, mut url) = (None::<String>, None::<String>);
        let mut headers = serde_json::Map::new();
        let mut form: Vec<(String, String)> = Vec::new();
        let mut body = None::<String>;
        let (mut checks, mut captures) = (Vec::new(), serde_json::Map::new());
        let mut pending_saves = Vec::new();
        while self.is_punct('.') {
            self.next();
            let (call, t) = self.ident()?;
            match call.as_str() {
                "get" | "post" | "put" | "delete" | "patch" | "head" | "options" => {
                    self.punct('(')?;
                    url = Some(self.template(&no_locals)?);
                    self.punct(')')?;
                    method = Some(call.to_uppercase());
                }
                "header" => {
                    self.punct('(')?;
                    let k = self.plain_string()?;
                    self.punct(',')?;
                    let v = self.template(&no_locals)?;
                    self.punct(')')?;
                    headers.insert(k, v.into());
                }
                "formParam" => {
                    self.punct('(')?;
                    let k = self.plain_string()?;
                    self.punct(',')?;
                    let v = self.template(&no_locals)?;
                    self.punct(')')?;
                    form.push((k, v));
                }
                "body" => {
                    self.punct('(')?;
                    self.keyword("StringBody")?;
                    self.punct('(')?;
                    body = Some(self.template(&no_locals)?);
                    self.punct(')')?;
                    self.punct(')')?;
                }
                "asJson" => {
                    self.punct('(')?;
                    self.punct(')')?;
                    headers.insert("Content-Type".into(), "application/json".into());
                    headers.insert("Accept".into(), "application/json".into());
                }
                "check" => {
                    self.punct('(')?;
                    loop {
                        self.check(&mut checks, &mut captures, &mut pending_saves)?;
                        if self.is_punct(',') {
                            self.next();
                            if self.is_punct(')') {
                                break;
                            }
                            continue;
                        }
                        break;
                    }
                    self.punct(')')?;
                }
                other => {
                    return Err(self.err_at(
                        Some(&t),
                        format!("`.{other}(...)` on a request is not translated (supported: get/post/put/delete/patch/head/options, header, formParam, body(StringBody(...)), asJson, check)"),
                    ));
                }
            }
        }
        let (Some(method), Some(url)) = (method, url) else {
            return Err(self.err_at(
                Some(&start),
                format!("http({name:?}) has no method and URL (.get(\"/\"), .post(...))"),
            ));
        };
        if !form.is_empty() {
            if body.is_some() {
                return Err(self.err_at(
                    Some(&start),
                    format!("http({name:?}) has both formParam and a body"),
                ));
            }
            body = Some(
                form.iter()
                    .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
                    .collect::<Vec<_>>()
                    .join("&"),
            );
            headers
                .entry("Content-Type")
                .or_insert("application/x-www-form-urlencoded".into());
        }
        // Saved values are known to the steps after this one.
        self.saved.extend(pending_saves);
        let mut request = json!({"name": name, "method": method, "url": url});
        if !headers.is_empty() {
            request["headers"] = Value::Object(headers);
        }
        if let Some(b) = body {
            request["body"] = b.into();
        }
        let mut step = json!({"request": request});
        if !checks.is_empty() {
            step["checks"] = Value::Array(checks);
        }
        if !captures.is_empty() {
            step["captures"] = Value::Object(captures);
        }
        Ok(step)
    }

    fn check(
        &mut self,
        checks: &mut Vec<Value>,
        captures: &mut serde_json::Map<String, Value>,
        saves: &mut Vec<String>,
    ) -> Result<(), KotlinError> {
        let (kind, t) = self.ident()?;
        match kind.as_str() {
            "jsonPath" => {
                self.punct('(')?;
                let path = self.plain_string()?;
                self.punct(')')?;
                let mut exists = true;
                while self.is_punct('.') {
                    self.next();
                    let (m, mt) = self.ident()?;
                    match m.as_str() {
                        "saveAs" => {
                            self.punct('(')?;
                            let v = self.plain_string()?;
                            self.punct(')')?;
                            captures.insert(v.clone(), json!({"json": path}));
                            saves.push(v);
                        }
                        "exists" | "find" => {
                            self.punct('(')?;
                            self.punct(')')?;
                        }
                        "notExists" => {
                            self.punct('(')?;
                            self.punct(')')?;
                            exists = false;
                        }
                        "is" | "shouldBe" => {
                            self.punct('(')?;
                            let v = self.plain_string()?;
                            self.punct(')')?;
                            checks.push(json!({"json": {"path": path, "equals": v}}));
                        }
                        other => {
                            return Err(self.err_at(Some(&mt), format!("jsonPath(...).{other}(...) is not translated (saveAs, exists, notExists, is)")));
                        }
                    }
                }
                checks.push(json!({"json": {"path": path, "exists": exists}}));
            }
            "status" => {
                self.punct('(')?;
                self.punct(')')?;
                self.punct('.')?;
                let (m, mt) = self.ident()?;
                if !matches!(m.as_str(), "is" | "shouldBe") {
                    return Err(self.err_at(
                        Some(&mt),
                        format!("status().{m}(...) is not translated (status().is(N))"),
                    ));
                }
                self.punct('(')?;
                let code = match self.next() {
                    Some(Token {
                        tok: Tok::Num(n), ..
                    }) if (100.0..600.0).contains(&n) => n as u16,
                    t => {
                        return Err(
                            self.err_at(t.as_ref(), "status().is(...) needs an HTTP status")
                        );
                    }
                };
                self.punct(')')?;
                checks.push(json!({"status": code}));
            }
            other => {
                return Err(self.err_at(
                    Some(&t),
                    format!("check `{other}(...)` is not translated (jsonPath, status)"),
                ));
            }
        }
        Ok(())
    }

    /// `pause(Duration.ofMillis(a)[, Duration.ofMillis(b)])`, `ofSeconds`,
    /// or a number of seconds; a pause of zero is no step.
    fn pause(&mut self) -> Result<Option<Value>, KotlinError> {
        self.punct('(')?;
        let min = self.duration_ms()?;
        let max = if self.is_punct(',') {
            self.next();
            Some(self.duration_ms()?)
        } else {
            None
        };
        let close = self.peek().cloned();
        self.punct(')')?;
        Ok(match max {
            None | Some(_) if min == 0.0 && max.unwrap_or(0.0) == 0.0 => None,
            None => Some(json!({"think": format!("{}ms", format_number(min))})),
            Some(max) if max < min => {
                return Err(self.err_at(close.as_ref(), "pause(min, max) with max below min"));
            }
            Some(max) if max == min => Some(json!({"think": format!("{}ms", format_number(min))})),
            Some(max) => Some(
                json!({"think": {"min": format!("{}ms", format_number(min)), "max": format!("{}ms", format_number(max))}}),
            ),
        })
    }

    fn duration_ms(&mut self) -> Result<f64, KotlinError> {
        match self.peek().map(|t| t.tok.clone()) {
            Some(Tok::Num(n)) => {
                self.next();
                Ok(n * 1000.0)
            }
            _ => {
                self.keyword("Duration")?;
                self.punct('.')?;
                let (unit, t) = self.ident()?;
                let scale = match unit.as_str() {
                    "ofMillis" => 1.0,
                    "ofSeconds" => 1000.0,
                    "ofMinutes" => 60_000.0,
                    other => return Err(self.err_at(
                        Some(&t),
                        format!(
                            "Duration.{other} is not translated (ofMillis, ofSeconds, ofMinutes)"
                        ),
                    )),
                };
                self.punct('(')?;
                let n = match self.next() {
                    Some(Token {
                        tok: Tok::Num(n), ..
                    }) => n,
                    t => return Err(self.err_at(t.as_ref(), "expected a number")),
                };
                self.punct(')')?;
                Ok(n * scale)
            }
        }
    }
}

fn found(t: Option<&Token>) -> String {
    match t.map(|t| &t.tok) {
        None => ", found the end of the file".into(),
        Some(Tok::Ident(n)) => format!(", found `{n}`"),
        Some(Tok::Str(_)) => ", found a string".into(),
        Some(Tok::Num(n)) => format!(", found {n}"),
        Some(Tok::Punct(p)) => format!(", found `{p}`"),
        Some(Tok::Arrow) => ", found `->`".into(),
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// `application/x-www-form-urlencoded` for the literal parts; `${var}`
/// templates are left as they are (their values are not encoded at run
/// time).
fn form_encode(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&encode_part(&rest[..i]));
        let end = rest[i..].find('}').map_or(rest.len(), |e| i + e + 1);
        out.push_str(&rest[i..end]);
        rest = &rest[end..];
    }
    out.push_str(&encode_part(rest));
    out
}

fn encode_part(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Translates one work file; `file` names it in errors.
pub fn translate(file: &str, text: &str) -> Result<Translated, KotlinError> {
    let toks = Lexer {
        chars: text.chars().collect(),
        i: 0,
        line: 1,
        col: 1,
        file,
    }
    .tokens()?;
    let lines = text.lines().count().max(1);
    Parser {
        toks,
        i: 0,
        file,
        sets: BTreeMap::new(),
        saved: Vec::new(),
        end: (
            lines,
            text.lines().last().map_or(1, |l| l.chars().count() + 1),
        ),
    }
    .file()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE_LIKE: &str = r##"package org.misarch

import io.gatling.javaapi.core.CoreDsl.*
import io.gatling.javaapi.http.HttpDsl.http
import java.time.Duration

val buy = scenario("buy")
    .exec { session ->
        session.set("targetUrl", "http://gateway:8080/graphql")
    }
    .exec(
        http("Get Access Token")
            .post("http://keycloak:80/token")
            .formParam("client_id", "frontend")
            .formParam("username", "gatling user")
            .check(jsonPath("$.access_token").saveAs("accessToken"))
    )
    .pause(Duration.ofMillis(0), Duration.ofMillis(0))
    .exec { session ->
        session.set(
            "productsQuery",
            "{ \"query\": \"query { products(first: 10) { nodes { id } } }\" }"
        )
    }
    .exec(
        http("products").post("#{targetUrl}").header("Content-Type", "application/json").header("Authorization", "Bearer #{accessToken}").body(StringBody("#{productsQuery}"))
            .check(jsonPath("$.data.products.nodes[0].id").saveAs("productId"))
    )
    .pause(Duration.ofMillis(4000), Duration.ofMillis(10000))
    .exec { session ->
        val productId = session.getString("productId")
        session.set(
            "productQuery",
            "{ \"query\": \"query { product(id: \\\"$productId\\\") { id } } \$x\" }",
        )
    }
    .exec(
        http("product").post("#{targetUrl}").body(StringBody("#{productQuery}"))
    )
    .pause(2)
"##;

    #[test]
    fn translates_the_templates_subset() {
        let t = translate("buy.kt", TEMPLATE_LIKE).unwrap();
        assert_eq!((t.val_name.as_str(), t.scenario.as_str()), ("buy", "buy"));
        assert_eq!(t.steps.len(), 5, "{:#?}", t.steps);
        assert_eq!(
            t.steps[0],
            json!({"request": {"name": "Get Access Token", "method": "POST", "url": "http://keycloak:80/token",
                   "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                   "body": "client_id=frontend&username=gatling+user"},
                   "checks": [{"json": {"path": "$.access_token", "exists": true}}],
                   "captures": {"accessToken": {"json": "$.access_token"}}})
        );
        assert_eq!(t.steps[1]["request"]["url"], "http://gateway:8080/graphql");
        assert_eq!(
            t.steps[1]["request"]["headers"]["Authorization"],
            "Bearer ${accessToken}"
        );
        assert_eq!(
            t.steps[1]["request"]["body"],
            "{ \"query\": \"query { products(first: 10) { nodes { id } } }\" }"
        );
        assert_eq!(
            t.steps[2],
            json!({"think": {"min": "4000ms", "max": "10000ms"}})
        );
        assert_eq!(
            t.steps[3]["request"]["body"],
            "{ \"query\": \"query { product(id: \\\"${productId}\\\") { id } } $x\" }"
        );
        assert_eq!(t.steps[4], json!({"think": "2000ms"}));
    }

    fn err(text: &str) -> String {
        translate("w.kt", text).unwrap_err().to_string()
    }

    #[test]
    fn what_is_not_translated_is_named_with_its_line() {
        let head = "val w = scenario(\"w\")\n";
        assert_eq!(
            err(&format!("{head}    .repeat(3)\n")),
            "w.kt:2:6: `.repeat(...)` is not translated (supported: .exec { session -> ... }, .exec(http(...)...), .pause(...))"
        );
        assert!(
            err(&format!(
                "{head}.exec(http(\"a\").get(\"/\").check(css(\"x\")))"
            ))
            .starts_with("w.kt:2:32: check `css(...)`")
        );
        assert!(
            err(&format!("{head}.exec(http(\"a\").get(\"#{{token}}\"))"))
                .contains("session variable \"token\" is neither set")
        );
        assert!(
            err(&format!(
                "{head}.exec {{ s -> val x = s.getString(\"k\")\n s.set(\"q\", \"$y\") }}"
            ))
            .starts_with("w.kt:3:13: $y: no `val y")
        );
        assert!(err(&format!("{head}.exec(http(\"a\"))")).contains("has no method and URL"));
        assert!(
            err("val w = scenario(\"w\")\n.pause(\"x")
                .contains("w.kt:2:8: a string that never ends")
        );
        assert!(
            err(&format!(
                "{head}.pause(Duration.ofMillis(5), Duration.ofMillis(1))"
            ))
            .contains("max below min")
        );
    }

    #[test]
    fn gatling_status_checks_and_raw_strings() {
        let t = translate(
            "w.kt",
            "val w = scenario(\"w\").exec(http(\"a\").get(\"/x\").check(status().is(201), jsonPath(\"$.id\").is(\"7\")))\n.exec { session -> session.set(\"b\", \"\"\"{\"a\": 1}\"\"\") }\n.exec(http(\"b\").put(\"/y\").body(StringBody(\"#{b}\")).asJson())",
        )
        .unwrap();
        assert_eq!(
            t.steps[0]["checks"],
            json!([{"status": 201}, {"json": {"path": "$.id", "equals": "7"}}, {"json": {"path": "$.id", "exists": true}}])
        );
        assert_eq!(t.steps[1]["request"]["body"], "{\"a\": 1}");
        assert_eq!(
            t.steps[1]["request"]["headers"]["Content-Type"],
            "application/json"
        );
    }
}
