//! Renaming a folder on S3, which has no rename: every key under the folder's prefix
//! (its files, its subfolders' and its own folder markers) is copied on the server
//! to the same key under the new prefix, then the old keys are deleted. No byte goes
//! through this machine. The copies come first, so an interruption leaves the items
//! under both names, never under none; the next sync finds them equal.

use super::ObjectRemote;
use crate::error::Result;
use crate::net::key;
use futures_util::StreamExt;
use offline_core::RelPath;

impl ObjectRemote {
    /// Copies every key under `from/` to `to/`, then deletes the old ones.
    pub(super) fn s3_rename_folder(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        let (old, new) = (format!("{}/", key(from)?), format!("{}/", key(to)?));
        let keys = self.rt.guarded(async {
            let mut lister = self.op.lister_with(&old).recursive(true).await?;
            let mut out = Vec::new();
            while let Some(entry) = lister.next().await {
                out.push(entry?.path().to_string());
            }
            Ok::<_, opendal::Error>(out)
        });
        let keys = keys.map_err(|e| self.fail(from, "list the folder to rename it", e))?;
        let mut moved = Vec::with_capacity(keys.len() + 1);
        for k in keys.iter().chain(std::iter::once(&old)) {
            let k = k.trim_start_matches('/');
            let Some(rest) = k.strip_prefix(old.as_str()) else {
                continue;
            };
            if moved.iter().any(|(a, _): &(String, String)| a == k) {
                continue;
            }
            moved.push((k.to_string(), format!("{new}{rest}")));
        }
        for (a, b) in &moved {
            if a.ends_with('/') {
                // A folder marker: a zero-byte object, made anew.
                match self.rt.guarded(self.op.stat(a)) {
                    Ok(_) => self
                        .rt
                        .guarded(self.op.create_dir(b))
                        .map_err(|e| self.fail(to, "make the renamed folder", e))?,
                    Err(e) if e.kind() == opendal::ErrorKind::NotFound => {}
                    Err(e) => return Err(self.fail(from, "read the folder marker", e)),
                }
                continue;
            }
            crashpoint::hit("s3.rename_folder.copy");
            self.rt
                .guarded(self.op.copy(a, b))
                .map_err(|e| self.fail(to, &format!("copy {a} to {b}"), e))?;
        }
        // Files first, then folder markers deepest first: a folder goes once empty.
        let mut old_keys: Vec<&String> = moved.iter().map(|(a, _)| a).collect();
        old_keys.sort_by_key(|k| (k.ends_with('/'), std::cmp::Reverse(k.len())));
        for a in old_keys {
            match self.rt.guarded(self.op.delete(a)) {
                Ok(()) => {}
                Err(e) if e.kind() == opendal::ErrorKind::NotFound => {}
                Err(e) => return Err(self.fail(from, &format!("remove {a} after copying it"), e)),
            }
        }
        Ok(())
    }
}
