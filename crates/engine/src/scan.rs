//! Scanning one side: every item's metadata, with content hashes taken only where the
//! stat fingerprint differs from the original's. Problems are collected per path;
//! a path that could not be read is *unknown*, never taken as deleted.

use crate::error::ItemError;
use crate::exclude::{enter_listing, start_of, ExcludedItem, Exclusions, Stack, Start};
use offline_core::{Kind, RelPath, Side, SyncOperation};
use offline_remote::{ErrorKind, Remote, RemoteError, Stat};
use offline_store::Original;
use std::collections::{BTreeMap, HashMap};

pub use offline_core::Scanned;

/// A side's scan.
#[derive(Debug, Default)]
pub struct SideScan {
    /// Every item found, by path.
    pub items: BTreeMap<RelPath, Scanned>,
    /// Paths (and everything below them) whose state is not known this time.
    pub unknown: Vec<RelPath>,
    /// What went wrong, per path.
    pub problems: Vec<(RelPath, ItemError)>,
    /// Excluded items found (not scanned below).
    pub excluded: Vec<ExcludedItem>,
}

impl SideScan {
    /// True when `path` lies in a tree that could not be read.
    pub fn is_unknown(&self, path: &RelPath) -> bool {
        self.unknown.iter().any(|u| u.contains(path))
    }

    fn problem(&mut self, path: &RelPath, err: ItemError) {
        self.unknown.push(path.clone());
        self.problems.push((path.clone(), err));
    }
}

/// Scans the tree under `start` (the root for a whole sync) on one side; excluded
/// items are set aside, never scanned below.
pub fn scan_side(
    remote: &dyn Remote,
    side: Side,
    start: &RelPath,
    originals: &HashMap<RelPath, Original>,
    exclusions: &Exclusions,
) -> SideScan {
    let mut scan = SideScan::default();
    let mut pending = Vec::new();
    if start.is_root() {
        pending.push((start.clone(), Stack::default()));
    } else {
        match remote.stat(start) {
            Ok(Some(stat)) => {
                let is_dir = stat.meta.kind == Kind::Dir;
                match start_of(remote, start, is_dir, exclusions) {
                    Ok(Start::Excluded(reason)) => scan.excluded.push(ExcludedItem {
                        path: start.clone(),
                        kind: stat.meta.kind,
                        reason,
                    }),
                    Ok(Start::Included(outer)) => {
                        if add_item(remote, side, start, stat, originals, &mut scan) && is_dir {
                            pending.push((start.clone(), outer));
                        }
                    }
                    Err(e) => scan.problem(start, prepare_error(&e)),
                }
            }
            Ok(None) => {}
            Err(e) => scan.problem(start, prepare_error(&e)),
        }
    }
    while let Some((dir, outer)) = pending.pop() {
        let mut entries = match remote.list(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                scan.problem(&dir, prepare_error(&e));
                continue;
            }
        };
        // Metadata, temp files and unusable names are no items (see `listing`).
        crate::listing::screen(side, &dir, &mut entries);
        let stack = match enter_listing(remote, exclusions, &outer, &dir, &entries) {
            Ok(stack) => stack,
            Err(e) => {
                scan.problem(&dir, prepare_error(&e));
                continue;
            }
        };
        for entry in entries {
            let path = match dir.join(&entry.name) {
                Ok(p) => p,
                Err(e) => {
                    let bad = dir.clone();
                    scan.problems.push((
                        bad,
                        ItemError::new(
                            SyncOperation::Prepare,
                            ErrorKind::NameNotAllowed,
                            format!("a name in this folder cannot be used: {e}"),
                            "rename the item",
                        ),
                    ));
                    continue;
                }
            };
            let is_dir = entry.stat.meta.kind == Kind::Dir;
            if let Some(reason) = exclusions.excluded_by(&stack, &path, is_dir) {
                let kind = entry.stat.meta.kind;
                scan.excluded.push(ExcludedItem { path, kind, reason });
                continue;
            }
            if add_item(remote, side, &path, entry.stat, originals, &mut scan) && is_dir {
                pending.push((path, stack.clone()));
            }
        }
    }
    scan
}

/// Adds one listed item, hashing it when needed. False when it could not be read.
fn add_item(
    remote: &dyn Remote,
    side: Side,
    path: &RelPath,
    stat: Stat,
    originals: &HashMap<RelPath, Original>,
    scan: &mut SideScan,
) -> bool {
    match with_hash(remote, side, path, stat, originals.get(path), true) {
        Ok(scanned) => {
            scan.items.insert(path.clone(), scanned);
            true
        }
        Err(err) => {
            scan.problem(path, *err);
            false
        }
    }
}

/// Completes a listed item with its content hash (files only): the original's while
/// the stat fingerprint is unchanged, a fresh one when `needs_hash`, none otherwise.
pub(crate) fn with_hash(
    remote: &dyn Remote,
    side: Side,
    path: &RelPath,
    stat: Stat,
    original: Option<&Original>,
    needs_hash: bool,
) -> Result<Scanned, Box<ItemError>> {
    let Stat { mut meta, identity } = stat;
    if meta.kind != Kind::File {
        return Ok(Scanned::new(meta, identity));
    }
    let known = original
        .filter(|o| o.meta.kind == Kind::File && o.identity(side) == Some(identity.as_str()));
    if let Some(o) = known {
        meta.hash = o.meta.hash;
    } else if needs_hash {
        match remote.hash_file(path) {
            Ok((hash, len)) if len == meta.size => meta.hash = Some(hash),
            Ok((_, len)) => {
                return Err(Box::new(ItemError::new(
                    SyncOperation::Prepare,
                    ErrorKind::Changed,
                    format!(
                        "{path}: the file changed while it was read ({} bytes listed, {len} read)",
                        meta.size
                    ),
                    "the next sync looks at it again",
                )));
            }
            Err(e) => return Err(Box::new(prepare_error(&e))),
        }
    }
    Ok(Scanned::new(meta, identity))
}

fn prepare_error(err: &RemoteError) -> ItemError {
    ItemError::from_remote(SyncOperation::Prepare, err)
}
