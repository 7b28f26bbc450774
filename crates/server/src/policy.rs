//! What a document may do when it is started over HTTP. A caller of the
//! API is not the operator at the keyboard: Chaos Toolkit `process` and
//! `python` providers run code on this machine, and process faults (pause,
//! kill, restart) act on its processes, so `squall serve` refuses them
//! unless it was started with `--allow-commands`.

use serde_json::Value;

/// Fault types that act on this machine's processes.
const PROCESS_FAULTS: &[&str] = &["pause", "kill", "restart"];

/// Chaos Toolkit provider types that run code here.
const CODE_PROVIDERS: &[&str] = &["process", "python"];

/// Names of the simulated systems built into squall (no file is read).
const BUILT_IN_SIMS: &[&str] = &["demo", "shop"];

/// A `sim` that names a topology file: the server would read a file of its
/// own disk for a caller (and quote it back in errors), so only the
/// built-in systems are taken unless `--allow-commands` trusts callers.
pub fn sim_file(doc: &Value) -> Option<String> {
    let sim = doc.get("sim")?;
    if sim.as_str().is_some_and(|s| BUILT_IN_SIMS.contains(&s)) {
        return None;
    }
    // A topology written inline reads nothing from disk.
    if sim.as_object().is_some_and(|o| !o.contains_key("topology")) {
        return None;
    }
    Some(format!(
        "sim: squall serve reads no topology file for a caller; use a built-in system ({}) \
         or start the server with --allow-commands",
        BUILT_IN_SIMS.join(", ")
    ))
}

/// Every field of `doc` that needs `--allow-commands`, with why.
pub fn needs_commands(doc: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (section, list) in [
        ("method", doc.get("method")),
        ("rollbacks", doc.get("rollbacks")),
        (
            "steady-state-hypothesis.probes",
            doc.pointer("/steady-state-hypothesis/probes"),
        ),
    ] {
        for (i, a) in list
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(t) = a.pointer("/provider/type").and_then(Value::as_str)
                && CODE_PROVIDERS.contains(&t)
            {
                found.push(format!(
                    "{section}[{i}].provider.type: a {t} provider runs code on the server's machine; \
                     squall serve refuses it unless started with --allow-commands"
                ));
            }
        }
    }
    for (i, f) in doc
        .get("faults")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(t) = f.pointer("/fault/type").and_then(Value::as_str)
            && PROCESS_FAULTS.contains(&t)
        {
            found.push(format!(
                "faults[{i}].fault.type: a {t} fault acts on the server's processes; \
                 squall serve refuses it unless started with --allow-commands"
            ));
        }
    }
    found
}

/// Every address in `doc` (a string starting with `http://` or
/// `https://`, a proxy's `upstream`) whose host is neither loopback nor in
/// `allowed`, located by its field. Empty when `allowed` is empty (no
/// allowlist configured). Loopback stays allowed: the simulated systems a
/// run starts live there.
pub fn targets_outside(doc: &Value, allowed: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    if !allowed.is_empty() {
        walk(doc, String::new(), &mut |path, v| {
            let host = if let Some(rest) = v
                .strip_prefix("http://")
                .or_else(|| v.strip_prefix("https://"))
            {
                authority_host(rest.split(['/', '?', '#']).next().unwrap_or(""))
            } else if path.ends_with(".upstream") {
                authority_host(v)
            } else {
                return;
            };
            if v.contains("${")
                || host.is_empty()
                || loopback(&host)
                || allowed.iter().any(|a| a.eq_ignore_ascii_case(&host))
            {
                return;
            }
            found.push(format!(
                "{path}: {host} is not among the hosts this server may target (--allow-target)"
            ));
        });
    }
    found
}

/// The host of `host:port`, `[v6]:port` or `user@host`.
fn authority_host(a: &str) -> String {
    let a = a.rsplit('@').next().unwrap_or(a);
    if let Some(v6) = a.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("").to_ascii_lowercase();
    }
    a.split(':').next().unwrap_or("").to_ascii_lowercase()
}

fn loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Calls `f` with the path and value of every string in `v`.
fn walk(v: &Value, path: String, f: &mut impl FnMut(&str, &str)) {
    match v {
        Value::String(s) => f(&path, s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, format!("{path}[{i}]"), f);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(item, p, f);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_code_providers_and_process_faults_only() {
        let doc = serde_json::json!({
            "method": [
                {"type": "action", "provider": {"type": "http", "url": "http://127.0.0.1:1/"}},
                {"type": "action", "provider": {"type": "process", "path": "rm"}}
            ],
            "steady-state-hypothesis": {"probes": [{"provider": {"type": "python", "module": "os"}}]},
            "faults": [
                {"fault": {"type": "latency", "service": "a"}},
                {"fault": {"type": "kill", "pid": 1}}
            ]
        });
        let found = needs_commands(&doc);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("method[1].provider.type: a process provider"));
        assert!(found[1].starts_with("steady-state-hypothesis.probes[0].provider.type: a python"));
        assert!(found[2].starts_with("faults[1].fault.type: a kill fault"));
        assert!(needs_commands(&serde_json::json!({"method": []})).is_empty());
    }

    #[test]
    fn targets_outside_the_allowlist_are_located_and_loopback_is_always_allowed() {
        let doc = serde_json::json!({
            "workload": {"base_url": "http://api.example.com:8080/v1"},
            "proxies": [{"upstream": "db.internal:5432"}, {"upstream": "127.0.0.1:5432"}],
            "method": [{"provider": {"url": "https://ok.example/x"}}],
            "faults": [{"fault": {"url": "http://[::1]:9/"}}],
            "steady-state-hypothesis": {"probes": [{"provider": {"url": "${sim.gateway}/"}}]}
        });
        let allowed = vec!["ok.example".to_string()];
        let found = targets_outside(&doc, &allowed);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found
                .iter()
                .any(|f| f.starts_with("workload.base_url: api.example.com"))
        );
        assert!(
            found
                .iter()
                .any(|f| f.starts_with("proxies[0].upstream: db.internal"))
        );
        assert!(
            targets_outside(&doc, &[]).is_empty(),
            "no allowlist, no limit"
        );
    }
}
