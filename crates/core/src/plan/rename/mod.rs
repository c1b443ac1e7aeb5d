//! Rule 5 of the planner: renames, found from the whole picture once every path is
//! in (before rules 2 to 4). A path whose copy is gone from one side, matched one to
//! one with a new path on that side holding the same item, is one renamed item:
//! - the same object: the identity's `device:inode` (the cache folder, folder
//!   shares), folders included, edited or not;
//! - the same content: an equal identity (network shares), confirmed by the content
//!   hash where the identity is only a stat fingerprint ([`Lineage::Stat`]); a folder
//!   is renamed when the files found renamed in it all went to one new folder of the
//!   same name.
//!
//! A renamed item becomes one plan item at its new path, its copies brought together
//! in one triple (`merge`), decided as any path, and carried out as a rename on the
//! other side first ([`Moved`]); a renamed folder takes everything below it. A match
//! that is not one to one, a move out of a renamed folder (a move into one is found
//! in the next round, once the folder's rename is merged), a renamed item
//! deleted or of another kind on the other side, and a rename whose item is also a
//! conflict left logged stay a deletion plus a creation, as without this rule.
//! Renamed to two names, one on each side, the item is a conflict: `log` leaves both,
//! keep-all keeps both names (a deletion and two creations), the others pick a name.

use super::PlanItem;
use crate::control::{ConflictPolicy, SyncControl};
use crate::lineage::Lineage;
use crate::path::RelPath;
use crate::side::Side;
use crate::state::SyncState;
use std::collections::{HashMap, HashSet};

mod birth;
mod exclusion;
mod find;
mod merge;

pub use birth::Births;
pub use exclusion::{ExclusionWanted, KnownExclusions};

use find::other_copy_fits;

/// A copy whose content hash would let a rename be found (or told from an edit): the
/// planner does no I/O, so the engine hashes it and gives the hash back
/// ([`super::Planner::give_hash`]) before the plan is finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashWanted {
    /// The side the copy is on.
    pub side: Side,
    /// Its path.
    pub path: RelPath,
}

/// How many times renames are looked for: a rename into a folder renamed in the
/// same sync is found once that folder's rename is merged.
const ROUNDS: usize = 4;

/// What the rename detection works with.
pub(super) struct Renames<'a> {
    pub(super) control: &'a SyncControl,
    pub(super) lineage: [Lineage; 2],
    /// Birth times of inode-matched new copies, as the engine gave them.
    pub(super) births: &'a Births,
    /// Whether paths nobody holds are excluded, as the engine answered.
    pub(super) exclusions: &'a KnownExclusions,
}

/// One rename found on `side`: the item at index `from` (gone there) is the one at
/// `to` (new there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pair {
    side: Side,
    from: usize,
    to: usize,
    dir: bool,
}

fn slot(side: Side) -> usize {
    match side {
        Side::Cache => 0,
        Side::Share => 1,
    }
}

impl Renames<'_> {
    fn lineage(&self, side: Side) -> Lineage {
        self.lineage[slot(side)]
    }

    /// True when this sync may write `side` (a rename there is carried out).
    fn may_write(&self, side: Side) -> bool {
        match side {
            Side::Cache => self.control.sync_in,
            Side::Share => self.control.sync_out,
        }
    }

    /// The copies whose hashes the detection needs, on `items` (sorted by path).
    pub(super) fn wanted(&self, items: &[PlanItem]) -> Vec<HashWanted> {
        let fresh = vec![false; items.len()];
        let mut wanted = Vec::new();
        let pairs = self.find(items, &fresh, &mut wanted, &mut Vec::new());
        for pair in pairs.iter().filter(|p| p.dir) {
            self.children_wanted(items, pair, &mut wanted);
        }
        wanted.sort_by(|a, b| (a.side, &a.path).cmp(&(b.side, &b.path)));
        wanted.dedup();
        wanted
    }

    /// The new copies matched to a gone item by their inode alone, whose birth time
    /// would tell a reused inode number (`birth.rs`), on `items` (sorted by path).
    pub(super) fn births_wanted_in(&self, items: &[PlanItem]) -> Vec<HashWanted> {
        let fresh = vec![false; items.len()];
        let pairs = self.find(items, &fresh, &mut Vec::new(), &mut Vec::new());
        self.births_wanted(items, &pairs)
    }

    /// The paths below a renamed folder's new name, nobody holds, that an item
    /// would be carried to, whose exclusion is not known yet (`exclusion.rs`), on
    /// `items` (sorted by path).
    pub(super) fn exclusions_wanted_in(&self, items: &[PlanItem]) -> Vec<ExclusionWanted> {
        let fresh = vec![false; items.len()];
        let mut unknown = Vec::new();
        self.find(items, &fresh, &mut Vec::new(), &mut unknown);
        unknown.sort();
        unknown.dedup();
        unknown
    }

    /// True when `items` (sorted by path) hold any rename candidate at all.
    pub(super) fn any(&self, items: &[PlanItem]) -> bool {
        let fresh = vec![false; items.len()];
        !self
            .find(items, &fresh, &mut Vec::new(), &mut Vec::new())
            .is_empty()
    }

    /// Finds the renames in `items` (sorted by path), except of the items that were
    /// at a path in `forbidden`, and merges each into one item; returns the items,
    /// sorted again. `ghost_parents` (folders holding a ghost the share keeps)
    /// follows renamed folders.
    pub(super) fn apply(
        &self,
        mut items: Vec<PlanItem>,
        ghost_parents: &mut HashSet<RelPath>,
        forbidden: &HashSet<RelPath>,
    ) -> Vec<PlanItem> {
        let mut merged = vec![false; items.len()];
        for _ in 0..ROUNDS {
            let mut ignored = Vec::new();
            let mut pairs = self.find(&items, &merged, &mut ignored, &mut Vec::new());
            pairs.retain(|p| !forbidden.contains(&items[p.from].path));
            let chosen = self.choose(&items, pairs);
            if chosen.is_empty() {
                break;
            }
            let (next, next_merged) = self.merge_all(items, merged, &chosen, ghost_parents);
            items = next;
            merged = next_merged;
        }
        items
    }

    /// The renames to carry out this round: each gone item on one side renamed once
    /// (an item renamed on both sides is settled by policy), its other copy still
    /// there, and no rename inside another: one into a renamed folder waits for the
    /// next round, one of an item below a renamed folder goes with it (same relative
    /// path) or is left as a deletion plus a creation. Which renames nest is decided
    /// before the direction is looked at, so a one-way sync sees the same renames.
    fn choose(&self, items: &[PlanItem], pairs: Vec<Pair>) -> Vec<Choice> {
        let mut by_from: HashMap<usize, Vec<Pair>> = HashMap::new();
        for pair in pairs {
            by_from.entry(pair.from).or_default().push(pair);
        }
        let mut candidates: Vec<Choice> = Vec::new();
        for (_, group) in by_from {
            match group.as_slice() {
                [one] if other_copy_fits(items, one) => candidates.push(Choice::One(*one)),
                [a, b] if !a.dir && !b.dir && self.control.policy != ConflictPolicy::KeepAll => {
                    let (local, remote) = match a.side {
                        Side::Cache => (*a, *b),
                        Side::Share => (*b, *a),
                    };
                    candidates.push(Choice::Both { local, remote });
                }
                _ => {}
            }
        }
        candidates.sort_by(|a, b| items[a.from()].path.cmp(&items[b.from()].path));
        // Folders renamed this round, by old and by new path.
        let mut dir_from: HashSet<&[u8]> = HashSet::new();
        let mut dir_to: HashSet<&[u8]> = HashSet::new();
        let mut chosen = Vec::new();
        for choice in candidates {
            let from = &items[choice.from()].path;
            if from.ancestor_bytes().any(|a| dir_from.contains(a)) {
                // Below a renamed folder: it moves with it, or stays as it is.
                continue;
            }
            if let Choice::One(pair) = choice {
                if pair.dir {
                    dir_from.insert(from.as_bytes());
                    dir_to.insert(items[pair.to].path.as_bytes());
                }
            }
            chosen.push(choice);
        }
        // A rename into a renamed folder waits for the next round (its new path is
        // known once the folder's is merged); one into a folder renamed away from
        // under it cannot be carried out.
        chosen.retain(|c| {
            c.targets().iter().all(|&t| {
                !items[t]
                    .path
                    .ancestor_bytes()
                    .any(|a| dir_to.contains(a) || dir_from.contains(a))
            })
        });
        // A rename on a side this sync may not write is not carried out: the item
        // (and what is below it) stays a deletion plus a creation this time.
        chosen.retain(|c| match c {
            Choice::One(pair) => self.may_write(pair.side.other()),
            Choice::Both { .. } => true,
        });
        chosen
    }
}

/// A rename this round: on one side, or on both (a conflict).
#[derive(Debug, Clone, Copy)]
enum Choice {
    One(Pair),
    Both { local: Pair, remote: Pair },
}

impl Choice {
    fn from(&self) -> usize {
        match self {
            Choice::One(p) => p.from,
            Choice::Both { local, .. } => local.from,
        }
    }

    fn targets(&self) -> Vec<usize> {
        match self {
            Choice::One(p) => vec![p.to],
            Choice::Both { local, remote } => vec![local.to, remote.to],
        }
    }
}
/// The Windows state of an item renamed on `side`.
fn renamed_state(side: Side, dir: bool) -> SyncState {
    match (side, dir) {
        (Side::Cache, false) => SyncState::FileRenamedOnClient,
        (Side::Cache, true) => SyncState::DirRenamedOnClient,
        (Side::Share, false) => SyncState::FileRenamedOnServer,
        (Side::Share, true) => SyncState::DirRenamedOnServer,
    }
}
/// The items at and below `dir` in `items` (sorted by path), with their indices.
fn subtree_indexed<'a>(
    items: &'a [PlanItem],
    dir: &'a RelPath,
) -> impl Iterator<Item = (usize, &'a PlanItem)> + 'a {
    let start = items.partition_point(|i| i.path < *dir);
    items[start..]
        .iter()
        .enumerate()
        .map(move |(k, i)| (start + k, i))
        .take_while(move |(_, i)| dir.contains(&i.path))
        .filter(move |(_, i)| i.path != *dir)
}

/// The items strictly below `dir`.
pub(super) fn subtree<'a>(
    items: &'a [PlanItem],
    dir: &'a RelPath,
) -> impl Iterator<Item = &'a PlanItem> {
    subtree_indexed(items, dir).map(|(_, i)| i)
}
