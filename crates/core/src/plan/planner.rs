//! The planner fed one path at a time, as the engine's walk finds them: each path is
//! classified as it comes ([`decide`]), and only paths with work are kept, so memory
//! grows with the work, not with the tree. [`Planner::finish`] puts the kept items in
//! path order and applies the rules that need the whole picture: renames
//! ([`super::rename`]), then [`settle`]. [`crate::plan()`] is this planner run over a
//! list. Rename detection may want a few content hashes the walk did not take
//! ([`Planner::hashes_wanted`]): the engine takes them and gives them back
//! ([`Planner::give_hash`]) before [`Planner::finish`].

use super::rename::{Births, ExclusionWanted, HashWanted, KnownExclusions, Renames};
use super::{decide, settle, Action, Counts, Plan, PlanItem, Triple};
use crate::control::SyncControl;
use crate::copies::Original;
use crate::lineage::Lineage;
use crate::meta::Hash;
use crate::operation::SyncOperation;
use crate::path::RelPath;
use crate::side::Side;
use std::collections::HashSet;

/// A plan in the making.
#[derive(Debug)]
pub struct Planner<'c> {
    pub(super) control: &'c SyncControl,
    base_known: bool,
    pub(super) fill_operation: Option<SyncOperation>,
    pub(super) items: Vec<PlanItem>,
    pub(super) refresh: Vec<(RelPath, Original)>,
    pub(super) left_out: Vec<RelPath>,
    pub(super) counts: Counts,
    /// What each side's identities say across a rename (cache, share).
    lineage: [Lineage; 2],
    /// Folders holding a ghost that stays on the share (rule 2: never removed there).
    pub(super) ghost_parents: HashSet<RelPath>,
    /// `items` is in path order (hashes were asked for).
    sorted: bool,
    /// Renames are looked for (rule 5).
    renames: bool,
    /// A path with an original was added: the plan may hold renames and deletions,
    /// so nothing is released before the whole picture is in (`stream.rs`).
    pub(super) saw_original: bool,
    /// Birth times of rename candidates, given by the engine.
    births: Births,
    /// Whether paths a renamed folder would carry items to are excluded, given by
    /// the engine.
    exclusions: KnownExclusions,
}

impl<'c> Planner<'c> {
    /// A planner for a sync under `control`, with the originals as base.
    pub fn new(control: &'c SyncControl) -> Planner<'c> {
        Planner {
            control,
            base_known: true,
            fill_operation: None,
            items: Vec::new(),
            refresh: Vec::new(),
            left_out: Vec::new(),
            counts: Counts::default(),
            lineage: [Lineage::Inode, Lineage::Stat],
            ghost_parents: HashSet::new(),
            sorted: false,
            renames: true,
            saw_original: false,
            births: Births::new(),
            exclusions: KnownExclusions::new(),
        }
    }

    /// Plans without looking for renames: a renamed item is a deletion plus a
    /// creation (a plan without a base has nothing to rename anyway).
    pub fn without_renames(mut self) -> Planner<'c> {
        self.renames = false;
        self
    }

    /// Says what `side`'s identities tell across a rename (the cache's are inodes,
    /// the share's what its backend gives; the default for the share is
    /// [`Lineage::Stat`], which never renames without a confirming hash).
    pub fn lineage(mut self, side: Side, lineage: Lineage) -> Planner<'c> {
        self.lineage[usize::from(side == Side::Share)] = lineage;
        self
    }

    /// Plans as if no original were known (a rebuilt state database): paths on one
    /// side only are copied to the other, identical ones are recorded, and differing
    /// ones become conflicts.
    pub fn without_base(mut self) -> Planner<'c> {
        self.base_known = false;
        self
    }

    /// Reports the work that brings share content into the cache under `op` (`pin`
    /// for `offline pin`, `create_copy_on_client` for `offline fetch`).
    pub fn fills_as(mut self, op: Option<SyncOperation>) -> Planner<'c> {
        self.fill_operation = op;
        self
    }

    /// True when the planner compares with the originals.
    pub fn base_known(&self) -> bool {
        self.base_known
    }

    /// Takes one path (each path at most once, in any order).
    pub fn add(&mut self, path: RelPath, triple: Triple) {
        // An excluded path counts for nothing (the mass-delete guard included).
        let counted = usize::from(!triple.excluded);
        self.saw_original |= triple.original.is_some();
        self.counts.found_local += counted * usize::from(triple.local.is_some());
        self.counts.found_remote += counted * usize::from(triple.remote.is_some());
        self.counts.known_remote += counted
            * usize::from(
                triple
                    .original
                    .as_ref()
                    .is_some_and(|o| o.remote_identity.is_some()),
            );
        match decide(&triple, self.control, self.base_known) {
            Some((state, action)) => self.items.push(PlanItem {
                path,
                state,
                action,
                triple,
                moved: None,
            }),
            None => {
                if keeps_ghost_on_share(&triple) {
                    if let Some(parent) = path.parent().filter(|p| !p.is_root()) {
                        if !self.ghost_parents.contains(&parent) {
                            self.ghost_parents.insert(parent);
                        }
                    }
                }
                if let Some(original) = refreshed(triple) {
                    self.refresh.push((path, original));
                }
            }
        }
        self.sorted = false;
    }

    /// The copies whose content hash would let a rename be found or told from an
    /// edit; give them back with [`Planner::give_hash`] before finishing.
    pub fn hashes_wanted(&mut self) -> Vec<HashWanted> {
        if !self.renames || !self.base_known {
            return Vec::new();
        }
        self.sort();
        self.renames().wanted(&self.items)
    }

    /// The copies matched to a gone item by their inode number alone, whose birth
    /// time tells whether the number was given anew (a deleted file's number reused
    /// by a new one); give them back with [`Planner::give_birth`] before asking
    /// for hashes.
    pub fn births_wanted(&mut self) -> Vec<HashWanted> {
        if !self.renames || !self.base_known {
            return Vec::new();
        }
        self.sort();
        self.renames().births_wanted_in(&self.items)
    }

    /// The birth time (nanoseconds since the epoch) of the copy at `path` on
    /// `side`, asked for by [`Planner::births_wanted`]; `None` when the side keeps
    /// none (the inode match then stands).
    pub fn give_birth(&mut self, side: Side, path: &RelPath, born_ns: Option<i64>) {
        self.births.insert((side, path.clone()), born_ns);
    }

    /// The paths nobody holds that a renamed folder would carry an item to, whose
    /// exclusion decides whether the folder is renamed as one; give each answer
    /// back with [`Planner::give_exclusion`] before asking for births and hashes.
    pub fn exclusions_wanted(&mut self) -> Vec<ExclusionWanted> {
        if !self.renames || !self.base_known {
            return Vec::new();
        }
        self.sort();
        self.renames().exclusions_wanted_in(&self.items)
    }

    /// Whether `path`, asked for by [`Planner::exclusions_wanted`], is excluded.
    pub fn give_exclusion(&mut self, path: &RelPath, excluded: bool) {
        self.exclusions.insert(path.clone(), excluded);
    }

    /// The content hash of the copy at `path` on `side`, asked for by
    /// [`Planner::hashes_wanted`].
    pub fn give_hash(&mut self, side: Side, path: &RelPath, hash: Hash) {
        self.sort();
        if let Ok(at) = self.items.binary_search_by(|i| i.path.cmp(path)) {
            let triple = &mut self.items[at].triple;
            let copy = match side {
                Side::Cache => triple.local.as_deref_mut(),
                Side::Share => triple.remote.as_deref_mut(),
            };
            if let Some(copy) = copy.filter(|c| c.meta.kind == crate::Kind::File) {
                copy.meta.hash = Some(hash);
            }
        }
    }

    pub(super) fn sort(&mut self) {
        if !self.sorted {
            self.items.sort_unstable_by(|a, b| a.path.cmp(&b.path));
            self.sorted = true;
        }
    }

    fn renames(&self) -> Renames<'_> {
        Renames {
            control: self.control,
            lineage: self.lineage,
            births: &self.births,
            exclusions: &self.exclusions,
        }
    }

    /// Leaves `path` and everything below it out of the plan: it could not be read
    /// this time, so nothing there is known (never taken as deleted).
    pub fn leave_out(&mut self, path: RelPath) {
        self.left_out.push(path);
    }

    /// The plan: the kept items in path order, settled by the rules that need the
    /// whole picture (folders that must stay, the direction, what waits below a
    /// file-versus-folder conflict), with the deletions counted per side.
    pub fn finish(mut self) -> Plan {
        self.sort();
        let detect = self.renames && self.base_known;
        let Planner {
            control,
            fill_operation,
            mut items,
            mut refresh,
            left_out,
            mut counts,
            ghost_parents,
            lineage,
            births,
            exclusions,
            ..
        } = self;
        let renames = Renames {
            control,
            lineage,
            births: &births,
            exclusions: &exclusions,
        };
        if !left_out.is_empty() {
            let outside = |p: &RelPath| !left_out.iter().any(|b| b.contains(p));
            items.retain(|item| outside(&item.path));
            refresh.retain(|(path, _)| outside(path));
        }
        let mut items = match detect {
            true => settled(&renames, items, ghost_parents, control),
            false => {
                let mut items = items;
                let keep = settle(&mut items, control, &ghost_parents);
                let mut kept = keep.iter();
                items.retain(|_| kept.next().copied().unwrap_or(true));
                items
            }
        };
        items.shrink_to_fit();
        count_and_fill(&mut items, &mut counts, fill_operation);
        Plan {
            items,
            refresh,
            counts,
        }
    }
}

/// Counts the deletions per side into `counts`, and reports the work that brings
/// content into the cache under `fill_operation` when one is set.
pub(super) fn count_and_fill(
    items: &mut [PlanItem],
    counts: &mut Counts,
    fill_operation: Option<SyncOperation>,
) {
    for item in items {
        match item.action {
            Action::Run(SyncOperation::DeleteClientCopy) => counts.delete_local += 1,
            Action::Run(SyncOperation::DeleteServerCopy) => counts.delete_remote += 1,
            Action::Run(SyncOperation::Pin | SyncOperation::CreateCopyOnClient) => {
                if let Some(op) = fill_operation {
                    item.action = Action::Run(op);
                }
            }
            _ => {}
        }
    }
}

/// How often the renames are found again without those that could not be carried
/// out (a rename into a folder left in conflict) before none is kept.
const RENAME_ATTEMPTS: usize = 4;

/// The items with their renames merged (rule 5) and settled (rules 2 to 4), the
/// ones the direction drops left out. A rename that is not carried out after all
/// (blocked below a conflict, left logged, dropped by the direction) leaves its
/// copies where they are, which the rules before did not know: the renames are
/// then found again without it, from the items as they were.
fn settled(
    renames: &Renames<'_>,
    items: Vec<PlanItem>,
    ghost_parents: HashSet<RelPath>,
    control: &SyncControl,
) -> Vec<PlanItem> {
    let before = renames.any(&items).then(|| items.clone());
    let mut forbidden: HashSet<RelPath> = HashSet::new();
    let mut attempt = 0;
    let mut next = items;
    loop {
        let mut ghosts = ghost_parents.clone();
        let mut items = renames.apply(next, &mut ghosts, &forbidden);
        let keep = settle(&mut items, control, &ghosts);
        let undone: Vec<RelPath> = items
            .iter()
            .zip(&keep)
            .filter(|(item, &kept)| !carried_out(item, kept))
            .filter_map(|(item, _)| item.moved.as_ref().map(|m| m.from.clone()))
            .collect();
        let retry = match &before {
            Some(before) if !undone.is_empty() => Some(before),
            _ => None,
        };
        match retry {
            Some(before) => {
                attempt += 1;
                if attempt >= RENAME_ATTEMPTS {
                    // Give up on renames: every item as it was, none merged.
                    forbidden.extend(before.iter().map(|i| i.path.clone()));
                } else {
                    forbidden.extend(undone);
                }
                next = before.clone();
            }
            None => {
                let mut kept = keep.iter();
                items.retain(|_| kept.next().copied().unwrap_or(true));
                return items;
            }
        }
    }
}

/// False for a renamed item whose rename the settled plan does not carry out.
fn carried_out(item: &PlanItem, kept: bool) -> bool {
    match item.moved.as_deref() {
        Some(moved) if moved.rename.is_some() => kept && item.renames_on().is_some(),
        _ => true,
    }
}

/// True for a ghost the share still holds and the plan leaves alone: the folder it
/// is in must stay on the share.
fn keeps_ghost_on_share(t: &Triple) -> bool {
    !t.cached && t.local.is_none() && t.remote.is_some() && t.original.is_some()
}

/// An unchanged item whose fingerprints moved (touched, copied back) gets the new
/// ones, so the next walk need not hash it; only when both copies still hold the
/// original's item (a change left out of the plan by `--direction` must not be
/// hidden).
fn refreshed(triple: Triple) -> Option<Original> {
    let (o, l, r) = (triple.original?, triple.local?, triple.remote?);
    if !l.meta.same_item(&o.meta) || !r.meta.same_item(&o.meta) {
        return None;
    }
    if o.identity(Side::Cache) == Some(&*l.identity)
        && o.identity(Side::Share) == Some(&*r.identity)
    {
        return None;
    }
    let mut updated = *o;
    updated.local_identity = Some(l.identity.into());
    updated.remote_identity = Some(r.identity.into());
    Some(updated)
}
