//! Squall's own routes beside Toxiproxy's, under `/squall/`: host and process
//! faults as leases, renewal, history and the kill switch, so a Chaos Toolkit
//! experiment drives every injector with the plain `http` provider.
//!
//! - `POST /squall/faults` `{"type": "stress-cpu", "cores": 1, "load": 0.5, "duration_ms": 10000}` -> 201
//! - `GET /squall/faults` -> the leases in force; `GET /squall/faults/history`
//! - `GET|DELETE /squall/faults/{id}`; `POST /squall/faults/{id}/renew` `{"duration_ms": N}`
//! - `DELETE /squall/faults`: revert all; `POST /squall/halt`: revert all and
//!   refuse new faults; `DELETE /squall/halt`: accept faults again

use hyper::body::Incoming;
use hyper::{Method, Response};
use serde::Deserialize;
use serde_json::json;

use super::http::{self, Body};
use crate::agent::Agent;
use crate::error::FaultError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Renew {
    duration_ms: u64,
}

/// Answers a `/squall/...` route, or none.
pub(super) async fn route(
    agent: &Agent,
    allow_commands: bool,
    method: &Method,
    segs: &[&str],
    body: Incoming,
) -> Option<Response<Body>> {
    dispatch(agent, allow_commands, method, segs, body)
        .await
        .unwrap_or_else(|e| Some(http::error(&e)))
}

async fn dispatch(
    agent: &Agent,
    allow_commands: bool,
    method: &Method,
    segs: &[&str],
    body: Incoming,
) -> Result<Option<Response<Body>>, FaultError> {
    let inj = &agent.injector;
    let resp = match (method, segs) {
        (&Method::GET, ["squall", "faults"]) => http::json(
            200,
            &json!({"active": inj.list(), "halted": inj.is_halted()}),
        ),
        (&Method::POST, ["squall", "faults"]) => {
            let fault = Agent::parse(http::read_json(body).await?)?;
            if matches!(fault, crate::agent::HostFault::Restart { .. }) && !allow_commands {
                return Err(FaultError::Forbidden(
                    "restart runs a shell command; start squall proxy with --allow-commands (which also requires a token) to accept it".into(),
                ));
            }
            http::json(201, &agent.apply(fault).await?)
        }
        (&Method::DELETE, ["squall", "faults"]) => {
            http::json(200, &json!({"reverted": inj.revert_all(false)}))
        }
        (&Method::GET, ["squall", "faults", "history"]) => http::json(200, &inj.history()),
        (&Method::GET, ["squall", "faults", id]) => {
            http::json(200, &inj.get(id).ok_or_else(|| not_found(id))?)
        }
        (&Method::DELETE, ["squall", "faults", id]) => {
            if !(inj.revert(id) || inj.history().iter().any(|h| h.info.id == *id)) {
                return Err(not_found(id));
            }
            http::empty(204)
        }
        (&Method::POST, ["squall", "faults", id, "renew"]) => {
            let r: Renew = http::read_json(body).await?;
            http::json(
                200,
                &inj.renew(id, std::time::Duration::from_millis(r.duration_ms))?,
            )
        }
        (&Method::POST, ["squall", "halt"]) => http::json(
            200,
            &json!({"reverted": inj.revert_all(true), "halted": true}),
        ),
        (&Method::DELETE, ["squall", "halt"]) => {
            inj.release();
            http::json(200, &json!({"halted": false}))
        }
        _ => return Ok(None),
    };
    Ok(Some(resp))
}

fn not_found(id: &str) -> FaultError {
    FaultError::NotFound(format!("no fault `{id}`"))
}
