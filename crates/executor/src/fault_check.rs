//! Every fault of a run checked before the run starts, by the injector that
//! will apply it: simulated services through their own validation
//! (`POST /_sim/faults/validate`), squall's host and process faults through
//! [`squall_faults::Agent::check`] (arguments, caps, the target process
//! exists), toxics on a remote API by looking the proxy up. A fault that
//! would be refused stops the run from starting; a run never reports a
//! window as "fault in force" for a fault that could not be applied.

use hyper::Method;
use squall_faults::{Agent, FaultError};

use crate::inject::{self, HttpClient};
use crate::prepare::{Prepared, PreparedFault, Via};
use crate::problem::Problem;

/// What the check found: problems stop the run; warnings are printed before it.
#[derive(Default, Debug)]
pub struct Checked {
    /// Faults that would be refused, located at their field.
    pub problems: Vec<Problem>,
    /// Faults that could not be checked (the injector cannot validate).
    pub warnings: Vec<String>,
}

/// Checks every fault of `p`.
pub async fn check(p: &Prepared, client: &HttpClient, agent: &Agent) -> Checked {
    let mut out = Checked::default();
    for (i, f) in p.faults.iter().enumerate() {
        let at = format!("faults[{i}]");
        match &f.via {
            Via::Sim(base) => check_sim(&mut out, &at, f, base, client).await,
            Via::Host(fault) => {
                if let Err(e) = agent.check(fault) {
                    out.problems.push(host_problem(&at, &f.args, e));
                }
            }
            Via::Toxic { api, proxy, .. } => {
                let url = format!("{api}/proxies/{proxy}");
                match inject::call(client, Method::GET, &url, None).await {
                    Ok((200, _)) => {}
                    Ok((404, _)) => out.problems.push(Problem::at(
                        format!("{at}.fault.args.proxy"),
                        format!("{api} has no proxy named {proxy:?}"),
                    )),
                    Ok((s, text)) => out.problems.push(Problem::at(
                        format!("{at}.fault.url"),
                        format!("GET {url} answered {s}: {}", text.trim()),
                    )),
                    Err(e) => out
                        .problems
                        .push(Problem::at(format!("{at}.fault.url"), e.to_string())),
                }
            }
            // Checked while preparing; the proxy is the experiment's own.
            Via::LocalToxic { .. } => {}
        }
    }
    out
}

/// Asks the simulated service whether it would accept the fault for the
/// fault's length.
async fn check_sim(out: &mut Checked, at: &str, f: &PreparedFault, base: &str, c: &HttpClient) {
    let url = format!("{}/_sim/faults/validate", base.trim_end_matches('/'));
    let body = serde_json::json!({
        "type": f.kind,
        "args": f.args,
        "lease": f.duration.as_millis() as u64,
    });
    match inject::call(c, Method::POST, &url, Some(body.to_string())).await {
        Ok((200, _)) => {}
        Ok((400, text)) => {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let message = v["error"].as_str().unwrap_or(text.trim()).to_string();
            let path = match v["field"].as_str() {
                Some("lease") => format!("{at}.for"),
                Some(field) if field.starts_with("args") || field == "type" => {
                    format!("{at}.fault.{field}")
                }
                _ => format!("{at}.fault"),
            };
            out.problems.push(Problem::at(path, message));
        }
        Ok((404 | 405, _)) => out.warnings.push(format!(
            "fault {:?}: {base} cannot validate faults before the run (no /_sim/faults/validate); \
             a refusal at injection time will make the run invalid",
            f.name
        )),
        Ok((s, text)) => out.problems.push(Problem::at(
            format!("{at}.fault"),
            format!("{url} answered {s}: {}", text.trim()),
        )),
        Err(e) => out.problems.push(Problem::at(
            format!("{at}.fault"),
            format!("cannot check the fault with the service: {e}"),
        )),
    }
}

/// A refusal of squall's own injector, at the field it names.
pub(crate) fn host_problem(
    at: &str,
    args: &serde_json::Map<String, serde_json::Value>,
    e: FaultError,
) -> Problem {
    match e {
        FaultError::Invalid { field, message } if field == "type" => {
            Problem::at(format!("{at}.fault.type"), message)
        }
        FaultError::Invalid { field, message } if field == "duration" || field == "duration_ms" => {
            Problem::at(format!("{at}.for"), message)
        }
        FaultError::Invalid { field, message } => {
            Problem::at(format!("{at}.fault.args.{field}"), message)
        }
        FaultError::NotFound(m) | FaultError::Conflict(m) => {
            let field = if args.contains_key("pid") {
                "pid"
            } else {
                "name"
            };
            Problem::at(format!("{at}.fault.args.{field}"), m)
        }
        e => Problem::at(format!("{at}.fault"), e.to_string()),
    }
}
