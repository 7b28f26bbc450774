//! Request bodies and path values read with the field to blame.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::ApiError;

/// A JSON object from a body, the failing field named (`name`,
/// `document`). Only an object: serde would also read a struct from an
/// array of its fields in order, which no client means.
pub(super) fn object<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad(None, "the body must be a JSON object"));
    }
    json(body)
}

/// JSON from a body, the failing field named.
pub(super) fn json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        ApiError::bad(
            field.as_deref(),
            format!("invalid JSON body: {}", e.inner()),
        )
    })
}

/// A body that must be UTF-8 text without NUL (PostgreSQL's text cannot
/// hold it, and no document needs it).
pub(super) fn text(body: Bytes) -> Result<String, ApiError> {
    let t = String::from_utf8(body.to_vec())
        .map_err(|e| ApiError::bad(None, format!("the body is not UTF-8: {e}")))?;
    no_nul(None, &t)?;
    Ok(t)
}

/// Refuses a NUL character in stored text.
pub(super) fn no_nul(field: Option<&str>, t: &str) -> Result<(), ApiError> {
    if t.contains('\0') {
        return Err(ApiError::bad(field, "NUL characters are not accepted"));
    }
    Ok(())
}

/// A name people gave: 1 to 200 characters, not only spaces, no control
/// characters.
pub(super) fn name(field: &str, n: &str) -> Result<String, ApiError> {
    let t = n.trim();
    if t.is_empty() || t.chars().count() > 200 || t.chars().any(char::is_control) {
        return Err(ApiError::bad(
            Some(field),
            "a name of 1 to 200 characters, not only spaces, without control characters",
        ));
    }
    Ok(t.to_string())
}

/// A version number from the path: `3` or MiSArch's `v3`.
pub(super) fn version(s: &str) -> Result<i64, ApiError> {
    s.strip_prefix('v')
        .unwrap_or(s)
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| {
            ApiError::bad(
                Some("version"),
                format!("{s:?} is not a version (1, 2, ... or v1, v2, ...)"),
            )
        })
}
