//! Prometheus text exposition helpers shared by every `/metrics` endpoint.

/// A label value escaped as the exposition format requires (backslash,
/// double quote, line feed), so a name such as `a"b` cannot break the line
/// or forge another label.
pub fn label_value(v: &str) -> String {
    let mut o = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_what_would_break_the_line() {
        assert_eq!(super::label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(super::label_value("plain"), "plain");
    }
}
