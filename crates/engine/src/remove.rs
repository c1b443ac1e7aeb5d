//! `offline rm`: deletes items with everything under them, ghosts included, at the
//! next sync, as deleting in Explorer's Offline Files view does. A ghost was never in
//! the cache, so deleting the cache folder alone keeps it on the share (safety rule
//! of the planner); here every ghost below the path is recorded as cached, so that
//! its absence from the cache is a deletion the next sync carries out (never over a
//! change on the share: that is copied back as for any deletion). Cache copies that
//! hold the base are removed; copies with changes not synced yet, and items never
//! synced, are moved to `.offline/discarded/<UTC>/` first: no byte is lost.

use crate::cache::Cache;
use crate::error::{EngineError, Result};
use offline_core::{Kind, RelPath};
use offline_remote::{Expect, Remote, Stat};
use offline_store::Original;
use std::collections::HashMap;
use std::path::PathBuf;

/// What `remove_items` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoveReport {
    /// Cache copies removed (the next sync deletes them on the share).
    pub removed: Vec<RelPath>,
    /// Ghosts the next sync deletes on the share.
    pub ghosts: Vec<RelPath>,
    /// Changed or never synced copies moved out of the cache, and where to.
    pub discarded: Vec<(RelPath, PathBuf)>,
    /// Items that could not be removed, and why.
    pub failed: Vec<(RelPath, String)>,
}

impl Cache {
    /// Marks `paths` and everything under them for deletion at the next sync.
    pub fn remove_items(&mut self, paths: &[RelPath]) -> Result<RemoveReport> {
        let _lock = self.lock()?;
        if paths.iter().any(|p| p.is_root()) {
            return Err(EngineError::Usage(
                "the root of the cache cannot be removed; name what is in it".to_string(),
            ));
        }
        let originals: HashMap<RelPath, Original> = self
            .store
            .originals()?
            .into_iter()
            .filter(|(p, _)| paths.iter().any(|s| s.contains(p)))
            .collect();
        let mut report = RemoveReport::default();
        let mut copies = Vec::new();
        for path in paths {
            self.copies_below(path, &mut copies, &mut report);
        }
        // Deepest first, so folders are empty when their turn comes.
        copies.sort_by(|a, b| b.0.cmp(&a.0));
        copies.dedup_by(|a, b| a.0 == b.0);
        for (path, stat) in copies {
            self.remove_copy(&path, &stat, originals.get(&path), &mut report);
        }
        let mut ghosts: Vec<(&RelPath, &Original)> =
            originals.iter().filter(|(_, o)| !o.cached).collect();
        ghosts.sort_by(|a, b| a.0.cmp(b.0));
        let batch = self.store.transaction()?;
        for (path, original) in ghosts {
            let deleted = Original {
                cached: true,
                local_identity: None,
                ..original.clone()
            };
            batch.put_original(path, &deleted)?;
            report.ghosts.push(path.clone());
        }
        batch.commit()?;
        Ok(report)
    }

    /// Every item of the cache at and below `path`, with its stat.
    fn copies_below(
        &self,
        path: &RelPath,
        out: &mut Vec<(RelPath, Stat)>,
        report: &mut RemoveReport,
    ) {
        let stat = match self.local.stat(path) {
            Ok(Some(stat)) => stat,
            Ok(None) => return,
            Err(e) => {
                report.failed.push((path.clone(), e.to_string()));
                return;
            }
        };
        let is_dir = stat.meta.kind == Kind::Dir;
        out.push((path.clone(), stat));
        if !is_dir {
            return;
        }
        match self.local.list(path) {
            Ok(entries) => {
                for entry in entries {
                    match path.join(&entry.name) {
                        Ok(child) => self.copies_below(&child, out, report),
                        Err(e) => report.failed.push((path.clone(), e.to_string())),
                    }
                }
            }
            Err(e) => report.failed.push((path.clone(), e.to_string())),
        }
    }

    /// Removes one cache copy: as it is when it holds its base (a folder once
    /// empty), else moved to `.offline/discarded/`.
    fn remove_copy(
        &self,
        path: &RelPath,
        stat: &Stat,
        original: Option<&Original>,
        report: &mut RemoveReport,
    ) {
        let clean = stat.meta.kind == Kind::Dir
            || original.is_some_and(|o| o.cached && self.is_clean(path, stat, o));
        let result = if !clean {
            let dest = self.discard_destination(path);
            self.move_aside(path, &dest).map(|()| {
                report.discarded.push((path.clone(), dest));
            })
        } else {
            // A folder only goes once empty (`remove` refuses otherwise).
            let expect = match stat.meta.kind {
                Kind::Dir => Expect::Any,
                _ => Expect::Identity(stat.identity.clone()),
            };
            self.local
                .remove(path, &expect)
                .map(|()| report.removed.push(path.clone()))
        };
        if let Err(e) = result {
            report.failed.push((path.clone(), e.to_string()));
        }
    }
}
