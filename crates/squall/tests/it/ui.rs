//! The web UI of `squall serve` in a real Chromium (Debian's, driven by
//! npm's playwright-core from tests/ui/flow.mjs): the whole flow a person
//! goes through, with screenshots kept under target/tmp/ui-artifacts.
//! What the browser showed is then checked against the server's records.

use std::path::Path;

use serde_json::Value;

use crate::fault_util::Agent;
use crate::serve_util::Server;
use crate::sim_util::http;
use crate::util::{chromium, repo_root, tempdir};

const TOKEN: &str = "ui-test-token-5c2f";

#[test]
fn the_web_ui_goes_from_create_to_comparison_in_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var_os("SQUALL_SKIP_BROWSER").is_some() {
            eprintln!("skipped: no Chromium (SQUALL_SKIP_BROWSER is set)");
            return;
        }
        panic!(
            "Chromium is needed for the UI test (apt-get install chromium), or set SQUALL_SKIP_BROWSER=1"
        );
    };
    let ui = repo_root().join("tests/ui");
    assert!(
        ui.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: scripts/test runs `npm ci` in tests/ui"
    );
    let data = tempdir();
    let server = Server::start(data.path(), &[], &[("SQUALL_TOKEN", TOKEN)]);
    // The browser goes through a proxy the flow takes down for a while.
    let agent = Agent::start(&data.path().join("proxy"));
    let upstream = server.base.trim_start_matches("http://");
    let made = http(
        "POST",
        &agent.url("/proxies"),
        Some(&format!(
            r#"{{"name": "ui", "listen": "127.0.0.1:0", "upstream": "{upstream}"}}"#
        )),
    )
    .json();
    let via = format!("http://{}", made["listen"].as_str().expect("listen"));
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-artifacts");
    let _ = std::fs::remove_dir_all(&artifacts);

    let out = std::process::Command::new("node")
        .arg("flow.mjs")
        .current_dir(&ui)
        .env("SQUALL_URL", &via)
        .env("SQUALL_PROXY_API", &agent.api)
        .env("SQUALL_PROXY_NAME", "ui")
        .env("SQUALL_TOKEN", TOKEN)
        .env("SQUALL_UI_ARTIFACTS", &artifacts)
        .env("CHROMIUM", &browser)
        .output()
        .expect("run node");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the UI flow failed (screenshots in {}):\n{log}",
        artifacts.display()
    );

    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(artifacts.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(results["ok"], true, "{results}");
    assert_eq!(
        results["problems"],
        serde_json::json!([]),
        "console errors: {results}"
    );
    assert_eq!(
        results["token_in_url"],
        serde_json::json!([]),
        "the token must never be in a URL"
    );
    let shots = results["shots"].as_array().unwrap();
    assert_eq!(shots.len(), 14, "{results}");
    for s in shots {
        let file = Path::new(s["file"].as_str().unwrap());
        let bytes = std::fs::read(file).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 5_000,
            "{} is not a real screenshot",
            file.display()
        );
    }

    // What the browser did happened on the server: two runs of version 1,
    // the second stopped; the first's faults confirmed in and out.
    let runs = server.call("GET", "/api/v1/runs", None).json();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let stopped = runs.iter().find(|r| r["status"] == "stopped");
    assert!(stopped.is_some(), "the stopped run: {runs:?}");
    let done = runs
        .iter()
        .find(|r| r["status"] == "completed")
        .expect("the completed run");
    let report = server
        .call(
            "GET",
            &format!("/api/v1/runs/{}/report", done["id"].as_str().unwrap()),
            None,
        )
        .json();
    for f in report["faults"].as_array().unwrap() {
        assert!(
            f["injected_s"].is_number() && f["reverted_s"].is_number(),
            "{f}"
        );
    }
    // The form's edit (the hold stage at 30/s) and the topology edit
    // (version 2, inline, gateway 5 ms) were stored.
    let exp = &server.call("GET", "/api/v1/experiments", None).json()[0];
    let id = exp["id"].as_str().unwrap();
    let v1 = server
        .call(
            "GET",
            &format!("/api/v1/experiments/{id}/versions/1/document"),
            None,
        )
        .body;
    assert!(v1.contains("rate: 30"), "{v1}");
    let topo = server
        .call(
            "GET",
            &format!("/api/v1/experiments/{id}/versions/2/topology"),
            None,
        )
        .json();
    assert_eq!(topo["source"], "inline", "{topo}");
    assert_eq!(topo["services"][0]["latency_ms"]["base"], 5.0, "{topo}");
}

/// The UI's YAML block writer and line diff (node's test runner).
#[test]
fn the_ui_modules_pass_their_unit_tests() {
    let out = std::process::Command::new("node")
        .args(["--test", "yaml.test.mjs"])
        .current_dir(repo_root().join("tests/ui"))
        .output()
        .expect("run node");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{log}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(log.contains("# pass 6"), "{log}");
}
