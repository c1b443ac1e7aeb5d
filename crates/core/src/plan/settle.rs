//! Rules 2 to 4 of the planner, on items already classified by [`super::decide`] and
//! sorted by path: folders that must stay, the sync direction, and what waits below an
//! unresolved file-versus-folder conflict.

use super::{Action, PlanItem};
use crate::control::{ConflictPolicy, SyncControl};
use crate::meta::{Kind, Meta};
use crate::operation::SyncOperation;
use crate::path::RelPath;
use crate::side::Side;
use crate::state::SyncState;
use std::collections::HashSet;

/// Rules 2 to 4 on items already classified by [`decide`] and sorted by path, done in
/// place (a caller that keeps data beside each item keeps it aligned). Returns, per
/// item, whether it stays in the plan: rule 3 drops work the direction does not allow.
/// `ghost_parents`: folders holding a ghost the share keeps (they stay there).
pub fn settle(
    items: &mut [PlanItem],
    control: &SyncControl,
    ghost_parents: &HashSet<RelPath>,
) -> Vec<bool> {
    keep_folders_that_hold_survivors(items, control.policy, ghost_parents);
    // The direction runs first: a clash it turns back into a logged conflict
    // blocks what lies below it as well.
    let mut keep = apply_direction(items, control);
    block_below_unresolved_clashes(items);
    keep_excluded_only_to_forget(items, &mut keep);
    keep
}

/// Excluded paths stay in the plan only to forget a known original (and are dropped
/// when an unresolved clash above holds them back).
fn keep_excluded_only_to_forget(items: &[PlanItem], keep: &mut [bool]) {
    for (item, keep) in items.iter().zip(keep.iter_mut()) {
        if item.triple.excluded {
            *keep &= item.action == Action::ForgetExcluded && item.triple.original.is_some();
        }
    }
}

/// The kind the path will have on `side` once `item` is done (`None`: absent).
pub(super) fn kind_after(item: &PlanItem, side: Side) -> Option<Kind> {
    let here = item.triple.meta(side);
    let there = item.triple.meta(side.other());
    let kind = |m: Option<&Meta>| m.map(|m| m.kind);
    match item.action {
        Action::Run(op) => match op {
            SyncOperation::DeleteClientCopy if side == Side::Cache => None,
            SyncOperation::DeleteServerCopy if side == Side::Share => None,
            _ if item.action.writes(side) => kind(there),
            _ => kind(here),
        },
        Action::ForgetOriginal => None,
        Action::KeepOne { winner } => match winner == side {
            true => kind(here),
            false => kind(there),
        },
        Action::KeepBoth { renamed } => match renamed == side {
            true => kind(there),
            false => kind(here),
        },
        Action::RecordOriginal
        | Action::RecordGhost
        | Action::LogConflict
        | Action::Blocked
        | Action::ForgetExcluded
        | Action::Rename { .. } => kind(here),
    }
}

/// Rule 2: walks children before parents; a folder that would vanish (or turn into a
/// file) on a side where one of its descendants stays is kept instead. A ghost stays
/// on the share: the folder holding it is kept there (and comes back to the cache).
fn keep_folders_that_hold_survivors(
    items: &mut [PlanItem],
    policy: ConflictPolicy,
    ghost_parents: &HashSet<RelPath>,
) {
    let mut needed: [HashSet<RelPath>; 2] = [HashSet::new(), HashSet::new()];
    for item in items.iter_mut().rev() {
        for (i, side) in [Side::Cache, Side::Share].into_iter().enumerate() {
            let holds_ghost = side == Side::Share && ghost_parents.contains(&item.path);
            if (needed[i].contains(&item.path) || holds_ghost)
                && kind_after(item, side) != Some(Kind::Dir)
            {
                keep_folder(item, side, policy);
            }
        }
        if let Some(parent) = item.path.parent() {
            for (i, side) in [Side::Cache, Side::Share].into_iter().enumerate() {
                if kind_after(item, side).is_some() {
                    needed[i].insert(parent.clone());
                }
            }
        }
        for set in needed.iter_mut() {
            set.remove(&item.path);
        }
    }
}

fn keep_folder(item: &mut PlanItem, side: Side, policy: ConflictPolicy) {
    let (l, r) = (item.triple.meta(Side::Cache), item.triple.meta(Side::Share));
    match (side, item.action) {
        (Side::Cache, Action::Run(SyncOperation::DeleteClientCopy)) if is_dir(l) => {
            item.state = SyncState::DirChangedOnClientDeletedOnServer;
            item.action = Action::Run(SyncOperation::CreateCopyOnServer);
        }
        (Side::Share, Action::Run(SyncOperation::DeleteServerCopy)) if is_dir(r) => {
            item.state = SyncState::DeletedOnClientDirChangedOnServer;
            item.action = Action::Run(SyncOperation::CreateCopyOnClient);
        }
        (Side::Cache, _) if is_dir(l) && r.is_some() => {
            item.state = SyncState::DirChangedOnClientFileChangedOnServer;
            item.action = match policy {
                ConflictPolicy::Log => Action::LogConflict,
                _ => Action::KeepBoth {
                    renamed: Side::Share,
                },
            };
        }
        (Side::Share, _) if is_dir(r) && l.is_some() => {
            item.state = SyncState::FileChangedOnClientDirChangedOnServer;
            item.action = match policy {
                ConflictPolicy::Log => Action::LogConflict,
                _ => Action::KeepBoth {
                    renamed: Side::Cache,
                },
            };
        }
        // Nothing to keep on this side: the descendants there were created under a
        // folder that is not there; they are blocked below.
        _ => {}
    }
}

fn is_blocking(item: &PlanItem) -> bool {
    item.action == Action::LogConflict
        && is_dir(item.triple.meta(Side::Cache)) != is_dir(item.triple.meta(Side::Share))
}

/// Rule 4: descendants of an unresolved file-versus-folder conflict wait.
fn block_below_unresolved_clashes(items: &mut [PlanItem]) {
    let mut blocker: Option<RelPath> = None;
    for item in items.iter_mut() {
        if let Some(b) = &blocker {
            if b.is_ancestor_of(&item.path) {
                item.action = Action::Blocked;
                continue;
            }
            blocker = None;
        }
        if is_blocking(item) {
            blocker = Some(item.path.clone());
        }
    }
}

/// Rule 3: drops work on a side the sync may not write (the `false` entries).
fn apply_direction(items: &mut [PlanItem], control: &SyncControl) -> Vec<bool> {
    items
        .iter_mut()
        .map(|item| {
            let creates_new_file_out = item.action
                == Action::Run(SyncOperation::CreateCopyOnServer)
                && item.triple.original.is_none()
                && !is_dir(item.triple.meta(Side::Cache));
            if control.no_new_files_out && creates_new_file_out {
                return false;
            }
            let allowed = (control.sync_in || !item.writes(Side::Cache))
                && (control.sync_out || !item.writes(Side::Share));
            if allowed {
                return true;
            }
            if let Some(on) = item.renames_on().filter(|&on| may_write(control, on)) {
                // The rename is carried out; what else differs waits for a sync
                // that may write the other side (the base moves, unchanged).
                if !item.action.is_conflict() {
                    item.action = Action::Rename { on };
                    return true;
                }
            }
            if item.action.is_conflict() {
                item.action = Action::LogConflict;
                return true;
            }
            false
        })
        .collect()
}

fn may_write(control: &SyncControl, side: Side) -> bool {
    match side {
        Side::Cache => control.sync_in,
        Side::Share => control.sync_out,
    }
}

pub(super) fn is_dir(meta: Option<&Meta>) -> bool {
    meta.is_some_and(Meta::is_dir)
}
