//! The web UI: a few static files compiled into the binary (no network,
//! no build step) that talk to `/api/v1/` like any other client. The page
//! itself holds no data, so it is served without the token (the Host check
//! still applies); the script asks for the token and sends it in a header,
//! never in a URL.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{ApiError, Shared};

/// Every file of the UI: name, media type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css", include_str!("../../ui/app.css")),
    ("app.js", "text/javascript", include_str!("../../ui/app.js")),
    ("api.js", "text/javascript", include_str!("../../ui/api.js")),
    (
        "chart.js",
        "text/javascript",
        include_str!("../../ui/chart.js"),
    ),
    ("dom.js", "text/javascript", include_str!("../../ui/dom.js")),
    (
        "yaml.js",
        "text/javascript",
        include_str!("../../ui/yaml.js"),
    ),
    (
        "diff.js",
        "text/javascript",
        include_str!("../../ui/diff.js"),
    ),
    (
        "experiments.js",
        "text/javascript",
        include_str!("../../ui/experiments.js"),
    ),
    (
        "editor.js",
        "text/javascript",
        include_str!("../../ui/editor.js"),
    ),
    ("run.js", "text/javascript", include_str!("../../ui/run.js")),
    (
        "compare.js",
        "text/javascript",
        include_str!("../../ui/compare.js"),
    ),
    (
        "topology.js",
        "text/javascript",
        include_str!("../../ui/topology.js"),
    ),
];

const INDEX: &str = include_str!("../../ui/index.html");

/// Scripts and styles only from this server, nothing inline, no frames:
/// an injected string cannot run.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The routes: the page at `/` and its files under `/ui/`.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/",
            get(|| async { page("text/html; charset=utf-8", INDEX) }),
        )
        .route("/ui/{file}", get(asset))
}

/// Whether a request is for the UI's files (served without the token).
pub(super) fn is_ui_path(path: &str) -> bool {
    path == "/" || path.starts_with("/ui/")
}

async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .map(|(_, media, body)| page(media, body))
        .ok_or_else(|| ApiError::NotFound(format!("the UI has no file {file:?}")))
}

fn page(media: &'static str, body: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every module the scripts import is served (a missing one would only
    /// show as a console error in a browser).
    #[test]
    fn every_imported_module_is_served() {
        for (name, _, body) in ASSETS {
            for line in body.lines().filter(|l| l.starts_with("import ")) {
                let Some(start) = line.find("\"./") else {
                    continue;
                };
                let rest = &line[start + 3..];
                let file = &rest[..rest.find('"').expect("closing quote")];
                assert!(
                    ASSETS.iter().any(|(n, _, _)| *n == file),
                    "{name} imports {file}, which is not served"
                );
            }
        }
        assert!(INDEX.contains("/ui/app.js"));
        for (name, media, _) in ASSETS {
            if *media == "text/javascript" && *name != "app.js" {
                assert!(
                    INDEX.contains(&format!("<link rel=\"modulepreload\" href=\"/ui/{name}\">")),
                    "index.html does not preload {name}"
                );
            }
        }
    }
}
