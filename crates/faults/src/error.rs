//! Why a fault could not be applied, in terms a caller can act on; each kind
//! maps to one HTTP status so API clients see the same reason.

/// An injector refused or failed a request. Nothing was applied.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// A field has a bad value.
    #[error("{field}: {message}")]
    Invalid {
        /// Which field (dotted path).
        field: String,
        /// What was expected.
        message: String,
    },
    /// No such proxy, toxic, lease or process.
    #[error("{0}")]
    NotFound(String),
    /// A proxy or toxic of that name exists already, or a name match is ambiguous.
    #[error("{0}")]
    Conflict(String),
    /// A configured cap would be exceeded.
    #[error("cap exceeded: {0}")]
    Cap(String),
    /// The injectors are halted by the kill switch.
    #[error("halted: {0}")]
    Halted(String),
    /// The caller may not do this (a browser, a foreign `Host`, a command
    /// the API was not started to run).
    #[error("{0}")]
    Forbidden(String),
    /// The caller did not give the API's token.
    #[error("{0}")]
    Unauthorized(String),
    /// The operating system refused (bind, signal, spawn...).
    #[error("{0}")]
    Io(String),
}

impl FaultError {
    /// A bad value in `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        FaultError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status an API answers with.
    pub fn status(&self) -> u16 {
        match self {
            FaultError::Invalid { .. } => 400,
            FaultError::NotFound(_) => 404,
            FaultError::Forbidden(_) => 403,
            FaultError::Unauthorized(_) => 401,
            FaultError::Conflict(_) => 409,
            FaultError::Cap(_) | FaultError::Halted(_) => 422,
            FaultError::Io(_) => 500,
        }
    }
}
