//! Kubernetes manifests for one fleet run: the plan in a ConfigMap, the
//! coordinator (`squall load --fleet`) as a one-pod Job behind a Service,
//! and the generators as an Indexed Job whose completion index is the
//! segment each one runs.
//!
//! The coordinator is a Job, not a Deployment: a fleet run is one-shot,
//! and a Deployment would start the run again every time it ended. The
//! token is read from a Secret the operator creates (never written here).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

/// The coordinator's port.
pub const PORT: u16 = 7400;
/// Where the plan is mounted.
pub const PLAN_DIR: &str = "/etc/squall/plan";
/// The Secret (key `token`) the generators and the coordinator share.
pub const TOKEN_SECRET: &str = "squall-fleet-token";

/// What the manifests describe.
#[derive(Clone, Debug)]
pub struct K8sSpec {
    /// Namespace.
    pub namespace: String,
    /// Image with the squall binary.
    pub image: String,
    /// Generators.
    pub generators: usize,
    /// Worker threads per generator.
    pub threads: usize,
    /// The plan file's name.
    pub plan_name: String,
    /// Its text.
    pub plan_text: String,
    /// Feeder files by the path the plan writes.
    pub feeders: BTreeMap<String, String>,
    /// The plan's length (bounds the Jobs' deadlines).
    pub plan_length: Duration,
}

/// Why manifests could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct K8sError(String);

/// A ConfigMap key for a file path (keys allow only `[-._a-zA-Z0-9]`).
fn key(path: &str) -> String {
    path.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The manifests as one multi-document YAML stream.
pub fn manifests(s: &K8sSpec) -> Result<String, K8sError> {
    let mut files: Vec<(String, String, String)> =
        vec![(key(&s.plan_name), s.plan_name.clone(), s.plan_text.clone())];
    for (path, text) in &s.feeders {
        if path.starts_with('/') || path.split('/').any(|p| p == ".." || p.is_empty()) {
            return Err(K8sError(format!(
                "feeder {path:?} must be a path below the plan's directory to be mounted beside it"
            )));
        }
        files.push((key(path), path.clone(), text.clone()));
    }
    let mut keys = BTreeMap::new();
    for (k, p, _) in &files {
        if let Some(other) = keys.insert(k.clone(), p.clone()) {
            return Err(K8sError(format!(
                "files {other:?} and {p:?} would share the ConfigMap key {k:?}"
            )));
        }
    }
    let ns = &s.namespace;
    let labels = |component: &str| {
        json!({
            "app.kubernetes.io/name": component,
            "app.kubernetes.io/part-of": "squall-fleet",
            "app.kubernetes.io/managed-by": "squall",
        })
    };
    let meta = |name: &str| json!({"name": name, "namespace": ns, "labels": labels(name)});
    let coordinator_host = format!("squall-coordinator.{ns}.svc");
    // Room to register, start and wind down around the plan itself.
    let deadline = s.plan_length.as_secs() + 15 * 60;
    let security = squall_http::pod::restricted_container_security();
    let token_env = json!({
        "name": "SQUALL_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": TOKEN_SECRET, "key": "token"}},
    });
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta("squall-fleet-plan"),
        "data": files.iter().map(|(k, _, t)| (k.clone(), Value::from(t.clone()))).collect::<serde_json::Map<_, _>>(),
    });
    let plan_volume = json!({
        "name": "plan",
        "configMap": {
            "name": "squall-fleet-plan",
            "items": files.iter().map(|(k, p, _)| json!({"key": k, "path": p})).collect::<Vec<_>>(),
        },
    });
    let coordinator = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta("squall-coordinator"),
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": labels("squall-coordinator")},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": false,
                    "containers": [{
                        "name": "coordinator",
                        "image": s.image,
                        "args": [
                            "load", format!("{PLAN_DIR}/{}", s.plan_name),
                            "--fleet", s.generators.to_string(),
                            "--fleet-listen", format!("0.0.0.0:{PORT}"),
                            "--fleet-wait", "10m",
                            "--allow-host", "squall-coordinator",
                            "--allow-host", coordinator_host,
                            "--allow-host", format!("{coordinator_host}.cluster.local"),
                            "--quiet",
                        ],
                        "env": [token_env],
                        "ports": [{"name": "fleet", "containerPort": PORT, "protocol": "TCP"}],
                        "resources": {
                            "requests": {"cpu": "500m", "memory": "256Mi"},
                            "limits": {"cpu": "2", "memory": "1Gi"},
                        },
                        "securityContext": security,
                        "volumeMounts": [{"name": "plan", "mountPath": PLAN_DIR, "readOnly": true}],
                    }],
                    "volumes": [plan_volume],
                },
            },
        },
    });
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta("squall-coordinator"),
        "spec": {
            "selector": {"app.kubernetes.io/name": "squall-coordinator", "app.kubernetes.io/part-of": "squall-fleet"},
            "ports": [{"name": "fleet", "port": PORT, "targetPort": "fleet", "protocol": "TCP"}],
        },
    });
    let generators = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta("squall-generators"),
        "spec": {
            "completionMode": "Indexed",
            "completions": s.generators,
            "parallelism": s.generators,
            // A failed generator is not replaced: its segment cannot be
            // run twice, and the coordinator reports it lost.
            "backoffLimit": 0,
            "podReplacementPolicy": "Failed",
            "activeDeadlineSeconds": deadline,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": labels("squall-generator")},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": false,
                    "topologySpreadConstraints": [{
                        "maxSkew": 1,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "squall-generator"}},
                    }],
                    "containers": [{
                        "name": "generator",
                        "image": s.image,
                        // The segment is $JOB_COMPLETION_INDEX, set by Kubernetes.
                        "args": [
                            "generator",
                            "--coordinator", format!("http://{coordinator_host}:{PORT}"),
                            "--threads", s.threads.to_string(),
                            "--once",
                        ],
                        "env": [token_env],
                        "resources": {
                            "requests": {"cpu": s.threads.to_string(), "memory": "256Mi"},
                            "limits": {"cpu": s.threads.to_string(), "memory": "1Gi"},
                        },
                        "securityContext": security,
                    }],
                },
            },
        },
    });
    let mut out = format!(
        "# Generated by `squall fleet k8s`. First create the token both sides read:\n\
         #   kubectl -n {ns} create secret generic {TOKEN_SECRET} --from-literal=token=$(head -c 32 /dev/urandom | base64)\n\
         # then `kubectl apply -f` this file; the run's summary is in `kubectl -n {ns} logs job/squall-coordinator`.\n"
    );
    for d in [config_map, coordinator, service, generators] {
        out.push_str("---\n");
        out.push_str(&yaml_serde::to_string(&d).expect("plain data serializes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> K8sSpec {
        K8sSpec {
            namespace: "load".into(),
            image: "squall:test".into(),
            generators: 4,
            threads: 2,
            plan_name: "plan.yaml".into(),
            plan_text: "scenarios: []\n".into(),
            feeders: BTreeMap::from([("data/users.csv".to_string(), "user\na\n".to_string())]),
            plan_length: Duration::from_secs(60),
        }
    }

    #[test]
    fn generators_are_an_indexed_job_pointed_at_the_coordinator_service() {
        let y = manifests(&spec()).unwrap();
        assert!(y.contains("completionMode: Indexed"));
        assert!(y.contains("completions: 4"));
        assert!(y.contains("http://squall-coordinator.load.svc:7400"));
        assert!(y.contains("key: data_users.csv"));
        assert!(y.contains("path: data/users.csv"));
        assert!(!y.contains("token: "), "no token value is ever written");
    }

    #[test]
    fn a_feeder_outside_the_plan_directory_is_refused() {
        let mut s = spec();
        s.feeders = BTreeMap::from([("../x.csv".to_string(), "a\n1\n".to_string())]);
        assert!(manifests(&s).unwrap_err().to_string().contains("../x.csv"));
    }
}
