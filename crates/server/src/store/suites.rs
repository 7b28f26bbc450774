//! Suite runs: their state after every transition.

use sqlx::Row;

use super::{Store, StoreError};

/// A suite run as stored.
#[derive(Clone, Debug)]
pub struct SuiteRow {
    /// The run id (UUIDv7).
    pub id: String,
    /// The suite's name.
    pub name: String,
    /// `running`, `passed`, `failed`, `interrupted`.
    pub status: String,
    /// The whole state (`state.json`).
    pub state: String,
    /// The server that runs it.
    pub owner: String,
    /// Unix ms.
    pub created_ms: i64,
    /// Unix ms.
    pub ended_ms: Option<i64>,
}

const COLUMNS: &str = "id, name, status, state, owner, created_ms, ended_ms";

fn row(r: &sqlx::any::AnyRow) -> Result<SuiteRow, StoreError> {
    Ok(SuiteRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        status: r.try_get("status")?,
        state: r.try_get("state")?,
        owner: r.try_get("owner")?,
        created_ms: r.try_get("created_ms")?,
        ended_ms: r.try_get("ended_ms")?,
    })
}

impl Store {
    /// Records a new suite run (owned by this server).
    pub async fn insert_suite(&self, s: &SuiteRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO suites ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&s.id)
        .bind(&s.name)
        .bind(&s.status)
        .bind(&s.state)
        .bind(&self.owner)
        .bind(s.created_ms)
        .bind(s.ended_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A suite run's new state.
    pub async fn update_suite(
        &self,
        id: &str,
        status: &str,
        state: &str,
        ended_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE suites SET status = $1, state = $2, ended_ms = $3 WHERE id = $4")
            .bind(status)
            .bind(state)
            .bind(ended_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One suite run.
    pub async fn suite(&self, id: &str) -> Result<Option<SuiteRow>, StoreError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM suites WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(row)
            .transpose()
    }

    /// Suite runs, newest first.
    pub async fn suites(&self, limit: i64) -> Result<Vec<SuiteRow>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM suites ORDER BY created_ms DESC, id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(row)
        .collect()
    }

    /// This server's suite runs a crash left `running`.
    pub async fn suites_cut_short(&self) -> Result<Vec<SuiteRow>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM suites WHERE status = 'running' AND owner = $1 ORDER BY created_ms"
        ))
        .bind(&self.owner)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(row)
        .collect()
    }

    /// The next event number of a run or suite run (1 for the first).
    pub async fn next_event_seq(&self, id: &str) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS m FROM run_events WHERE run_id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get::<i64, _>("m")? + 1)
    }
}
