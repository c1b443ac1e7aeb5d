//! Merging a chosen rename into one plan item: the renamed item's copies brought
//! together from its old and new paths, a folder with everything below it, and an
//! item renamed on both sides settled by policy.

use super::find::filled_hash;
use super::{renamed_state, subtree_indexed, Choice, Pair, Renames};
use crate::control::ConflictPolicy;
use crate::meta::Kind;
use crate::path::RelPath;
use crate::plan::{decide, Action, Moved, PlanItem, Triple};
use crate::side::Side;
use std::collections::{HashMap, HashSet};

impl Renames<'_> {
    /// Merges every chosen rename into one item (a folder with everything below it);
    /// the other items stay. Returns the items in path order and which came from a
    /// merge (never matched again as gone).
    pub(super) fn merge_all(
        &self,
        items: Vec<PlanItem>,
        merged: Vec<bool>,
        chosen: &[Choice],
        ghost_parents: &mut HashSet<RelPath>,
    ) -> (Vec<PlanItem>, Vec<bool>) {
        let mut consumed = vec![false; items.len()];
        let mut made: Vec<PlanItem> = Vec::new();
        for choice in chosen {
            let out = match *choice {
                Choice::One(pair) if pair.dir => self.merge_folder(&items, pair, ghost_parents),
                Choice::One(pair) => self.merge_file(&items, pair),
                Choice::Both { local, remote } => self.merge_both(&items, local, remote),
            };
            let Some((used, new_items)) = out else {
                continue;
            };
            if used.iter().any(|&u| consumed[u]) {
                continue;
            }
            for u in used {
                consumed[u] = true;
            }
            made.extend(new_items);
        }
        let mut out: Vec<(PlanItem, bool)> = items
            .into_iter()
            .zip(merged)
            .zip(consumed)
            .filter(|(_, used)| !used)
            .map(|(kept, _)| kept)
            .collect();
        out.extend(made.into_iter().map(|item| (item, true)));
        out.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        out.into_iter().unzip()
    }

    /// A file renamed on one side: one item at the new path.
    fn merge_file(&self, items: &[PlanItem], pair: Pair) -> Option<(Vec<usize>, Vec<PlanItem>)> {
        let (f, t) = (&items[pair.from], &items[pair.to]);
        let triple = self.merged(Some(f), Some(t), pair.side);
        let item = self.renamed_item(t.path.clone(), triple, pair.side, &f.path, false)?;
        Some((vec![pair.from, pair.to], vec![item]))
    }

    /// A folder renamed on one side: one item at the new path, and everything below
    /// the old and the new path merged by relative path and decided again (what has
    /// no work left moves with the folder's base).
    fn merge_folder(
        &self,
        items: &[PlanItem],
        pair: Pair,
        ghost_parents: &mut HashSet<RelPath>,
    ) -> Option<(Vec<usize>, Vec<PlanItem>)> {
        let (from, to) = (&items[pair.from].path, &items[pair.to].path);
        let mut below: HashMap<RelPath, (Option<usize>, Option<usize>)> = HashMap::new();
        for (i, item) in subtree_indexed(items, from) {
            if item.moved.is_some() {
                // Something was renamed into the old path: it cannot follow.
                return None;
            }
            below.entry(item.path.rebased(from, to)?).or_default().0 = Some(i);
        }
        for (i, item) in subtree_indexed(items, to) {
            if item.moved.is_some() || item.triple.original.is_some() {
                // Something below the new path was already renamed or known there.
                return None;
            }
            below.entry(item.path.clone()).or_default().1 = Some(i);
        }
        let root = self.merged(Some(&items[pair.from]), Some(&items[pair.to]), pair.side);
        let root = self.renamed_item(to.clone(), root, pair.side, from, true)?;
        let mut used = vec![pair.from, pair.to];
        let mut out = vec![root];
        for (path, (f, t)) in below {
            used.extend(f.into_iter().chain(t));
            let mut triple = self.merged(f.map(|i| &items[i]), t.map(|i| &items[i]), pair.side);
            // An excluded item moves with the folder and stays excluded: nothing
            // compared, its original (if any) forgotten.
            triple.excluded = [f, t]
                .into_iter()
                .flatten()
                .any(|i| items[i].triple.excluded);
            if !triple.excluded && unhashed_pair(&triple) {
                // Two files to compare and a hash missing: `children_wanted` asked
                // for it, but it could not be read. Sizes alone never make two
                // contents one, so the folder stays a deletion plus a creation
                // (both copies kept).
                return None;
            }
            if let Some((state, action)) = decide(&triple, self.control, true) {
                out.push(PlanItem {
                    path,
                    state,
                    action,
                    triple,
                    moved: None,
                });
            }
        }
        let moved_ghosts: Vec<RelPath> = ghost_parents
            .iter()
            .filter_map(|g| g.rebased(from, to))
            .collect();
        ghost_parents.extend(moved_ghosts);
        Some((used, out))
    }

    /// A file renamed on both sides: a conflict. `log` leaves both copies where they
    /// are (one logged item at each new path, the base staying at the old one); the
    /// other policies take one side's name (keep-latest: the newer copy's) and
    /// rename the other side's copy to it.
    fn merge_both(
        &self,
        items: &[PlanItem],
        local: Pair,
        remote: Pair,
    ) -> Option<(Vec<usize>, Vec<PlanItem>)> {
        let (f, l, r) = (&items[local.from], &items[local.to], &items[remote.to]);
        let at_local = self.merged(Some(f), Some(l), Side::Cache);
        let at_remote = self.merged(Some(f), Some(r), Side::Share);
        let used = vec![local.from, local.to, remote.to];
        let logged = |path: &RelPath, mut triple: Triple, side: Side| {
            match side {
                Side::Cache => triple.remote = None,
                Side::Share => triple.local = None,
            }
            PlanItem {
                path: path.clone(),
                state: renamed_state(side, false),
                action: Action::LogConflict,
                triple,
                moved: Some(Box::new(Moved {
                    from: f.path.clone(),
                    rename: None,
                })),
            }
        };
        if self.control.policy == ConflictPolicy::Log {
            let items = vec![
                logged(&l.path, at_local, Side::Cache),
                logged(&r.path, at_remote, Side::Share),
            ];
            return Some((used, items));
        }
        let mut triple = at_local;
        triple.remote = at_remote.remote;
        let (lm, rm) = (triple.meta(Side::Cache)?, triple.meta(Side::Share)?);
        let name_side = match self.control.policy {
            ConflictPolicy::KeepLocal => Side::Cache,
            ConflictPolicy::KeepLatest if lm.mtime_ns > rm.mtime_ns => Side::Cache,
            ConflictPolicy::KeepRemote | ConflictPolicy::KeepLatest => Side::Share,
            ConflictPolicy::Log | ConflictPolicy::KeepAll => return None,
        };
        if !self.may_write(name_side.other()) {
            return None;
        }
        let (path, other_path) = match name_side {
            Side::Cache => (&l.path, &r.path),
            Side::Share => (&r.path, &l.path),
        };
        let action = match decide(&triple, self.control, true) {
            None => Action::Rename {
                on: name_side.other(),
            },
            Some((_, action)) => action,
        };
        let item = PlanItem {
            path: path.clone(),
            state: renamed_state(name_side, false),
            action,
            triple,
            moved: Some(Box::new(Moved {
                from: f.path.clone(),
                rename: Some((name_side.other(), other_path.clone())),
            })),
        };
        Some((used, vec![item]))
    }

    /// The item renamed on `side` from `from` to `path`, its copies in `triple`: the
    /// rename, then what the three copies ask for. `None` (left as it is) when that
    /// is a conflict `log` leaves alone (a file; a folder's mode conflict waits for the
    /// next sync, after the rename).
    fn renamed_item(
        &self,
        path: RelPath,
        triple: Triple,
        side: Side,
        from: &RelPath,
        dir: bool,
    ) -> Option<PlanItem> {
        let on = side.other();
        let action = match decide(&triple, self.control, true) {
            None => Action::Rename { on },
            Some((_, a)) if a.is_conflict() && dir => Action::Rename { on },
            Some((_, Action::LogConflict)) => return None,
            Some((_, a)) => a,
        };
        Some(PlanItem {
            path,
            state: renamed_state(side, dir),
            action,
            triple,
            moved: Some(Box::new(Moved {
                from: from.clone(),
                rename: Some((on, from.clone())),
            })),
        })
    }

    /// The copies of one renamed item brought together: the base and the other
    /// side's copy from the old path `f`, the renaming side's copy from the new path
    /// `t` (its content hash taken from the base where its fingerprint says it holds
    /// the same bytes).
    fn merged(&self, f: Option<&PlanItem>, t: Option<&PlanItem>, side: Side) -> Triple {
        let original = f.and_then(|f| f.triple.original.clone());
        let mut copy = t
            .and_then(|t| t.triple.copy(side))
            .map(|c| Box::new(c.clone()));
        if let (Some(o), Some(c)) = (original.as_deref(), copy.as_deref_mut()) {
            if c.meta.hash.is_none() && c.meta.kind == Kind::File && o.meta.kind == Kind::File {
                c.meta.hash = filled_hash(o, c, side, self.lineage(side));
            }
        }
        let other = f
            .and_then(|f| f.triple.copy(side.other()))
            .map(|c| Box::new(c.clone()));
        let (local, remote) = match side {
            Side::Cache => (copy, other),
            Side::Share => (other, copy),
        };
        Triple {
            original,
            local,
            remote,
            cached: f.or(t).is_none_or(|i| i.triple.cached),
            pinned: f.is_some_and(|i| i.triple.pinned) || t.is_some_and(|i| i.triple.pinned),
            excluded: false,
        }
    }
}

/// True when `t` holds a file on both sides and lacks a content hash on either:
/// equal sizes would be taken for equal content.
fn unhashed_pair(t: &Triple) -> bool {
    let (l, r) = (t.meta(Side::Cache), t.meta(Side::Share));
    let is_file = |m: &&crate::meta::Meta| m.kind == Kind::File;
    match (l.filter(is_file), r.filter(is_file)) {
        (Some(l), Some(r)) => l.hash.is_none() || r.hash.is_none(),
        _ => false,
    }
}
