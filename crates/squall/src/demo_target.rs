//! A small HTTP server on 127.0.0.1 for `squall load --demo`: something to
//! load without any setup. (The simulated microservices of `squall sim`
//! will replace it as the demo target.)

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

/// The embedded demo plan; `${BASE_URL}` is replaced by the server's address.
pub(crate) const DEMO_PLAN: &str = include_str!("../assets/demo-plan.yaml");

/// Binds 127.0.0.1 on a free port and serves until the process exits.
pub(crate) async fn start() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    // No stop: it serves until the process exits (the sender is dropped).
    let (_, never) = tokio::sync::watch::channel(false);
    let mut n: u64 = 0;
    tokio::spawn(squall_http::accept_loop(listener, never, move |stream| {
        n += 1;
        let seed = n;
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(req, seed));
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }));
    Ok(addr)
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    seed: u64,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let (status, body): (StatusCode, Bytes) = match path.as_str() {
        "/" => (StatusCode::OK, Bytes::from_static(b"ok\n")),
        "/api/items" => {
            // A few milliseconds of work, varying per connection.
            tokio::time::sleep(Duration::from_micros(500 + (seed % 7) * 300)).await;
            (
                StatusCode::OK,
                Bytes::from_static(
                    br#"{"items":[{"id":1,"name":"kite"},{"id":2,"name":"sail"}],"token":"t-42"}"#,
                ),
            )
        }
        p if p.starts_with("/api/items/") => {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let id = p.trim_start_matches("/api/items/");
            (
                StatusCode::OK,
                Bytes::from(format!(r#"{{"id":{id},"ok":true}}"#)),
            )
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(50)).await;
            (StatusCode::OK, Bytes::from_static(b"slow\n"))
        }
        _ => (StatusCode::NOT_FOUND, Bytes::from_static(b"not found\n")),
    };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    Ok(resp)
}
