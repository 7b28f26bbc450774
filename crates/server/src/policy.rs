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
}
