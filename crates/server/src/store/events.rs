//! Every event a run sent, numbered from 1. Stored before it is broadcast,
//! so a client that reconnects with `Last-Event-ID` gets exactly what it
//! missed, and the per-second figures outlive a crash of the server.

use sqlx::Row;

use super::{Store, StoreError};

/// One stored event.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    /// 1, 2, ... within its run: the SSE event id.
    pub seq: i64,
    /// The SSE event name (`second`, `fault`, `ended`...).
    pub name: String,
    /// Its JSON.
    pub data: String,
}

impl Store {
    /// Appends an event.
    pub async fn append_event(&self, run_id: &str, e: &StoredEvent) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO run_events (run_id, seq, name, data) VALUES ($1, $2, $3, $4)")
            .bind(run_id)
            .bind(e.seq)
            .bind(&e.name)
            .bind(&e.data)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The run's events after `after`, in order, optionally only those named `name`.
    pub async fn events(
        &self,
        run_id: &str,
        after: i64,
        name: Option<&str>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = match name {
            Some(n) => {
                sqlx::query("SELECT seq, name, data FROM run_events WHERE run_id = $1 AND seq > $2 AND name = $3 ORDER BY seq")
                    .bind(run_id)
                    .bind(after)
                    .bind(n)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT seq, name, data FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq")
                    .bind(run_id)
                    .bind(after)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(StoredEvent {
                    seq: r.try_get("seq")?,
                    name: r.try_get("name")?,
                    data: r.try_get("data")?,
                })
            })
            .collect()
    }

    /// The last event number of a run (0 when it has none).
    pub async fn last_event(&self, run_id: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query("SELECT MAX(seq) AS s FROM run_events WHERE run_id = $1")
                .bind(run_id)
                .fetch_one(&self.pool)
                .await?
                .try_get::<Option<i64>, _>("s")?
                .unwrap_or(0),
        )
    }
}
