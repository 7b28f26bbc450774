//! Why a request failed, in the buckets users reason about.

use serde::{Deserialize, Serialize};

/// The reason a request did not succeed.
///
/// The buckets follow what a person debugging a run asks first: did we even
/// reach the server (`Connect`), did it answer in time (`Timeout`), did it
/// answer with something malformed or hang up (`Protocol`), or did it answer
/// properly but not as expected (`Status`, `Check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The TCP connection (or TLS handshake) could not be established.
    Connect,
    /// No complete response within the request's timeout.
    Timeout,
    /// The response status was not the one expected (>= 400 by default).
    Status,
    /// A check on the response failed.
    Check,
    /// The connection broke or the response could not be parsed.
    Protocol,
}

impl ErrorKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Status,
        ErrorKind::Check,
        ErrorKind::Protocol,
    ];

    /// Index into fixed-size per-kind counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The stable, lowercase name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Status => "status",
            ErrorKind::Check => "check",
            ErrorKind::Protocol => "protocol",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
