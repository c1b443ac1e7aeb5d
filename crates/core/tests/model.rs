//! The planner against a small model (Unison's approach): random base trees, random
//! edits on both sides, a plan under every policy and direction, applied by an
//! in-memory reference executor; then the properties every sync must have:
//! (a) no change is lost, (b) the sides converge, (c) a second plan has nothing left
//! to do, (d) the trees stay consistent (nothing under a file or a missing folder),
//! (e) the base updates the plan items carry give the base both sides agree on,
//! (f) an excluded path (and what lies below it) never changes on either side, and
//! its original is forgotten.
//!
//! `PROPTEST_CASES=N` runs more cases (default 500).

use offline_core::plan::BaseUpdate;
use offline_core::{
    plan, Action, ConflictPolicy, Hash, Kind, Meta, Plan, RelPath, Side, SyncControl,
    SyncOperation, Triple,
};
use proptest::prelude::*;

#[path = "support/seed.rs"]
mod seed;
use std::collections::{BTreeMap, BTreeSet};

type Tree = BTreeMap<RelPath, Meta>;

const NAMES: [&str; 3] = ["a", "b", "c"];
const MAX_DEPTH: usize = 3;

// ---------------------------------------------------------------------------
// Trees and edits

/// Where an edit applies: the `pick`-th path of the tree before the edit (the root
/// counts as one), followed by `tail` new components.
#[derive(Debug, Clone)]
struct Sel {
    pick: u8,
    tail: Vec<u8>,
}

#[derive(Debug, Clone)]
enum Op {
    File {
        at: Sel,
        content: u8,
        exec: bool,
        mtime: u8,
    },
    Dir {
        at: Sel,
        private: bool,
    },
    Link {
        at: Sel,
        target: u8,
    },
    /// New content (files) or target (symlinks).
    Modify {
        at: Sel,
        content: u8,
        mtime: u8,
    },
    /// Toggles the permission bits of a file or folder.
    Chmod {
        at: Sel,
    },
    /// Changes only the modification time.
    Touch {
        at: Sel,
        mtime: u8,
    },
    /// Deletes a file, link or whole subtree.
    Delete {
        at: Sel,
    },
    /// Replaces a file or link by a folder.
    ToDir {
        at: Sel,
        private: bool,
    },
    /// Replaces a folder (and everything in it) by a file.
    ToFile {
        at: Sel,
        content: u8,
        mtime: u8,
    },
}

fn file_meta(content: u8, exec: bool, mtime: u8) -> Meta {
    let mode = if exec { 0o755 } else { 0o644 };
    Meta::file(content as u64, mtime as i64 * 1_000, mode, [content; 32])
}

fn dir_meta(private: bool) -> Meta {
    Meta::dir(0, if private { 0o700 } else { 0o755 })
}

fn link_meta(target: u8) -> Meta {
    Meta::symlink(format!("t{target}").into_bytes(), 0)
}

/// The path `sel` names in `tree`; creations (`in_dir`) pick among folders only.
fn resolve(tree: &Tree, sel: &Sel, in_dir: bool) -> Option<RelPath> {
    let mut paths: Vec<&RelPath> = vec![];
    let root = RelPath::root();
    paths.push(&root);
    paths.extend(
        tree.iter()
            .filter(|(_, m)| !in_dir || m.is_dir())
            .map(|(p, _)| p),
    );
    let mut path = paths[sel.pick as usize % paths.len()].clone();
    for &c in &sel.tail {
        path = path.join(NAMES[c as usize].as_bytes()).ok()?;
    }
    (!path.is_root() && path.depth() <= MAX_DEPTH).then_some(path)
}

/// Creates the missing folders above `path`; false when a non-folder is in the way.
fn make_parents(tree: &mut Tree, path: &RelPath) -> bool {
    let mut ancestors = vec![];
    let mut cur = path.parent();
    while let Some(a) = cur {
        if a.is_root() {
            break;
        }
        cur = a.parent();
        ancestors.push(a);
    }
    for a in ancestors.into_iter().rev() {
        match tree.get(&a) {
            Some(m) if m.is_dir() => {}
            Some(_) => return false,
            None => {
                tree.insert(a, dir_meta(false));
            }
        }
    }
    true
}

fn remove_subtree(tree: &mut Tree, path: &RelPath) {
    tree.retain(|p, _| !path.contains(p));
}

fn create(tree: &mut Tree, sel: &Sel, meta: Meta) {
    let Some(path) = resolve(tree, sel, true) else {
        return;
    };
    if tree.contains_key(&path) || !make_parents(tree, &path) {
        return;
    }
    tree.insert(path, meta);
}

fn apply_op(tree: &mut Tree, op: &Op) {
    let existing = |tree: &Tree, at: &Sel| {
        let path = resolve(tree, at, false)?;
        let meta = tree.get(&path)?.clone();
        Some((path, meta))
    };
    match op {
        Op::File {
            at,
            content,
            exec,
            mtime,
        } => create(tree, at, file_meta(*content, *exec, *mtime)),
        Op::Dir { at, private } => create(tree, at, dir_meta(*private)),
        Op::Link { at, target } => create(tree, at, link_meta(*target)),
        Op::Modify { at, content, mtime } => {
            if let Some((path, meta)) = existing(tree, at) {
                let new = match meta.kind {
                    Kind::File => file_meta(*content, meta.mode == 0o755, *mtime),
                    Kind::Symlink => link_meta(*content),
                    Kind::Dir => return,
                };
                tree.insert(path, new);
            }
        }
        Op::Chmod { at } => {
            if let Some((path, mut meta)) = existing(tree, at) {
                meta.mode = match meta.mode {
                    0o644 => 0o755,
                    0o755 if meta.kind == Kind::File => 0o644,
                    0o755 => 0o700,
                    0o700 => 0o755,
                    other => other,
                };
                tree.insert(path, meta);
            }
        }
        Op::Touch { at, mtime } => {
            if let Some((path, mut meta)) = existing(tree, at) {
                meta.mtime_ns = *mtime as i64 * 1_000 + 7;
                tree.insert(path, meta);
            }
        }
        Op::Delete { at } => {
            if let Some((path, _)) = existing(tree, at) {
                remove_subtree(tree, &path);
            }
        }
        Op::ToDir { at, private } => {
            if let Some((path, meta)) = existing(tree, at) {
                if !meta.is_dir() {
                    tree.insert(path, dir_meta(*private));
                }
            }
        }
        Op::ToFile { at, content, mtime } => {
            if let Some((path, meta)) = existing(tree, at) {
                if meta.is_dir() {
                    remove_subtree(tree, &path);
                    tree.insert(path, file_meta(*content, false, *mtime));
                }
            }
        }
    }
}

fn sel(tail: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Sel> {
    // Few names, the first ones likelier: edits on both sides meet often.
    let name = prop_oneof![3 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8)];
    (any::<u8>(), prop::collection::vec(name, tail)).prop_map(|(pick, tail)| Sel { pick, tail })
}

fn creation() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (sel(1..=2), 1u8..=4, any::<bool>(), 0u8..4).prop_map(|(at, content, exec, mtime)| {
            Op::File { at, content, exec, mtime }
        }),
        2 => (sel(1..=2), any::<bool>()).prop_map(|(at, private)| Op::Dir { at, private }),
        1 => (sel(1..=1), 0u8..3).prop_map(|(at, target)| Op::Link { at, target }),
    ]
}

fn edit() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => creation(),
        3 => (sel(0..=0), 1u8..=4, 0u8..8).prop_map(|(at, content, mtime)| {
            Op::Modify { at, content, mtime }
        }),
        1 => sel(0..=0).prop_map(|at| Op::Chmod { at }),
        1 => (sel(0..=0), 0u8..8).prop_map(|(at, mtime)| Op::Touch { at, mtime }),
        2 => sel(0..=0).prop_map(|at| Op::Delete { at }),
        1 => (sel(0..=0), any::<bool>()).prop_map(|(at, private)| Op::ToDir { at, private }),
        1 => (sel(0..=0), 1u8..=4, 0u8..8).prop_map(|(at, content, mtime)| {
            Op::ToFile { at, content, mtime }
        }),
    ]
}

fn build(base: &Tree, ops: &[Op]) -> Tree {
    let mut tree = base.clone();
    for op in ops {
        apply_op(&mut tree, op);
    }
    tree
}

/// Base ops, local edits, remote edits.
fn scenario() -> impl Strategy<Value = (Vec<Op>, Vec<Op>, Vec<Op>)> {
    (
        prop::collection::vec(creation(), 0..16),
        prop::collection::vec(edit(), 0..8),
        prop::collection::vec(edit(), 0..8),
    )
}

/// Excluded paths (what `.offlineignore` patterns pick out), none in a third of cases.
fn exclusions() -> impl Strategy<Value = Vec<RelPath>> {
    let name = prop_oneof![3 => Just(0usize), 2 => Just(1usize), 1 => Just(2usize)];
    let path = prop::collection::vec(name, 1..=MAX_DEPTH).prop_map(|names| {
        let text: Vec<&str> = names.iter().map(|&n| NAMES[n]).collect();
        RelPath::from_str_lossy(&text.join("/")).expect("a valid path")
    });
    prop::collection::vec(path, 0..3)
}

/// True when `path` is excluded or lies below an excluded path.
fn under_excluded(excluded: &[RelPath], path: &RelPath) -> bool {
    excluded.iter().any(|e| e.contains(path))
}

// ---------------------------------------------------------------------------
// The reference executor

/// What a copy holds, wherever it lives: (kind, hash, target, mode) of a non-folder.
type Key = (Kind, Option<Hash>, Option<Vec<u8>>, u32);

fn key(meta: &Meta) -> Option<Key> {
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

#[derive(Debug, Clone)]
struct World {
    local: Tree,
    remote: Tree,
    /// Losing copies moved to the conflicts folder.
    saved: BTreeSet<Key>,
}

impl World {
    fn side(&mut self, side: Side) -> &mut Tree {
        match side {
            Side::Local => &mut self.local,
            Side::Remote => &mut self.remote,
        }
    }
}

/// Writes `meta` at `path` on `side`, as a file system would allow it: the parent
/// must be a folder there, and only a folder may replace a folder that still holds
/// something (the engine never deletes what the plan does not delete).
fn put(world: &mut World, side: Side, path: &RelPath, meta: Meta) -> Result<(), String> {
    let tree = world.side(side);
    let parent = path.parent().expect("never the root");
    if !parent.is_root() && !tree.get(&parent).is_some_and(Meta::is_dir) {
        return Err(format!(
            "(d) {path:?} written on {} under {:?}",
            side.name(),
            tree.get(&parent).map(|m| m.kind)
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
    tree.insert(path.clone(), meta);
    Ok(())
}

fn copy(world: &mut World, path: &RelPath, from: Side) -> Result<(), String> {
    let meta = world
        .side(from)
        .get(path)
        .cloned()
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

fn is_deletion(action: Action) -> bool {
    matches!(
        action,
        Action::Run(SyncOperation::DeleteClientCopy | SyncOperation::DeleteServerCopy)
    )
}

/// Applies `plan` as the engine does: deletions first, deepest first, then the rest
/// in plan order (parents first). Each operation touches its own path only: deleting
/// a folder deletes only what the plan deletes.
fn execute(plan: &Plan, world: &mut World) -> Result<(), String> {
    let deletions = plan.items.iter().rev().filter(|i| is_deletion(i.action));
    let others = plan.items.iter().filter(|i| !is_deletion(i.action));
    for item in deletions.chain(others) {
        let p = &item.path;
        // What prepare saw is still there: no other item touched this path.
        assert_eq!(world.local.get(p), item.triple.meta(Side::Local), "{p:?}");
        assert_eq!(world.remote.get(p), item.triple.meta(Side::Remote), "{p:?}");
        match item.action {
            Action::Run(op) => match op {
                SyncOperation::CreateCopyOnServer | SyncOperation::SyncToServer => {
                    copy(world, p, Side::Local)?
                }
                SyncOperation::CreateCopyOnClient
                | SyncOperation::SyncToClient
                | SyncOperation::Pin => copy(world, p, Side::Remote)?,
                SyncOperation::DeleteServerCopy => delete(world, p, Side::Remote)?,
                SyncOperation::DeleteClientCopy => delete(world, p, Side::Local)?,
                SyncOperation::Prepare => return Err("prepare is not planned work".into()),
            },
            Action::KeepOne { winner } => {
                let loser = world.side(winner.other()).get(p).expect("a losing copy");
                if let Some(k) = key(loser) {
                    world.saved.insert(k);
                }
                copy(world, p, winner)?;
            }
            Action::KeepBoth { renamed } => {
                let moved = world.side(renamed).get(p).cloned().expect("a renamed copy");
                if moved.is_dir() {
                    return Err(format!("a folder is renamed: {p:?}"));
                }
                let name = String::from_utf8(p.file_name().to_vec()).expect("ascii");
                let new = (1..)
                    .map(|n| p.with_file_name(format!("{name}~{n}").as_bytes()).unwrap())
                    .find(|q| !world.local.contains_key(q) && !world.remote.contains_key(q))
                    .expect("a free name");
                // The renamed copy moves away on its side, is copied to the other.
                world.side(renamed).remove(p);
                put(world, renamed, &new, moved.clone())?;
                put(world, renamed.other(), &new, moved)?;
                copy(world, p, renamed.other())?;
            }
            Action::RecordOriginal
            | Action::ForgetOriginal
            | Action::RecordGhost
            | Action::LogConflict
            | Action::Blocked
            | Action::ForgetExcluded => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Properties

fn same(a: Option<&Meta>, b: Option<&Meta>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.same_item(b),
        (None, None) => true,
        _ => false,
    }
}

/// What the walk hands the planner: every path, an excluded one marked as such and
/// nothing below it (the walk never goes there).
fn entries(
    base: &Tree,
    local: &Tree,
    remote: &Tree,
    excluded: &[RelPath],
) -> Vec<(RelPath, Triple)> {
    let paths: BTreeSet<&RelPath> = base
        .keys()
        .chain(local.keys())
        .chain(remote.keys())
        .collect();
    paths
        .into_iter()
        .filter(|p| !excluded.iter().any(|e| e.is_ancestor_of(p)))
        .map(|p| {
            let t = Triple {
                excluded: excluded.contains(p),
                ..Triple::new(
                    base.get(p).cloned(),
                    local.get(p).cloned(),
                    remote.get(p).cloned(),
                )
            };
            (p.clone(), t)
        })
        .collect()
}

/// (d): every path's parent is a folder on that side.
fn check_consistent(tree: &Tree, side: &str) -> Result<(), String> {
    for p in tree.keys() {
        let parent = p.parent().expect("no root in trees");
        if !parent.is_root() && !tree.get(&parent).is_some_and(Meta::is_dir) {
            return Err(format!(
                "(d) {side}: {p:?} under {:?}",
                tree.get(&parent).map(|m| m.kind)
            ));
        }
    }
    Ok(())
}

/// The base after a sync: where both sides agree, what they hold; elsewhere the old
/// base; nothing at or below an excluded path (its originals are forgotten).
fn new_base(base: &Tree, world: &World, excluded: &[RelPath]) -> Tree {
    let paths: BTreeSet<&RelPath> = base
        .keys()
        .chain(world.local.keys())
        .chain(world.remote.keys())
        .filter(|p| !under_excluded(excluded, p))
        .collect();
    let mut out = Tree::new();
    for p in paths {
        let (l, r) = (world.local.get(p), world.remote.get(p));
        let kept = if same(l, r) { l } else { base.get(p) };
        if let Some(m) = kept {
            out.insert(p.clone(), m.clone());
        }
    }
    out
}

/// (e) The base updates carried by the plan's items, applied to the old base, give
/// the base the sides agree on after the sync (`expected`), except at the conflict
/// names keep-all picks while it runs (the executor records those) and at or below
/// a logged conflict or blocked item (left alone, its base too).
fn check_base_updates(
    base: &Tree,
    local: &Tree,
    remote: &Tree,
    planned: &Plan,
    world: &World,
    expected: &Tree,
) -> Result<(), String> {
    let mut updated = base.clone();
    for item in &planned.items {
        match item.base_update() {
            None => return Err(format!("(e) {:?} has no base update", item.path)),
            Some(BaseUpdate::Keep) => {}
            Some(BaseUpdate::Forget) => {
                updated.remove(&item.path);
            }
            Some(BaseUpdate::ForgetTree) => {
                updated.retain(|p, _| !item.path.contains(p));
            }
            Some(BaseUpdate::Put(o)) | Some(BaseUpdate::PutCopy { original: o, .. }) => {
                updated.insert(item.path.clone(), o.meta);
            }
        }
    }
    let picked_at_run = |p: &RelPath| !local.contains_key(p) && !remote.contains_key(p);
    let left_alone: Vec<&RelPath> = planned
        .items
        .iter()
        .filter(|i| matches!(i.action, Action::LogConflict | Action::Blocked))
        .map(|i| &i.path)
        .collect();
    let paths: BTreeSet<&RelPath> = updated
        .keys()
        .chain(expected.keys())
        .chain(world.local.keys())
        .collect();
    for p in paths {
        if (picked_at_run(p) && !base.contains_key(p)) || left_alone.iter().any(|a| a.contains(p)) {
            continue;
        }
        if !same(updated.get(p), expected.get(p)) {
            return Err(format!(
                "(e) the base at {p:?}: the plan's updates give {:?}, the sides agree on {:?}",
                updated.get(p),
                expected.get(p)
            ));
        }
    }
    Ok(())
}

fn writes(action: Action) -> (bool, bool) {
    match action {
        Action::Run(op) => (op.writes_client(), op.writes_server()),
        Action::KeepOne { winner } => (winner == Side::Remote, winner == Side::Local),
        Action::KeepBoth { .. } => (true, true),
        _ => (false, false),
    }
}

/// A tree on one line: `a/ a/b=f1:644@0 c->t1`.
fn show(tree: &Tree) -> String {
    let one = |(p, m): (&RelPath, &Meta)| match m.kind {
        Kind::Dir => format!("{p}/{:o}", m.mode),
        Kind::File => format!(
            "{p}=f{}:{:o}@{}",
            m.hash.map_or(0, |h| h[0]),
            m.mode,
            m.mtime_ns
        ),
        Kind::Symlink => format!(
            "{p}->{}",
            String::from_utf8_lossy(m.target.as_deref().unwrap_or(b""))
        ),
    };
    let items: Vec<String> = tree.iter().map(one).collect();
    format!("{{{}}}", items.join(" "))
}

fn describe(plan: &Plan) -> String {
    plan.items
        .iter()
        .map(|i| format!("  {:?}: {} {:?}\n", i.path, i.state, i.action))
        .collect()
}

/// Plans, applies and checks one sync of (base, local, remote) under `control`, with
/// the `excluded` paths left out.
fn sync_and_check(
    base: &Tree,
    local: &Tree,
    remote: &Tree,
    excluded: &[RelPath],
    control: &SyncControl,
) -> Result<(), String> {
    let full = control.sync_in && control.sync_out && !control.no_new_files_out;
    let planned = plan(entries(base, local, remote, excluded), control);
    let ctx = |what: String| format!("{what}\ncontrol {control:?}\nplan:\n{}", describe(&planned));

    // The plan is in path order, each path once.
    for w in planned.items.windows(2) {
        if w[0].path >= w[1].path {
            return Err(ctx(format!("order: {:?} then {:?}", w[0].path, w[1].path)));
        }
    }

    let mut world = World {
        local: local.clone(),
        remote: remote.clone(),
        saved: BTreeSet::new(),
    };
    execute(&planned, &mut world).map_err(&ctx)?;

    // (d) consistent trees.
    check_consistent(&world.local, "local").map_err(&ctx)?;
    check_consistent(&world.remote, "remote").map_err(&ctx)?;

    // (f) excluded paths: untouched on both sides, in the plan only to forget a base.
    check_excluded(&planned, base, excluded).map_err(&ctx)?;
    for (name, before, after) in [
        ("local", local, &world.local),
        ("remote", remote, &world.remote),
    ] {
        let keys = before.keys().chain(after.keys());
        if let Some(p) = keys
            .filter(|p| under_excluded(excluded, p))
            .find(|p| before.get(*p) != after.get(*p))
        {
            return Err(ctx(format!(
                "(f) the excluded {p:?} changed on {name}: {:?} -> {:?}",
                before.get(p),
                after.get(p)
            )));
        }
    }

    // (a) no change lost.
    let after: BTreeSet<Key> = world
        .local
        .values()
        .chain(world.remote.values())
        .filter_map(key)
        .chain(world.saved.iter().cloned())
        .collect();
    for (side, tree) in [("local", local), ("remote", remote)] {
        for (p, m) in tree {
            let Some(k) = key(m) else { continue };
            if base.get(p).is_some_and(|b| b.same_item(m)) {
                continue;
            }
            if !after.contains(&k) {
                return Err(ctx(format!(
                    "(a) the {side} change at {p:?} ({m:?}) is lost"
                )));
            }
        }
    }

    // Paths left alone on purpose: at or below a logged conflict or a blocked item.
    let exempt: Vec<&RelPath> = planned
        .items
        .iter()
        .filter(|i| matches!(i.action, Action::LogConflict | Action::Blocked))
        .map(|i| &i.path)
        .collect();
    let is_exempt = |p: &RelPath| exempt.iter().any(|e| e.contains(p));

    let paths: BTreeSet<&RelPath> = world.local.keys().chain(world.remote.keys()).collect();
    let differing: Vec<&RelPath> = paths
        .into_iter()
        .filter(|p| !same(world.local.get(*p), world.remote.get(*p)))
        .filter(|p| !under_excluded(excluded, p))
        .collect();

    // Under log, no conflict is settled.
    if control.policy == ConflictPolicy::Log {
        if let Some(i) = planned
            .items
            .iter()
            .find(|i| i.action.is_conflict() && i.action != Action::LogConflict)
        {
            return Err(ctx(format!("{:?} settled under log", i.path)));
        }
    }

    // Under a policy other than log, nothing stays logged but two folders that
    // differ in mode only under keep-all (nothing to keep twice), and nothing blocks.
    if full && control.policy != ConflictPolicy::Log {
        for i in &planned.items {
            let ok = match i.action {
                Action::LogConflict => {
                    control.policy == ConflictPolicy::KeepAll
                        && i.triple.meta(Side::Local).is_some_and(Meta::is_dir)
                        && i.triple.meta(Side::Remote).is_some_and(Meta::is_dir)
                }
                Action::Blocked => false,
                _ => true,
            };
            if !ok {
                return Err(ctx(format!(
                    "(b) {:?} left {:?} under {}",
                    i.path, i.action, control.policy
                )));
            }
        }
    }

    if full {
        // (b) convergence; under a policy other than log only the logged folders
        // themselves may differ.
        let strict = control.policy != ConflictPolicy::Log;
        if let Some(p) = differing
            .iter()
            .find(|p| !is_exempt(p) || (strict && !exempt.contains(p)))
        {
            return Err(ctx(format!(
                "(b) {p:?} differs after sync: local {:?} remote {:?}",
                world.local.get(*p),
                world.remote.get(*p)
            )));
        }
    } else {
        // The forbidden side is untouched.
        if !control.sync_in && world.local != *local {
            return Err(ctx("local written by a sync-out".into()));
        }
        if !control.sync_out && world.remote != *remote {
            return Err(ctx("remote written by a sync-in".into()));
        }
    }

    // (c) idempotence: planning again finds nothing but what stays logged.
    let base2 = new_base(base, &world, excluded);
    check_base_updates(base, local, remote, &planned, &world, &base2).map_err(&ctx)?;
    let again = plan(
        entries(&base2, &world.local, &world.remote, excluded),
        control,
    );
    for i in &again.items {
        if !matches!(i.action, Action::LogConflict | Action::Blocked) {
            return Err(ctx(format!(
                "(c) second plan: {:?} {} {:?}\nsecond plan:\n{}",
                i.path,
                i.state,
                i.action,
                describe(&again)
            )));
        }
    }

    // (b) for a one-way sync: what is left needs the other direction only (or a
    // conflict settled by a two-sided policy).
    if !full {
        let both_ways = SyncControl {
            sync_in: true,
            sync_out: true,
            no_new_files_out: false,
            ..*control
        };
        let rest = plan(
            entries(&base2, &world.local, &world.remote, excluded),
            &both_ways,
        );
        // A conflict the direction left logged holds back what lies below it.
        let held: Vec<&RelPath> = rest
            .items
            .iter()
            .filter(|i| i.action.is_conflict() || i.action == Action::Blocked)
            .map(|i| &i.path)
            .collect();
        for i in &rest.items {
            if held.iter().any(|h| h.contains(&i.path)) {
                continue;
            }
            let new_file_out = i.action == Action::Run(SyncOperation::CreateCopyOnServer)
                && i.triple.original.is_none()
                && !i.triple.meta(Side::Local).is_some_and(Meta::is_dir);
            if control.no_new_files_out && new_file_out {
                continue;
            }
            let (wl, wr) = writes(i.action);
            if (wl && control.sync_in) || (wr && control.sync_out) {
                return Err(ctx(format!(
                    "(b) a one-way sync left work it may do: {:?} {} {:?}\nrest:\n{}",
                    i.path,
                    i.state,
                    i.action,
                    describe(&rest)
                )));
            }
        }
    }
    Ok(())
}

const POLICIES: [ConflictPolicy; 5] = [
    ConflictPolicy::Log,
    ConflictPolicy::KeepLocal,
    ConflictPolicy::KeepRemote,
    ConflictPolicy::KeepLatest,
    ConflictPolicy::KeepAll,
];

fn controls() -> Vec<SyncControl> {
    let mut out = vec![];
    for policy in POLICIES {
        for (sync_in, sync_out, no_new_files_out) in [
            (true, true, false),
            (true, false, false),
            (false, true, false),
            (true, true, true),
        ] {
            out.push(SyncControl {
                sync_in,
                sync_out,
                no_new_files_out,
                policy,
                ..SyncControl::default()
            });
        }
    }
    out
}

/// Every item the plan holds at or below an excluded path forgets the base it had,
/// and nothing else.
fn check_excluded(planned: &Plan, base: &Tree, excluded: &[RelPath]) -> Result<(), String> {
    for i in &planned.items {
        let at_excluded = under_excluded(excluded, &i.path);
        let forgets = i.action == Action::ForgetExcluded;
        if at_excluded != forgets || (forgets && !base.contains_key(&i.path)) {
            return Err(format!(
                "(f) {:?} planned {:?} (excluded: {at_excluded})",
                i.path, i.action
            ));
        }
    }
    Ok(())
}

fn check_all(base: &Tree, local: &Tree, remote: &Tree) -> Result<(), String> {
    check_all_excluding(base, local, remote, &[])
}

fn check_all_excluding(
    base: &Tree,
    local: &Tree,
    remote: &Tree,
    excluded: &[RelPath],
) -> Result<(), String> {
    check_consistent(base, "base")?;
    check_consistent(local, "local")?;
    check_consistent(remote, "remote")?;
    for control in controls() {
        sync_and_check(base, local, remote, excluded, &control).map_err(|e| {
            format!(
                "{e}\nbase {}\nlocal {}\nremote {}\nexcluded {excluded:?}",
                show(base),
                show(local),
                show(remote)
            )
        })?;
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

proptest! {
    #![proptest_config(seed::config(cases()))]

    #[test]
    fn planned_syncs_lose_nothing_converge_and_are_idempotent(
        (base_ops, local_ops, remote_ops) in scenario(),
        excluded in exclusions(),
    ) {
        let base = build(&Tree::new(), &base_ops);
        let local = build(&base, &local_ops);
        let remote = build(&base, &remote_ops);
        if let Err(e) = check_all_excluding(&base, &local, &remote, &excluded) {
            return Err(TestCaseError::fail(format!(
                "{e}\n(replay: PROPTEST_RNG_SEED={} cargo test -p offline-core --test model)",
                seed::seed()
            )));
        }
    }
}

// ---------------------------------------------------------------------------
// Hand-made scenarios (and regressions found by the property above)

fn p(s: &str) -> RelPath {
    RelPath::from_str_lossy(s).expect("valid test path")
}

fn tree(items: &[(&str, Meta)]) -> Tree {
    items.iter().map(|(s, m)| (p(s), m.clone())).collect()
}

#[test]
fn model_sanity_edits_keep_trees_consistent() {
    let mut t = Tree::new();
    let at = |pick, tail: &[u8]| Sel {
        pick,
        tail: tail.to_vec(),
    };
    apply_op(
        &mut t,
        &Op::File {
            at: at(0, &[0, 1]),
            content: 1,
            exec: false,
            mtime: 0,
        },
    );
    assert_eq!(
        t.keys().cloned().collect::<Vec<_>>(),
        vec![p("a"), p("a/b")]
    );
    // A file cannot hold children.
    apply_op(
        &mut t,
        &Op::File {
            at: at(2, &[0]),
            content: 1,
            exec: false,
            mtime: 0,
        },
    );
    assert_eq!(t.len(), 2);
    apply_op(
        &mut t,
        &Op::ToFile {
            at: at(1, &[]),
            content: 2,
            mtime: 0,
        },
    );
    assert_eq!(t, tree(&[("a", file_meta(2, false, 0))]));
    check_consistent(&t, "t").unwrap();
}

#[test]
fn subtree_deleted_on_one_side_while_changed_inside_on_the_other() {
    let base = tree(&[
        ("a", dir_meta(false)),
        ("a/b", dir_meta(false)),
        ("a/b/c", file_meta(1, false, 0)),
        ("a/c", file_meta(2, false, 0)),
    ]);
    let changed = tree(&[
        ("a", dir_meta(false)),
        ("a/b", dir_meta(false)),
        ("a/b/c", file_meta(3, false, 1)),
        ("a/c", file_meta(2, false, 0)),
    ]);
    let gone = Tree::new();
    check_all(&base, &changed, &gone).unwrap();
    check_all(&base, &gone, &changed).unwrap();
}

#[test]
fn folder_replaced_by_file_while_changed_inside() {
    let base = tree(&[("a", dir_meta(false)), ("a/b", file_meta(1, false, 0))]);
    let file = tree(&[("a", file_meta(2, false, 1))]);
    let changed = tree(&[("a", dir_meta(false)), ("a/b", file_meta(3, false, 1))]);
    check_all(&base, &file, &changed).unwrap();
    check_all(&base, &changed, &file).unwrap();
}

#[test]
fn file_and_folder_created_at_one_name() {
    let base = Tree::new();
    let folder = tree(&[
        ("a", dir_meta(false)),
        ("a/b", dir_meta(false)),
        ("a/b/c", file_meta(1, false, 0)),
    ]);
    let file = tree(&[("a", file_meta(2, false, 1))]);
    check_all(&base, &folder, &file).unwrap();
    check_all(&base, &file, &folder).unwrap();
}

/// The generator is not vacuous: over a fixed sample it reaches the hard cases
/// (every kind of conflict, kept folders, blocked subtrees, identical changes).
#[test]
fn the_generator_reaches_the_hard_cases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut excluding = TestRunner::deterministic();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for _ in 0..300 {
        let (b, l, r) = scenario()
            .new_tree(&mut runner)
            .expect("a scenario")
            .current();
        let base = build(&Tree::new(), &b);
        let local = build(&base, &l);
        let remote = build(&base, &r);
        let excluded = exclusions()
            .new_tree(&mut excluding)
            .expect("exclusions")
            .current();
        for control in controls() {
            for without in [&[][..], &excluded] {
                for i in plan(entries(&base, &local, &remote, without), &control).items {
                    seen.insert(format!("{} {}", i.state, i.action.name()));
                }
            }
        }
    }
    for want in [
        "file_changed_on_client_changed_on_server conflict",
        "file_changed_on_client_changed_on_server conflict_keep_local",
        "file_changed_on_client_changed_on_server conflict_keep_remote",
        "file_changed_on_client_changed_on_server conflict_keep_all",
        "file_changed_on_client_changed_on_server record_original",
        "file_created_on_client_file_on_server conflict",
        "dir_changed_on_client_changed_on_server conflict",
        "dir_created_on_client_file_on_server conflict_keep_all",
        "file_created_on_client_dir_on_server conflict",
        "file_changed_on_client_dir_changed_on_server conflict_keep_all",
        "dir_changed_on_client_file_changed_on_server conflict",
        "dir_changed_on_client_deleted_on_server create_copy_on_server",
        "deleted_on_client_dir_changed_on_server create_copy_on_client",
        "file_changed_on_client_deleted_on_server create_copy_on_server",
        "deleted_on_client_file_changed_on_server create_copy_on_client",
        "file_changed_on_client_dir_on_server sync_to_server",
        "dir_on_client_file_changed_on_server sync_to_client",
        "no_client_copy_file_on_server blocked",
        "file_created_on_client_no_server_copy blocked",
        "stable forget_original",
        "stable forget_excluded",
    ] {
        assert!(seen.contains(want), "never reached: {want}");
    }
}

#[test]
fn a_folder_deleted_on_one_side_stays_where_it_holds_an_excluded_item() {
    let base = tree(&[("a", dir_meta(false)), ("a/b", file_meta(1, false, 0))]);
    // The cache holds an excluded `a/c` the share never saw; the share deleted `a`.
    let local = tree(&[
        ("a", dir_meta(false)),
        ("a/b", file_meta(1, false, 0)),
        ("a/c", file_meta(2, false, 0)),
    ]);
    let excluded = [p("a/c")];
    check_all_excluding(&base, &local, &Tree::new(), &excluded).unwrap();
    let planned = plan(
        entries(&base, &local, &Tree::new(), &excluded),
        &SyncControl::default(),
    );
    let actions: Vec<(String, Action)> = planned
        .items
        .iter()
        .map(|i| (i.path.to_string(), i.action))
        .collect();
    assert_eq!(
        actions,
        [
            (
                "a".to_string(),
                Action::Run(SyncOperation::CreateCopyOnServer)
            ),
            (
                "a/b".to_string(),
                Action::Run(SyncOperation::DeleteClientCopy)
            ),
        ]
    );
}

#[test]
fn a_path_excluded_after_a_sync_is_forgotten_and_never_touched() {
    let base = tree(&[("a", dir_meta(false)), ("a/b", file_meta(1, false, 0))]);
    let changed = tree(&[("a", dir_meta(false)), ("a/b", file_meta(2, false, 1))]);
    let excluded = [p("a")];
    check_all_excluding(&base, &changed, &Tree::new(), &excluded).unwrap();
    let planned = plan(
        entries(&base, &changed, &Tree::new(), &excluded),
        &SyncControl::default(),
    );
    let actions: Vec<(String, Action)> = planned
        .items
        .iter()
        .map(|i| (i.path.to_string(), i.action))
        .collect();
    assert_eq!(actions, [("a".to_string(), Action::ForgetExcluded)]);
}

#[test]
fn a_path_included_again_is_new_on_both_sides_never_overwritten() {
    // Its base was forgotten while it was excluded; both sides changed it meanwhile.
    let local = tree(&[("a", file_meta(1, false, 0)), ("b", file_meta(3, false, 0))]);
    let remote = tree(&[("a", file_meta(2, false, 0)), ("b", file_meta(3, false, 0))]);
    check_all(&Tree::new(), &local, &remote).unwrap();
    let planned = plan(
        entries(&Tree::new(), &local, &remote, &[]),
        &SyncControl::default(),
    );
    let actions: Vec<(String, Action)> = planned
        .items
        .iter()
        .map(|i| (i.path.to_string(), i.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("a".to_string(), Action::LogConflict),
            ("b".to_string(), Action::RecordOriginal),
        ]
    );
}
