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
//! 5. Before rules 2 to 4, renames are found from the whole picture (`rename.rs`):
//!    a path gone from one side and a new path on that side holding the same item
//!    (same inode, or same content fingerprint confirmed by its hash), matched one
//!    to one, become one item at the new path, carried out as a rename on the other
//!    side ([`Moved`]); a renamed folder takes everything below it along.
//!
//! The [`Planner`] applies them, fed one path at a time by the engine's walk (rule 1
//! as each path comes, the others once all are in); [`plan()`] runs it over a list.
//! A sync that knows no original (an initial sync) can take its plan in pieces while
//! the walk goes on ([`Planner::release`], `stream.rs`), each piece as the whole plan
//! decides it.
//! Each [`PlanItem`] then tells the executor its precondition on each side and its
//! base update (`item.rs`).

use crate::control::SyncControl;
use crate::copies::{Original, Scanned};
use crate::meta::Meta;
use crate::operation::SyncOperation;
use crate::path::RelPath;
use crate::side::Side;
use crate::state::SyncState;
use std::collections::HashSet;

mod change;
mod decide;
mod item;
mod planner;
mod rename;
mod settle;
mod stream;

pub use change::Change;
pub use decide::decide;
pub use item::BaseUpdate;
pub use planner::Planner;
pub use rename::{ExclusionWanted, HashWanted};
use settle::settle;

/// The three copies of one path, plus its cache state. The copies are boxed: most
/// planned paths have one or two of the three, and a plan holds one triple per path
/// with work (an initial sync of 100,000 files: 100,000 triples). Each scanned copy
/// carries its identity, so a plan item holds everything the executor re-checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triple {
    /// The state at the last successful sync of this path (the base).
    pub original: Option<Box<Original>>,
    /// The cache copy as scanned now.
    pub local: Option<Box<Scanned>>,
    /// The share copy as scanned now.
    pub remote: Option<Box<Scanned>>,
    /// The original says the cache holds content for this path. `false` for a ghost:
    /// known by name only, so a missing cache copy is not a deletion.
    pub cached: bool,
    /// The path lies in a pinned tree: its content belongs in the cache.
    pub pinned: bool,
    /// The path is excluded (`.offlineignore`, the cache's patterns, the built-in
    /// list): neither copied, deleted nor compared; the walk does not go below it.
    pub excluded: bool,
}

impl Triple {
    /// A pinned, cached path (a full mirror), the common case; no identities.
    pub fn new(original: Option<Meta>, local: Option<Meta>, remote: Option<Meta>) -> Triple {
        let scanned = |m: Meta| Box::new(Scanned::new(m, ""));
        Triple {
            original: original.map(|m| Box::new(Original::of(m))),
            local: local.map(scanned),
            remote: remote.map(scanned),
            cached: true,
            pinned: true,
            excluded: false,
        }
    }

    /// The original's metadata.
    pub fn original_meta(&self) -> Option<&Meta> {
        self.original.as_deref().map(|o| &o.meta)
    }

    /// The copy scanned on `side`.
    pub fn copy(&self, side: Side) -> Option<&Scanned> {
        match side {
            Side::Cache => self.local.as_deref(),
            Side::Share => self.remote.as_deref(),
        }
    }

    /// The metadata of the copy scanned on `side`.
    pub fn meta(&self, side: Side) -> Option<&Meta> {
        self.copy(side).map(|c| &c.meta)
    }
}

/// What the sync does with one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// The item was renamed on the other side: the copy on `on` is renamed to the
    /// item's path (nothing else differs). The item's [`Moved`] says from where.
    Rename {
        /// The side the rename is carried out on.
        on: Side,
    },
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
                winner: Side::Cache,
            }
            | Action::KeepBoth {
                renamed: Side::Share,
            }
            | Action::Rename { on: Side::Share } => Some(SyncOperation::SyncToServer),
            Action::KeepOne {
                winner: Side::Share,
            }
            | Action::KeepBoth {
                renamed: Side::Cache,
            }
            | Action::Rename { on: Side::Cache } => Some(SyncOperation::SyncToClient),
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
                winner: Side::Cache,
            } => "conflict_keep_local",
            Action::KeepOne {
                winner: Side::Share,
            } => "conflict_keep_remote",
            Action::KeepBoth { .. } => "conflict_keep_all",
            Action::Blocked => "blocked",
            Action::Rename { on: Side::Share } => "rename_server_copy",
            Action::Rename { on: Side::Cache } => "rename_client_copy",
            Action::ForgetExcluded => "forget_excluded",
        }
    }

    /// True when this action changes `side`.
    pub fn writes(self, side: Side) -> bool {
        match self {
            Action::Run(op) => match side {
                Side::Cache => op.writes_client(),
                Side::Share => op.writes_server(),
            },
            Action::KeepOne { winner } => winner != side,
            Action::KeepBoth { .. } => true,
            Action::Rename { on } => on == side,
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
    /// The copies prepare saw (the executor re-checks them before acting). For a
    /// renamed item, each side's copy wherever it is now: the one [`Moved::rename`]
    /// names is still at its old path.
    pub triple: Triple,
    /// Set when the item was renamed since the last sync: where it was, and which
    /// copy is renamed to `path` before `action` is done there.
    pub moved: Option<Box<Moved>>,
}

/// A renamed item: where its base was, and the rename that brings its copies together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The item's path at the last sync: its original, with everything recorded at
    /// and below it (originals, pins, a conflict), moves from there to the item's path.
    pub from: RelPath,
    /// The side whose copy is renamed to the item's path, and where that copy is now
    /// (`from`, unless that side renamed it too). `None` when no side needs it.
    pub rename: Option<(Side, RelPath)>,
}

impl PlanItem {
    /// True when the item's work changes `side`: its action, or the rename first.
    pub fn writes(&self, side: Side) -> bool {
        self.action.writes(side) || self.renames_on() == Some(side)
    }

    /// The side a rename is carried out on, when the item has one (a conflict left
    /// logged, or work blocked by one, renames nothing).
    pub fn renames_on(&self) -> Option<Side> {
        if matches!(self.action, Action::LogConflict | Action::Blocked) {
            return None;
        }
        self.moved
            .as_ref()
            .and_then(|m| m.rename.as_ref())
            .map(|(side, _)| *side)
    }

    /// True when the item's work deletes its copy on a side.
    pub fn is_deletion(&self) -> bool {
        matches!(
            self.action,
            Action::Run(SyncOperation::DeleteClientCopy | SyncOperation::DeleteServerCopy)
        )
    }

    /// The operation this item is reported under: its action's, or for a rename
    /// whose work is only bookkeeping, the rename's.
    pub fn operation(&self) -> Option<SyncOperation> {
        self.action.operation().or_else(|| {
            self.renames_on()
                .and_then(|on| Action::Rename { on }.operation())
        })
    }
}

/// The work of one sync, in path order (every folder before its contents).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The planned items.
    pub items: Vec<PlanItem>,
    /// Unchanged items whose stat fingerprints moved (touched, copied back): their
    /// originals with the new fingerprints, so the next walk need not hash them. Base
    /// updates without work: written when the plan is carried out.
    pub refresh: Vec<(RelPath, Original)>,
    /// What each side holds and what the plan deletes there (for the guards).
    pub counts: Counts,
}

/// Items found on each side, originals known on the share, and the deletions the
/// plan makes on each side: what the guards against a missing share and a mass
/// deletion read, counted while planning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Items found in the cache.
    pub found_local: usize,
    /// Items found on the share.
    pub found_remote: usize,
    /// Originals that say the share had the item.
    pub known_remote: usize,
    /// Items the plan deletes in the cache.
    pub delete_local: usize,
    /// Items the plan deletes on the share.
    pub delete_remote: usize,
}

impl Counts {
    /// Items found on `side`.
    pub fn found(&self, side: Side) -> usize {
        match side {
            Side::Cache => self.found_local,
            Side::Share => self.found_remote,
        }
    }

    /// Items the plan deletes on `side`.
    pub fn deletes(&self, side: Side) -> usize {
        match side {
            Side::Cache => self.delete_local,
            Side::Share => self.delete_remote,
        }
    }
}

impl Plan {
    /// True when nothing is to be done.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items in the order the executor runs them: first the renamed items and
    /// the work on the folders they go into, in path order (a folder is made, its
    /// conflict settled or its rename done before anything goes into it); then the
    /// deletions, deepest first (a folder is empty when its turn comes, what was
    /// renamed out of it is gone already); then the rest, in path order.
    pub fn run_order(&self) -> Vec<&PlanItem> {
        let above_renamed: HashSet<&[u8]> = self
            .items
            .iter()
            .filter(|i| i.moved.is_some())
            .flat_map(|i| i.path.ancestor_bytes())
            .collect();
        let mut first = Vec::new();
        let mut deletions = Vec::new();
        let mut rest = Vec::new();
        for item in &self.items {
            if item.is_deletion() {
                deletions.push(item);
            } else if item.moved.is_some() || above_renamed.contains(item.path.as_bytes()) {
                first.push(item);
            } else {
                rest.push(item);
            }
        }
        deletions.reverse();
        first.extend(deletions);
        first.extend(rest);
        first
    }

    /// The items that move data or settle conflicts (what a person cares to see).
    pub fn visible_items(&self) -> impl Iterator<Item = &PlanItem> {
        self.items.iter().filter(|i| {
            i.moved.is_some()
                || !matches!(
                    i.action,
                    Action::RecordOriginal
                        | Action::ForgetOriginal
                        | Action::RecordGhost
                        | Action::ForgetExcluded
                )
        })
    }
}

/// Plans a sync of `entries` (any order; each path at most once): the [`Planner`]
/// run over a list.
pub fn plan(entries: impl IntoIterator<Item = (RelPath, Triple)>, control: &SyncControl) -> Plan {
    let mut planner = Planner::new(control);
    for (path, triple) in entries {
        planner.add(path, triple);
    }
    planner.finish()
}

/// Plans a sync when no original is known at all (a rebuilt state database): paths
/// on one side only are copied to the other, identical ones are recorded, and
/// differing ones become conflicts.
pub fn plan_without_base(
    entries: impl IntoIterator<Item = (RelPath, Triple)>,
    control: &SyncControl,
) -> Plan {
    let mut planner = Planner::new(control).without_base();
    for (path, triple) in entries {
        planner.add(path, triple);
    }
    planner.finish()
}
