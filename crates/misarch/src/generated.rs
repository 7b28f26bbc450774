//! What `POST /experiment/generate` makes: MiSArch's scenarios, arrival
//! shapes and default failures, aimed at squall's demo shop (the
//! original's templates call MiSArch's own gateway and Keycloak, which
//! exist only in a MiSArch deployment).

use serde_json::{Value, json};

use crate::gatling::EncodedFile;
use crate::load_types;

const HEADER: &str = "package org.misarch\n\nimport io.gatling.javaapi.core.CoreDsl.*\nimport io.gatling.javaapi.http.HttpDsl.http\nimport java.time.Duration\n\n";

/// A shopper who looks around and checks out, against the demo shop's
/// gateway (URLs are relative to the workload's `base_url`).
pub fn buy_work() -> String {
    format!(
        "{HEADER}val buyProcessScenario = scenario(\"buyProcessScenario\")\n    .exec(\n        http(\"home\").get(\"/\")\n    )\n    .pause(Duration.ofMillis(500), Duration.ofMillis(1500))\n    .exec(\n        http(\"checkout\").post(\"/checkout\")\n    )\n    .pause(Duration.ofMillis(50), Duration.ofMillis(150))\n"
    )
}

/// A shopper who looks around and leaves.
pub fn aborted_work() -> String {
    format!(
        "{HEADER}val abortedBuyProcessScenario = scenario(\"abortedBuyProcessScenario\")\n    .exec(\n        http(\"home\").get(\"/\")\n    )\n    .pause(Duration.ofMillis(500), Duration.ofMillis(1500))\n    .exec(\n        http(\"browse\").get(\"/\")\n    )\n"
    )
}

/// The `gatlingConfig` of a generated experiment.
pub fn gatling_config(
    load_type: &str,
    seconds: u32,
    rate: f64,
    max_users: u32,
) -> Option<Vec<EncodedFile>> {
    let (buy, aborted) = load_types::arrivals(load_type, seconds, rate, max_users)?;
    let mut files = vec![EncodedFile::new("buyProcessScenario", &buy_work(), &buy)];
    if !aborted.is_empty() {
        files.push(EncodedFile::new(
            "abortedBuyProcessScenario",
            &aborted_work(),
            &aborted,
        ));
    }
    Some(files)
}

/// MiSArch's default failure sets for the realistic and resilience load
/// types: the catalog answers 404 after a second for every request from a
/// third of the run, for a sixth of it, then is cleared; none for the
/// others.
pub fn failure_sets(load_type: &str, seconds: u32) -> Value {
    if !matches!(load_type, "NormalLoadTest" | "ResilienceLoadTest") {
        return json!([]);
    }
    json!([
        {"failures": [{"name": "catalog", "pubSubDeterioration": null,
            "serviceInvocationDeterioration": [{"path": "/", "delay": 1000, "delayProbability": 1.0,
                                                 "errorProbability": 1.0, "errorCode": 404}],
            "artificialMemoryUsage": null, "artificialCPUUsage": null}],
         "pauses": {"before": seconds / 3, "after": seconds / 6}},
        {"failures": [{"name": "catalog", "pubSubDeterioration": null, "serviceInvocationDeterioration": null,
            "artificialMemoryUsage": null, "artificialCPUUsage": null}],
         "pauses": {"before": 0, "after": 0}}
    ])
}

/// An empty Chaos Toolkit experiment, titled as the original titles it.
pub fn chaos_config(id: &str, version: &str) -> Value {
    let t = format!("{id}:{version}");
    json!({"title": t, "description": t, "method": []})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_parts_translate_and_schedule() {
        for lt in load_types::LOAD_TYPES {
            let files = gatling_config(lt, 120, 0.9, 10).unwrap();
            let (scenarios, warnings) = crate::gatling::read(&files).unwrap();
            assert!(warnings.is_empty());
            assert_eq!(
                scenarios.len(),
                if matches!(*lt, "NormalLoadTest" | "ResilienceLoadTest") {
                    2
                } else {
                    1
                }
            );
            let sets = failure_sets(lt, 120).to_string();
            let s = crate::failures::schedule(&sets, 120).unwrap();
            if *lt == "NormalLoadTest" {
                assert_eq!(s.faults[0]["at"], "40s");
                assert_eq!(s.faults[0]["for"], "20s");
            }
        }
    }
}
