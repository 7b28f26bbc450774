//! The generator's HTTP client: one connection per virtual user and origin.
//!
//! HTTP/1.1 uses a small hand-written client ([`h1`]): a prepared request is
//! one `write`, a response is parsed in place with `httparse`, nothing is
//! allocated per request unless a check needs the body or headers. That is
//! what lets one core keep up with wrk (which does the same in C). HTTP/2
//! uses hyper's connection-level client ([`h2`]).

pub mod cookies;
pub mod h1;
pub mod h2;
mod origin;
mod prepared;
pub mod redirect;
mod stream;
mod tls;

pub use origin::{Origin, OriginError};
pub use prepared::PreparedRequest;
pub use stream::Stream;
pub use tls::Tls;

use std::time::Instant;

use squall_metrics::ErrorKind;

/// What the caller needs from a response beyond its status and size.
#[derive(Clone, Copy, Debug, Default)]
pub struct Want {
    /// Keep the body (for checks and captures).
    pub body: bool,
    /// Keep the headers (for header captures).
    pub headers: bool,
}

/// A response as the engine sees it.
#[derive(Debug, Default)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Headers (lower-cased names), only when asked for.
    pub headers: Vec<(String, String)>,
    /// Body, only when asked for.
    pub body: Vec<u8>,
    /// Bytes read for this response, head included.
    pub bytes_in: u64,
    /// When the first byte of the response arrived.
    pub first_byte: Option<Instant>,
    /// Whether the connection can carry another request.
    pub keep_alive: bool,
    /// The `Location` header, always kept (redirects).
    pub location: Option<String>,
    /// The `Set-Cookie` headers, always kept (the cookie jar).
    pub set_cookies: Vec<String>,
}

/// Why an exchange failed, already sorted into the reporting buckets.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct ExchangeError {
    /// The bucket.
    pub kind: ErrorKind,
    /// What happened, for the first-error message shown to the user.
    pub detail: String,
    /// True when a reused connection was found closed before any byte of
    /// the response: the request can be retried on a fresh connection.
    pub stale: bool,
}

impl ExchangeError {
    pub(crate) fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            stale: false,
        }
    }
}

/// An open connection of either protocol.
pub enum Conn {
    /// HTTP/1.1 keep-alive.
    H1(h1::H1Conn),
    /// HTTP/2 (one stream at a time per virtual user).
    H2(h2::H2Conn),
}

impl Conn {
    /// Opens a connection to `origin` (TCP, then TLS for `https`, then the
    /// HTTP/2 handshake when asked for).
    pub async fn connect(
        origin: &Origin,
        http2: bool,
        tls: Option<&Tls>,
    ) -> Result<Conn, ExchangeError> {
        let stream = connect_stream(origin, http2, tls).await?;
        if http2 {
            h2::H2Conn::handshake(origin, stream).await.map(Conn::H2)
        } else {
            Ok(Conn::H1(h1::H1Conn::new(stream)))
        }
    }

    /// Sends one request and reads the whole response.
    pub async fn exchange(
        &mut self,
        req: &PreparedRequest,
        want: Want,
    ) -> Result<Response, ExchangeError> {
        match self {
            Conn::H1(c) => c.exchange(req, want).await,
            Conn::H2(c) => c.exchange(req, want).await,
        }
    }
}

/// TCP to the first address that answers, then TLS where the origin needs it.
async fn connect_stream(
    origin: &Origin,
    http2: bool,
    tls: Option<&Tls>,
) -> Result<Stream, ExchangeError> {
    let mut last = None;
    let mut tcp = None;
    for addr in &origin.addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(tcp) = tcp else {
        let e = last
            .map(|e| e.to_string())
            .unwrap_or_else(|| "no address".into());
        return Err(ExchangeError::new(
            ErrorKind::Connect,
            format!("connect to {}: {e}", origin.authority),
        ));
    };
    let _ = tcp.set_nodelay(true);
    if origin.scheme != "https" {
        return Ok(Stream::Plain(tcp));
    }
    let Some(tls) = tls else {
        return Err(ExchangeError::new(
            ErrorKind::Connect,
            "https origin without TLS settings",
        ));
    };
    let name = rustls::pki_types::ServerName::try_from(origin.host.clone()).map_err(|e| {
        ExchangeError::new(
            ErrorKind::Connect,
            format!("invalid TLS server name {:?}: {e}", origin.host),
        )
    })?;
    let connector = if http2 { &tls.h2 } else { &tls.h1 };
    let s = connector.connect(name, tcp).await.map_err(|e| {
        ExchangeError::new(
            ErrorKind::Connect,
            format!("TLS handshake with {}: {e}", origin.authority),
        )
    })?;
    Ok(Stream::Tls(Box::new(s)))
}
