//! Renaming a folder on S3, which has no rename: every key under the folder's prefix
//! (its files, its subfolders' and its own folder markers) is copied on the server
//! to the same key under the new prefix, then the old keys are deleted. No byte goes
//! through this machine. The copies come first, so an interruption leaves the items
//! under both names, never under none; recovery finishes such a rename
//! (`finish_move`) when everything under the new name is what the rename copied.

use super::ObjectRemote;
use crate::error::Result;
use crate::net::key;
use futures_util::StreamExt;
use offline_core::RelPath;
use std::collections::{HashMap, HashSet};

/// One key of the folder: its old and its new name.
struct Step {
    old: String,
    new: String,
}

impl Step {
    fn is_marker(&self) -> bool {
        self.old.ends_with('/')
    }
}

impl ObjectRemote {
    /// Copies every key under `from/` to `to/`, then deletes the old ones.
    pub(super) fn s3_rename_folder(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        let listed = self.s3_entries_under(from, "list the folder to rename it")?;
        let steps = s3_rename_steps(from, to, &listed)?;
        self.s3_carry_out(from, to, &steps, &HashSet::new())
    }

    /// Finishes an interrupted [`ObjectRemote::s3_rename_folder`]: false, changing
    /// nothing, when a file under `to/` differs from its namesake under `from/` (it
    /// is not the rename's copy: the next plan decides), else the copies still
    /// missing, then the deletions.
    pub(super) fn s3_finish_folder_rename(&self, from: &RelPath, to: &RelPath) -> Result<bool> {
        let listed = self.s3_entries_under(from, "list the folder to rename it")?;
        let steps = s3_rename_steps(from, to, &listed)?;
        let old_tags = self.s3_tags(from, listed)?;
        let new_tags = self.s3_tags(to, self.s3_entries_under(to, "list the folder")?)?;
        let mut done = HashSet::new();
        for step in steps.iter().filter(|s| !s.is_marker()) {
            let (Some(old), Some(new)) = (old_tags.get(&step.old), new_tags.get(&step.new)) else {
                continue;
            };
            if old != new {
                tracing::info!(
                    key = %step.new,
                    "not the copy an interrupted rename made: the folder is left under both names"
                );
                return Ok(false);
            }
            done.insert(step.new.clone());
        }
        self.s3_carry_out(from, to, &steps, &done)?;
        Ok(true)
    }

    /// Every entry under the folder `dir` (its keys, recursively); `what` names the
    /// step in an error.
    fn s3_entries_under(&self, dir: &RelPath, what: &str) -> Result<Vec<opendal::Entry>> {
        let prefix = format!("{}/", key(dir)?);
        let entries = self.rt.guarded(async {
            let mut lister = self.op.lister_with(&prefix).recursive(true).await?;
            let mut out = Vec::new();
            while let Some(entry) = lister.next().await {
                out.push(entry?);
            }
            Ok::<_, opendal::Error>(out)
        });
        entries.map_err(|e| self.fail(dir, what, e))
    }

    /// The identity (ETag and size) of every file key among `entries` (listed under
    /// the folder `dir`), by key.
    fn s3_tags(
        &self,
        dir: &RelPath,
        entries: Vec<opendal::Entry>,
    ) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        for entry in entries {
            let k = entry.path().trim_start_matches('/');
            if k.ends_with('/') {
                continue;
            }
            let mut identity = self.to_stat(entry.metadata()).identity;
            if !identity.starts_with("etag:") {
                // A listing without the ETag: ask for the key itself.
                identity = match self.rt.guarded(self.op.stat(k)) {
                    Ok(meta) => self.to_stat(&meta).identity,
                    Err(e) if e.kind() == opendal::ErrorKind::NotFound => continue,
                    Err(e) => return Err(self.fail(dir, "read a file's metadata", e)),
                };
            }
            out.insert(k.to_string(), identity);
        }
        Ok(out)
    }

    /// The copies (but those in `done`, already there), then the deletions.
    fn s3_carry_out(
        &self,
        from: &RelPath,
        to: &RelPath,
        steps: &[Step],
        done: &HashSet<String>,
    ) -> Result<()> {
        for step in steps {
            let (a, b) = (&step.old, &step.new);
            if step.is_marker() {
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
            if done.contains(b) {
                continue;
            }
            crashpoint::hit("s3.rename_folder.copy");
            self.rt
                .guarded(self.op.copy(a, b))
                .map_err(|e| self.fail(to, &format!("copy {a} to {b}"), e))?;
        }
        // Files first, then folder markers deepest first: a folder goes once empty.
        let mut old_keys: Vec<&Step> = steps.iter().collect();
        old_keys.sort_by_key(|s| (s.is_marker(), std::cmp::Reverse(s.old.len())));
        for step in old_keys {
            crashpoint::hit("s3.rename_folder.delete");
            match self.rt.guarded(self.op.delete(&step.old)) {
                Ok(()) => {}
                Err(e) if e.kind() == opendal::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(self.fail(
                        from,
                        &format!("remove {} after copying it", step.old),
                        e,
                    ))
                }
            }
        }
        Ok(())
    }
}

/// The keys `listed` under `from/` (its own marker last), each with its name under
/// `to/`.
fn s3_rename_steps(from: &RelPath, to: &RelPath, listed: &[opendal::Entry]) -> Result<Vec<Step>> {
    let (old, new) = (format!("{}/", key(from)?), format!("{}/", key(to)?));
    let mut steps: Vec<Step> = Vec::with_capacity(listed.len() + 1);
    let keys = listed
        .iter()
        .map(|e| e.path())
        .chain(std::iter::once(old.as_str()));
    for k in keys {
        let k = k.trim_start_matches('/');
        let Some(rest) = k.strip_prefix(old.as_str()) else {
            continue;
        };
        if steps.iter().any(|s| s.old == k) {
            continue;
        }
        steps.push(Step {
            old: k.to_string(),
            new: format!("{new}{rest}"),
        });
    }
    Ok(steps)
}
