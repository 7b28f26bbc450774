//! Experiments and their versions. A version's document is the text
//! `squall run` reads; once a run used it, it never changes (a new version
//! is made instead), so every report points at what really ran.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, now_ms};

/// An experiment.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExperimentRow {
    /// Its id (a UUID, as MiSArch's executor uses).
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it was created (Unix ms).
    pub created_ms: i64,
}

/// One version of an experiment.
#[derive(Clone, Debug)]
pub struct VersionRow {
    /// The experiment.
    pub experiment_id: String,
    /// 1, 2, ...
    pub version: i64,
    /// The experiment document (YAML or JSON).
    pub document: String,
    /// When it was created (Unix ms).
    pub created_ms: i64,
}

/// A part of a version stored as it was PUT through MiSArch's routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// `config` (MiSArch's `execution.json`).
    Config,
    /// `chaosToolkitConfig`.
    ChaosToolkit,
    /// `misarchExperimentConfig` (failure sets).
    MisarchFailures,
    /// `gatlingConfig`.
    Gatling,
}

impl Part {
    fn column(self) -> &'static str {
        match self {
            Part::Config => "misarch_config",
            Part::ChaosToolkit => "chaos_toolkit_config",
            Part::MisarchFailures => "misarch_failures",
            Part::Gatling => "gatling_config",
        }
    }
}

fn experiment(r: &AnyRow) -> Result<ExperimentRow, sqlx::Error> {
    Ok(ExperimentRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created_ms: r.try_get("created_ms")?,
    })
}

fn version(r: &AnyRow) -> Result<VersionRow, sqlx::Error> {
    Ok(VersionRow {
        experiment_id: r.try_get("experiment_id")?,
        version: r.try_get("version")?,
        document: r.try_get("document")?,
        created_ms: r.try_get("created_ms")?,
    })
}

/// What [`Store::delete_version`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deleted {
    /// Deleted.
    Gone,
    /// No such version.
    Absent,
    /// It is the experiment's last version; nothing was deleted.
    Last,
}

/// Takes the experiment's row for the rest of the transaction, with a
/// write as the transaction's first statement: PostgreSQL locks the row,
/// SQLite takes its write lock (waiting with `busy_timeout` instead of
/// failing as an upgrade from a read would). Two changes to the versions
/// of one experiment then run one after the other.
async fn lock_experiment(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE experiments SET name = name WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// A new experiment with `document` as version 1.
    pub async fn create_experiment(
        &self,
        name: &str,
        document: &str,
    ) -> Result<ExperimentRow, StoreError> {
        let row = ExperimentRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_string(),
            created_ms: now_ms(),
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO experiments (id, name, created_ms) VALUES ($1, $2, $3)")
            .bind(&row.id)
            .bind(&row.name)
            .bind(row.created_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO versions (experiment_id, version, document, created_ms) VALUES ($1, 1, $2, $3)")
            .bind(&row.id)
            .bind(document)
            .bind(row.created_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Every experiment, oldest first.
    pub async fn experiments(&self) -> Result<Vec<ExperimentRow>, StoreError> {
        let rows =
            sqlx::query("SELECT id, name, created_ms FROM experiments ORDER BY created_ms, id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(experiment).collect::<Result<_, _>>()?)
    }

    /// One experiment.
    pub async fn experiment(&self, id: &str) -> Result<Option<ExperimentRow>, StoreError> {
        let row = sqlx::query("SELECT id, name, created_ms FROM experiments WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(experiment).transpose()?)
    }

    /// Deletes an experiment, its versions, runs and events (the run
    /// directories stay on disk: reports are not the database's to remove).
    pub async fn delete_experiment(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM run_events WHERE run_id IN (SELECT id FROM runs WHERE experiment_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM runs WHERE experiment_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM versions WHERE experiment_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let gone = sqlx::query("DELETE FROM experiments WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(gone.rows_affected() > 0)
    }

    /// Deletes one version and its runs. Its experiment's last version is
    /// deleted only with `with_experiment` (MiSArch's route deletes the
    /// experiment with it); otherwise [`Deleted::Last`].
    pub async fn delete_version(
        &self,
        id: &str,
        version: i64,
        with_experiment: bool,
    ) -> Result<Deleted, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock_experiment(&mut tx, id).await?;
        let count = |sql: &'static str| sqlx::query(sql).bind(id);
        let left: i64 = count("SELECT COUNT(*) AS n FROM versions WHERE experiment_id = $1")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let exists =
            sqlx::query("SELECT 1 AS x FROM versions WHERE experiment_id = $1 AND version = $2")
                .bind(id)
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        if !exists {
            return Ok(Deleted::Absent);
        }
        if left == 1 && !with_experiment {
            return Ok(Deleted::Last);
        }
        sqlx::query(
            "DELETE FROM run_events WHERE run_id IN (SELECT id FROM runs WHERE experiment_id = $1 AND version = $2)",
        )
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM runs WHERE experiment_id = $1 AND version = $2")
            .bind(id)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM versions WHERE experiment_id = $1 AND version = $2")
            .bind(id)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        if left == 1 {
            sqlx::query("DELETE FROM experiments WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Deleted::Gone)
    }

    /// The versions of an experiment, in order.
    pub async fn versions(&self, id: &str) -> Result<Vec<VersionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT experiment_id, version, document, created_ms FROM versions WHERE experiment_id = $1 ORDER BY version",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(version).collect::<Result<_, _>>()?)
    }

    /// One version.
    pub async fn version(
        &self,
        id: &str,
        version_no: i64,
    ) -> Result<Option<VersionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT experiment_id, version, document, created_ms FROM versions WHERE experiment_id = $1 AND version = $2",
        )
        .bind(id)
        .bind(version_no)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(version).transpose()?)
    }

    /// A new version after the last one: a copy of version `from` (its
    /// document and MiSArch parts), or of it with `document` replacing its
    /// document. `None` when `from` does not exist.
    pub async fn new_version(
        &self,
        id: &str,
        from: i64,
        document: Option<&str>,
    ) -> Result<Option<VersionRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Serializes version numbering per experiment.
        lock_experiment(&mut tx, id).await?;
        let Some(src) = sqlx::query(
            "SELECT document, misarch_config, chaos_toolkit_config, misarch_failures, gatling_config \
             FROM versions WHERE experiment_id = $1 AND version = $2",
        )
        .bind(id)
        .bind(from)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let next: i64 =
            sqlx::query("SELECT MAX(version) AS v FROM versions WHERE experiment_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get::<Option<i64>, _>("v")?
                .unwrap_or(0)
                + 1;
        let doc: String = match document {
            Some(d) => d.to_string(),
            None => src.try_get("document")?,
        };
        let created_ms = now_ms();
        sqlx::query(
            "INSERT INTO versions (experiment_id, version, document, created_ms, misarch_config, \
             chaos_toolkit_config, misarch_failures, gatling_config) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(next)
        .bind(&doc)
        .bind(created_ms)
        .bind(src.try_get::<Option<String>, _>("misarch_config")?)
        .bind(src.try_get::<Option<String>, _>("chaos_toolkit_config")?)
        .bind(src.try_get::<Option<String>, _>("misarch_failures")?)
        .bind(src.try_get::<Option<String>, _>("gatling_config")?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(VersionRow {
            experiment_id: id.to_string(),
            version: next,
            document: doc,
            created_ms,
        }))
    }

    /// Replaces a version's document, unless a run has used it (checked
    /// in the same statement, so a start in between cannot slip through).
    /// False when the version is absent or frozen.
    pub async fn set_document(
        &self,
        id: &str,
        version: i64,
        document: &str,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE versions SET document = $1 WHERE experiment_id = $2 AND version = $3 \
             AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.experiment_id = $4 AND runs.version = $5)",
        )
        .bind(document)
        .bind(id)
        .bind(version)
        .bind(id)
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// A MiSArch part of a version, as it was PUT (`None` if never PUT).
    pub async fn part(
        &self,
        id: &str,
        version: i64,
        part: Part,
    ) -> Result<Option<String>, StoreError> {
        let sql = format!(
            "SELECT {} AS v FROM versions WHERE experiment_id = $1 AND version = $2",
            part.column()
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<String>, _>("v")?,
            None => None,
        })
    }

    /// Stores a MiSArch part as it is.
    pub async fn set_part(
        &self,
        id: &str,
        version: i64,
        part: Part,
        text: &str,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE versions SET {} = $1 WHERE experiment_id = $2 AND version = $3",
            part.column()
        );
        let r = sqlx::query(&sql)
            .bind(text)
            .bind(id)
            .bind(version)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }
}
