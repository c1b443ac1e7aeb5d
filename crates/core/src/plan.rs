//! The planner: a pure function from (original, local, remote) of every path to the
//! list of work a sync does. No I/O happens here; the engine scans, this decides.
//!
//! Rules, in order:
//! 1. Each path is classified on its own ([`decide`]): the change on each side is
//!    measured against the original, giving a [`SyncState`] and an [`Action`].
//!    Identical copies are never a conflict; a deletion against a change keeps the
//!    change (it is copied back to the side that deleted it). An excluded path is
//!    not compared at all: its original is forgotten, neither copy is touched.
//! 2. A folder is never removed from a side while something inside it must stay on
//!    that side: a deleted folder is created again, a folder replaced by a file becomes
//!    a conflict.
//! 3. Work the sync direction does not allow is dropped; conflicts are still logged.
//! 4. Everything below an unresolved file-versus-folder conflict waits for it
//!    (including a clash left logged by rule 3).

use crate::control::{ConflictPolicy, SyncControl};
use crate::meta::{Kind, Meta};
use crate::operation::SyncOperation;
use crate::path::RelPath;
use crate::state::SyncState;
use std::collections::HashSet;

/// The three copies of one path's metadata, plus its cache state. The copies are
/// boxed: most planned paths have one or two of the three, and a plan holds one
/// triple per path with work (an initial sync of 100,000 files: 100,000 triples).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triple {
    /// The state at the last successful sync of this path (the base).
    pub original: Option<Box<Meta>>,
    /// The cache copy as scanned now.
    pub local: Option<Box<Meta>>,
    /// The share copy as scanned now.
    pub remote: Option<Box<Meta>>,
    /// The original says the cache holds content for this path. `false` for a ghost:
    /// known by name only, so a missing cache copy is not a deletion.
    pub cached: bool,
    /// The path lies in a pinned tree: its content belongs in the cache.
    pub pinned: bool,
    /// The cache copy is incomplete (an interrupted fill): it holds no change of the person's.
    pub sparse: bool,
    /// The path is excluded (`.offlineignore`, the cache's patterns, the built-in
    /// list): neither copied, deleted nor compared; the walk does not go below it.
    pub excluded: bool,
}

impl Triple {
    /// A pinned, cached path (a full mirror), the common case.
    pub fn new(original: Option<Meta>, local: Option<Meta>, remote: Option<Meta>) -> Triple {
        Triple {
            original: original.map(Box::new),
            local: local.map(Box::new),
            remote: remote.map(Box::new),
            cached: true,
            pinned: true,
            sparse: false,
            excluded: false,
        }
    }
}

/// Which side of the sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The cache (client).
    Local,
    /// The share (server).
    Remote,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Local => Side::Remote,
            Side::Remote => Side::Local,
        }
    }

    /// "local" or "remote".
    pub fn name(self) -> &'static str {
        match self {
            Side::Local => "local",
            Side::Remote => "remote",
        }
    }
}

/// What the sync does with one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Carry the item across with this operation.
    Run(SyncOperation),
    /// Both sides already hold the same item: record it as the new original.
    RecordOriginal,
    /// The item is gone from both sides (or a ghost gone from the share): forget it.
    ForgetOriginal,
    /// A share item outside every pinned tree: know it by name, copy nothing.
    RecordGhost,
    /// Both sides changed differently: leave both untouched and record the conflict.
    LogConflict,
    /// A conflict settled by policy: `winner`'s copy replaces the other, whose
    /// bytes are first saved in the cache's conflicts folder.
    KeepOne {
        /// The side whose copy is kept under the path.
        winner: Side,
    },
    /// A conflict settled by keeping both: the copy on `renamed` moves to a conflict
    /// name on both sides, the other copy takes the path on both sides.
    KeepBoth {
        /// The side whose copy gets the new name.
        renamed: Side,
    },
    /// Left alone because an ancestor folder is in an unresolved conflict.
    Blocked,
    /// An excluded path: its original (and those below it) is forgotten; neither
    /// copy is touched. Never shown: an excluded path is not part of the sync.
    ForgetExcluded,
}

impl Action {
    /// The operation this work is reported under, if it moves anything.
    pub fn operation(self) -> Option<SyncOperation> {
        match self {
            Action::Run(op) => Some(op),
            Action::KeepOne {
                winner: Side::Local,
            }
            | Action::KeepBoth {
                renamed: Side::Remote,
            } => Some(SyncOperation::SyncToServer),
            Action::KeepOne {
                winner: Side::Remote,
            }
            | Action::KeepBoth {
                renamed: Side::Local,
            } => Some(SyncOperation::SyncToClient),
            _ => None,
        }
    }

    /// True for the conflict outcomes.
    pub fn is_conflict(self) -> bool {
        matches!(
            self,
            Action::LogConflict | Action::KeepOne { .. } | Action::KeepBoth { .. }
        )
    }

    /// A short name for tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Action::Run(op) => op.name(),
            Action::RecordOriginal => "record_original",
            Action::ForgetOriginal => "forget_original",
            Action::RecordGhost => "record_ghost",
            Action::LogConflict => "conflict",
            Action::KeepOne {
                winner: Side::Local,
            } => "conflict_keep_local",
            Action::KeepOne {
                winner: Side::Remote,
            } => "conflict_keep_remote",
            Action::KeepBoth { .. } => "conflict_keep_all",
            Action::Blocked => "blocked",
            Action::ForgetExcluded => "forget_excluded",
        }
    }

    fn writes(self, side: Side) -> bool {
        match self {
            Action::Run(op) => match side {
                Side::Local => op.writes_client(),
                Side::Remote => op.writes_server(),
            },
            Action::KeepOne { winner } => winner != side,
            Action::KeepBoth { .. } => true,
            Action::RecordOriginal
            | Action::ForgetOriginal
            | Action::RecordGhost
            | Action::LogConflict
            | Action::Blocked
            | Action::ForgetExcluded => false,
        }
    }
}

/// One path's planned work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanItem {
    /// The item's path.
    pub path: RelPath,
    /// What prepare found.
    pub state: SyncState,
    /// What the sync does about it.
    pub action: Action,
    /// The copies prepare saw (the executor re-checks them before acting).
    pub triple: Triple,
}

/// The work of one sync, in path order (every folder before its contents).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The planned items.
    pub items: Vec<PlanItem>,
}

impl Plan {
    /// True when nothing is to be done.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items that move data or settle conflicts (what a person cares to see).
    pub fn visible_items(&self) -> impl Iterator<Item = &PlanItem> {
        self.items.iter().filter(|i| {
            !matches!(
                i.action,
                Action::RecordOriginal
                    | Action::ForgetOriginal
                    | Action::RecordGhost
                    | Action::ForgetExcluded
            )
        })
    }
}

/// How a side changed relative to the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Not there now, not there at the original.
    Absent,
    /// Not cached (a ghost): absence means nothing.
    Ghost,
    Unchanged,
    Created,
    /// Content, mode or kind differ from the original.
    Changed,
    Deleted,
}

fn change(original: Option<&Meta>, now: Option<&Meta>) -> Change {
    match (original, now) {
        (None, None) => Change::Absent,
        (Some(_), None) => Change::Deleted,
        (None, Some(_)) => Change::Created,
        (Some(o), Some(n)) if o.same_item(n) => Change::Unchanged,
        (Some(_), Some(_)) => Change::Changed,
    }
}

fn is_dir(meta: Option<&Meta>) -> bool {
    meta.is_some_and(Meta::is_dir)
}

/// Plans a sync of `entries` (any order; each path at most once).
pub fn plan(entries: impl IntoIterator<Item = (RelPath, Triple)>, control: &SyncControl) -> Plan {
    plan_with_base(entries, control, true)
}

/// Plans a sync when no original is known at all (a rebuilt state database): paths
/// on one side only are copied to the other, identical ones are recorded, and
/// differing ones become conflicts.
pub fn plan_without_base(
    entries: impl IntoIterator<Item = (RelPath, Triple)>,
    control: &SyncControl,
) -> Plan {
    plan_with_base(entries, control, false)
}

fn plan_with_base(
    entries: impl IntoIterator<Item = (RelPath, Triple)>,
    control: &SyncControl,
    base_known: bool,
) -> Plan {
    let mut items: Vec<PlanItem> = entries
        .into_iter()
        .filter_map(|(path, triple)| {
            let (state, action) = decide(&triple, control, base_known)?;
            Some(PlanItem {
                path,
                state,
                action,
                triple,
            })
        })
        .collect();
    items.sort_by(|a, b| a.path.cmp(&b.path));
    let keep = settle(&mut items, control);
    let mut kept = keep.iter();
    items.retain(|_| kept.next().copied().unwrap_or(true));
    Plan { items }
}

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

/// Classifies one path: its sync state and what to do. `None`: nothing to do.
pub fn decide(t: &Triple, control: &SyncControl, base_known: bool) -> Option<(SyncState, Action)> {
    let (o, l, r) = (
        t.original.as_deref(),
        t.local.as_deref(),
        t.remote.as_deref(),
    );
    let lc = if !t.cached && l.is_none() && o.is_some() {
        Change::Ghost
    } else if !t.cached && o.is_some() {
        Change::Created
    } else {
        change(o, l)
    };
    let rc = change(o, r);

    if t.excluded {
        // Rule 1 for an excluded path: nothing is compared. It stays in the items
        // so that rule 2 keeps the folders that hold it; only a known original
        // leaves a trace in the plan (see `keep_excluded_only_to_forget`).
        return Some((SyncState::Stable, Action::ForgetExcluded));
    }
    if t.sparse && l.is_some() {
        return decide_sparse(o, l, r, rc);
    }
    if let (Some(lm), Some(rm)) = (l, r) {
        if lm.same_item(rm) {
            if lc == Change::Unchanged && rc == Change::Unchanged {
                return None;
            }
            return Some((
                state_for(lc, l, rc, r, o, base_known),
                Action::RecordOriginal,
            ));
        }
    }
    let state = state_for(lc, l, rc, r, o, base_known);
    use Change::*;
    let action = match (lc, rc) {
        (Unchanged, Unchanged) | (Absent, Absent) => return None,
        (Deleted, Deleted) | (Ghost, Deleted) => Action::ForgetOriginal,
        (Ghost, Unchanged | Changed) if t.pinned => Action::Run(SyncOperation::Pin),
        (Ghost, Unchanged) => return None,
        (Ghost, Changed) => Action::RecordGhost,
        (Absent, Created) if t.pinned => Action::Run(SyncOperation::CreateCopyOnClient),
        (Absent, Created) => Action::RecordGhost,
        (Created, Absent | Deleted) => Action::Run(SyncOperation::CreateCopyOnServer),
        (Changed, Unchanged) => Action::Run(SyncOperation::SyncToServer),
        (Unchanged, Changed) => Action::Run(SyncOperation::SyncToClient),
        (Unchanged, Deleted) => Action::Run(SyncOperation::DeleteClientCopy),
        (Deleted, Unchanged) => Action::Run(SyncOperation::DeleteServerCopy),
        // A deletion against a change: the change is kept by copying it back.
        (Deleted, Changed) => Action::Run(SyncOperation::CreateCopyOnClient),
        (Changed, Deleted) => Action::Run(SyncOperation::CreateCopyOnServer),
        (Created | Changed, Created | Changed | Unchanged) => {
            conflict_action(control.policy, l?, r?)
        }
        // Combinations the definitions above cannot produce: nothing to do.
        _ => return None,
    };
    Some((state, action))
}

fn decide_sparse(
    o: Option<&Meta>,
    l: Option<&Meta>,
    r: Option<&Meta>,
    rc: Change,
) -> Option<(SyncState, Action)> {
    let local_dir = is_dir(l);
    let state = match (rc, local_dir, is_dir(r)) {
        // No share copy (deleted, or gone before the first fill finished).
        (Change::Deleted | Change::Absent, false, _) => {
            SyncState::FileSparseOnClientDeletedOnServer
        }
        (Change::Deleted | Change::Absent, true, _) => SyncState::DirDeletedOnServer,
        (_, true, true) => SyncState::DirSparseOnClient,
        (_, true, false) => SyncState::DirOnClientFileChangedOnServer,
        (Change::Unchanged, false, false) => SyncState::FileSparseOnClient,
        (Change::Unchanged, false, true) => SyncState::FileSparseOnClientDirOnServer,
        (_, false, true) => SyncState::FileSparseOnClientDirChangedOnServer,
        (_, false, false) => SyncState::FileSparseOnClientChangedOnServer,
    };
    let action = match (rc, r) {
        (Change::Deleted, _) | (_, None) => Action::Run(SyncOperation::DeleteClientCopy),
        _ if o.is_none() => Action::Run(SyncOperation::SyncToClient),
        _ => Action::Run(SyncOperation::Pin),
    };
    Some((state, action))
}

/// What a conflict of two present copies becomes under `policy`.
fn conflict_action(policy: ConflictPolicy, local: &Meta, remote: &Meta) -> Action {
    let (ld, rd) = (local.is_dir(), remote.is_dir());
    if ld != rd {
        // A file against a folder: never settled by overwriting a folder.
        return match policy {
            ConflictPolicy::Log => Action::LogConflict,
            _ => Action::KeepBoth {
                renamed: if ld { Side::Remote } else { Side::Local },
            },
        };
    }
    match policy {
        ConflictPolicy::Log => Action::LogConflict,
        ConflictPolicy::KeepLocal => Action::KeepOne {
            winner: Side::Local,
        },
        ConflictPolicy::KeepRemote => Action::KeepOne {
            winner: Side::Remote,
        },
        ConflictPolicy::KeepLatest => Action::KeepOne {
            winner: if local.mtime_ns > remote.mtime_ns {
                Side::Local
            } else {
                Side::Remote
            },
        },
        // Two folders differ only in mode: there is nothing to keep twice.
        ConflictPolicy::KeepAll if ld => Action::LogConflict,
        ConflictPolicy::KeepAll => Action::KeepBoth {
            renamed: Side::Local,
        },
    }
}

/// The Windows state for a pair of changes. See the crate docs for the choices made
/// where Windows leaves it open.
fn state_for(
    lc: Change,
    l: Option<&Meta>,
    rc: Change,
    r: Option<&Meta>,
    o: Option<&Meta>,
    base_known: bool,
) -> SyncState {
    use Change::*;
    use SyncState as S;
    let (ld, rd, od) = (is_dir(l), is_dir(r), is_dir(o));
    match (lc, rc) {
        (Unchanged, Unchanged) | (Deleted, Deleted) | (Absent, Absent) => S::Stable,
        (Ghost, Deleted) => S::Stable,
        (Ghost, _) => match (rc, rd) {
            (Changed, false) => S::NoClientCopyFileChangedOnServer,
            (Changed, true) => S::NoClientCopyDirChangedOnServer,
            (_, false) => S::NoClientCopyFileOnServer,
            (_, true) => S::NoClientCopyDirOnServer,
        },
        (Absent, _) => match rd {
            false => S::NoClientCopyFileOnServer,
            true => S::NoClientCopyDirOnServer,
        },
        (Created, Absent) if !base_known => match ld {
            false => S::FileOnClientNoServerCopy,
            true => S::DirOnClientNoServerCopy,
        },
        (Created, Absent) => match ld {
            false => S::FileCreatedOnClientNoServerCopy,
            true => S::DirCreatedOnClientNoServerCopy,
        },
        (Created, Created) if !base_known => match (ld, rd) {
            (false, true) => S::FileOnClientDirOnServer,
            (true, false) => S::DirOnClientFileOnServer,
            (true, true) => S::DirCreatedOnClientDirOnServer,
            (false, false) => S::FileCreatedOnClientFileOnServer,
        },
        (Created, _) => match (ld, rc, rd) {
            (false, Deleted, _) => S::FileCreatedOnClientDeletedOnServer,
            (true, Deleted, _) => S::DirCreatedOnClientDeletedOnServer,
            (false, Changed, false) => S::FileCreatedOnClientFileChangedOnServer,
            (false, Changed, true) => S::FileCreatedOnClientDirChangedOnServer,
            (false, _, false) => S::FileCreatedOnClientFileOnServer,
            (false, _, true) => S::FileCreatedOnClientDirOnServer,
            (true, Changed, false) => S::DirCreatedOnClientFileChangedOnServer,
            (true, Changed, true) => S::DirCreatedOnClientDirChangedOnServer,
            (true, _, false) => S::DirCreatedOnClientFileOnServer,
            (true, _, true) => S::DirCreatedOnClientDirOnServer,
        },
        (Changed, Unchanged) => match (ld, od) {
            (false, false) => S::FileChangedOnClient,
            (true, true) => S::DirChangedOnClient,
            (false, true) => S::FileChangedOnClientDirOnServer,
            (true, false) => S::DirChangedOnClientFileOnServer,
        },
        (Changed, Deleted) => match ld {
            false => S::FileChangedOnClientDeletedOnServer,
            true => S::DirChangedOnClientDeletedOnServer,
        },
        (Changed, _) => match (ld, rd) {
            (false, false) => S::FileChangedOnClientChangedOnServer,
            (false, true) => S::FileChangedOnClientDirChangedOnServer,
            (true, false) => S::DirChangedOnClientFileChangedOnServer,
            (true, true) => S::DirChangedOnClientChangedOnServer,
        },
        (Unchanged, Changed) => match (od, rd) {
            (false, false) => S::FileChangedOnServer,
            (true, true) => S::DirChangedOnServer,
            (false, true) => S::FileOnClientDirOnServer,
            (true, false) => S::DirOnClientFileChangedOnServer,
        },
        (Unchanged, Deleted) => match od {
            false => S::FileDeletedOnServer,
            true => S::DirDeletedOnServer,
        },
        (Deleted, Unchanged) => match rd {
            false => S::DeletedOnClientFileOnServer,
            true => S::DeletedOnClientDirOnServer,
        },
        (Deleted, Changed) => match rd {
            false => S::DeletedOnClientFileChangedOnServer,
            true => S::DeletedOnClientDirChangedOnServer,
        },
        _ => S::Stable,
    }
}

/// The kind the path will have on `side` once `item` is done (`None`: absent).
fn kind_after(item: &PlanItem, side: Side) -> Option<Kind> {
    let (l, r) = (&item.triple.local, &item.triple.remote);
    let here = match side {
        Side::Local => l,
        Side::Remote => r,
    };
    let there = match side {
        Side::Local => r,
        Side::Remote => l,
    };
    let kind = |m: &Option<Box<Meta>>| m.as_ref().map(|m| m.kind);
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
    let (l, r) = (item.triple.local.as_deref(), item.triple.remote.as_deref());
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
        && is_dir(item.triple.local.as_deref()) != is_dir(item.triple.remote.as_deref())
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

/// Excluded paths stay in the plan only to forget a known original (and are dropped
/// when an unresolved clash above holds them back).
fn keep_excluded_only_to_forget(items: &[PlanItem], keep: &mut [bool]) {
    for (item, keep) in items.iter().zip(keep.iter_mut()) {
        if item.triple.excluded {
            *keep &= item.action == Action::ForgetExcluded && item.triple.original.is_some();
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
                && !is_dir(item.triple.local.as_deref());
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
