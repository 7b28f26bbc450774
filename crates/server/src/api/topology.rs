//! The simulated system of a version, as the UI draws it: services, their
//! calls step by step (a parallel step holds several), probabilities and
//! latencies, with the topology's own YAML for the editor.

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use squall_executor::document::SimSpec;
use squall_executor::execute::{ExecuteError, load_topology};
use squall_sim::Topology;
use squall_sim::topology::CallStep;

use super::experiments::{file_name, find_version};
use super::{ApiError, Shared};

/// `GET /api/v1/experiments/{id}/versions/{version}/topology`.
pub(super) async fn get(
    State(s): State<Shared>,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let v = find_version(&s, &id, &version).await?;
    let text = v.document;
    let file = file_name(&text);
    let (raw, doc) = squall_executor::document::parse(file, &text)
        .map_err(|e| ApiError::bad(Some("document"), e.to_string()))?;
    let Some(spec) = raw.sim else {
        return Err(ApiError::NotFound(
            "this experiment starts no simulated system (it has no `sim`)".into(),
        ));
    };
    if !s.allow_commands
        && let Some(why) = crate::policy::sim_file(&doc)
    {
        return Err(ApiError::Forbidden {
            message: why.clone(),
            errors: vec![why],
        });
    }
    let topology = load_topology(file, &text, &spec).map_err(|e| match e {
        ExecuteError::Invalid(errors) => ApiError::Bad {
            message: "the topology is not valid".into(),
            field: Some("sim".into()),
            errors,
        },
        e => ApiError::bad(Some("sim"), e.to_string()),
    })?;
    let (source, yaml) = match &spec {
        SimSpec::Named(n) if n == "demo" || n == "shop" => {
            ("built-in", squall_sim::SHOP.to_string())
        }
        SimSpec::Inline(v) => ("inline", yaml_serde::to_string(v).unwrap_or_default()),
        SimSpec::Named(p) | SimSpec::File { topology: p } => ("file", format!("# {p}\n")),
    };
    Ok(Json(json!({
        "source": source,
        "yaml": yaml,
        "services": services(&topology),
    }))
    .into_response())
}

fn services(t: &Topology) -> Vec<Value> {
    t.services
        .iter()
        .map(|s| {
            let steps: Vec<Value> = s
                .calls
                .iter()
                .map(|step| {
                    json!({
                        "parallel": matches!(step, CallStep::Parallel { .. }),
                        "calls": step.calls().iter().map(|c| json!({
                            "service": c.call,
                            "probability": c.probability,
                            "path": c.path,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({
                "name": s.name,
                "paths": s.paths,
                "latency_ms": {
                    "base": s.latency.base.as_secs_f64() * 1e3,
                    "jitter": s.latency.jitter.as_secs_f64() * 1e3,
                },
                "error_rate": s.error_rate,
                "response_size": s.response_size,
                "steps": steps,
            })
        })
        .collect()
}
