//! Finding rename candidates: per side, a copy gone from its path matched one to
//! one with a new copy by its key (the object for inodes, the whole identity else),
//! confirmed by the content hash where the key is only a stat fingerprint, and on
//! sides without inodes, folders inferred from the files renamed out of them.

use super::{slot, subtree, ExclusionWanted, HashWanted, Pair, Renames};
use crate::copies::{Original, Scanned};
use crate::lineage::{object_key, size_and_mtime, Lineage};
use crate::meta::{Hash, Kind, Meta};
use crate::path::RelPath;
use crate::plan::PlanItem;
use crate::side::Side;
use std::collections::HashMap;

/// The most new copies of one shared key whose content is hashed to tell them apart.
const MAX_HASHED: usize = 64;

impl Renames<'_> {
    /// The candidates: per side, gone and new copies matched one to one by their key,
    /// confirmed where needed (else the hash is asked for in `wanted`); then, on
    /// sides without inodes, folders whose renamed files all went to one new folder.
    pub(super) fn find(
        &self,
        items: &[PlanItem],
        merged: &[bool],
        wanted: &mut Vec<HashWanted>,
        unknown: &mut Vec<ExclusionWanted>,
    ) -> Vec<Pair> {
        let mut pairs = Vec::new();
        for side in Side::BOTH {
            let lineage = self.lineage(side);
            #[derive(Default)]
            struct Group {
                gone: Vec<usize>,
                new: Vec<usize>,
            }
            let mut keys: HashMap<(Kind, &str), Group> = HashMap::new();
            for (i, item) in items.iter().enumerate() {
                if !merged[i] && is_gone(item, side) {
                    if let Some(key) = gone_key(item, side, lineage) {
                        keys.entry(key).or_default().gone.push(i);
                    }
                } else if is_new(item, side) {
                    if let Some(key) = new_key(item, side, lineage) {
                        keys.entry(key).or_default().new.push(i);
                    }
                }
            }
            let matched: Vec<(usize, usize)> = keys
                .into_values()
                .flat_map(|g| self.one_to_one(items, side, g.gone, g.new, wanted))
                .collect();
            let mut found: Vec<Pair> = matched
                .into_iter()
                .filter(|&(g, n)| self.confirmed(&items[g], &items[n], side, wanted))
                .map(|(from, to)| Pair {
                    side,
                    from,
                    to,
                    dir: items[to].triple.meta(side).is_some_and(|m| m.is_dir()),
                })
                .collect();
            if lineage != Lineage::Inode {
                infer_folders(items, merged, side, &mut found);
            }
            // A folder is renamed with everything below it only when each item
            // keeps its exclusion under the other name (`exclusion.rs`).
            found.retain(|p| !p.dir || self.exclusions_follow(items, p, unknown));
            pairs.extend(found);
        }
        pairs.sort_by_key(|p| (p.from, slot(p.side)));
        pairs
    }

    /// The gone and new copies of one key on `side`, matched one to one: a key held
    /// by one of each is a match. Without inodes a key (a stat fingerprint, a content
    /// tag) may be shared, by files of one size written in one second or of the same
    /// content: then a gone and a new copy of the same file name that are the only
    /// ones of that name match (a folder's files keep their names), and the rest by
    /// their content hash against the originals' (asked for in `wanted`, for at most
    /// [`MAX_HASHED`] copies of a key). Objects (inodes) shared are hard links: none.
    fn one_to_one(
        &self,
        items: &[PlanItem],
        side: Side,
        gone: Vec<usize>,
        new: Vec<usize>,
        wanted: &mut Vec<HashWanted>,
    ) -> Vec<(usize, usize)> {
        if let ([g], [n]) = (gone.as_slice(), new.as_slice()) {
            return vec![(*g, *n)];
        }
        if self.lineage(side) == Lineage::Inode || gone.is_empty() || new.is_empty() {
            return Vec::new();
        }
        let mut pairs = Vec::new();
        let name = |i: usize| items[i].path.file_name();
        let only =
            |list: &[usize], i: usize| list.iter().filter(|&&j| name(j) == name(i)).count() == 1;
        for &g in &gone {
            if !only(&gone, g) {
                continue;
            }
            if let Some(&n) = new.iter().find(|&&n| name(n) == name(g)) {
                if only(&new, n) {
                    pairs.push((g, n));
                }
            }
        }
        let gone: Vec<usize> = gone
            .into_iter()
            .filter(|g| !pairs.iter().any(|p| p.0 == *g))
            .collect();
        let new: Vec<usize> = new
            .into_iter()
            .filter(|n| !pairs.iter().any(|p| p.1 == *n))
            .collect();
        if gone.is_empty() || new.is_empty() || new.len() > MAX_HASHED {
            return pairs;
        }
        let was = |g: usize| {
            items[g]
                .triple
                .original
                .as_deref()
                .and_then(|o| o.meta.hash)
        };
        for &n in &new {
            let Some(hash) = items[n].triple.copy(side).and_then(|c| c.meta.hash) else {
                wanted.push(HashWanted {
                    side,
                    path: items[n].path.clone(),
                });
                continue;
            };
            let same_content = |list: &[usize], f: &dyn Fn(usize) -> Option<Hash>| {
                list.iter().filter(|&&i| f(i) == Some(hash)).count()
            };
            let now = |i: usize| items[i].triple.copy(side).and_then(|c| c.meta.hash);
            if same_content(&new, &now) != 1 || same_content(&gone, &was) != 1 {
                continue;
            }
            if let Some(&g) = gone.iter().find(|&&g| was(g) == Some(hash)) {
                pairs.push((g, n));
            }
        }
        pairs
    }

    /// True when the new copy `n` holds the gone item `g` (the key matched): by its
    /// inode or content tag at once, by its hash for a stat fingerprint.
    fn confirmed(
        &self,
        g: &PlanItem,
        n: &PlanItem,
        side: Side,
        wanted: &mut Vec<HashWanted>,
    ) -> bool {
        let (Some(o), Some(copy)) = (g.triple.original.as_deref(), n.triple.copy(side)) else {
            return false;
        };
        if o.meta.kind != copy.meta.kind {
            return false;
        }
        let ask = |wanted: &mut Vec<HashWanted>| {
            wanted.push(HashWanted {
                side,
                path: n.path.clone(),
            })
        };
        match self.lineage(side) {
            Lineage::Stat => match (o.meta.hash, copy.meta.hash) {
                (Some(was), Some(now)) => was == now,
                (Some(_), None) => {
                    ask(wanted);
                    false
                }
                (None, _) => false,
            },
            Lineage::ContentTag => true,
            Lineage::Inode => {
                if self.born_later(o, &n.path, side) {
                    // A deleted item's inode number given to a new one.
                    return false;
                }
                if copy.meta.kind == Kind::File
                    && copy.meta.hash.is_none()
                    && filled_hash(o, copy, side, Lineage::Inode).is_none()
                {
                    // Renamed and edited: the hash tells what changed.
                    ask(wanted);
                }
                true
            }
        }
    }

    /// The hashes the copies below a renamed folder need once they are brought
    /// together by relative path (`merge_folder`): the walk hashed a copy only when
    /// its own path held a base or a file on the other side, but a child's copies
    /// meet only now (the renaming side's under the new path, the other side's under
    /// the old one). Each file copy is asked for when it has no hash, its
    /// fingerprint does not give the base's, and it is compared with something: the
    /// base, or a file on the other side (a file created on both sides has no base,
    /// and two sizes alone never tell two contents apart).
    pub(super) fn children_wanted(
        &self,
        items: &[PlanItem],
        pair: &Pair,
        wanted: &mut Vec<HashWanted>,
    ) {
        let (from, to) = (&items[pair.from].path, &items[pair.to].path);
        let (side, other) = (pair.side, pair.side.other());
        let mut below: HashMap<RelPath, (Option<&PlanItem>, Option<&PlanItem>)> = HashMap::new();
        for item in subtree(items, from) {
            if let Some(path) = item.path.rebased(from, to) {
                below.entry(path).or_default().0 = Some(item);
            }
        }
        for item in subtree(items, to) {
            below.entry(item.path.clone()).or_default().1 = Some(item);
        }
        let is_file = |c: Option<&Scanned>| c.is_some_and(|c| c.meta.kind == Kind::File);
        for (f, t) in below.into_values() {
            let original = f.and_then(|f| f.triple.original.as_deref());
            let mine = t.and_then(|t| t.triple.copy(side));
            let theirs = f.and_then(|f| f.triple.copy(other));
            let base_is_file = original.is_some_and(|o| o.meta.kind == Kind::File);
            if let (Some(t), Some(c)) = (t, mine) {
                let known = original.and_then(|o| filled_hash(o, c, side, self.lineage(side)));
                if is_file(mine)
                    && c.meta.hash.is_none()
                    && known.is_none()
                    && (base_is_file || is_file(theirs))
                {
                    wanted.push(HashWanted {
                        side,
                        path: t.path.clone(),
                    });
                }
            }
            if let (Some(f), Some(c)) = (f, theirs) {
                if is_file(theirs) && c.meta.hash.is_none() && is_file(mine) {
                    wanted.push(HashWanted {
                        side: other,
                        path: f.path.clone(),
                    });
                }
            }
        }
    }
}

/// The base's content hash for `copy` when its fingerprint says it holds the base's
/// bytes: the same identity, or (inodes) the same object with the same size and time.
pub(super) fn filled_hash(
    o: &Original,
    copy: &Scanned,
    side: Side,
    lineage: Lineage,
) -> Option<Hash> {
    let was = o.identity(side)?;
    if was == &*copy.identity {
        return o.meta.hash;
    }
    let same_object = object_key(lineage, was).is_some()
        && object_key(lineage, was) == object_key(lineage, &copy.identity);
    let same_stat =
        size_and_mtime(was).is_some() && size_and_mtime(was) == size_and_mtime(&copy.identity);
    (same_object && same_stat).then_some(o.meta.hash).flatten()
}
/// True when `item` had a copy on `side` at the last sync that is gone now (a ghost
/// is never gone from the cache).
pub(super) fn is_gone(item: &PlanItem, side: Side) -> bool {
    let t = &item.triple;
    item.moved.is_none()
        && !t.excluded
        && t.copy(side).is_none()
        && (side == Side::Share || t.cached)
        && t.original
            .as_ref()
            .is_some_and(|o| o.identity(side).is_some())
}

/// True when `item` is new on `side`: no base, and nothing on the other side.
fn is_new(item: &PlanItem, side: Side) -> bool {
    let t = &item.triple;
    item.moved.is_none()
        && !t.excluded
        && t.original.is_none()
        && t.copy(side).is_some()
        && t.copy(side.other()).is_none()
}

fn gone_key(item: &PlanItem, side: Side, lineage: Lineage) -> Option<(Kind, &str)> {
    let o = item.triple.original.as_deref()?;
    key_of(o.meta.kind, o.identity(side)?, lineage)
}

fn new_key(item: &PlanItem, side: Side, lineage: Lineage) -> Option<(Kind, &str)> {
    let copy = item.triple.copy(side)?;
    key_of(copy.meta.kind, &copy.identity, lineage)
}

/// What a copy is matched by: its object (inodes, any kind), else its whole identity
/// (files only: a folder's identity on a network share names nothing).
fn key_of(kind: Kind, identity: &str, lineage: Lineage) -> Option<(Kind, &str)> {
    match lineage {
        Lineage::Inode => object_key(lineage, identity).map(|k| (kind, k)),
        _ if kind == Kind::File && !identity.is_empty() => Some((kind, identity)),
        _ => None,
    }
}

/// True when the copy on the other side of a one-sided rename is still there, of the
/// same kind (a ghost's absence in the cache counts as there): a renamed item deleted
/// or replaced on the other side stays a deletion plus a creation (it is kept).
pub(super) fn other_copy_fits(items: &[PlanItem], pair: &Pair) -> bool {
    let t = &items[pair.from].triple;
    let Some(o) = t.original_meta() else {
        return false;
    };
    match t.copy(pair.side.other()) {
        Some(c) => c.meta.kind == o.kind,
        None => pair.side == Side::Share && !t.cached,
    }
}

/// On a side without inodes: a gone folder is the new folder of the same name that
/// every file (then folder) found renamed out of it went to.
fn infer_folders(items: &[PlanItem], merged: &[bool], side: Side, pairs: &mut Vec<Pair>) {
    let is_dir = |m: Option<&Meta>| m.is_some_and(|m| m.is_dir());
    let mut gone_dirs: HashMap<&RelPath, usize> = HashMap::new();
    let mut new_dirs: HashMap<&RelPath, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if !merged[i] && is_gone(item, side) && is_dir(item.triple.original_meta()) {
            gone_dirs.insert(&item.path, i);
        } else if is_new(item, side) && is_dir(item.triple.meta(side)) {
            new_dirs.insert(&item.path, i);
        }
    }
    let mut level: Vec<Pair> = pairs.clone();
    while !level.is_empty() {
        // Each gone folder's vote: the one new folder its children went to, or none
        // when they disagree.
        let mut votes: HashMap<usize, Option<usize>> = HashMap::new();
        let mut voted_for: HashMap<usize, Option<usize>> = HashMap::new();
        for pair in &level {
            let (f, t) = (&items[pair.from].path, &items[pair.to].path);
            if f.file_name() != t.file_name() {
                continue;
            }
            let (Some(fp), Some(tp)) = (f.parent(), t.parent()) else {
                continue;
            };
            let (Some(&g), Some(&n)) = (gone_dirs.get(&fp), new_dirs.get(&tp)) else {
                continue;
            };
            let vote = votes.entry(g).or_insert(Some(n));
            if *vote != Some(n) {
                *vote = None;
            }
            let back = voted_for.entry(n).or_insert(Some(g));
            if *back != Some(g) {
                *back = None;
            }
        }
        level = votes
            .into_iter()
            .filter_map(|(g, n)| Some((g, n?)))
            .filter(|(g, n)| voted_for.get(n) == Some(&Some(*g)))
            .map(|(from, to)| Pair {
                side,
                from,
                to,
                dir: true,
            })
            .collect();
        for pair in &level {
            gone_dirs.retain(|_, &mut g| g != pair.from);
            new_dirs.retain(|_, &mut n| n != pair.to);
        }
        pairs.extend(level.iter().copied());
    }
}
