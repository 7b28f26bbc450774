//! A request ready to send: encoded once for HTTP/1.1, in parts for HTTP/2.

use bytes::Bytes;

/// A request with everything resolved.
#[derive(Clone, Debug)]
pub struct PreparedRequest {
    /// Method.
    pub method: http::Method,
    /// `Host` / `:authority`.
    pub authority: String,
    /// Path and query.
    pub path: String,
    /// Header lines beyond `Host`, `content-length` and `user-agent`.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
    /// The whole HTTP/1.1 request, ready for one `write`.
    pub wire: Bytes,
}

const USER_AGENT: &str = concat!("squall/", env!("CARGO_PKG_VERSION"));

impl PreparedRequest {
    /// Builds and encodes a request.
    pub fn new(
        method: http::Method,
        authority: &str,
        path: &str,
        headers: Vec<(String, String)>,
        body: Bytes,
    ) -> Self {
        // Values substituted at run time (captures, feeders) may hold CR or
        // LF; they must not end the request line or a header and start
        // another. The path gets them percent-encoded, header values spaces
        // (as RFC 9112 lets a recipient do with obsolete line folding).
        let path = if path.contains(['\r', '\n', ' ', '\0']) {
            path.replace('\r', "%0D")
                .replace('\n', "%0A")
                .replace(' ', "%20")
                .replace('\0', "%00")
        } else {
            path.to_string()
        };
        let headers: Vec<(String, String)> = headers
            .into_iter()
            .map(|(k, v)| {
                if v.contains(['\r', '\n', '\0']) {
                    (k, v.replace(['\r', '\n', '\0'], " "))
                } else {
                    (k, v)
                }
            })
            .collect();
        let mut wire = Vec::with_capacity(64 + path.len() + body.len());
        wire.extend_from_slice(method.as_str().as_bytes());
        wire.push(b' ');
        wire.extend_from_slice(path.as_bytes());
        wire.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        wire.extend_from_slice(authority.as_bytes());
        wire.extend_from_slice(b"\r\n");
        let mut has_ua = false;
        for (k, v) in &headers {
            has_ua |= k.eq_ignore_ascii_case("user-agent");
            wire.extend_from_slice(k.as_bytes());
            wire.extend_from_slice(b": ");
            wire.extend_from_slice(v.as_bytes());
            wire.extend_from_slice(b"\r\n");
        }
        if !has_ua {
            wire.extend_from_slice(b"User-Agent: ");
            wire.extend_from_slice(USER_AGENT.as_bytes());
            wire.extend_from_slice(b"\r\n");
        }
        if !body.is_empty() || method_expects_body(&method) {
            wire.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(&body);
        Self {
            method,
            authority: authority.to_string(),
            path,
            headers,
            body,
            wire: Bytes::from(wire),
        }
    }

    /// True for HEAD, whose response never has a body.
    pub fn is_head(&self) -> bool {
        self.method == http::Method::HEAD
    }
}

fn method_expects_body(m: &http::Method) -> bool {
    matches!(
        *m,
        http::Method::POST | http::Method::PUT | http::Method::PATCH
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_http11() {
        let r = PreparedRequest::new(
            http::Method::POST,
            "h:1",
            "/x",
            vec![("X-A".into(), "b".into())],
            Bytes::from_static(b"hi"),
        );
        let s = std::str::from_utf8(&r.wire).unwrap();
        assert!(s.starts_with("POST /x HTTP/1.1\r\nHost: h:1\r\nX-A: b\r\nUser-Agent: squall/"));
        assert!(s.ends_with("Content-Length: 2\r\n\r\nhi"));
    }

    #[test]
    fn substituted_line_breaks_cannot_inject() {
        let r = PreparedRequest::new(
            http::Method::GET,
            "h:1",
            "/a\r\nInjected: path",
            vec![("X-A".into(), "a\r\nInjected: yes".into())],
            Bytes::new(),
        );
        let s = std::str::from_utf8(&r.wire).unwrap();
        assert!(
            s.starts_with("GET /a%0D%0AInjected:%20path HTTP/1.1\r\n"),
            "{s}"
        );
        assert!(s.contains("X-A: a  Injected: yes\r\n"), "{s}");
        assert!(!s.contains("\r\nInjected"), "{s}");
    }
}
