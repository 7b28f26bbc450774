//! Runs: one row each, from the moment one is accepted to its end. The
//! status says where it is; a run found `starting` or `running` when the
//! server starts was cut short by a crash and becomes `interrupted`.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, now_ms};

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Accepted; the simulated system and the fault checks are being prepared.
    Starting,
    /// Load and faults are on.
    Running,
    /// It ran to its end (its verdict says how it went).
    Completed,
    /// Stopped over the API; faults reverted, what ran was reported.
    Stopped,
    /// It could not start or ended on an error (see `error`).
    Failed,
    /// The server died while it ran; found and closed at the next start.
    Interrupted,
}

impl RunStatus {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Starting => "starting",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Stopped => "stopped",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> Option<RunStatus> {
        Some(match s {
            "starting" => RunStatus::Starting,
            "running" => RunStatus::Running,
            "completed" => RunStatus::Completed,
            "stopped" => RunStatus::Stopped,
            "failed" => RunStatus::Failed,
            "interrupted" => RunStatus::Interrupted,
            _ => return None,
        })
    }

    /// True once it will not change again.
    pub fn is_final(self) -> bool {
        !matches!(self, RunStatus::Starting | RunStatus::Running)
    }
}

/// A run.
#[derive(Clone, Debug)]
pub struct RunRow {
    /// Its id.
    pub id: String,
    /// The experiment.
    pub experiment_id: String,
    /// The version that ran.
    pub version: i64,
    /// Where it is.
    pub status: RunStatus,
    /// The report's verdict, once there is one.
    pub verdict: Option<String>,
    /// `squall run`'s exit code for the same verdict.
    pub exit_code: Option<i64>,
    /// Why it failed or was interrupted.
    pub error: Option<String>,
    /// Its run directory, once made.
    pub dir: Option<String>,
    /// Accepted at (Unix ms).
    pub created_ms: i64,
    /// Ended at (Unix ms).
    pub ended_ms: Option<i64>,
}

const COLUMNS: &str =
    "id, experiment_id, version, status, verdict, exit_code, error, dir, created_ms, ended_ms";

fn run(r: &AnyRow) -> Result<RunRow, StoreError> {
    let status: String = r.try_get("status")?;
    Ok(RunRow {
        id: r.try_get("id")?,
        experiment_id: r.try_get("experiment_id")?,
        version: r.try_get("version")?,
        status: RunStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("run status {status:?}")))?,
        verdict: r.try_get("verdict")?,
        exit_code: r.try_get("exit_code")?,
        error: r.try_get("error")?,
        dir: r.try_get("dir")?,
        created_ms: r.try_get("created_ms")?,
        ended_ms: r.try_get("ended_ms")?,
    })
}

impl Store {
    /// Records a new run of a version, `starting`.
    pub async fn create_run(
        &self,
        experiment_id: &str,
        version: i64,
    ) -> Result<RunRow, StoreError> {
        let row = RunRow {
            id: uuid::Uuid::new_v4().to_string(),
            experiment_id: experiment_id.to_string(),
            version,
            status: RunStatus::Starting,
            verdict: None,
            exit_code: None,
            error: None,
            dir: None,
            created_ms: now_ms(),
            ended_ms: None,
        };
        sqlx::query("INSERT INTO runs (id, experiment_id, version, status, created_ms, owner) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&row.id)
            .bind(&row.experiment_id)
            .bind(row.version)
            .bind(row.status.as_str())
            .bind(row.created_ms)
            .bind(&self.owner)
            .execute(&self.pool)
            .await?;
        Ok(row)
    }

    /// The run is under way, writing into `dir`.
    pub async fn run_started(&self, id: &str, dir: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE runs SET status = $1, dir = $2 WHERE id = $3")
            .bind(RunStatus::Running.as_str())
            .bind(dir)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The run ended.
    pub async fn run_ended(
        &self,
        id: &str,
        status: RunStatus,
        verdict: Option<&str>,
        exit_code: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE runs SET status = $1, verdict = $2, exit_code = $3, error = $4, ended_ms = $5 WHERE id = $6")
            .bind(status.as_str())
            .bind(verdict)
            .bind(exit_code)
            .bind(error)
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One run.
    pub async fn run(&self, id: &str) -> Result<Option<RunRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM runs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(run).transpose()
    }

    /// Runs, newest first: all of them, or those of one experiment, or of
    /// one version.
    pub async fn runs(
        &self,
        experiment_id: Option<&str>,
        version: Option<i64>,
        limit: i64,
    ) -> Result<Vec<RunRow>, StoreError> {
        let rows = match (experiment_id, version) {
            (Some(e), Some(v)) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM runs WHERE experiment_id = $1 AND version = $2 ORDER BY created_ms DESC, id LIMIT $3"
                ))
                .bind(e)
                .bind(v)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            (Some(e), None) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM runs WHERE experiment_id = $1 ORDER BY created_ms DESC, id LIMIT $2"
                ))
                .bind(e)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            _ => {
                sqlx::query(&format!("SELECT {COLUMNS} FROM runs ORDER BY created_ms DESC, id LIMIT $1"))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(run).collect()
    }

    /// How many runs used a version (a version with runs is frozen).
    pub async fn run_count(&self, experiment_id: &str, version: i64) -> Result<i64, StoreError> {
        Ok(
            sqlx::query("SELECT COUNT(*) AS n FROM runs WHERE experiment_id = $1 AND version = $2")
                .bind(experiment_id)
                .bind(version)
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?,
        )
    }

    /// Runs this server (or one from before owners were kept) left
    /// `starting` or `running`: another server sharing the database closes
    /// its own.
    pub async fn unfinished_runs(&self) -> Result<Vec<RunRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM runs WHERE status IN ('starting', 'running') \
             AND (owner IS NULL OR owner = $1) ORDER BY created_ms"
        ))
        .bind(&self.owner)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run).collect()
    }
}

/// An experiment with its number of versions and latest run.
pub type Summary = (super::ExperimentRow, i64, Option<RunRow>);

impl Store {
    /// Every experiment with its version count and latest run, in one
    /// query (the list page must not cost a query per experiment).
    pub async fn experiment_summaries(&self) -> Result<Vec<Summary>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.id AS e_id, e.name AS e_name, e.created_ms AS e_created_ms, \
             (SELECT COUNT(*) FROM versions v WHERE v.experiment_id = e.id) AS e_versions, \
             r.id, r.experiment_id, r.version, r.status, r.verdict, r.exit_code, r.error, r.dir, r.created_ms, r.ended_ms \
             FROM experiments e LEFT JOIN runs r ON r.id = \
             (SELECT r2.id FROM runs r2 WHERE r2.experiment_id = e.id ORDER BY r2.created_ms DESC, r2.id LIMIT 1) \
             ORDER BY e.created_ms, e.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let e = super::ExperimentRow {
                    id: r.try_get("e_id")?,
                    name: r.try_get("e_name")?,
                    created_ms: r.try_get("e_created_ms")?,
                };
                let versions: i64 = r.try_get("e_versions")?;
                let latest = match r.try_get::<Option<String>, _>("id")? {
                    Some(_) => Some(run(r)?),
                    None => None,
                };
                Ok((e, versions, latest))
            })
            .collect()
    }
}
