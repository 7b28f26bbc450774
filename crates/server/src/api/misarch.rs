//! MiSArch's Experiment Executor routes, with their methods, paths and
//! bodies, so scripts and the frontend written for it keep working. What
//! squall understands is mapped onto its engine (a start runs the
//! version's squall document); the MiSArch parts are stored and returned
//! exactly as they were PUT. Where the original answers 500 (a start while
//! one runs, a missing file) this answers 409 or 404 with a problem.

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::experiments::{find_version, not_busy, remove_experiment};
use super::runs::start_version;
use super::{ApiError, Shared, body};
use crate::runner::{MISARCH_REPORT, MisarchGoals, RunText};
use crate::store::{Part, RunStatus};
use squall_misarch::{compose, generated};

/// The load types MiSArch's generator knows.
const LOAD_TYPES: &[&str] = &[
    "NormalLoadTest",
    "ScalabilityLoadTest",
    "ElasticityLoadTest",
    "ResilienceLoadTest",
];

/// What a version runs: its document, composed with its MiSArch parts
/// when they change what runs (Gatling scenarios, failure sets, a
/// warm-up); a part that cannot run is a 400 listing every problem.
pub(super) async fn run_text(
    s: &Shared,
    id: &str,
    v: &crate::store::VersionRow,
) -> Result<RunText, ApiError> {
    let get = |p| s.store.part(id, v.version, p);
    let (gatling, failures, config, chaos) = (
        get(Part::Gatling).await?,
        get(Part::MisarchFailures).await?,
        get(Part::Config).await?,
        get(Part::ChaosToolkit).await?,
    );
    let misarch = config
        .as_deref()
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .map(|c| MisarchGoals {
            automatic: c.get("steadyState").is_some_and(|s| !s.is_null()),
            goals: c.get("goals").cloned().unwrap_or(json!([])),
        });
    // Translating work files and reading YAML is CPU work: off the runtime.
    let document = v.document.clone();
    let composed = tokio::task::spawn_blocking(move || {
        let parts = compose::Parts {
            gatling: gatling.as_deref(),
            failures: failures.as_deref(),
            config: config.as_deref(),
            chaos: chaos.as_deref(),
        };
        compose::applies(&parts).then(|| compose::compose(&document, &parts))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("composing the run failed: {e}")))?;
    let Some(composed) = composed else {
        return Ok(RunText {
            text: v.document.clone(),
            warnings: Vec::new(),
            misarch,
        });
    };
    match composed {
        Ok(c) => Ok(RunText {
            text: c.document,
            warnings: c.warnings,
            misarch,
        }),
        Err(errors) => Err(ApiError::Bad {
            message: format!(
                "v{} of {id} cannot run: its MiSArch parts have {} problem(s)",
                v.version,
                errors.len()
            ),
            field: None,
            errors,
        }),
    }
}

/// The routes.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/experiment/generate", post(generate))
        .route("/experiment/list", get(list))
        .route("/experiment/start", post(start_by_body))
        .route("/experiment/{uuid}", delete(delete_experiment))
        .route("/experiment/{uuid}/versions", get(versions))
        .route("/experiment/{uuid}/{version}", delete(delete_version))
        .route("/experiment/{uuid}/{version}/newVersion", post(new_version))
        .route(
            "/experiment/{uuid}/{version}/{part}",
            get(get_part).put(put_part_route),
        )
        .route("/experiment/{uuid}/{version}/start", post(start))
        .route("/experiment/{uuid}/{version}/stop", post(stop))
        .route("/experiment/{uuid}/{version}/events", get(events))
        .route(
            "/experiment/{uuid}/{version}/gatling/metrics",
            post(|s, p, b| gatling_metrics(s, p, b, "gatling-metrics.txt")),
        )
        .route(
            "/experiment/{uuid}/{version}/gatling/metrics/steadyState",
            post(|s, p, b| gatling_metrics(s, p, b, "gatling-steady-state.txt")),
        )
        .route(
            "/trigger/{uuid}/{version}",
            get(trigger_state).post(register),
        )
        .route("/d/{key}", get(dashboard))
}

fn text(s: impl Into<String>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        s.into(),
    )
        .into_response()
}

fn uuid(s: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(s)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::bad(Some("testUUID"), format!("{s:?} is not a UUID")))
}

/// The experiment and version a MiSArch path names (a UUID, `vN`).
fn key(id: &str, version: &str) -> Result<(String, i64), ApiError> {
    Ok((uuid(id)?, body::version(version)?))
}

/// The same, for a version that must exist (404 otherwise, as on `/api/v1`).
async fn existing(s: &Shared, id: &str, version: &str) -> Result<(String, i64), ApiError> {
    let id = uuid(id)?;
    let v = find_version(s, &id, version).await?;
    Ok((id, v.version))
}

#[derive(Deserialize)]
struct GenerateQuery {
    #[serde(rename = "loadType")]
    load_type: Option<String>,
    #[serde(rename = "testName")]
    test_name: Option<String>,
    #[serde(rename = "maximumArrivingUsersPerSecond")]
    max_users: Option<u32>,
    #[serde(rename = "testDuration")]
    test_duration: Option<u32>,
    rate: Option<f64>,
}

/// The squall document a generated experiment starts with: the simulated
/// shop (the workload's scenarios and load come from its `gatlingConfig`,
/// the faults from its failure sets), with MiSArch's two default goals.
fn generated_document(name: &str) -> String {
    let name = Value::from(name).to_string();
    format!(
        "title: {name}\nsim: shop\nworkload:\n  base_url: ${{sim.gateway}}\n  scenarios:\n    - name: browse\n      steps:\n        - request: {{name: home, url: /}}\n  load:\n    model: open\n    max_vus: 1000\n    stages:\n      - {{rate: 1, for: 10s}}\ngoals:\n  - {{name: max response time, metric: http_req_duration, condition: max<2000ms}}\n  - {{name: mean response time, metric: http_req_duration, condition: avg<1000ms}}\n",
    )
}

async fn generate(
    State(s): State<Shared>,
    Query(q): Query<GenerateQuery>,
) -> Result<Response, ApiError> {
    let load_type = q.load_type.ok_or_else(|| {
        ApiError::bad(
            Some("loadType"),
            format!("loadType is required: one of {}", LOAD_TYPES.join(", ")),
        )
    })?;
    if !LOAD_TYPES.contains(&load_type.as_str()) {
        return Err(ApiError::bad(
            Some("loadType"),
            format!("{load_type:?}: expected one of {}", LOAD_TYPES.join(", ")),
        ));
    }
    let name = body::name(
        "testName",
        q.test_name.as_deref().unwrap_or("My Experiment"),
    )?;
    let users = q.max_users.unwrap_or(10);
    let seconds = q.test_duration.unwrap_or(1800);
    let rate = q.rate.unwrap_or(0.9);
    if !(1..=100_000).contains(&users) {
        return Err(ApiError::bad(
            Some("maximumArrivingUsersPerSecond"),
            "must be 1..=100000",
        ));
    }
    if !(1..=86_400).contains(&seconds) {
        return Err(ApiError::bad(
            Some("testDuration"),
            "must be 1..=86400 seconds",
        ));
    }
    if !rate.is_finite() || rate <= 0.0 || rate > 1000.0 {
        return Err(ApiError::bad(Some("rate"), "must be a number in (0, 1000]"));
    }
    let files = generated::gatling_config(&load_type, seconds, rate, users)
        .expect("the load type was checked");
    let arrivals: u64 = files
        .iter()
        .filter_map(|f| squall_misarch::gatling::read(std::slice::from_ref(f)).ok())
        .flat_map(|(sc, _)| sc)
        .map(|sc| sc.arrivals.iter().map(|n| u64::from(*n)).sum::<u64>())
        .sum();
    if arrivals > squall_load::arrivals::MAX_ARRIVALS {
        return Err(ApiError::bad(
            Some("rate"),
            format!(
                "{arrivals} users would arrive over the run, over the limit of {}; lower the rate or the duration",
                squall_load::arrivals::MAX_ARRIVALS
            ),
        ));
    }
    let e = s
        .store
        .create_experiment(&name, &generated_document(&name))
        .await?;
    let config = json!({
        "testUUID": e.id,
        "testVersion": "v1",
        "testName": name,
        "loadType": load_type,
        "goals": [
            {"metric": "max response time", "threshold": "2000", "color": "red"},
            {"metric": "mean response time", "threshold": "1000", "color": "yellow"},
        ],
        "warmUp": null,
        "steadyState": null,
    });
    let parts = [
        (Part::Config, config.to_string()),
        (
            Part::Gatling,
            serde_json::to_string(&files).expect("plain data serializes"),
        ),
        (
            Part::MisarchFailures,
            generated::failure_sets(&load_type, seconds).to_string(),
        ),
        (
            Part::ChaosToolkit,
            generated::chaos_config(&e.id, "v1").to_string(),
        ),
    ];
    for (p, text) in parts {
        s.store.set_part(&e.id, 1, p, &text).await?;
    }
    Ok(text(format!("{}:v1", e.id)))
}

async fn list(State(s): State<Shared>) -> Result<Response, ApiError> {
    let ids: Vec<String> = s
        .store
        .experiments()
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect();
    Ok(Json(ids).into_response())
}

async fn versions(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let id = uuid(&id)?;
    let v: Vec<String> = s
        .store
        .versions(&id)
        .await?
        .iter()
        .map(|v| format!("v{}", v.version))
        .collect();
    if v.is_empty() {
        return Err(ApiError::NotFound(format!("no experiment {id}")));
    }
    Ok(Json(v).into_response())
}

async fn new_version(
    State(s): State<Shared>,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let (id, from) = key(&id, &version)?;
    let v =
        s.store.new_version(&id, from, None).await?.ok_or_else(|| {
            ApiError::NotFound(format!("experiment {id} has no version {version}"))
        })?;
    // The copy's configuration names its own version, as the original rewrites it.
    if let Some(c) = s.store.part(&id, v.version, Part::Config).await?
        && let Ok(mut c) = serde_json::from_str::<Value>(&c)
    {
        c["testVersion"] = format!("v{}", v.version).into();
        s.store
            .set_part(&id, v.version, Part::Config, &c.to_string())
            .await?;
    }
    Ok(text(format!("v{}", v.version)))
}

async fn delete_experiment(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    remove_experiment(&s, &uuid(&id)?).await?;
    Ok(StatusCode::OK.into_response())
}

async fn delete_version(
    State(s): State<Shared>,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let (id, v) = key(&id, &version)?;
    not_busy(&s, &id)?;
    if s.store.delete_version(&id, v, true).await? != crate::store::Deleted::Gone {
        return Err(ApiError::NotFound(format!(
            "experiment {id} has no version {version}"
        )));
    }
    Ok(StatusCode::OK.into_response())
}

/// A stored part, or what a version has when it was never PUT.
async fn part(s: &Shared, id: &str, version: &str, part: Part) -> Result<String, ApiError> {
    let (id, v) = existing(s, id, version).await?;
    Ok(match s.store.part(&id, v, part).await? {
        Some(t) => t,
        None => match part {
            Part::Config => json!({"testUUID": id, "testVersion": format!("v{v}"), "testName": "", "loadType": "NormalLoadTest", "goals": []}).to_string(),
            Part::ChaosToolkit => "{}".into(),
            Part::MisarchFailures | Part::Gatling => "[]".into(),
        },
    })
}

async fn put_part(
    s: &Shared,
    id: &str,
    version: &str,
    p: Part,
    b: Bytes,
) -> Result<Response, ApiError> {
    let (id, v) = key(id, version)?;
    let t = body::text(b)?;
    match p {
        Part::Config => check_config(&body::json::<Value>(&Bytes::from(t.clone()))?)?,
        Part::Gatling => {
            squall_misarch::gatling::parse_list(&t)
                .map_err(|e| ApiError::bad(Some("gatlingConfig"), e))?;
        }
        // Stored as written, as the original stores them; read when a run
        // starts, where every problem is reported (JSON is checked now).
        Part::ChaosToolkit | Part::MisarchFailures => {
            body::json::<Value>(&Bytes::from(t.clone()))?;
        }
    }
    if !s.store.set_part(&id, v, p, &t).await? {
        return Err(ApiError::NotFound(format!(
            "experiment {id} has no version {version}"
        )));
    }
    Ok(StatusCode::OK.into_response())
}

/// The fields MiSArch's typed `ExperimentConfig` requires.
fn check_config(c: &Value) -> Result<(), ApiError> {
    let Some(o) = c.as_object() else {
        return Err(ApiError::bad(
            None,
            "the configuration must be a JSON object",
        ));
    };
    for k in ["testUUID", "testVersion", "testName", "loadType"] {
        if !o.get(k).is_some_and(Value::is_string) {
            return Err(ApiError::bad(
                Some(k),
                format!("{k} (a string) is required"),
            ));
        }
    }
    let lt = o["loadType"].as_str().unwrap_or_default();
    if !LOAD_TYPES.contains(&lt) {
        return Err(ApiError::bad(
            Some("loadType"),
            format!("{lt:?}: expected one of {}", LOAD_TYPES.join(", ")),
        ));
    }
    uuid(o["testUUID"].as_str().unwrap_or_default())?;
    if !o.get("goals").is_some_and(Value::is_array) {
        return Err(ApiError::bad(Some("goals"), "goals (a list) is required"));
    }
    Ok(())
}

/// The part a route's last segment names.
fn part_named(name: &str) -> Result<Part, ApiError> {
    Ok(match name {
        "config" => Part::Config,
        "chaosToolkitConfig" => Part::ChaosToolkit,
        "misarchExperimentConfig" => Part::MisarchFailures,
        "gatlingConfig" => Part::Gatling,
        _ => return Err(ApiError::NotFound(format!("no route .../{name}"))),
    })
}

/// `GET /experiment/{uuid}/{version}/{config|chaosToolkitConfig|...}`:
/// JSON for the typed parts, text for the pass-through ones (as Spring
/// answers a `String`).
async fn get_part(
    State(s): State<Shared>,
    UrlPath((id, v, name)): UrlPath<(String, String, String)>,
) -> Result<Response, ApiError> {
    if name == "report" {
        return misarch_report(&s, &id, &v).await;
    }
    let p = part_named(&name)?;
    let t = part(&s, &id, &v, p).await?;
    Ok(match p {
        Part::Config | Part::Gatling => {
            ([(header::CONTENT_TYPE, "application/json")], t).into_response()
        }
        Part::ChaosToolkit | Part::MisarchFailures => text(t),
    })
}

async fn put_part_route(
    State(s): State<Shared>,
    UrlPath((id, v, name)): UrlPath<(String, String, String)>,
    b: Bytes,
) -> Result<Response, ApiError> {
    put_part(&s, &id, &v, part_named(&name)?, b).await
}

async fn start(
    State(s): State<Shared>,
    UrlPath((id, v)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let id = uuid(&id)?;
    start_version(&s, &id, &v).await?;
    Ok(StatusCode::OK.into_response())
}

/// `POST /experiment/start` with an `ExperimentConfig`: stored as the
/// version's configuration, then that version runs.
async fn start_by_body(State(s): State<Shared>, b: Bytes) -> Result<Response, ApiError> {
    let c: Value = body::json(&b)?;
    check_config(&c)?;
    let id = uuid(c["testUUID"].as_str().unwrap_or_default())?;
    let version = c["testVersion"].as_str().unwrap_or_default().to_string();
    let v = body::version(&version)?;
    // Started first: a refused start (403, 409, 429) changes nothing.
    start_version(&s, &id, &version).await?;
    s.store
        .set_part(&id, v, Part::Config, &c.to_string())
        .await?;
    Ok(StatusCode::OK.into_response())
}

async fn stop(
    State(s): State<Shared>,
    UrlPath((id, v)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let (id, v) = key(&id, &v)?;
    // Unlike the original, stopping reverts every fault (the engine's stop).
    if let Some(run) = s.runner.live_run(&id, v) {
        s.runner.stop(&run);
    }
    Ok(StatusCode::OK.into_response())
}

/// MiSArch's one message per run: the dashboard URL when it ends, or the
/// error; the stream then stays open (with keep-alive comments) until the
/// client leaves. Waits for the version's next run if none is in flight (the
/// frontend subscribes just before it starts one).
async fn events(
    State(s): State<Shared>,
    UrlPath((id, v)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (id, version) = existing(&s, &id, &v).await?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8888")
        .to_string();
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(1);
    let since = crate::store::now_ms();
    tokio::spawn(async move {
        // The version's run in flight, or one that began after this
        // client came and already ended (a start refused by its checks
        // ends within a poll interval).
        let run = loop {
            if let Some(r) = s.runner.live_run(&id, version) {
                break r;
            }
            if let Ok(runs) = s.store.runs(Some(&id), Some(version), 1).await
                && let Some(r) = runs.into_iter().next()
                && r.created_ms >= since
                && r.status.is_final()
            {
                // Ended before this loop saw it in flight (a start its
                // checks refused): its stored events say how.
                break r.id;
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
                _ = tx.closed() => return,
            }
        };
        let live = s.runner.follow(&run);
        let mut events = super::sse::follow(s.clone(), run, 0, live);
        loop {
            let e = tokio::select! {
                e = events.recv() => e,
                _ = tx.closed() => return,
            };
            let Some(e) = e else { return };
            if e.name != "ended" {
                continue;
            }
            let v: Value = serde_json::from_str(&e.data).unwrap_or_default();
            let msg = match v["status"].as_str() {
                Some("completed" | "stopped") => format!("http://{host}/d/{id}-v{version}"),
                _ => format!(
                    "Error occurred during experiment execution: {}",
                    v["error"].as_str().unwrap_or("the run failed")
                ),
            };
            let _ = tx.send(msg).await;
            // The stream stays open, as the original's does: its frontend
            // takes a closed stream for an error and reconnects every second.
            tx.closed().await;
            return;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let m = rx.recv().await?;
        Some((
            Ok::<_, std::convert::Infallible>(Event::default().data(m)),
            rx,
        ))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

#[derive(Deserialize)]
struct ClientQuery {
    client: Option<String>,
}

/// `POST /trigger/{uuid}/{version}?client=NAME`: an external component
/// says it is ready (the body is the original's literal answer).
async fn register(
    State(s): State<Shared>,
    UrlPath((id, v)): UrlPath<(String, String)>,
    Query(q): Query<ClientQuery>,
) -> Result<Response, ApiError> {
    let (id, v) = key(&id, &v)?;
    let client = q
        .client
        .filter(|c| !c.is_empty() && c.chars().count() <= 100 && !c.chars().any(char::is_control))
        .ok_or_else(|| {
            ApiError::bad(
                Some("client"),
                "client (the component's name, 1 to 100 characters) is required",
            )
        })?;
    find_version(&s, &id, &v.to_string()).await?;
    if !s.runner.register(&id, v, client) {
        return Err(ApiError::TooMany(format!(
            "v{v} of {id} has {} registered clients, the most kept",
            crate::runner::MAX_CLIENTS
        )));
    }
    Ok(text("kotlin.Unit"))
}

/// `GET /trigger/{uuid}/{version}`: `true` once the run of the version
/// has begun: its shared start instant t0 has come (a run that waits for
/// clients), or it is under way (one that waits for nobody). While t0 is
/// known but still ahead, the answer is `false` with t0 in the
/// `X-Squall-T0` header (Unix ms), so a client can sleep until it rather
/// than poll.
async fn trigger_state(
    State(s): State<Shared>,
    UrlPath((id, v)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let (id, v) = key(&id, &v)?;
    let Some(run) = s.runner.live_run(&id, v) else {
        return Ok(text("false"));
    };
    if let Some(t0) = s.runner.t0(&run) {
        let mut r = text((crate::store::now_ms() >= t0).to_string());
        r.headers_mut().insert("x-squall-t0", t0.into());
        return Ok(r);
    }
    let waits = s.runner.waits_for_clients(&run);
    let started = !waits
        && s.store
            .run(&run)
            .await?
            .is_some_and(|r| r.status == RunStatus::Running);
    Ok(text(started.to_string()))
}

/// The external metrics a Gatling runner posts: kept in the run directory
/// of the version's run in flight.
async fn gatling_metrics(
    State(s): State<Shared>,
    UrlPath((id, v)): UrlPath<(String, String)>,
    b: Bytes,
    file: &'static str,
) -> Result<Response, ApiError> {
    let (id, v) = key(&id, &v)?;
    let run = s
        .runner
        .live_run(&id, v)
        .ok_or_else(|| ApiError::Conflict(format!("no run of {id} v{v} is in progress")))?;
    let dir = s
        .store
        .run(&run)
        .await?
        .and_then(|r| r.dir)
        .ok_or_else(|| ApiError::Conflict(format!("run {run} has not started yet")))?;
    let path = std::path::Path::new(&dir).join(file);
    tokio::fs::write(&path, &b)
        .await
        .map_err(|e| ApiError::Internal(format!("cannot keep the metrics: {e}")))?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /experiment/{uuid}/{version}/report`: the original's
/// `report.json` of the version's latest finished run.
async fn misarch_report(s: &Shared, id: &str, version: &str) -> Result<Response, ApiError> {
    let (id, v) = existing(s, id, version).await?;
    let runs = s.store.runs(Some(&id), Some(v), 20).await?;
    for r in runs.iter().filter(|r| r.status.is_final()) {
        let Some(dir) = &r.dir else { continue };
        match tokio::fs::read(std::path::Path::new(dir).join(MISARCH_REPORT)).await {
            Ok(b) => return Ok(([(header::CONTENT_TYPE, "application/json")], b).into_response()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ApiError::Internal(format!("cannot read the report: {e}"))),
        }
    }
    Err(ApiError::NotFound(format!(
        "no finished run of {id} v{v} has a MiSArch report (runs of versions with a MiSArch config write one)"
    )))
}

/// `/d/{uuid}-v{N}` (the link MiSArch's events send): the latest report
/// of that version.
async fn dashboard(
    State(s): State<Shared>,
    UrlPath(key): UrlPath<String>,
) -> Result<Response, ApiError> {
    let (id, v) = key
        .rsplit_once('-')
        .ok_or_else(|| ApiError::NotFound(format!("no dashboard {key}")))?;
    let id = uuid(id)?;
    let v = body::version(v)?;
    let runs = s.store.runs(Some(&id), Some(v), 20).await?;
    let run = runs
        .iter()
        .find(|r| {
            r.dir.is_some() && r.status != RunStatus::Running && r.status != RunStatus::Starting
        })
        .ok_or_else(|| ApiError::NotFound(format!("no finished run of {id} v{v}")))?;
    Ok(Redirect::to(&format!("/api/v1/runs/{}/report.html", run.id)).into_response())
}
