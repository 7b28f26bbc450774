//! Who may call a squall HTTP API.
//!
//! A server on 127.0.0.1 is still reachable from a web page in the user's
//! browser when a hostile DNS name resolves to 127.0.0.1 (DNS rebinding);
//! such requests carry the hostile name in `Host`, so only requests whose
//! `Host` is an address, a loopback name or an allowed name are served. A server beyond
//! loopback needs a bearer token (constant-time compared; never logged).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use http::HeaderMap;

/// The environment variable a token is read from when no file is given.
pub const TOKEN_ENV: &str = "SQUALL_TOKEN";

/// The door of one server.
#[derive(Clone, Debug)]
pub struct Access {
    /// Host names (lower case, no port) allowed besides addresses and loopback names.
    hosts: Vec<String>,
    /// Required as `Authorization: Bearer TOKEN` when set.
    token: Option<String>,
}

/// A server that cannot be opened as asked.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AccessError {
    /// Listening beyond loopback without a token.
    #[error(
        "listening on {0} (beyond loopback) needs a token: put one in a file and pass --token-file, or set {TOKEN_ENV}"
    )]
    TokenNeeded(SocketAddr),
    /// A token that is empty or has characters a header cannot carry.
    #[error("the token must be 16 to 256 visible ASCII characters")]
    BadToken,
}

/// Why a request is refused: its status (403 for a foreign `Host`, 401 for
/// a missing or wrong token) and a message for the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// What to do about it.
    pub message: String,
}

impl Access {
    /// The door of a server listening on `listen`: `hosts` are extra names
    /// callers may use in `Host` (a Kubernetes service name, a machine's
    /// DNS name). Beyond loopback a token is required.
    pub fn new(
        listen: SocketAddr,
        hosts: &[String],
        token: Option<String>,
    ) -> Result<Access, AccessError> {
        if token.as_deref().is_some_and(|t| !valid_token(t)) {
            return Err(AccessError::BadToken);
        }
        if !listen.ip().is_loopback() && token.is_none() {
            return Err(AccessError::TokenNeeded(listen));
        }
        Ok(Access {
            token,
            ..Access::hosts_only(hosts)
        })
    }

    /// The `Host` rule of [`Access::new`] without a token, for read-only
    /// endpoints that tokenless probes must reach wherever the server
    /// listens. (Addresses, the listen address among them, always pass.)
    pub fn hosts_only(hosts: &[String]) -> Access {
        Access {
            hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            token: None,
        }
    }

    /// Whether a token is required.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Checks one request's `Host` (or HTTP/2 `:authority`) and token.
    pub fn check(&self, headers: &HeaderMap, authority: Option<&str>) -> Result<(), Refusal> {
        self.check_host(headers, authority)?;
        self.check_token(headers)
    }

    /// Checks the `Host` only: for read-only endpoints that probes without
    /// a token must reach (health checks, metrics scrapes).
    pub fn check_host(&self, headers: &HeaderMap, authority: Option<&str>) -> Result<(), Refusal> {
        let host = headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .or(authority);
        let Some(host) = host else {
            return Err(Refusal {
                status: 403,
                message: "a Host header is required".into(),
            });
        };
        if !self.host_allowed(host) {
            return Err(Refusal {
                status: 403,
                message: format!(
                    "Host {host:?} is not this machine; allowed: loopback names{} (squall's --allow-host adds names)",
                    if self.hosts.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", self.hosts.join(", "))
                    }
                ),
            });
        }
        Ok(())
    }

    /// Checks the bearer token, when one is required.
    pub fn check_token(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        if let Some(want) = &self.token {
            let given = headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if !same(given.as_bytes(), want.as_bytes()) {
                return Err(Refusal {
                    status: 401,
                    message: "a valid token is required: Authorization: Bearer TOKEN".into(),
                });
            }
        }
        Ok(())
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = strip_port(host).to_ascii_lowercase();
        if name == "localhost" || name.ends_with(".localhost") {
            return true;
        }
        // An address is never a rebound name: a browser sends an address
        // in Host only when it connects to that address itself, and only a
        // loopback address reaches a loopback server. (This also lets
        // Kubernetes probes, which use the pod's IP, through.)
        if name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok()
        {
            return true;
        }
        self.hosts.iter().any(|h| {
            h.trim_start_matches('[').trim_end_matches(']')
                == name.trim_start_matches('[').trim_end_matches(']')
        })
    }
}

/// 16 to 256 visible ASCII characters: long enough not to guess, and
/// sendable in a header.
fn valid_token(t: &str) -> bool {
    (16..=256).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_graphic())
}

/// `host:port` -> `host`; `[::1]:80` -> `[::1]`; a bare IPv6 address stays.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Constant-time comparison: how much of a token matched must not show in
/// the response time.
fn same(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ x);
    }
    diff == 0
}

/// The token from `file` (trimmed), else from `$SQUALL_TOKEN`, else none.
pub fn token_from(file: Option<&Path>) -> std::io::Result<Option<String>> {
    if let Some(f) = file {
        let text = std::fs::read_to_string(f)?;
        return Ok(Some(text.trim().to_string()));
    }
    Ok(std::env::var(TOKEN_ENV)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const TOKEN: &str = "0123456789abcdef-token";

    #[test]
    fn loopback_names_pass_and_rebound_names_do_not() {
        let a = Access::new("127.0.0.1:8474".parse().unwrap(), &[], None).unwrap();
        for ok in [
            "127.0.0.1:8474",
            "localhost:8474",
            "localhost",
            "[::1]:8474",
            "127.0.0.2",
        ] {
            assert!(a.check(&headers(&[("host", ok)]), None).is_ok(), "{ok}");
        }
        assert!(
            a.check(&headers(&[("host", "10.0.0.1:8474")]), None)
                .is_ok()
        );
        for bad in [
            "evil.example:8474",
            "attacker.localhost.evil",
            "127.0.0.1.evil.example",
        ] {
            let r = a.check(&headers(&[("host", bad)]), None).unwrap_err();
            assert_eq!(r.status, 403, "{bad}");
        }
        assert_eq!(a.check(&HeaderMap::new(), None).unwrap_err().status, 403);
        assert!(a.check(&HeaderMap::new(), Some("127.0.0.1:1")).is_ok());
    }

    #[test]
    fn configured_names_and_the_listen_address_pass() {
        let a = Access::new(
            "10.1.2.3:8474".parse().unwrap(),
            &["Catalog".into()],
            Some(TOKEN.into()),
        )
        .unwrap();
        let auth = format!("Bearer {TOKEN}");
        for ok in ["catalog:8080", "10.1.2.3:8474"] {
            assert!(
                a.check(&headers(&[("host", ok), ("authorization", &auth)]), None)
                    .is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn beyond_loopback_a_token_is_required_and_checked() {
        assert_eq!(
            Access::new("0.0.0.0:8474".parse().unwrap(), &[], None).unwrap_err(),
            AccessError::TokenNeeded("0.0.0.0:8474".parse().unwrap())
        );
        assert_eq!(
            Access::new("0.0.0.0:8474".parse().unwrap(), &[], Some("short".into())).unwrap_err(),
            AccessError::BadToken
        );
        let a = Access::new("0.0.0.0:8474".parse().unwrap(), &[], Some(TOKEN.into())).unwrap();
        let h = |auth: &str| headers(&[("host", "127.0.0.1"), ("authorization", auth)]);
        assert!(a.check(&h(&format!("Bearer {TOKEN}")), None).is_ok());
        assert_eq!(a.check(&h("Bearer wrong"), None).unwrap_err().status, 401);
        assert_eq!(
            a.check(&h(&format!("Bearer {TOKEN}x")), None)
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            a.check(&headers(&[("host", "127.0.0.1")]), None)
                .unwrap_err()
                .status,
            401
        );
    }
}
