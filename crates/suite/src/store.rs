//! Where suite runs are kept: a directory, or S3-compatible storage
//! (`s3://bucket/prefix`, through the `object_store` crate, configured from
//! the usual `AWS_*` variables). Every object is written whole: a reader
//! sees the old version or the new one, never half of one (a temporary file
//! and a rename on disk; S3 writes are atomic).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, ObjectStore, PutMode, PutOptions, PutPayload};

/// What went wrong with the store, with the object's full name.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The location cannot be used (a bad `s3://` URL, missing settings).
    #[error("{0}")]
    Config(String),
    /// Reading or writing an object failed.
    #[error("{what}: {reason}")]
    Io {
        /// The object (`s3://b/p/key` or a path).
        what: String,
        /// Why.
        reason: String,
    },
    /// The object exists and was meant to be new.
    #[error("{0} already exists")]
    Exists(String),
}

/// A directory or an S3 bucket with a prefix.
#[derive(Clone)]
pub enum Store {
    /// A local directory.
    Dir(PathBuf),
    /// S3-compatible storage.
    S3 {
        /// The bucket.
        store: Arc<dyn ObjectStore>,
        /// `s3://bucket`.
        bucket_url: String,
        /// Key prefix (no leading or trailing `/`; may be empty).
        prefix: String,
    },
}

/// Settings for S3 beyond the `AWS_*` environment.
#[derive(Clone, Debug, Default)]
pub struct S3Settings {
    /// Endpoint of an S3-compatible server (`http://127.0.0.1:9000`);
    /// plain HTTP is allowed for it.
    pub endpoint: Option<String>,
}

impl Store {
    /// A store from `s3://bucket/prefix` or a directory path.
    pub fn open(location: &str, s3: &S3Settings) -> Result<Store, StoreError> {
        let Some(rest) = location.strip_prefix("s3://") else {
            return Ok(Store::Dir(PathBuf::from(location)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(StoreError::Config(format!(
                "{location}: expected s3://bucket or s3://bucket/prefix"
            )));
        }
        Ok(Store::S3 {
            store: s3_bucket(bucket, s3)?,
            bucket_url: format!("s3://{bucket}"),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// The object's full name for messages.
    pub fn describe(&self, key: &str) -> String {
        match self {
            Store::Dir(d) => d.join(key).display().to_string(),
            Store::S3 {
                bucket_url, prefix, ..
            } => format!("{bucket_url}/{}", self.full(prefix, key)),
        }
    }

    fn full(&self, prefix: &str, key: &str) -> String {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}/{key}")
        }
    }

    fn io(&self, key: &str, e: impl std::fmt::Display) -> StoreError {
        StoreError::Io {
            what: self.describe(key),
            reason: e.to_string(),
        }
    }

    /// Writes `key` whole (replacing it).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.write(key, bytes, false).await
    }

    /// Writes `key` only if it does not exist yet (the manifest that marks
    /// a run complete: a second writer gets [`StoreError::Exists`]).
    pub async fn put_new(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.write(key, bytes, true).await
    }

    async fn write(&self, key: &str, bytes: Vec<u8>, new: bool) -> Result<(), StoreError> {
        match self {
            Store::Dir(d) => {
                let path = d.join(key);
                let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
                let (p, t) = (path.clone(), tmp.clone());
                tokio::task::spawn_blocking(move || write_file(&p, &t, &bytes, new))
                    .await
                    .map_err(|e| self.io(key, e))?
                    .map_err(|e| match e.kind() {
                        std::io::ErrorKind::AlreadyExists => StoreError::Exists(self.describe(key)),
                        _ => self.io(key, e),
                    })
            }
            Store::S3 { store, prefix, .. } => {
                let opts = if new {
                    PutOptions::from(PutMode::Create)
                } else {
                    PutOptions::default()
                };
                store
                    .put_opts(
                        &ObjectPath::from(self.full(prefix, key)),
                        PutPayload::from(bytes),
                        opts,
                    )
                    .await
                    .map(|_| ())
                    .map_err(|e| match e {
                        object_store::Error::AlreadyExists { .. } => {
                            StoreError::Exists(self.describe(key))
                        }
                        e => self.io(key, e),
                    })
            }
        }
    }

    /// Reads `key`; `None` when it does not exist.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Store::Dir(d) => match tokio::fs::read(d.join(key)).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(self.io(key, e)),
            },
            Store::S3 { store, prefix, .. } => {
                let path = ObjectPath::from(self.full(prefix, key));
                match store.get_opts(&path, GetOptions::default()).await {
                    Ok(r) => Ok(Some(r.bytes().await.map_err(|e| self.io(key, e))?.to_vec())),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(self.io(key, e)),
                }
            }
        }
    }

    /// Every key under `dir` (recursively), relative to the store, sorted.
    pub async fn list(&self, dir: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out = match self {
            Store::Dir(d) => {
                let root = d.clone();
                let start = d.join(dir);
                tokio::task::spawn_blocking(move || walk(&root, &start))
                    .await
                    .map_err(|e| self.io(dir, e))?
                    .map_err(|e| self.io(dir, e))?
            }
            Store::S3 { store, prefix, .. } => {
                let full = self.full(prefix, dir);
                let base = ObjectPath::from(full.as_str());
                let metas: Vec<_> = store
                    .list(Some(&base))
                    .try_collect()
                    .await
                    .map_err(|e| self.io(dir, e))?;
                // Keys as object_store normalised them (it rewrites `a//b`).
                let root = format!("{}/", ObjectPath::from(prefix.as_str()).as_ref());
                metas
                    .into_iter()
                    .map(|m| {
                        let k = m.location.as_ref();
                        let rel = if prefix.is_empty() {
                            k
                        } else {
                            k.strip_prefix(&root).unwrap_or(k)
                        };
                        (rel.to_string(), m.size)
                    })
                    .collect()
            }
        };
        out.sort();
        Ok(out)
    }
}

/// A client for one bucket: `AWS_*` variables, then the settings.
pub fn s3_bucket(bucket: &str, s3: &S3Settings) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let endpoint = s3.endpoint.clone().or_else(|| {
        ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
            .iter()
            .find_map(|k| std::env::var(k).ok())
    });
    if let Some(e) = &endpoint {
        b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
    }
    b.build()
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        .map_err(|e| StoreError::Config(format!("s3://{bucket}: {e}")))
}

fn write_file(path: &Path, tmp: &Path, bytes: &[u8], new: bool) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if new && path.exists() {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    let mut f = std::fs::File::create(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    if new {
        // hard_link fails when the name exists: no second writer wins.
        let linked = std::fs::hard_link(tmp, path);
        let _ = std::fs::remove_file(tmp);
        return linked;
    }
    std::fs::rename(tmp, path)
}

fn walk(root: &Path, dir: &Path) -> std::io::Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for e in entries {
            let e = e?;
            let meta = e.metadata()?;
            let p = e.path();
            if meta.is_dir() {
                stack.push(p);
            } else if !p.to_string_lossy().contains(".tmp-") {
                let rel = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, meta.len()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_store_writes_whole_objects_and_refuses_a_second_manifest() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path().to_str().unwrap(), &S3Settings::default()).unwrap();
        s.put("a/b/state.json", b"1".to_vec()).await.unwrap();
        s.put("a/b/state.json", b"2".to_vec()).await.unwrap();
        assert_eq!(s.get("a/b/state.json").await.unwrap().unwrap(), b"2");
        assert!(s.get("a/none").await.unwrap().is_none());
        s.put_new("a/b/manifest.json", b"m".to_vec()).await.unwrap();
        assert!(matches!(
            s.put_new("a/b/manifest.json", b"n".to_vec()).await,
            Err(StoreError::Exists(_))
        ));
        let keys: Vec<String> = s
            .list("a")
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["a/b/manifest.json", "a/b/state.json"]);
    }
}
