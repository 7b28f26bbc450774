//! Where `squall serve` keeps what must outlive it: experiments, their
//! versions, runs and every event a run sent. One embedded SQLite file by
//! default (WAL, so readers never wait for the run that writes), PostgreSQL
//! by URL; the same portable SQL and migrations for both, applied at start.

mod events;
mod experiments;
mod runs;
mod suites;

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

pub use events::StoredEvent;
pub use experiments::{Deleted, ExperimentRow, Part, VersionRow};
pub use runs::{RunRow, RunStatus, Summary};
pub use suites::SuiteRow;

/// A storage failure (the database, not the caller, is at fault).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A row held something this version cannot read.
    #[error("database row: {0}")]
    Corrupt(String),
}

/// The database behind the service.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: &'static str,
    /// This server's id, recorded on its runs (see [`Store::owner`]).
    owner: String,
}

/// The schema, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/0001_init.sql")),
    (
        2,
        "run owner",
        include_str!("../../migrations/0002_run_owner.sql"),
    ),
    (
        3,
        "suites",
        include_str!("../../migrations/0003_suites.sql"),
    ),
];

/// The migrations embedded in the binary, for sqlx's migrator.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|(v, d, sql)| {
                    Migration::new(
                        *v,
                        Cow::Borrowed(*d),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

impl Store {
    /// Opens `url` (`postgres://...`, or `sqlite://FILE` in tests), or the SQLite file `squall.db` in
    /// `data_dir` when `url` is `None`, and applies the migrations.
    pub async fn open(url: Option<&str>, data_dir: &Path) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, backend) = match url {
            Some(u) if u.starts_with("sqlite:") => (u.to_string(), "sqlite"),
            Some(u) => (u.to_string(), "postgres"),
            None => (
                format!("sqlite://{}?mode=rwc", data_dir.join("squall.db").display()),
                "sqlite",
            ),
        };
        let sqlite = backend == "sqlite";
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // WAL: readers do not block the writer; a busy
                        // writer is waited for, not reported as an error.
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Migrator::new(Embedded).await?.run(&pool).await?;
        let owner = instance_id(data_dir)?;
        Ok(Store {
            pool,
            backend,
            owner,
        })
    }

    /// This server's id: made once and kept in `DATA/instance-id`, so a
    /// server restarted on the same data directory recovers its own runs
    /// and no other server's.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Closes every connection (tests reopen the same file).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The id in `DATA/instance-id`, made on first use.
fn instance_id(data_dir: &Path) -> Result<String, StoreError> {
    let file = data_dir.join("instance-id");
    if let Ok(id) = std::fs::read_to_string(&file)
        && !id.trim().is_empty()
    {
        return Ok(id.trim().to_string());
    }
    let id = uuid::Uuid::new_v4().to_string();
    std::fs::create_dir_all(data_dir)
        .and_then(|()| std::fs::write(&file, &id))
        .map_err(|e| StoreError::Corrupt(format!("{}: {e}", file.display())))?;
    Ok(id)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn versions_freeze_once_run_and_migrations_run_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(None, dir.path()).await.unwrap();
        let e = store.create_experiment("e", "doc 1").await.unwrap();
        let v2 = store.new_version(&e.id, 1, None).await.unwrap().unwrap();
        assert_eq!((v2.version, v2.document.as_str()), (2, "doc 1"));
        assert!(store.set_document(&e.id, 1, "doc 1b").await.unwrap());
        let run = store.create_run(&e.id, 1).await.unwrap();
        assert!(
            !store.set_document(&e.id, 1, "doc 1c").await.unwrap(),
            "frozen"
        );
        assert_eq!(
            store.version(&e.id, 1).await.unwrap().unwrap().document,
            "doc 1b"
        );
        assert_eq!(
            store.delete_version(&e.id, 3, false).await.unwrap(),
            Deleted::Absent
        );
        assert_eq!(
            store.delete_version(&e.id, 2, false).await.unwrap(),
            Deleted::Gone
        );
        assert_eq!(
            store.delete_version(&e.id, 1, false).await.unwrap(),
            Deleted::Last
        );
        for (seq, name) in [(1, "running"), (2, "second")] {
            let ev = StoredEvent {
                seq,
                name: name.into(),
                data: "{}".into(),
            };
            store.append_event(&run.id, &ev).await.unwrap();
        }
        assert_eq!(store.last_event(&run.id).await.unwrap(), 2);
        assert_eq!(
            store.events(&run.id, 1, None).await.unwrap()[0].name,
            "second"
        );
        assert_eq!(store.unfinished_runs().await.unwrap().len(), 1);
        let summaries = store.experiment_summaries().await.unwrap();
        assert_eq!(summaries[0].1, 1);
        assert_eq!(
            summaries[0].2.as_ref().map(|r| r.id.as_str()),
            Some(run.id.as_str())
        );
        store.close().await;

        // Reopened: the migration is applied, not again; the data is there.
        let store = Store::open(None, dir.path()).await.unwrap();
        assert_eq!(store.experiments().await.unwrap().len(), 1);
        assert_eq!(
            store.delete_version(&e.id, 1, true).await.unwrap(),
            Deleted::Gone
        );
        assert!(
            store.experiments().await.unwrap().is_empty(),
            "with its last version"
        );
    }

    #[tokio::test]
    async fn concurrent_new_versions_get_distinct_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(None, dir.path()).await.unwrap();
        let e = store.create_experiment("e", "doc").await.unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (store, id) = (store.clone(), e.id.clone());
                tokio::spawn(async move { store.new_version(&id, 1, None).await })
            })
            .collect();
        let mut numbers = Vec::new();
        for t in tasks {
            numbers.push(t.await.unwrap().unwrap().unwrap().version);
        }
        numbers.sort();
        assert_eq!(numbers, (2..=9).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_server_closes_only_its_own_runs() {
        let db = tempfile::tempdir().unwrap();
        let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        // Two servers, one database (the SQLite file of the first), as two
        // servers share one PostgreSQL database.
        let url = format!(
            "sqlite://{}?mode=rwc",
            db.path().join("shared.db").display()
        );
        let a = Store::open(Some(&url), a_dir.path()).await.unwrap();
        let b = Store::open(Some(&url), b_dir.path()).await.unwrap();
        assert_ne!(a.owner(), b.owner());
        let e = a.create_experiment("e", "doc").await.unwrap();
        let run = a.create_run(&e.id, 1).await.unwrap();
        assert!(b.unfinished_runs().await.unwrap().is_empty(), "not b's");
        assert_eq!(a.unfinished_runs().await.unwrap()[0].id, run.id);
        let again = Store::open(Some(&url), a_dir.path()).await.unwrap();
        assert_eq!(again.owner(), a.owner(), "the id outlives a restart");
    }
}
