//! What only S3 needs for reading: whether a folder (a key prefix) exists, and the
//! listing of one folder's keys with a `/` delimiter, a page after the other.

use super::ObjectRemote;
use crate::error::{ErrorKind, RemoteError, Result};
use crate::net::key;
use crate::Entry;
use futures_util::StreamExt;
use offline_core::RelPath;

impl ObjectRemote {
    /// True when the folder `key/` exists on S3: its marker object, or any key
    /// under it.
    pub(super) fn s3_dir_exists(&self, path: &RelPath, key: &str) -> Result<bool> {
        let prefix = format!("{key}/");
        let found = self.rt.guarded(async {
            let mut lister = self.op.lister_with(&prefix).limit(1).await?;
            lister.next().await.transpose().map(|e| e.is_some())
        });
        found.map_err(|e| self.fail(path, "list the folder", e))
    }

    /// The children of `dir` on S3: one folder's keys, a page after the other.
    pub(super) fn s3_list(&self, dir: &RelPath) -> Result<Vec<Entry>> {
        let prefix = if dir.is_root() {
            "/".to_string()
        } else {
            format!("{}/", key(dir)?)
        };
        let entries = self.rt.guarded(async {
            let mut lister = self.op.lister(&prefix).await?;
            let mut out = Vec::new();
            while let Some(entry) = lister.next().await {
                out.push(entry?);
            }
            Ok::<_, opendal::Error>(out)
        });
        let entries = entries.map_err(|e| match e.kind() {
            opendal::ErrorKind::NotFound => {
                RemoteError::new(ErrorKind::NotFound, dir, "the folder is gone")
            }
            _ => self.fail(dir, "list the folder", e),
        })?;
        let own = prefix.trim_start_matches('/');
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let path = entry.path().trim_start_matches('/');
            if path == own || path.is_empty() {
                continue;
            }
            let name = match path.strip_prefix(own) {
                // A folder (common prefix) ends with its one `/`.
                Some(rest) => match rest.strip_suffix('/') {
                    Some(inner) if !inner.is_empty() => inner,
                    _ => rest,
                },
                // A key outside the listed folder: its whole path, no valid name.
                None => entry.path(),
            };
            let stat = self.to_stat(entry.metadata());
            out.push(Entry {
                name: name.as_bytes().to_vec(),
                stat,
            });
        }
        Ok(out)
    }
}
