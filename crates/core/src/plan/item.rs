//! What a plan item tells the executor besides its action, so that the executor
//! works the item out again from nothing: the precondition of a change on each side
//! ([`PlanItem::expect`], safety rule 2) and what becomes of the item's base once its
//! work is done ([`PlanItem::base_update`]), as Mutagen's reconcile returns
//! `Change{Path, Old, New}`. Both are read from the item's own triple, so a plan
//! holds nothing twice.
//!
//! A renamed item ([`crate::Moved`]) fits the same contract with a second path: it
//! expects the copy it renames as prepare saw it at the old path (and nothing at the
//! new one), and its base update first moves what is recorded at the old path to the
//! new one ([`BaseUpdate::Move`]), then records the item as its action says.

use super::{Action, PlanItem, Triple};
use crate::copies::{Expect, Original};
use crate::operation::SyncOperation;
use crate::path::RelPath;
use crate::side::Side;

/// What an item's work does to its original (the base), once done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseUpdate {
    /// The original stays as it is (a logged conflict, blocked work).
    Keep,
    /// The original is removed: the item is gone from both sides.
    Forget,
    /// The originals of the path and of everything below it are removed: the path
    /// is excluded, both copies stay as they are.
    ForgetTree,
    /// This original is recorded as it is.
    Put(Original),
    /// The item was copied to `to`: `original` is recorded once the executor has
    /// set `to`'s identity to the one its write left there (and the content hash
    /// the copy computed, where prepare had none).
    PutCopy {
        /// The source copy as the new original, without `to`'s identity.
        original: Original,
        /// The side the copy was written to.
        to: Side,
    },
    /// The item was renamed: everything recorded at and below `from` (originals,
    /// pins, a conflict) moves to the item's path, then `then` applies there. The
    /// executor gives the renamed copy its identity after the rename first.
    Move {
        /// The item's path at the last sync.
        from: RelPath,
        /// The update at the new path, once moved.
        then: Box<BaseUpdate>,
    },
}

impl BaseUpdate {
    /// The original a copy to `to` records, now that the write left `identity` there
    /// and the copied content hashes to `hash`.
    pub fn complete_copy(
        original: Original,
        to: Side,
        identity: String,
        hash: Option<crate::Hash>,
    ) -> Original {
        let mut done = original;
        done.set_identity(to, Some(identity));
        if done.meta.hash.is_none() {
            done.meta.hash = hash;
        }
        done
    }
}

impl PlanItem {
    /// The precondition of a change of this item on `side`: the copy prepare saw
    /// there (its identity), or nothing. A folder's own identity moves whenever the
    /// run adds or removes something inside it, so for a folder seen here the
    /// executor accepts any folder in its place (it is only ever removed when empty).
    pub fn expect(&self, side: Side) -> Expect {
        match self.triple.copy(side) {
            Some(copy) => Expect::Identity(copy.identity.to_string()),
            None => Expect::Absent,
        }
    }

    /// The sides a copy of this item goes from and to, when its work is a copy.
    pub fn copy_direction(&self) -> Option<(Side, Side)> {
        match self.action {
            Action::Run(SyncOperation::DeleteClientCopy | SyncOperation::DeleteServerCopy) => None,
            Action::Run(SyncOperation::Prepare) => None,
            Action::Run(op) if op.writes_server() => Some((Side::Cache, Side::Share)),
            Action::Run(_) => Some((Side::Share, Side::Cache)),
            Action::KeepOne { winner } => Some((winner, winner.other())),
            // The copy under the item's own path; the renamed copy's own copy to the
            // other side gets its name, and its base, when the executor picks it.
            Action::KeepBoth { renamed } => Some((renamed.other(), renamed)),
            _ => None,
        }
    }

    /// What the item's work does to its original once done; `None` when the item
    /// lacks a copy its action needs (never for a plan made by the planner). A
    /// renamed item moves its base first, unless it is left alone (logged, blocked).
    pub fn base_update(&self) -> Option<BaseUpdate> {
        let then = self.update_in_place()?;
        match &self.moved {
            Some(moved) if !matches!(self.action, Action::LogConflict | Action::Blocked) => {
                Some(BaseUpdate::Move {
                    from: moved.from.clone(),
                    then: Box::new(then),
                })
            }
            _ => Some(then),
        }
    }

    /// The base update at the item's own path (after a rename, if it has one).
    pub fn update_in_place(&self) -> Option<BaseUpdate> {
        let t = &self.triple;
        Some(match self.action {
            Action::Run(SyncOperation::DeleteClientCopy | SyncOperation::DeleteServerCopy)
            | Action::ForgetOriginal => BaseUpdate::Forget,
            Action::RecordOriginal => {
                let (local, remote) = (t.local.as_deref()?, t.remote.as_deref()?);
                BaseUpdate::Put(Original {
                    meta: local.meta.clone(),
                    local_identity: Some(local.identity.to_string()),
                    remote_identity: Some(remote.identity.to_string()),
                    cached: true,
                })
            }
            Action::RecordGhost => {
                let remote = t.remote.as_deref()?;
                BaseUpdate::Put(Original {
                    meta: remote.meta.clone(),
                    local_identity: None,
                    remote_identity: Some(remote.identity.to_string()),
                    cached: false,
                })
            }
            Action::LogConflict | Action::Blocked => BaseUpdate::Keep,
            // Both copies hold the item: recorded as they are (a ghost's share copy
            // alone). The executor sets the renamed copy's identity.
            Action::Rename { .. } => {
                let remote = t.remote.as_deref()?;
                if t.local
                    .as_deref()
                    .is_some_and(|l| !l.meta.same_item(&remote.meta))
                {
                    // Renamed, and changed on a side this sync may not write: the
                    // base moves as it was, and the next sync sees the change.
                    return Some(BaseUpdate::Keep);
                }
                BaseUpdate::Put(Original {
                    meta: t.local.as_deref().unwrap_or(remote).meta.clone(),
                    local_identity: t.local.as_deref().map(|l| l.identity.to_string()),
                    remote_identity: Some(remote.identity.to_string()),
                    cached: t.cached && t.local.is_some(),
                })
            }
            Action::ForgetExcluded => BaseUpdate::ForgetTree,
            Action::Run(_) | Action::KeepOne { .. } | Action::KeepBoth { .. } => {
                let (from, to) = self.copy_direction()?;
                copied(t, from, to)?
            }
        })
    }
}

/// The base update of a copy of `t`'s `from` copy to `to`.
fn copied(t: &Triple, from: Side, to: Side) -> Option<BaseUpdate> {
    let src = t.copy(from)?;
    let mut original = Original {
        meta: src.meta.clone(),
        local_identity: None,
        remote_identity: None,
        cached: true,
    };
    original.set_identity(from, Some(src.identity.to_string()));
    Some(BaseUpdate::PutCopy { original, to })
}
