//! The model's trees and the edits a person makes on them, for the planner's model
//! test: every item is a node with its metadata, its inode (the object it is on its
//! side) and a change count (its ctime), from which the identities the planner sees
//! are made, so renames can be found as the engine finds them.

#![allow(dead_code)]

use offline_core::{Kind, Lineage, Meta, RelPath, Side};
use proptest::prelude::*;
use std::collections::BTreeMap;

pub const NAMES: [&str; 3] = ["a", "b", "c"];
pub const MAX_DEPTH: usize = 3;

/// One item on one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub meta: Meta,
    /// The object: kept by a rename, new for anything written anew.
    pub ino: u32,
    /// Bumped by every change of this very node (a rename of it too, as ctime).
    pub ver: u32,
}

pub type Tree = BTreeMap<RelPath, Node>;

/// Hands out inodes.
#[derive(Debug, Default)]
pub struct Inodes(pub u32);

impl Inodes {
    pub fn fresh(&mut self) -> u32 {
        self.0 += 1;
        self.0
    }
}

/// The identity a side with `lineage` gives `node` (the engine's formats: a folder
/// backend's `dev:ino:ctime:size:mtime`, a network share's stat fingerprint).
pub fn identity(node: &Node, lineage: Lineage) -> String {
    let m = &node.meta;
    match lineage {
        Lineage::Inode => format!("1:{}:{}.0:{}:{}", node.ino, node.ver, m.size, m.mtime_ns),
        Lineage::Stat | Lineage::ContentTag => match m.kind {
            Kind::Dir => format!("dir:{:o}", m.mode),
            Kind::File => format!("size:{}:mtime:{}:mode:{:o}", m.size, m.mtime_ns, m.mode),
            Kind::Symlink => format!("link:{}:mtime:{}", m.size, m.mtime_ns),
        },
    }
}

/// The lineage the model gives each side.
pub fn lineage_of(remote: Lineage, side: Side) -> Lineage {
    match side {
        Side::Cache => Lineage::Inode,
        Side::Share => remote,
    }
}

/// Where an edit applies: the `pick`-th path of the tree before the edit (the root
/// counts as one), followed by `tail` new components.
#[derive(Debug, Clone)]
pub struct Sel {
    pub pick: u8,
    pub tail: Vec<u8>,
}

#[derive(Debug, Clone)]
pub enum Op {
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
    /// New content (files) or target (symlinks), in place.
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
    /// Moves an item (a folder with everything in it) to a new path, making the
    /// folders it goes into.
    Rename {
        at: Sel,
        to: Sel,
    },
}

pub fn file_meta(content: u8, exec: bool, mtime: u8) -> Meta {
    let mode = if exec { 0o755 } else { 0o644 };
    Meta::file(content as u64, mtime as i64 * 1_000, mode, [content; 32])
}

pub fn dir_meta(private: bool) -> Meta {
    Meta::dir(0, if private { 0o700 } else { 0o755 })
}

pub fn link_meta(target: u8) -> Meta {
    Meta::symlink(format!("t{target}").into_bytes(), 0)
}

/// The path `sel` names in `tree`; creations (`in_dir`) pick among folders only.
pub fn resolve(tree: &Tree, sel: &Sel, in_dir: bool) -> Option<RelPath> {
    let mut paths: Vec<&RelPath> = vec![];
    let root = RelPath::root();
    paths.push(&root);
    paths.extend(
        tree.iter()
            .filter(|(_, n)| !in_dir || n.meta.is_dir())
            .map(|(p, _)| p),
    );
    let mut path = paths[sel.pick as usize % paths.len()].clone();
    for &c in &sel.tail {
        path = path.join(NAMES[c as usize].as_bytes()).ok()?;
    }
    (!path.is_root() && path.depth() <= MAX_DEPTH).then_some(path)
}

/// Creates the missing folders above `path`; false when a non-folder is in the way.
fn make_parents(tree: &mut Tree, path: &RelPath, ids: &mut Inodes) -> bool {
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
            Some(n) if n.meta.is_dir() => {}
            Some(_) => return false,
            None => {
                let node = Node {
                    meta: dir_meta(false),
                    ino: ids.fresh(),
                    ver: 0,
                };
                tree.insert(a, node);
            }
        }
    }
    true
}

pub fn remove_subtree(tree: &mut Tree, path: &RelPath) {
    tree.retain(|p, _| !path.contains(p));
}

fn create(tree: &mut Tree, sel: &Sel, meta: Meta, ids: &mut Inodes) {
    let Some(path) = resolve(tree, sel, true) else {
        return;
    };
    if tree.contains_key(&path) || !make_parents(tree, &path, ids) {
        return;
    }
    let node = Node {
        meta,
        ino: ids.fresh(),
        ver: 0,
    };
    tree.insert(path, node);
}

/// Changes a node in place (same object, one change more).
fn change(tree: &mut Tree, path: RelPath, meta: Meta) {
    if let Some(node) = tree.get_mut(&path) {
        node.meta = meta;
        node.ver += 1;
    }
}

/// Moves the subtree at `from` to `to` (same objects; the moved node's ctime moves).
pub fn move_subtree(tree: &mut Tree, from: &RelPath, to: &RelPath) {
    let moved: Vec<(RelPath, Node)> = tree
        .iter()
        .filter(|(p, _)| from.contains(p))
        .map(|(p, n)| (p.clone(), n.clone()))
        .collect();
    remove_subtree(tree, from);
    for (p, mut node) in moved {
        if p == *from {
            node.ver += 1;
        }
        if let Some(q) = p.rebased(from, to) {
            tree.insert(q, node);
        }
    }
}

pub fn apply_op(tree: &mut Tree, op: &Op, ids: &mut Inodes) {
    let existing = |tree: &Tree, at: &Sel| {
        let path = resolve(tree, at, false)?;
        let meta = tree.get(&path)?.meta.clone();
        Some((path, meta))
    };
    match op {
        Op::File {
            at,
            content,
            exec,
            mtime,
        } => create(tree, at, file_meta(*content, *exec, *mtime), ids),
        Op::Dir { at, private } => create(tree, at, dir_meta(*private), ids),
        Op::Link { at, target } => create(tree, at, link_meta(*target), ids),
        Op::Modify { at, content, mtime } => {
            if let Some((path, meta)) = existing(tree, at) {
                let new = match meta.kind {
                    Kind::File => file_meta(*content, meta.mode == 0o755, *mtime),
                    Kind::Symlink => link_meta(*content),
                    Kind::Dir => return,
                };
                change(tree, path, new);
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
                change(tree, path, meta);
            }
        }
        Op::Touch { at, mtime } => {
            if let Some((path, mut meta)) = existing(tree, at) {
                meta.mtime_ns = *mtime as i64 * 1_000 + 7;
                change(tree, path, meta);
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
                    let node = Node {
                        meta: dir_meta(*private),
                        ino: ids.fresh(),
                        ver: 0,
                    };
                    tree.insert(path, node);
                }
            }
        }
        Op::ToFile { at, content, mtime } => {
            if let Some((path, meta)) = existing(tree, at) {
                if meta.is_dir() {
                    remove_subtree(tree, &path);
                    let node = Node {
                        meta: file_meta(*content, false, *mtime),
                        ino: ids.fresh(),
                        ver: 0,
                    };
                    tree.insert(path, node);
                }
            }
        }
        Op::Rename { at, to } => {
            let Some((from, _)) = existing(tree, at) else {
                return;
            };
            let Some(target) = resolve(tree, to, true) else {
                return;
            };
            let deepest = tree
                .keys()
                .filter(|p| from.contains(p))
                .map(|p| p.depth() - from.depth())
                .max()
                .unwrap_or(0);
            if tree.contains_key(&target)
                || from.contains(&target)
                || target.depth() + deepest > MAX_DEPTH
                || !make_parents(tree, &target, ids)
            {
                return;
            }
            move_subtree(tree, &from, &target);
        }
    }
}

fn sel(tail: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Sel> {
    // Few names, the first ones likelier: edits on both sides meet often.
    let name = prop_oneof![3 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8)];
    (any::<u8>(), prop::collection::vec(name, tail)).prop_map(|(pick, tail)| Sel { pick, tail })
}

pub fn creation() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (sel(1..=2), 1u8..=4, any::<bool>(), 0u8..4).prop_map(|(at, content, exec, mtime)| {
            Op::File { at, content, exec, mtime }
        }),
        2 => (sel(1..=2), any::<bool>()).prop_map(|(at, private)| Op::Dir { at, private }),
        1 => (sel(1..=1), 0u8..3).prop_map(|(at, target)| Op::Link { at, target }),
    ]
}

pub fn edit() -> impl Strategy<Value = Op> {
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
        3 => (sel(0..=0), sel(1..=2)).prop_map(|(at, to)| Op::Rename { at, to }),
    ]
}

pub fn build(base: &Tree, ops: &[Op], ids: &mut Inodes) -> Tree {
    let mut tree = base.clone();
    for op in ops {
        apply_op(&mut tree, op, ids);
    }
    tree
}

/// Base ops, local edits, remote edits.
pub fn scenario() -> impl Strategy<Value = (Vec<Op>, Vec<Op>, Vec<Op>)> {
    (
        prop::collection::vec(creation(), 0..16),
        prop::collection::vec(edit(), 0..8),
        prop::collection::vec(edit(), 0..8),
    )
}

/// (d): every path's parent is a folder on that side.
pub fn check_consistent(tree: &Tree, side: &str) -> Result<(), String> {
    for p in tree.keys() {
        let parent = p.parent().expect("no root in trees");
        if !parent.is_root() && !tree.get(&parent).is_some_and(|n| n.meta.is_dir()) {
            return Err(format!(
                "(d) {side}: {p:?} under {:?}",
                tree.get(&parent).map(|n| n.meta.kind)
            ));
        }
    }
    Ok(())
}

/// A tree on one line: `a/ a/b=f1:644@0 c->t1`.
pub fn show(tree: &Tree) -> String {
    let one = |(p, n): (&RelPath, &Node)| {
        let m = &n.meta;
        let text = match m.kind {
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
        format!("{text}#{}.{}", n.ino, n.ver)
    };
    let items: Vec<String> = tree.iter().map(one).collect();
    format!("{{{}}}", items.join(" "))
}
