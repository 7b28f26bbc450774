//! TLS connectors for `https://` origins (the configuration is
//! `squall_http::tls`'s, shared with the Chaos Toolkit http provider).

use std::sync::Arc;

use tokio_rustls::TlsConnector;

/// Connectors for `https://` origins: one offering HTTP/1.1, one HTTP/2 (ALPN).
#[derive(Clone)]
pub struct Tls {
    /// ALPN `http/1.1`.
    pub h1: TlsConnector,
    /// ALPN `h2`.
    pub h2: TlsConnector,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl Tls {
    /// Web PKI roots (Mozilla's, compiled in) or, with `insecure`, any certificate.
    pub fn new(insecure: bool) -> Self {
        let make = |alpn: &[u8]| {
            TlsConnector::from(Arc::new(squall_http::tls::client_config(
                !insecure,
                &[alpn],
            )))
        };
        Self {
            h1: make(b"http/1.1"),
            h2: make(b"h2"),
        }
    }
}
