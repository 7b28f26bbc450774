//! `${var}` templates in URLs, headers and bodies, compiled once per plan.

use std::collections::HashMap;

/// A string with `${name}` placeholders, split into literal and variable parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(String),
}

/// Variables of one virtual user: captured values and feeder columns.
pub type Vars = HashMap<String, String>;

/// A template with an unclosed or empty `${...}`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

impl Template {
    /// Compiles `s`; `$${` escapes a literal `${`. An unclosed `${` is an error.
    pub fn parse(s: &str) -> Result<Self, TemplateError> {
        Self::parse_text(s).map_err(TemplateError)
    }

    fn parse_text(s: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = s;
        while let Some(pos) = rest.find("${") {
            if pos > 0 && rest[..pos].ends_with('$') {
                lit.push_str(&rest[..pos - 1]);
                lit.push_str("${");
                rest = &rest[pos + 2..];
                continue;
            }
            lit.push_str(&rest[..pos]);
            let after = &rest[pos + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in {s:?}"))?;
            let name = after[..end].trim();
            if name.is_empty() {
                return Err(format!("empty variable name `${{}}` in {s:?}"));
            }
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(Part::Var(name.to_string()));
            rest = &after[end + 1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() || parts.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Self { parts })
    }

    /// True when the template has no variables (it can be rendered once).
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Lit(_)))
    }

    /// The variable names used, in order of appearance.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// Renders into `out`; unknown variables render as empty strings (the
    /// plan compiler rejects names that can never be set).
    pub fn render_into(&self, vars: &Vars, out: &mut String) {
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => {
                    if let Some(val) = vars.get(v) {
                        out.push_str(val);
                    }
                }
            }
        }
    }

    /// Renders to a new string.
    pub fn render(&self, vars: &Vars) -> String {
        let mut s = String::new();
        self.render_into(vars, &mut s);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_and_escapes() {
        let t = Template::parse("/users/${id}/cart?x=$${lit}&t=${ tok }").unwrap();
        let vars: Vars = [("id".into(), "7".into()), ("tok".into(), "a b".into())].into();
        assert_eq!(t.render(&vars), "/users/7/cart?x=${lit}&t=a b");
        assert_eq!(t.vars().collect::<Vec<_>>(), ["id", "tok"]);
        assert!(!t.is_static());
        assert!(Template::parse("/plain").unwrap().is_static());
    }

    #[test]
    fn rejects_unclosed_and_empty() {
        assert!(Template::parse("/a/${id").is_err());
        assert!(Template::parse("/a/${}").is_err());
    }
}
