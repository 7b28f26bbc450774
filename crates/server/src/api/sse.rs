//! Live events as Server-Sent Events: every stored event of the run after
//! `Last-Event-ID`, then the new ones as they come, each with its name and
//! id. Any number of clients per run; a slow client that falls behind the
//! broadcast catches up from the database instead of losing events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::runs::find;
use super::{ApiError, Shared};
use crate::runner::Follow;
use crate::store::StoredEvent;

/// Events buffered per client before the feeder waits for it.
const CLIENT_BUFFER: usize = 64;

pub(super) async fn events(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    find(&s, &id).await?;
    let live = s.runner.follow(&id);
    Ok(stream(s, id, &headers, live))
}

/// The SSE response for the events of a run or a suite run: stored ones
/// after `Last-Event-ID`, then `live` ones (none when it ended).
pub(super) fn stream(s: Shared, id: String, headers: &HeaderMap, live: Option<Follow>) -> Response {
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let rx = follow(s, id, after, live);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let e = rx.recv().await?;
        let sse = Event::default()
            .id(e.seq.to_string())
            .event(e.name)
            .data(e.data);
        Some((Ok::<_, Infallible>(sse), rx))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// The run's events after `after`, then live ones until the run ends.
pub(super) fn follow(
    s: Shared,
    run_id: String,
    after: i64,
    live: Option<Follow>,
) -> mpsc::Receiver<StoredEvent> {
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    // The caller subscribed before the stored events are read: nothing
    // falls between.
    tokio::spawn(async move {
        let mut last = after;
        if !replay(&s, &run_id, &mut last, &tx).await {
            return;
        }
        let Some(mut live) = live else {
            return;
        };
        loop {
            // A client that hangs up ends this task at once, even while
            // the run sends nothing (waiting for its clients).
            let next = tokio::select! {
                e = live.recv() => e,
                _ = tx.closed() => return,
            };
            match next {
                Ok(e) if e.seq <= last => {}
                Ok(e) if e.seq == last + 1 => {
                    last = e.seq;
                    if tx.send(e).await.is_err() {
                        return;
                    }
                }
                // A gap (this client fell behind): the database has it all.
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    if !replay(&s, &run_id, &mut last, &tx).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => {
                    replay(&s, &run_id, &mut last, &tx).await;
                    return;
                }
            }
        }
    });
    rx
}

/// Sends the stored events after `last`; false when the client is gone
/// or the database cannot be read (the stream then ends, and the client
/// reconnects with its `Last-Event-ID` rather than miss events).
async fn replay(s: &Shared, run_id: &str, last: &mut i64, tx: &mpsc::Sender<StoredEvent>) -> bool {
    let Ok(stored) = s.store.events(run_id, *last, None).await else {
        return false;
    };
    for e in stored {
        *last = e.seq;
        if tx.send(e).await.is_err() {
            return false;
        }
    }
    true
}
