//! The flags every `squall` server shares for who may call it: extra
//! `Host` names and the token (see `squall_http::access`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use squall_http::Access;

use crate::exit::InvalidInput;

#[derive(Args, Debug, Clone, Default)]
pub(crate) struct DoorArgs {
    /// A host name callers may use in the Host header besides loopback names
    /// (repeatable), e.g. the machine's DNS name or a Kubernetes service.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,

    /// File holding the bearer token callers must send (Authorization:
    /// Bearer TOKEN) [default: $SQUALL_TOKEN]. Required beyond loopback.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

impl DoorArgs {
    /// The token from --token-file or $SQUALL_TOKEN, if any.
    pub(crate) fn token(&self) -> Result<Option<String>, InvalidInput> {
        squall_http::token_from(self.token_file.as_deref()).map_err(|e| {
            InvalidInput(format!(
                "{}: cannot read the token: {e}",
                self.token_file
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ))
        })
    }

    /// The door of a server on `listen`: loopback without a token unless
    /// one is given; beyond loopback only with one.
    pub(crate) fn access(&self, listen: SocketAddr) -> Result<Access, InvalidInput> {
        Access::new(listen, &self.allow_hosts, self.token()?)
            .map_err(|e| InvalidInput(e.to_string()))
    }
}
