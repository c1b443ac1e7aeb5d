//! A renamed item's work (the four *Renamed* states): the copy on the side that did
//! not rename it is renamed to the item's new path, checked against what prepare saw
//! right before and never replacing anything, without moving a byte; the item's
//! base (its originals, pins and conflict, a folder's with everything below it)
//! moves with it; then whatever else differs is done at the new path as for any
//! item, with the renamed copy as it is after the rename. When that work fails, the
//! rename stands and is recorded: the next sync compares the item at its new path.

use super::apply::{item_error, Done, Work};
use super::ledger::Entry;
use crate::error::ItemError;
use offline_core::lineage::{object_key, size_and_mtime};
use offline_core::{Action, Lineage, PlanItem, RelPath, Scanned, Side};
use offline_remote::{Expect, Stat};

impl Work<'_> {
    /// Does a renamed item's work: the rename, then its action at the new path.
    pub(super) fn renamed(&self, item: &PlanItem) -> Result<Done, Box<ItemError>> {
        let Some(moved) = item.moved.as_deref() else {
            return self.apply(item);
        };
        let mut inner = PlanItem {
            moved: None,
            ..item.clone()
        };
        if matches!(item.action, Action::LogConflict | Action::Blocked) {
            // Left alone: nothing is renamed, the base stays where it is.
            return self.apply(&inner);
        }
        let mut changed_meanwhile = false;
        if let (Some(on), Some((_, source))) = (item.renames_on(), moved.rename.as_ref()) {
            // A ghost has no copy in the cache to rename: its base moves alone.
            if let Some(seen) = item.triple.copy(on) {
                let expect = self.sides.precondition_of(on, source, seen);
                let stat = self
                    .sides
                    .side(on)
                    .move_item(source, &item.path, &expect)
                    .map_err(|e| item_error(item, &e))?;
                let lineage = self.sides.side(on).lineage();
                changed_meanwhile = !still_the_same(seen, &stat, lineage);
                set_identity(&mut inner, on, stat.identity);
            }
        }
        let mut entries = vec![Entry::Move(moved.from.clone(), item.path.clone())];
        if changed_meanwhile {
            return Ok(Done {
                skipped: Some(
                    "renamed; it changed while it was renamed, so the rest waits for the next sync"
                        .to_string(),
                ),
                entries,
                ..Done::default()
            });
        }
        match self.apply(&inner) {
            Ok(mut done) => {
                entries.append(&mut done.entries);
                done.entries = entries;
                Ok(done)
            }
            Err(err) => Ok(Done {
                failed: Some(err),
                entries,
                ..Done::default()
            }),
        }
    }
}

/// True when the copy now at the new path is the one prepare saw: the same identity;
/// or (inodes) the same object with the same size and time (its ctime moved with
/// the rename); or (other sides, whose identity may name the path) the same kind,
/// size and modification time, a folder only a folder.
fn still_the_same(seen: &Scanned, now: &Stat, lineage: Lineage) -> bool {
    if *seen.identity == *now.identity {
        return true;
    }
    if seen.meta.kind != now.meta.kind {
        return false;
    }
    let (was, is) = (&*seen.identity, now.identity.as_str());
    match lineage {
        Lineage::Inode => {
            object_key(lineage, was).is_some()
                && object_key(lineage, was) == object_key(lineage, is)
                && (seen.meta.is_dir() || size_and_mtime(was) == size_and_mtime(is))
        }
        Lineage::ContentTag | Lineage::Stat => {
            seen.meta.is_dir()
                || (seen.meta.size == now.meta.size && seen.meta.mtime_ns == now.meta.mtime_ns)
        }
    }
}

/// Sets the identity of `item`'s copy on `side` (the renamed copy, as it is now).
fn set_identity(item: &mut PlanItem, side: Side, identity: String) {
    let copy = match side {
        Side::Cache => item.triple.local.as_deref_mut(),
        Side::Share => item.triple.remote.as_deref_mut(),
    };
    if let Some(copy) = copy {
        copy.identity = identity.into();
    }
}

impl super::sides::Sides<'_> {
    /// The precondition of renaming the copy prepare saw (`seen`) at `path` on
    /// `side`: its identity; a folder only has to still be a folder (its own stat
    /// moves whenever something inside it changes).
    pub(super) fn precondition_of(&self, side: Side, path: &RelPath, seen: &Scanned) -> Expect {
        if seen.meta.is_dir() {
            if let Ok(Some(now)) = self.side(side).stat(path) {
                if now.meta.is_dir() {
                    return Expect::Identity(now.identity);
                }
            }
        }
        Expect::Identity(seen.identity.to_string())
    }
}
