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
pub fn settle(items: &mut [PlanItem], control: &SyncControl) -> Vec<bool> {
    keep_folders_that_hold_survivors(items, control.policy);
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
fn kind_after(item: &PlanItem, side: Side) -> Option<Kind> {
    let here = item.triple.meta(side);
    let there = item.triple.meta(side.other());
    let kind = |m: Option<&Meta>| m.map(|m| m.kind);
    match item.action {
        Action::Run(op) => match op {
            SyncOperation::DeleteClientCopy if side == Side::Local => None,
            SyncOperation::DeleteServerCopy if side == Side::Remote => None,
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
        | Action::ForgetExcluded => kind(here),
    }
}

/// Rule 2: walks children before parents; a folder that would vanish (or turn into a
/// file) on a side where one of its descendants stays is kept instead.
fn keep_folders_that_hold_survivors(items: &mut [PlanItem], policy: ConflictPolicy) {
    let mut needed: [HashSet<RelPath>; 2] = [HashSet::new(), HashSet::new()];
    for item in items.iter_mut().rev() {
        for (i, side) in [Side::Local, Side::Remote].into_iter().enumerate() {
            if needed[i].contains(&item.path) && kind_after(item, side) != Some(Kind::Dir) {
                keep_folder(item, side, policy);
            }
        }
        if let Some(parent) = item.path.parent() {
            for (i, side) in [Side::Local, Side::Remote].into_iter().enumerate() {
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
    let (l, r) = (
        item.triple.meta(Side::Local),
        item.triple.meta(Side::Remote),
    );
    match (side, item.action) {
        (Side::Local, Action::Run(SyncOperation::DeleteClientCopy)) if is_dir(l) => {
            item.state = SyncState::DirChangedOnClientDeletedOnServer;
            item.action = Action::Run(SyncOperation::CreateCopyOnServer);
        }
        (Side::Remote, Action::Run(SyncOperation::DeleteServerCopy)) if is_dir(r) => {
            item.state = SyncState::DeletedOnClientDirChangedOnServer;
            item.action = Action::Run(SyncOperation::CreateCopyOnClient);
        }
        (Side::Local, _) if is_dir(l) && r.is_some() => {
            item.state = SyncState::DirChangedOnClientFileChangedOnServer;
            item.action = match policy {
                ConflictPolicy::Log => Action::LogConflict,
                _ => Action::KeepBoth {
                    renamed: Side::Remote,
                },
            };
        }
        (Side::Remote, _) if is_dir(r) && l.is_some() => {
            item.state = SyncState::FileChangedOnClientDirChangedOnServer;
            item.action = match policy {
                ConflictPolicy::Log => Action::LogConflict,
                _ => Action::KeepBoth {
                    renamed: Side::Local,
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
        && is_dir(item.triple.meta(Side::Local)) != is_dir(item.triple.meta(Side::Remote))
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
                && !is_dir(item.triple.meta(Side::Local));
            if control.no_new_files_out && creates_new_file_out {
                return false;
            }
            let allowed = (control.sync_in || !item.action.writes(Side::Local))
                && (control.sync_out || !item.action.writes(Side::Remote));
            if allowed {
                return true;
            }
            if item.action.is_conflict() {
                item.action = Action::LogConflict;
                return true;
            }
            false
        })
        .collect()
}

fn is_dir(meta: Option<&Meta>) -> bool {
    meta.is_some_and(Meta::is_dir)
}
