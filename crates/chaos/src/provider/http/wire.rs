//! A minimal HTTP/1.1 exchange for activities: one connection per request
//! (`Connection: close`), the response read to its end, header names kept in
//! the server's case (chaoslib's journal shows them so; hyper would lowercase
//! them). Activities are a handful of requests, so pooling buys nothing.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where a request goes.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, e.g. `/a?b=1`.
    pub path: String,
}

impl Target {
    /// Parses an absolute http(s) URL; errors read like requests' exceptions.
    pub(super) fn parse(url: &str) -> Result<Target, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if url.contains("://") {
            return Err(format!(
                "InvalidSchema: No connection adapters were found for '{url}'"
            ));
        } else {
            return Err(format!(
                "MissingSchema: Invalid URL '{url}': No scheme supplied. Perhaps you meant https://{url}?"
            ));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        let path = path.split('#').next().unwrap_or("/").to_string();
        let authority = authority.rsplit('@').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                let port = p
                    .parse()
                    .map_err(|_| format!("InvalidURL: Failed to parse: {url}"))?;
                (h, port)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(format!("InvalidURL: Invalid URL '{url}': No host supplied"));
        }
        Ok(Target {
            tls,
            host: host.trim_start_matches('[').trim_end_matches(']').into(),
            port,
            path,
        })
    }

    pub(super) fn append_query(&mut self, q: &str) {
        if q.is_empty() {
            return;
        }
        self.path
            .push(if self.path.contains('?') { '&' } else { '?' });
        self.path.push_str(q);
    }
}

pub(super) struct Request<'a> {
    pub method: &'a str,
    pub target: &'a Target,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub verify_tls: bool,
}

pub(super) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub(super) enum WireError {
    /// requests' `ConnectionError`.
    Connect(String),
    /// requests' `Timeout` (connect or read).
    Timeout,
    /// Anything else (a malformed response, a TLS name that cannot be used).
    Other(String),
}

/// Sends one request and reads the whole response.
pub(super) async fn send(
    req: &Request<'_>,
    connect: Option<Duration>,
    read: Option<Duration>,
) -> Result<Response, WireError> {
    let t = req.target;
    let dial = TcpStream::connect((t.host.as_str(), t.port));
    let tcp = match connect {
        Some(d) => tokio::time::timeout(d, dial)
            .await
            .map_err(|_| WireError::Timeout)?,
        None => dial.await,
    }
    .map_err(|e| WireError::Connect(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let exchange = async {
        if t.tls {
            let name = rustls::pki_types::ServerName::try_from(t.host.clone())
                .map_err(|e| WireError::Other(format!("InvalidURL: {e}")))?;
            let stream = tokio_rustls::TlsConnector::from(super::tls::config(req.verify_tls))
                .connect(name, tcp)
                .await
                .map_err(|e| WireError::Connect(format!("SSLError: {e}")))?;
            exchange(stream, req).await
        } else {
            exchange(tcp, req).await
        }
    };
    match read {
        Some(d) => tokio::time::timeout(d, exchange)
            .await
            .map_err(|_| WireError::Timeout)?,
        None => exchange.await,
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    req: &Request<'_>,
) -> Result<Response, WireError> {
    let t = req.target;
    let default_port = if t.tls { 443 } else { 80 };
    let host = if t.port == default_port {
        t.host.clone()
    } else {
        format!("{}:{}", t.host, t.port)
    };
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, t.path);
    let has = |n: &str| req.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if !has("host") {
        head.push_str(&format!("Host: {host}\r\n"));
    }
    if !has("user-agent") {
        head.push_str(concat!(
            "User-Agent: squall/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        ));
    }
    if !has("accept") {
        head.push_str("Accept: */*\r\n");
    }
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = req.body.as_deref().unwrap_or_default();
    if req.body.is_some() || !matches!(req.method, "GET" | "HEAD" | "OPTIONS" | "DELETE") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    let io = |e: std::io::Error| WireError::Connect(e.to_string());
    s.write_all(head.as_bytes()).await.map_err(io)?;
    s.write_all(body).await.map_err(io)?;
    s.flush().await.map_err(io)?;
    let head_only = req.method == "HEAD";
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 16384];
    // Read until the response is complete by its own framing, so a server
    // that keeps the connection open despite `Connection: close` cannot hang
    // the activity; otherwise until the peer closes.
    while !complete(&buf, head_only) {
        match s.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            // A TLS peer that closes without close_notify still sent a whole response.
            Err(_) if !buf.is_empty() => break,
            Err(e) => return Err(io(e)),
        }
    }
    parse_response(&buf, head_only)
}

/// Whether `buf` holds a whole response (false when only EOF can tell).
fn complete(buf: &[u8], head_only: bool) -> bool {
    let mut hs = [httparse::EMPTY_HEADER; 128];
    let mut r = httparse::Response::new(&mut hs);
    let Ok(httparse::Status::Complete(n)) = r.parse(buf) else {
        return false;
    };
    let status = r.code.unwrap_or(0);
    if head_only || status < 200 || status == 204 || status == 304 {
        return true;
    }
    let header = |name: &str| {
        r.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase())
    };
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        return buf[n..].ends_with(b"0\r\n\r\n");
    }
    match header("content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
        Some(len) => buf.len() >= n + len,
        None => false,
    }
}

fn parse_response(buf: &[u8], head_only: bool) -> Result<Response, WireError> {
    let mut hs = [httparse::EMPTY_HEADER; 128];
    let mut r = httparse::Response::new(&mut hs);
    let n = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return Err(WireError::Connect("Connection aborted: RemoteDisconnected('Remote end closed connection without response')".into()));
        }
        Err(e) => return Err(WireError::Connect(format!("BadStatusLine: {e}"))),
    };
    let headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    let rest = &buf[n..];
    let status = r.code.unwrap_or(0);
    // 1xx, 204 and 304 responses have no body, whatever the server sent after the head.
    let bodiless = status < 200 || status == 204 || status == 304;
    let body = if head_only || bodiless {
        Vec::new()
    } else if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        dechunk(rest)
    } else if let Some(len) = get("content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
        rest[..len.min(rest.len())].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status: r.code.unwrap_or(0),
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..i])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        b = &b[i + 2..];
        if size == 0 || size > b.len() {
            break;
        }
        out.extend_from_slice(&b[..size]);
        b = b.get(size + 2..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_bad_ones_read_like_requests() {
        let t = Target::parse("http://127.0.0.1:8080/a/b?x=1#frag").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str(), t.tls),
            ("127.0.0.1", 8080, "/a/b?x=1", false)
        );
        let t = Target::parse("https://example.org").unwrap();
        assert_eq!((t.port, t.path.as_str()), (443, "/"));
        assert!(
            Target::parse("127.0.0.1/x")
                .unwrap_err()
                .starts_with("MissingSchema")
        );
        assert!(
            Target::parse("ftp://x/")
                .unwrap_err()
                .starts_with("InvalidSchema")
        );
        assert!(
            Target::parse("http://h:port/")
                .unwrap_err()
                .starts_with("InvalidURL")
        );
    }

    #[test]
    fn responses_are_complete_by_their_framing() {
        assert!(!complete(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
            false
        ));
        assert!(complete(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabcde",
            false
        ));
        assert!(complete(b"HTTP/1.1 204 No Content\r\n\r\n", false));
        assert!(!complete(b"HTTP/1.1 200 OK\r\n\r\nuntil close", false));
        assert!(complete(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
            false
        ));
    }

    #[test]
    fn chunked_bodies_are_joined() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Case: A\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let r = parse_response(raw, false).ok().unwrap();
        assert_eq!(r.body, b"abcde");
        assert_eq!(r.headers[1], ("X-Case".to_string(), "A".to_string()));
    }
}
