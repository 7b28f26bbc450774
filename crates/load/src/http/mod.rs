//! The generator's HTTP client: one connection per virtual user and origin.
//!
//! HTTP/1.1 uses a small hand-written client ([`h1`]): a prepared request is
//! one `write`, a response is parsed in place with `httparse`, nothing is
//! allocated per request unless a check needs the body or headers. That is
//! what lets one core keep up with wrk (which does the same in C). HTTP/2
//! uses hyper's connection-level client ([`h2`]).

pub mod h1;
pub mod h2;
mod origin;
mod prepared;

pub use origin::{Origin, OriginError};
pub use prepared::PreparedRequest;

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
    /// Opens a connection to `origin`.
    pub async fn connect(origin: &Origin, http2: bool) -> Result<Conn, ExchangeError> {
        if http2 {
            h2::H2Conn::connect(origin).await.map(Conn::H2)
        } else {
            h1::H1Conn::connect(origin).await.map(Conn::H1)
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
