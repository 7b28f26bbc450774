//! The `http` provider, with the request and response rules of chaoslib's
//! (`requests`-based) one: GET arguments as a query string, other methods a
//! form body unless `Content-Type` is exactly `application/json`; the body is
//! parsed JSON only for exactly `application/json`; a status code is never a
//! failure, only a connection error or a timeout is. Squall's own twist:
//! `expected_status`, documented by Chaos Toolkit but ignored by chaoslib, is
//! honoured (a different status fails the activity). `max_retries` retries
//! connection failures.

mod tls;
mod wire;

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Context, ProviderError};
use crate::pyrepr::py_str;
use crate::substitute::{render, substitute};

/// Sends the request an `http` provider describes and returns
/// `{status, headers, body}`.
pub async fn run(p: &Value, ctx: &Context) -> Result<Value, ProviderError> {
    let url = match p.get("url").map(|u| substitute(u, &ctx.scope)) {
        Some(Value::String(s)) => s,
        Some(other) => py_str(&other),
        None => String::new(),
    };
    let method = p
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("GET")
        .to_ascii_uppercase();
    let headers: Vec<(String, String)> = match p.get("headers").map(|h| substitute(h, &ctx.scope)) {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), py_str(v))).collect(),
        _ => Vec::new(),
    };
    let args = super::arguments(p, ctx);
    let (connect, read) = timeouts(p.get("timeout").map(|t| substitute(t, &ctx.scope)));
    let verify = p
        .get("verify_tls")
        .is_none_or(|v| v.as_bool() != Some(false));

    let mut target = wire::Target::parse(&url).map_err(ProviderError::Error)?;
    let mut body = None;
    let mut extra = Vec::new();
    if let Some(Value::Object(a)) = &args {
        if method == "GET" {
            target.append_query(&form(a));
        } else if headers
            .iter()
            .any(|(k, v)| k == "Content-Type" && v == "application/json")
        {
            body = Some(python_json(&Value::Object(a.clone())).into_bytes());
        } else {
            body = Some(form(a).into_bytes());
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                extra.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
        }
    }
    let req = wire::Request {
        method: &method,
        target: &target,
        headers: headers.iter().chain(&extra).cloned().collect(),
        body,
        verify_tls: verify,
    };
    // requests' `max_retries`: connection failures are retried, nothing else.
    let retries = p.get("max_retries").and_then(Value::as_u64).unwrap_or(0);
    let mut sent = wire::send(&req, connect, read).await;
    for _ in 0..retries {
        if !matches!(sent, Err(wire::WireError::Connect(_))) {
            break;
        }
        sent = wire::send(&req, connect, read).await;
    }
    let resp = sent.map_err(|e| match e {
        wire::WireError::Connect(why) => {
            ProviderError::Failed(format!("failed to connect to {url}: {why}"))
        }
        wire::WireError::Timeout => {
            ProviderError::Failed("activity took too long to complete".into())
        }
        wire::WireError::Other(why) => ProviderError::Error(why),
    })?;
    let mut hmap = Map::new();
    let mut content_type = None;
    for (k, v) in &resp.headers {
        if k.eq_ignore_ascii_case("content-type") && content_type.is_none() {
            content_type = Some(v.clone());
        }
        match hmap
            .iter_mut()
            .find(|(name, _)| name.eq_ignore_ascii_case(k))
        {
            Some((_, Value::String(prev))) => {
                prev.push_str(", ");
                prev.push_str(v);
            }
            _ => {
                hmap.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    let body = decode_body(content_type.as_deref(), &resp.body)?;
    if let Some(expected) = p.get("expected_status") {
        let ok = match expected {
            Value::Array(a) => a.iter().any(|x| x.as_u64() == Some(u64::from(resp.status))),
            x => x.as_u64() == Some(u64::from(resp.status)),
        };
        if !ok {
            return Err(ProviderError::Failed(format!(
                "HTTP status {} is not the expected status {}",
                resp.status,
                render(&py_str(expected), &ctx.scope)
            )));
        }
    }
    Ok(json!({"status": resp.status, "headers": hmap, "body": body}))
}

/// `timeout`: a number (both) or `[connect, read]`; none means wait forever, as requests does.
fn timeouts(t: Option<Value>) -> (Option<Duration>, Option<Duration>) {
    match t {
        Some(Value::Array(a)) if a.len() == 2 => (super::seconds(&a[0]), super::seconds(&a[1])),
        Some(v) => {
            let d = super::seconds(&v);
            (d, d)
        }
        None => (None, None),
    }
}

/// `application/json` exactly: parsed (or an error, which aborts); text
/// otherwise, decoded as requests does (ISO-8859-1 for `text/*` without a charset).
fn decode_body(ct: Option<&str>, body: &[u8]) -> Result<Value, ProviderError> {
    if ct == Some("application/json") {
        return serde_json::from_slice(body)
            .map_err(|e| ProviderError::Error(format!("JSONDecodeError: {e}")));
    }
    let charset = ct.and_then(|c| {
        c.split(';')
            .skip(1)
            .filter_map(|p| p.trim().strip_prefix("charset="))
            .next()
            .map(|s| s.trim_matches('"').to_ascii_lowercase())
    });
    let latin1 = || Value::String(body.iter().map(|&c| c as char).collect());
    Ok(match charset.as_deref() {
        Some("utf-8" | "utf8") => Value::String(String::from_utf8_lossy(body).into_owned()),
        Some(_) => latin1(),
        None if ct.is_some_and(|c| c.trim_start().starts_with("text/")) => latin1(),
        None => match std::str::from_utf8(body) {
            Ok(s) => Value::String(s.into()),
            Err(_) => latin1(),
        },
    })
}

/// `urlencode(..., doseq=True)`: lists repeat the key; values through `str()`.
fn form(a: &Map<String, Value>) -> String {
    let mut parts = Vec::new();
    for (k, v) in a {
        let vals: Vec<&Value> = match v {
            Value::Array(xs) => xs.iter().collect(),
            other => vec![other],
        };
        for x in vals {
            parts.push(format!("{}={}", quote_plus(k), quote_plus(&py_str(x))));
        }
    }
    parts.join("&")
}

fn quote_plus(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `json.dumps` default formatting: `", "` and `": "` separators, ASCII escapes.
fn python_json(v: &Value) -> String {
    match v {
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(python_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, x)| format!(
                    "{}: {}",
                    python_json(&Value::String(k.clone())),
                    python_json(x)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::String(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                        let mut buf = [0u16; 2];
                        for u in c.encode_utf16(&mut buf) {
                            out.push_str(&format!("\\u{u:04x}"));
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        other => other.to_string(),
    }
}

/// A plain GET for loading experiments from a URL: status, content type, body.
pub async fn get(
    url: &str,
    headers: Vec<(String, String)>,
    verify_tls: bool,
) -> Result<(u16, Option<String>, Vec<u8>), String> {
    let target = wire::Target::parse(url)?;
    let req = wire::Request {
        method: "GET",
        target: &target,
        headers,
        body: None,
        verify_tls,
    };
    let timeout = Some(std::time::Duration::from_secs(30));
    let resp = wire::send(&req, timeout, timeout)
        .await
        .map_err(|e| match e {
            wire::WireError::Connect(why) | wire::WireError::Other(why) => why,
            wire::WireError::Timeout => "timed out".into(),
        })?;
    let ct = resp
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone());
    Ok((resp.status, ct, resp.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_decode_like_requests() {
        let j = decode_body(Some("application/json"), br#"{"a":1}"#).unwrap();
        assert_eq!(j, json!({"a": 1}));
        let s = decode_body(Some("application/json; charset=utf-8"), br#"{"a":1}"#).unwrap();
        assert_eq!(s, json!("{\"a\":1}"));
        let t = decode_body(Some("text/plain"), "é".as_bytes()).unwrap();
        assert_eq!(t, json!("Ã©"));
        assert!(decode_body(Some("application/json"), b"{nope").is_err());
    }

    #[test]
    fn forms_and_json_bodies() {
        let a = json!({"a": "x y", "b": [1, 2], "c": true});
        assert_eq!(form(a.as_object().unwrap()), "a=x+y&b=1&b=2&c=True");
        assert_eq!(
            python_json(&json!({"a": [1, "é"]})),
            "{\"a\": [1, \"\\u00e9\"]}"
        );
    }
}
