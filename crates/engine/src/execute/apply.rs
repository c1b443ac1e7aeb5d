//! Doing one plan item's work, as the item says: a deletion or a copy checks the
//! item's precondition on the side it changes, bookkeeping only records, and each
//! finished piece of work yields the item's base update, completed with what the
//! work left on the sides (the target's new identity), for the ledger. Conflicts
//! settled by keeping a copy are in `keep`, renamed items in `rename`.

use super::keep::Keeper;
use super::ledger::Entry;
use super::sides::{Copied, Seen, Sides};
use crate::cache::now_ns;
use crate::error::ItemError;
use offline_core::plan::BaseUpdate;
use offline_core::{Action, Kind, Original, PlanItem, RelPath, Side, SyncOperation};
use offline_remote::{ErrorKind, RemoteError};
use offline_store::ConflictRecord;

/// What one item's work did.
#[derive(Debug, Default)]
pub(super) struct Done {
    /// Bytes moved.
    pub(super) bytes: u64,
    /// Anything the person should know (where a losing copy was kept, a new name).
    pub(super) note: Option<String>,
    /// Why nothing was done (the item stays as it is, planned again next time).
    pub(super) skipped: Option<String>,
    /// The item's base update as done, for the ledger.
    pub(super) entries: Vec<Entry>,
    /// Part of the work was done (its `entries` stand: a rename) and the rest failed.
    pub(super) failed: Option<Box<ItemError>>,
}

/// What does the work of the items the run does itself (the pool copies files).
pub(super) struct Work<'a> {
    pub(super) sides: Sides<'a>,
    pub(super) keeper: Keeper,
}

impl Work<'_> {
    /// Does one item's work; the error names the operation it happened in.
    pub(super) fn apply(&self, item: &PlanItem) -> Result<Done, Box<ItemError>> {
        if item.moved.is_some() {
            return self.renamed(item);
        }
        let fail = |e: RemoteError| item_error(item, &e);
        match item.action {
            Action::Run(SyncOperation::DeleteClientCopy) => {
                self.delete(item, Side::Cache).map_err(fail)
            }
            Action::Run(SyncOperation::DeleteServerCopy) => {
                self.delete(item, Side::Share).map_err(fail)
            }
            Action::Run(_) => self.copy_item(item).map_err(fail),
            Action::RecordOriginal
            | Action::ForgetOriginal
            | Action::RecordGhost
            | Action::Blocked
            | Action::ForgetExcluded
            | Action::Rename { .. } => Ok(Done {
                entries: recorded(item).map_err(fail)?,
                ..Done::default()
            }),
            Action::LogConflict => Ok(Done {
                entries: vec![Entry::Conflict(ConflictRecord {
                    path: item.path.clone(),
                    state: item.state,
                    detected_ns: now_ns(),
                    original: item.triple.original_meta().cloned(),
                    local: item.triple.meta(Side::Cache).cloned(),
                    remote: item.triple.meta(Side::Share).cloned(),
                })],
                ..Done::default()
            }),
            Action::KeepOne { winner } => self.keep_one(item, winner).map_err(fail),
            Action::KeepBoth { renamed } => self.keep_both(item, renamed).map_err(fail),
        }
    }

    /// Deletes the copy on `side` if it still is what prepare saw. A folder must be
    /// empty by now (its contents were deleted first): it is never removed recursively.
    fn delete(&self, item: &PlanItem, side: Side) -> Result<Done, RemoteError> {
        let expect = self.sides.precondition(item, side);
        match self.sides.side(side).remove(&item.path, &expect) {
            Ok(()) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(Done {
            entries: recorded(item)?,
            ..Done::default()
        })
    }

    /// Copies the item across as its action says (a symlink a share cannot store
    /// stays where it is, skipped).
    fn copy_item(&self, item: &PlanItem) -> Result<Done, RemoteError> {
        let missing = || RemoteError::new(ErrorKind::NotFound, &item.path, "it is gone");
        let (from, to) = item.copy_direction().ok_or_else(missing)?;
        let is_link = item
            .triple
            .meta(from)
            .is_some_and(|m| m.kind == Kind::Symlink);
        let target = self.sides.side(to);
        if is_link && !target.capabilities().symlinks {
            // Not an error: nothing is wrong with the link, and nothing can be done
            // about it on this kind of share.
            return Ok(Done {
                skipped: Some(format!(
                    "{} cannot store symlinks; the link stays in the {} only",
                    target.describe(),
                    from.place()
                )),
                ..Done::default()
            });
        }
        let expect = self.sides.precondition(item, to);
        let copied = self
            .sides
            .copy(from, to, &item.path, Seen::of(item, from, to), expect)?;
        Ok(Done {
            bytes: copied.bytes,
            entries: vec![copy_entry(item, copied)?],
            ..Done::default()
        })
    }
}

/// The base update of an item whose work needs no copy (bookkeeping, a deletion, a
/// rename's record at its new path).
fn recorded(item: &PlanItem) -> Result<Vec<Entry>, RemoteError> {
    let missing = || RemoteError::new(ErrorKind::NotFound, &item.path, "it is gone");
    Ok(match item.base_update().ok_or_else(missing)? {
        BaseUpdate::Keep => Vec::new(),
        BaseUpdate::Forget => vec![Entry::Forget(item.path.clone())],
        BaseUpdate::ForgetTree => vec![Entry::ForgetTree(item.path.clone())],
        BaseUpdate::Put(original) => vec![Entry::Put(item.path.clone(), original)],
        BaseUpdate::PutCopy { .. } | BaseUpdate::Move { .. } => return Err(missing()),
    })
}

/// The base update of `item`'s copy, completed with what the copy left on its target.
pub(super) fn copy_entry(item: &PlanItem, copied: Copied) -> Result<Entry, RemoteError> {
    match item.base_update() {
        Some(BaseUpdate::PutCopy { original, to }) => {
            let done =
                BaseUpdate::complete_copy(original, to, copied.stat.identity, copied.src.meta.hash);
            Ok(Entry::Put(item.path.clone(), done))
        }
        _ => Err(RemoteError::new(
            ErrorKind::NotFound,
            &item.path,
            "it is not a copy",
        )),
    }
}

/// The original of a copy made at a path prepare did not see (a conflict name):
/// the source as copied, with both sides' identities.
pub(super) fn unplanned_copy_entry(path: &RelPath, from: Side, copied: Copied) -> Entry {
    let Copied { src, stat, .. } = copied;
    let mut original = Original {
        meta: src.meta,
        local_identity: None,
        remote_identity: None,
        cached: true,
    };
    original.set_identity(from, Some(src.identity.into()));
    original.set_identity(from.other(), Some(stat.identity));
    Entry::Put(path.clone(), original)
}

/// The error of `item`, in the operation of its action, with the copies prepare saw.
pub(super) fn item_error(item: &PlanItem, err: &RemoteError) -> Box<ItemError> {
    let op = item.action.operation().unwrap_or(SyncOperation::Prepare);
    Box::new(ItemError::from_remote(op, err).with_copies(
        item.triple.meta(Side::Cache),
        item.triple.meta(Side::Share),
        item.triple.original_meta(),
    ))
}
