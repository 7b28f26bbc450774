//! What every pod squall generates for Kubernetes runs under, so the sim's
//! services and the fleet's coordinator and generators are hardened alike:
//! Kubernetes' "restricted" Pod Security profile (non-root, no privilege
//! escalation, no capabilities, read-only root filesystem, the runtime's
//! seccomp profile). Squall needs none of what this takes away: it writes
//! nothing outside its mounted volumes and binds unprivileged ports.

use serde_json::{Value, json};

/// The user every squall container runs as (distroless' `nonroot`).
pub const NON_ROOT_UID: u32 = 65532;

/// A container `securityContext` meeting the restricted profile.
pub fn restricted_container_security() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": NON_ROOT_UID,
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

/// FNV-1a over `bytes`: a stable fingerprint for change detection (a pod
/// template annotation that rolls pods when their configuration changes),
/// not a defence against anyone choosing the input.
pub fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}
