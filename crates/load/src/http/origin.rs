//! Where requests go: scheme, host and resolved socket addresses.

use std::net::{SocketAddr, ToSocketAddrs};

/// A resolved HTTP origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name (or address) for TLS server name indication.
    pub host: String,
    /// The `Host` header value (`host[:port]`).
    pub authority: String,
    /// Addresses resolved once at start-up, as wrk does.
    pub addrs: Vec<SocketAddr>,
}

/// A URL that cannot be used as a target.
#[derive(Debug, thiserror::Error)]
pub enum OriginError {
    /// Not an absolute `http://` URL.
    #[error("invalid URL {0:?}: expected http://host[:port]/path")]
    Invalid(String),
    /// No scheme: `127.0.0.1:8080/` instead of `http://127.0.0.1:8080/`.
    #[error("invalid URL {0:?}: no scheme; did you mean \"http://{0}\"?")]
    NoScheme(String),
    /// A port that is not a number from 1 to 65535.
    #[error("invalid URL {url:?}: port {port:?} is not a number from 1 to 65535")]
    BadPort {
        /// The URL.
        url: String,
        /// The port as written.
        port: String,
    },
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// Host name.
        host: String,
        /// Resolver error.
        source: std::io::Error,
    },
}

impl Origin {
    /// Splits an absolute URL into its origin and its path-and-query.
    pub fn parse(url: &str) -> Result<(Origin, String), OriginError> {
        if !url.contains("://") && !url.starts_with('/') {
            return Err(OriginError::NoScheme(url.into()));
        }
        // The authority as written: `http::Uri` takes a port it cannot read
        // (`:99999`, `:abc`, `:`) as no port at all, which would mean 80.
        let written = url
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
            .unwrap_or("");
        let host_end = written.rfind(']').map_or(0, |i| i + 1);
        if let Some(colon) = written[host_end..].rfind(':') {
            let port = &written[host_end + colon + 1..];
            if !port.parse::<u16>().is_ok_and(|p| p > 0) {
                return Err(OriginError::BadPort {
                    url: url.into(),
                    port: port.into(),
                });
            }
        }
        let uri: http::Uri = url.parse().map_err(|_| OriginError::Invalid(url.into()))?;
        let (scheme, default_port) = match uri.scheme_str() {
            Some("http") => ("http", 80),
            Some("https") => ("https", 443),
            _ => return Err(OriginError::Invalid(url.into())),
        };
        let auth = uri
            .authority()
            .ok_or_else(|| OriginError::Invalid(url.into()))?;
        let host = auth.host().trim_start_matches('[').trim_end_matches(']');
        let port = auth.port_u16().unwrap_or(default_port);
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|source| OriginError::Resolve {
                host: host.into(),
                source,
            })?
            .collect();
        if addrs.is_empty() {
            return Err(OriginError::Resolve {
                host: host.into(),
                source: std::io::Error::other("no addresses"),
            });
        }
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let path = if path.is_empty() { "/" } else { path };
        Ok((
            Origin {
                scheme: scheme.into(),
                host: host.to_string(),
                authority: auth.as_str().to_string(),
                addrs,
            },
            path.to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_that_are_not_ports_are_refused() {
        for bad in ["99999", "65536", "abc", "-1", "", "0"] {
            let url = format!("http://127.0.0.1:{bad}/");
            let e = Origin::parse(&url).unwrap_err().to_string();
            assert!(e.contains("is not a number from 1 to 65535"), "{url}: {e}");
        }
        let e = Origin::parse("127.0.0.1:8080/").unwrap_err().to_string();
        assert!(e.contains("did you mean \"http://127.0.0.1:8080/\""), "{e}");
        assert!(Origin::parse("http://[::1]:8080/").is_ok());
        assert!(Origin::parse("http://127.0.0.1/a:b").is_ok());
    }

    #[test]
    fn splits_url() {
        let (o, p) = Origin::parse("http://127.0.0.1:8080/a/b?c=1").unwrap();
        assert_eq!(o.authority, "127.0.0.1:8080");
        assert_eq!(o.addrs[0].port(), 8080);
        assert_eq!(p, "/a/b?c=1");
        let (_, p) = Origin::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(p, "/");
    }

    #[test]
    fn rejects_relative_and_other_schemes() {
        assert!(matches!(
            Origin::parse("/just/a/path"),
            Err(OriginError::Invalid(_))
        ));
        let (o, _) = Origin::parse("https://127.0.0.1/").unwrap();
        assert_eq!((o.scheme.as_str(), o.addrs[0].port()), ("https", 443));
        assert!(matches!(
            Origin::parse("ftp://x/"),
            Err(OriginError::Invalid(_))
        ));
    }
}
