//! The model's reference executor: a plan applied to two in-memory trees as the
//! engine applies it (the executor's order, each operation touching its own path
//! only, a rename moving a whole subtree on one side), and the base the planner
//! compares with (each item's metadata and both sides' identities).

#![allow(dead_code)]

use super::tree::{identity, lineage_of, move_subtree, Inodes, Node, Tree};
use offline_core::plan::{BaseUpdate, Planner};
use offline_core::{
    Action, Hash, Kind, Lineage, Meta, Original, Plan, PlanItem, RelPath, Scanned, Side,
    SyncControl, SyncOperation, Triple,
};
use std::collections::{BTreeMap, BTreeSet};

/// One base entry: the item as synced, with each side's identity then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseEntry {
    pub meta: Meta,
    pub local: String,
    pub remote: String,
}

pub type Base = BTreeMap<RelPath, BaseEntry>;

/// The base of a tree both sides hold as it is.
pub fn base_of(tree: &Tree, remote: Lineage) -> Base {
    tree.iter()
        .map(|(p, n)| {
            let entry = BaseEntry {
                meta: n.meta.clone(),
                local: identity(n, Lineage::Inode),
                remote: identity(n, remote),
            };
            (p.clone(), entry)
        })
        .collect()
}

/// What a copy holds, wherever it lives: (kind, hash, target, mode) of a non-folder.
pub type Key = (Kind, Option<Hash>, Option<Vec<u8>>, u32);

pub fn key(meta: &Meta) -> Option<Key> {
    match meta.kind {
        Kind::Dir => None,
        Kind::File => Some((Kind::File, meta.hash, None, meta.mode)),
        Kind::Symlink => Some((
            Kind::Symlink,
            None,
            meta.target.as_deref().map(<[u8]>::to_vec),
            0,
        )),
    }
}

#[derive(Debug)]
pub struct World {
    pub local: Tree,
    pub remote: Tree,
    /// Losing copies moved to the conflicts folder.
    pub saved: BTreeSet<Key>,
    pub ids: Inodes,
}

impl World {
    pub fn side(&mut self, side: Side) -> &mut Tree {
        match side {
            Side::Cache => &mut self.local,
            Side::Share => &mut self.remote,
        }
    }

    pub fn tree(&self, side: Side) -> &Tree {
        match side {
            Side::Cache => &self.local,
            Side::Share => &self.remote,
        }
    }
}

/// The planner's input for (base, local, remote): each copy with its identity, and
/// its content hash only where the engine's walk takes one (a file with a base, or
/// facing a file on the other side); the rest are asked for by the planner.
pub fn entries(
    base: &Base,
    local: &Tree,
    remote: &Tree,
    lineage: Lineage,
    excluded: &[RelPath],
) -> Vec<(RelPath, Triple)> {
    let paths: BTreeSet<&RelPath> = base
        .keys()
        .chain(local.keys())
        .chain(remote.keys())
        .collect();
    let scanned = |node: Option<&Node>, other: Option<&Node>, has_base: bool, lin: Lineage| {
        node.map(|n| {
            let mut meta = n.meta.clone();
            let other_is_file = other.is_some_and(|o| o.meta.kind == Kind::File);
            if !has_base && !other_is_file {
                meta.hash = None;
            }
            Box::new(Scanned::new(meta, identity(n, lin)))
        })
    };
    // An excluded path is marked as such, nothing below it is seen (the walk never
    // goes there).
    paths
        .into_iter()
        .filter(|p| !excluded.iter().any(|e| e.is_ancestor_of(p)))
        .map(|p| {
            let b = base.get(p);
            let (l, r) = (local.get(p), remote.get(p));
            let t = Triple {
                original: b.map(|b| {
                    Box::new(Original {
                        meta: b.meta.clone(),
                        local_identity: Some(b.local.clone()),
                        remote_identity: Some(b.remote.clone()),
                        cached: true,
                    })
                }),
                local: scanned(l, r, b.is_some(), Lineage::Inode),
                remote: scanned(r, l, b.is_some(), lineage),
                cached: true,
                pinned: true,
                excluded: excluded.contains(p),
            };
            (p.clone(), t)
        })
        .collect()
}

/// Plans as the engine does: the walk's paths, then the hashes the planner asks for.
pub fn plan_sync(
    base: &Base,
    local: &Tree,
    remote: &Tree,
    lineage: Lineage,
    excluded: &[RelPath],
    control: &SyncControl,
) -> Plan {
    let mut planner = Planner::new(control)
        .lineage(Side::Cache, Lineage::Inode)
        .lineage(Side::Share, lineage);
    for (path, triple) in entries(base, local, remote, lineage, excluded) {
        planner.add(path, triple);
    }
    // The engine answers from its patterns; here a path is excluded at or below
    // an excluded path.
    for w in planner.exclusions_wanted() {
        let excluded = excluded.iter().any(|e| e.contains(&w.path));
        planner.give_exclusion(&w.path, excluded);
    }
    for _ in 0..3 {
        let wanted = planner.hashes_wanted();
        if wanted.is_empty() {
            break;
        }
        for w in wanted {
            let tree = match w.side {
                Side::Cache => local,
                Side::Share => remote,
            };
            if let Some(hash) = tree.get(&w.path).and_then(|n| n.meta.hash) {
                planner.give_hash(w.side, &w.path, hash);
            }
        }
    }
    planner.finish()
}

/// Writes `meta` at `path` on `side` as a new object, as a file system would allow
/// it: the parent must be a folder there, and only a folder may replace a folder
/// that still holds something (the engine never deletes what the plan does not).
pub fn put(world: &mut World, side: Side, path: &RelPath, meta: Meta) -> Result<(), String> {
    let ino = world.ids.fresh();
    let tree = world.side(side);
    let parent = path.parent().expect("never the root");
    if !parent.is_root() && !tree.get(&parent).is_some_and(|n| n.meta.is_dir()) {
        return Err(format!(
            "(d) {path:?} written on {} under {:?}",
            side.name(),
            tree.get(&parent).map(|n| n.meta.kind)
        ));
    }
    if !meta.is_dir() {
        if let Some(child) = tree.keys().find(|q| path.is_ancestor_of(q)) {
            return Err(format!(
                "(d) {path:?} replaced by a {} on {} while it still holds {child:?}",
                meta.kind,
                side.name()
            ));
        }
    }
    tree.insert(path.clone(), Node { meta, ino, ver: 0 });
    Ok(())
}

fn copy(world: &mut World, path: &RelPath, from: Side) -> Result<(), String> {
    let meta = world
        .side(from)
        .get(path)
        .map(|n| n.meta.clone())
        .ok_or_else(|| format!("copy of {path:?} from {} where it is absent", from.name()))?;
    put(world, from.other(), path, meta)
}

fn delete(world: &mut World, path: &RelPath, side: Side) -> Result<(), String> {
    let tree = world.side(side);
    if let Some(child) = tree.keys().find(|q| path.is_ancestor_of(q)) {
        return Err(format!(
            "(d) {path:?} deleted on {} while it still holds {child:?}",
            side.name()
        ));
    }
    match tree.remove(path) {
        Some(_) => Ok(()),
        None => Err(format!(
            "delete of {path:?} on {} where it is absent",
            side.name()
        )),
    }
}

/// Renames the copy at `from` on `side` to `to` (with everything below it): nothing
/// may be at `to`, and its parent must be a folder.
fn rename(world: &mut World, side: Side, from: &RelPath, to: &RelPath) -> Result<(), String> {
    let tree = world.side(side);
    if !tree.contains_key(from) {
        return Ok(()); // a ghost: nothing in the cache to rename
    }
    if tree.contains_key(to) {
        return Err(format!(
            "rename onto {to:?} on {} where something is",
            side.name()
        ));
    }
    let parent = to.parent().expect("never the root");
    if !parent.is_root() && !tree.get(&parent).is_some_and(|n| n.meta.is_dir()) {
        return Err(format!(
            "(d) {from:?} renamed to {to:?} on {} under {:?}",
            side.name(),
            tree.get(&parent).map(|n| n.meta.kind)
        ));
    }
    move_subtree(tree, from, to);
    Ok(())
}

/// Where prepare saw `item`'s copy on `side`: its path, or the path a rename moves
/// it from.
pub fn seen_at(item: &PlanItem, side: Side) -> &RelPath {
    match item.moved.as_ref().and_then(|m| m.rename.as_ref()) {
        Some((s, at)) if *s == side => at,
        _ => &item.path,
    }
}

/// True when `now` is what prepare saw (`seen`, whose hash may not have been taken).
fn same_seen(now: &Meta, seen: &Meta) -> bool {
    now.kind == seen.kind
        && now.size == seen.size
        && now.mtime_ns == seen.mtime_ns
        && now.mode == seen.mode
        && now.target == seen.target
        && (seen.hash.is_none() || now.hash == seen.hash)
}

/// Applies `plan` as the engine does ([`Plan::run_order`]).
pub fn execute(plan: &Plan, world: &mut World) -> Result<(), String> {
    for item in plan.run_order() {
        let p = &item.path;
        // What prepare saw is still there: no other item touched these paths.
        for side in Side::BOTH {
            let now = world.tree(side).get(seen_at(item, side)).map(|n| &n.meta);
            let seen = item.triple.meta(side);
            let same = match (now, seen) {
                (Some(a), Some(b)) => same_seen(a, b),
                (None, None) => true,
                _ => false,
            };
            if !same {
                return Err(format!(
                    "{p:?} on {}: now {now:?}, seen {seen:?}",
                    side.name()
                ));
            }
        }
        if let (Some(on), Some(moved)) = (item.renames_on(), &item.moved) {
            if let Some((_, from)) = &moved.rename {
                rename(world, on, from, p)?;
            }
        }
        match item.action {
            Action::Run(op) => match op {
                SyncOperation::CreateCopyOnServer | SyncOperation::SyncToServer => {
                    copy(world, p, Side::Cache)?
                }
                SyncOperation::CreateCopyOnClient
                | SyncOperation::SyncToClient
                | SyncOperation::Pin => copy(world, p, Side::Share)?,
                SyncOperation::DeleteServerCopy => delete(world, p, Side::Share)?,
                SyncOperation::DeleteClientCopy => delete(world, p, Side::Cache)?,
                SyncOperation::Prepare => return Err("prepare is not planned work".into()),
            },
            Action::KeepOne { winner } => {
                let loser = world.side(winner.other()).get(p).expect("a losing copy");
                if let Some(k) = key(&loser.meta) {
                    world.saved.insert(k);
                }
                copy(world, p, winner)?;
            }
            Action::KeepBoth { renamed } => {
                let moved = world.side(renamed).get(p).cloned().expect("a renamed copy");
                if moved.meta.is_dir() {
                    return Err(format!("a folder is renamed: {p:?}"));
                }
                let name = String::from_utf8(p.file_name().to_vec()).expect("ascii");
                let new = (1..)
                    .map(|n| p.with_file_name(format!("{name}~{n}").as_bytes()).unwrap())
                    .find(|q| !world.local.contains_key(q) && !world.remote.contains_key(q))
                    .expect("a free name");
                // The renamed copy moves away on its side, is copied to the other.
                rename(world, renamed, p, &new)?;
                put(world, renamed.other(), &new, moved.meta)?;
                copy(world, p, renamed.other())?;
            }
            Action::RecordOriginal
            | Action::ForgetOriginal
            | Action::RecordGhost
            | Action::LogConflict
            | Action::Blocked
            | Action::Rename { .. }
            | Action::ForgetExcluded => {}
        }
    }
    Ok(())
}

/// The paths a plan leaves alone on purpose: at or below a logged conflict or a
/// blocked item, and the old paths of a rename left logged.
pub fn left_alone(plan: &Plan) -> Vec<RelPath> {
    let mut out = Vec::new();
    for i in &plan.items {
        if matches!(i.action, Action::LogConflict | Action::Blocked) {
            out.push(i.path.clone());
            if let Some(m) = &i.moved {
                out.push(m.from.clone());
                out.extend(m.rename.as_ref().map(|(_, p)| p.clone()));
            }
        }
    }
    out
}

/// The old paths of renamed items the plan leaves alone (their base stays there).
pub fn bases_left(plan: &Plan) -> Vec<RelPath> {
    plan.items
        .iter()
        .filter(|i| matches!(i.action, Action::LogConflict | Action::Blocked))
        .filter_map(|i| i.moved.as_ref().map(|m| m.from.clone()))
        .collect()
}

/// The renames a plan carries out, as (old path, new path), each checked in the
/// world: the item is at its new path on both sides and gone from its old one.
pub fn moves(plan: &Plan, world: &World) -> Result<Vec<(RelPath, RelPath)>, String> {
    let mut out = Vec::new();
    for item in &plan.items {
        if let Some(BaseUpdate::Move { from, .. }) = item.base_update() {
            for side in Side::BOTH {
                let tree = world.tree(side);
                if tree.contains_key(&from) && !tree.contains_key(&item.path) {
                    return Err(format!(
                        "{from:?} moved to {:?} in the base but not on {}",
                        item.path,
                        side.name()
                    ));
                }
            }
            out.push((from, item.path.clone()));
        }
    }
    Ok(out)
}

/// The base after a sync: the renamed items' bases moved to their new paths
/// (`moved`), then where both sides agree, what they hold (with their identities);
/// elsewhere the old base, which also stays wherever the plan leaves things alone;
/// nothing at or below an excluded path (its originals are forgotten).
pub fn new_base(
    base: &Base,
    world: &World,
    lineage: Lineage,
    alone: &[RelPath],
    moved: &[(RelPath, RelPath)],
    excluded: &[RelPath],
) -> Base {
    let mut base = base.clone();
    for (from, to) in moved {
        let entries: Vec<(RelPath, BaseEntry)> = base
            .iter()
            .filter(|(p, _)| from.contains(p))
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect();
        base.retain(|p, _| !from.contains(p));
        for (p, b) in entries {
            if let Some(q) = p.rebased(from, to) {
                base.insert(q, b);
            }
        }
    }
    let paths: BTreeSet<&RelPath> = base
        .keys()
        .chain(world.local.keys())
        .chain(world.remote.keys())
        .filter(|p| !excluded.iter().any(|e| e.contains(p)))
        .collect();
    let mut out = Base::new();
    for p in paths {
        let (l, r) = (world.local.get(p), world.remote.get(p));
        let kept_alone = alone.iter().any(|a| a.contains(p));
        match (l, r) {
            (Some(l), Some(r)) if l.meta.same_item(&r.meta) && !kept_alone => {
                let entry = BaseEntry {
                    meta: l.meta.clone(),
                    local: identity(l, lineage_of(lineage, Side::Cache)),
                    remote: identity(r, lineage),
                };
                out.insert(p.clone(), entry);
            }
            (None, None) if !kept_alone => {}
            _ => {
                if let Some(b) = base.get(p) {
                    out.insert(p.clone(), b.clone());
                }
            }
        }
    }
    out
}

/// The base the plan's own updates give: each applied to the old base in the
/// executor's order (a move carries everything below the old path along).
pub fn updated_base(
    base: &Base,
    plan: &Plan,
    world: &World,
) -> Result<BTreeMap<RelPath, Meta>, String> {
    let mut updated: BTreeMap<RelPath, Meta> = base
        .iter()
        .map(|(p, b)| (p.clone(), b.meta.clone()))
        .collect();
    for item in plan.run_order() {
        let mut update = item
            .base_update()
            .ok_or_else(|| format!("(e) {:?} has no base update", item.path))?;
        if let BaseUpdate::Move { from, then } = update {
            let moved: Vec<(RelPath, Meta)> = updated
                .iter()
                .filter(|(p, _)| from.contains(p))
                .map(|(p, m)| (p.clone(), m.clone()))
                .collect();
            updated.retain(|p, _| !from.contains(p));
            for (p, m) in moved {
                if let Some(q) = p.rebased(&from, &item.path) {
                    updated.insert(q, m);
                }
            }
            update = *then;
        }
        match update {
            BaseUpdate::Keep => {}
            BaseUpdate::Forget => {
                updated.remove(&item.path);
            }
            BaseUpdate::ForgetTree => {
                updated.retain(|p, _| !item.path.contains(p));
            }
            BaseUpdate::Put(o) => {
                updated.insert(item.path.clone(), o.meta);
            }
            BaseUpdate::PutCopy { original: o, .. } => {
                // The executor completes a copy's hash with the one the copy took.
                let mut meta = o.meta;
                if meta.hash.is_none() {
                    meta.hash = world.local.get(&item.path).and_then(|n| n.meta.hash);
                }
                updated.insert(item.path.clone(), meta);
            }
            BaseUpdate::Move { .. } => return Err("(e) a move inside a move".into()),
        }
    }
    Ok(updated)
}
