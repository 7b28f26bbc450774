//! TLS client settings for the http provider: web PKI roots, or (with
//! `verify_tls: false`) any certificate, built once per process from
//! `squall_http::tls`.

use std::sync::{Arc, OnceLock};

/// The client configuration for `verify_tls`.
pub(super) fn config(verify: bool) -> Arc<rustls::ClientConfig> {
    static VERIFIED: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    static UNVERIFIED: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let cell = if verify { &VERIFIED } else { &UNVERIFIED };
    cell.get_or_init(|| Arc::new(squall_http::tls::client_config(verify, &[])))
        .clone()
}
