//! Following redirects as k6, oha and Gatling do (up to a limit): which
//! statuses redirect, where a `Location` leads on the same origin, and the
//! method and body of the next hop.

use bytes::Bytes;

use super::origin::Origin;

/// Statuses that redirect.
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The path and query `location` leads to when it stays on `origin`;
/// `None` for another origin (or a `Location` that is not a URL).
/// `current` is the path of the request that was redirected, for
/// relative references.
pub fn same_origin_path(location: &str, origin: &Origin, current: &str) -> Option<String> {
    let loc = location.trim();
    let absolute = |rest: &str, scheme: &str| -> Option<String> {
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        (scheme.eq_ignore_ascii_case(&origin.scheme)
            && same_authority(authority, &origin.authority, scheme))
        .then(|| with_slash(path))
    };
    if let Some(rest) = strip_prefix_ci(loc, "http://") {
        return absolute(rest, "http");
    }
    if let Some(rest) = strip_prefix_ci(loc, "https://") {
        return absolute(rest, "https");
    }
    if let Some(rest) = loc.strip_prefix("//") {
        return absolute(rest, &origin.scheme.clone());
    }
    if loc.contains("://") || loc.is_empty() {
        return None;
    }
    if loc.starts_with('/') {
        return Some(loc.to_string());
    }
    // Relative to the current path's directory (queries and fragments cut).
    let base = current.split(['?', '#']).next().unwrap_or("/");
    let dir = &base[..=base.rfind('/').unwrap_or(0)];
    if loc.starts_with('?') {
        return Some(format!("{base}{loc}"));
    }
    Some(format!("{}{loc}", if dir.is_empty() { "/" } else { dir }))
}

fn with_slash(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

/// `host` and `host:80` are one authority for `http` (443 for `https`).
fn same_authority(a: &str, b: &str, scheme: &str) -> bool {
    let default = if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ":80"
    };
    let norm = |s: &str| {
        let s = s.to_ascii_lowercase();
        match s.strip_suffix(default) {
            Some(h) => h.to_string(),
            None => s,
        }
    };
    norm(a) == norm(b)
}

/// The next hop's method and body: 303 always becomes `GET` without a
/// body, 301 and 302 turn a `POST` into a `GET` (as browsers and k6 do),
/// 307 and 308 keep both.
pub fn next_method(status: u16, method: &http::Method, body: &Bytes) -> (http::Method, Bytes) {
    match status {
        303 if method != http::Method::HEAD => (http::Method::GET, Bytes::new()),
        301 | 302 if method == http::Method::POST => (http::Method::GET, Bytes::new()),
        _ => (method.clone(), body.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            scheme: "http".into(),
            host: "127.0.0.1".into(),
            authority: "127.0.0.1:8080".into(),
            addrs: Vec::new(),
        }
    }

    #[test]
    fn locations_on_the_same_origin_become_paths() {
        let o = origin();
        let p = |l: &str| same_origin_path(l, &o, "/a/b?x=1");
        assert_eq!(p("/login").as_deref(), Some("/login"));
        assert_eq!(
            p("http://127.0.0.1:8080/home?y=2").as_deref(),
            Some("/home?y=2")
        );
        assert_eq!(p("HTTP://127.0.0.1:8080").as_deref(), Some("/"));
        assert_eq!(p("//127.0.0.1:8080/p").as_deref(), Some("/p"));
        assert_eq!(p("c").as_deref(), Some("/a/c"));
        assert_eq!(p("?page=2").as_deref(), Some("/a/b?page=2"));
        assert_eq!(p("http://127.0.0.1:9090/"), None, "another port");
        assert_eq!(p("https://127.0.0.1:8080/"), None, "another scheme");
        assert_eq!(p("http://example.com/"), None);
        assert_eq!(p("ftp://x/"), None);
        let plain = Origin {
            authority: "example.com".into(),
            ..origin()
        };
        assert_eq!(
            same_origin_path("http://example.com:80/x", &plain, "/").as_deref(),
            Some("/x")
        );
    }

    #[test]
    fn methods_change_as_browsers_change_them() {
        let body = Bytes::from_static(b"a=1");
        assert_eq!(
            next_method(303, &http::Method::PUT, &body).0,
            http::Method::GET
        );
        assert_eq!(
            next_method(302, &http::Method::POST, &body),
            (http::Method::GET, Bytes::new())
        );
        assert_eq!(
            next_method(307, &http::Method::POST, &body),
            (http::Method::POST, body.clone())
        );
        assert_eq!(
            next_method(301, &http::Method::DELETE, &body).0,
            http::Method::DELETE
        );
        assert!(is_redirect(308) && !is_redirect(304) && !is_redirect(300));
    }
}
