//! Queries that change nothing: the cache's status and the listing of its items with
//! their cache state (pinned, ghost, dirty, in conflict).

use crate::cache::{keys, Cache};
use crate::error::Result;
use crate::exclude::ExcludedItem;
use crate::pin::{pin_covers, SpaceUse};
use crate::scan::{scan_side, Scanned};
use offline_core::plan::Change;
use offline_core::{ConnectState, Kind, Meta, OfflineReason, RelPath, Side};
use offline_store::{Original, PinSource};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A summary of the cache (`offline status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Where the share is.
    pub share: String,
    /// Online or offline, as last seen.
    pub connect_state: ConnectState,
    /// Why it is offline.
    pub offline_reason: OfflineReason,
    /// Items the state database knows.
    pub known_items: u64,
    /// Items in the cache folder that changed since the last sync.
    pub dirty_items: u64,
    /// Bytes of those changes waiting to go out.
    pub dirty_bytes: u64,
    /// Items known by name only.
    pub ghost_items: u64,
    /// Unresolved conflicts.
    pub conflicts: u64,
    /// Pinned trees.
    pub pins: u64,
    /// When the last sync without errors ended (ns since the epoch).
    pub last_good_sync_ns: Option<i64>,
    /// The last sync was interrupted (the next one cleans up and finishes).
    pub interrupted: bool,
    /// Pinned items waiting for their content (filled by the next sync).
    pub sparse_items: u64,
    /// Cache space used and its limits.
    pub space: SpaceUse,
    /// Excluded items in the cache folder (an excluded folder counts once).
    pub excluded_items: u64,
}

/// One item as `offline ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemInfo {
    /// Its path.
    pub path: RelPath,
    /// Its metadata: the cache copy, or the original for ghosts and deleted items.
    pub meta: Meta,
    /// Pinned (kept offline).
    pub pinned: bool,
    /// Who pinned it (the sources of the pins on it or on a folder above it).
    pub pinned_by: Vec<PinSource>,
    /// Cached because it was fetched or created here, not pinned: evictable when clean.
    pub auto_cached: bool,
    /// Pinned but its content is not in the cache yet: the next sync fills it.
    pub sparse: bool,
    /// Known by name only: no cache copy.
    pub ghost: bool,
    /// Created, changed or deleted in the cache since the last sync.
    pub dirty: bool,
    /// Deleted in the cache, waiting for the next sync to delete the share copy.
    pub deleted: bool,
    /// In an unresolved conflict.
    pub conflict: bool,
}

impl Cache {
    /// The cache's status. Scans the cache folder (not the share) to count changes.
    pub fn status(&self) -> Result<Status> {
        let (connect_state, offline_reason) = self.connect_state()?;
        let (items, excluded) = self.items_and_excluded(&RelPath::root(), true)?;
        let dirty: Vec<&ItemInfo> = items.iter().filter(|i| i.dirty).collect();
        Ok(Status {
            share: self.share_location.clone(),
            connect_state,
            offline_reason,
            known_items: self.store.original_count()?,
            dirty_items: dirty.len() as u64,
            dirty_bytes: dirty
                .iter()
                .filter(|i| !i.deleted && i.meta.kind == Kind::File)
                .map(|i| i.meta.size)
                .sum(),
            ghost_items: items.iter().filter(|i| i.ghost).count() as u64,
            conflicts: self.store.conflicts()?.len() as u64,
            pins: self.store.pins()?.len() as u64,
            last_good_sync_ns: self
                .store
                .setting(keys::LAST_GOOD_SYNC_NS)?
                .and_then(|s| s.parse().ok()),
            interrupted: crate::settings::sync_running(&self.store)?,
            sparse_items: items.iter().filter(|i| i.sparse).count() as u64,
            space: self.space_use()?,
            excluded_items: excluded.len() as u64,
        })
    }

    /// The items under `dir` (its children, or with `flat` all descendants), from the
    /// cache folder and the state database; the share is not contacted.
    pub fn items(&self, dir: &RelPath, flat: bool) -> Result<Vec<ItemInfo>> {
        Ok(self.items_and_excluded(dir, flat)?.0)
    }

    /// [`Cache::items`], and the excluded items found in the cache folder under
    /// `dir` (children or, with `flat`, all; nothing below an excluded folder).
    pub fn items_and_excluded(
        &self,
        dir: &RelPath,
        flat: bool,
    ) -> Result<(Vec<ItemInfo>, Vec<ExcludedItem>)> {
        let originals: HashMap<RelPath, Original> = self
            .store
            .originals()?
            .into_iter()
            .filter(|(p, _)| dir.is_ancestor_of(p))
            .collect();
        let exclusions = self.exclusions()?;
        let mut scan = scan_side(&self.local, Side::Cache, dir, &originals, &exclusions);
        let mut excluded = std::mem::take(&mut scan.excluded);
        let pins = self.store.pins()?;
        let conflicts: HashSet<RelPath> = self
            .store
            .conflicts()?
            .into_iter()
            .map(|c| c.path)
            .collect();
        let mut paths: BTreeMap<&RelPath, (Option<&Scanned>, Option<&Original>)> = BTreeMap::new();
        for (p, s) in &scan.items {
            paths.entry(p).or_default().0 = Some(s);
        }
        for (p, o) in &originals {
            paths.entry(p).or_default().1 = Some(o);
        }
        let wanted = |p: &RelPath| {
            dir.is_ancestor_of(p)
                && (flat || p.parent().as_ref() == Some(dir))
                && !scan.is_unknown(p)
        };
        let mut out = Vec::new();
        for (path, (local, original)) in paths {
            if !wanted(path) {
                continue;
            }
            let Some(meta) = local.map(|s| &s.meta).or(original.map(|o| &o.meta)) else {
                continue;
            };
            let change = Change::of_cache(
                original.map(|o| &o.meta),
                original.is_none_or(|o| o.cached),
                local.map(|s| &s.meta),
            );
            let ghost = change == Change::Ghost;
            let deleted = change == Change::Deleted;
            let dirty = change.is_dirty();
            let mut pinned_by: Vec<PinSource> = pins
                .iter()
                .filter(|p| pin_covers(p, path))
                .map(|p| p.source)
                .collect();
            pinned_by.sort_by_key(|s| s.name());
            pinned_by.dedup();
            let pinned = !pinned_by.is_empty();
            out.push(ItemInfo {
                path: path.clone(),
                meta: meta.clone(),
                pinned,
                pinned_by,
                auto_cached: !pinned && local.is_some(),
                sparse: pinned && ghost,
                ghost,
                dirty,
                deleted,
                conflict: conflicts.contains(path),
            });
        }
        excluded.retain(|e| &e.path == dir || wanted(&e.path));
        excluded.sort_by(|a, b| a.path.cmp(&b.path));
        Ok((out, excluded))
    }
}
