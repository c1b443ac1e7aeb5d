//! The view's inode numbers: which path and which cache file each number the kernel
//! holds stands for, how many lookups the kernel holds on it, and which inotify
//! watch covers it (folders). A number is tied to the identity of its cache copy
//! (device and inode), so a file replaced under the view (a sync renames the new
//! version over the old) gets a new number, as on a local file system; a ghost is
//! tied to its path. Numbers are never reused while the mount lives, and a number
//! is dropped once the kernel forgets it, so the table follows what the kernel
//! caches, not the size of the share.

use offline_core::RelPath;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

/// The root's number (FUSE's).
pub const ROOT: u64 = 1;

/// What a number stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// A cache copy: its device and inode number in the cache folder.
    Local { dev: u64, ino: u64 },
    /// A ghost (no cache copy): known by its path only.
    Ghost,
}

/// One number the kernel holds.
#[derive(Debug)]
struct Node {
    path: RelPath,
    key: Key,
    /// Lookups the kernel holds (each entry reply adds one, `forget` takes them).
    lookups: u64,
    /// The path no longer leads here (removed, replaced, or moved away).
    detached: bool,
    /// The inotify watch on this folder's cache copy.
    watch: Option<i32>,
}

/// What `forget` leaves to clean up.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Forgotten {
    /// The inotify watch of a forgotten folder, to remove.
    pub watch: Option<i32>,
}

/// The table.
#[derive(Debug)]
pub struct Inodes {
    nodes: HashMap<u64, Node>,
    by_path: BTreeMap<RelPath, u64>,
    by_key: HashMap<Key, u64>,
    next: u64,
}

impl Default for Inodes {
    fn default() -> Self {
        Self::new()
    }
}

impl Inodes {
    /// A table holding the root only.
    pub fn new() -> Inodes {
        let mut inodes = Inodes {
            nodes: HashMap::new(),
            by_path: BTreeMap::new(),
            by_key: HashMap::new(),
            next: ROOT + 1,
        };
        inodes.nodes.insert(
            ROOT,
            Node {
                path: RelPath::root(),
                key: Key::Ghost,
                lookups: 1,
                detached: false,
                watch: None,
            },
        );
        inodes.by_path.insert(RelPath::root(), ROOT);
        inodes
    }

    /// How many numbers the kernel holds (the root included).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The path of `ino`, unless the path leads elsewhere now.
    pub fn path(&self, ino: u64) -> Option<&RelPath> {
        self.nodes
            .get(&ino)
            .filter(|n| !n.detached)
            .map(|n| &n.path)
    }

    /// What `ino` stands for.
    pub fn key(&self, ino: u64) -> Option<Key> {
        self.nodes.get(&ino).map(|n| n.key)
    }

    /// The number the path leads to now, if the kernel holds one.
    pub fn ino_of(&self, path: &RelPath) -> Option<u64> {
        self.by_path.get(path).copied()
    }

    /// The watch on `ino`'s folder, if it has one.
    pub fn watch(&self, ino: u64) -> Option<i32> {
        self.nodes.get(&ino).and_then(|n| n.watch)
    }

    /// Records the watch set on `ino`'s folder.
    pub fn set_watch(&mut self, ino: u64, wd: i32) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.watch = Some(wd);
        }
    }

    /// Forgets a watch the kernel dropped (its folder went away).
    pub fn clear_watch(&mut self, ino: u64) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.watch = None;
        }
    }

    /// The number for `path` holding `key`, without counting a lookup: the one the
    /// kernel holds if it stands for the same thing, else a new one (a cache copy
    /// that moved keeps its number; one replaced by another file gets a new one).
    pub fn number(&mut self, path: &RelPath, key: Key) -> u64 {
        if let Some(&ino) = self.by_path.get(path) {
            let node = self.nodes.get_mut(&ino).expect("by_path points at a node");
            let same = match (node.key, key) {
                (a, b) if a == b => true,
                // A ghost got its content, a cache copy became a ghost (evicted):
                // the same item.
                (Key::Ghost, Key::Local { .. }) | (Key::Local { .. }, Key::Ghost) => true,
                _ => ino == ROOT,
            };
            if same {
                if node.key != key {
                    if self.by_key.get(&node.key) == Some(&ino) {
                        self.by_key.remove(&node.key);
                    }
                    node.key = key;
                    if key != Key::Ghost {
                        self.by_key.insert(key, ino);
                    }
                }
                return ino;
            }
            // Replaced by another file: the old number stays with the old file.
            self.detach(path);
        }
        if key != Key::Ghost {
            if let Some(&ino) = self.by_key.get(&key) {
                // The same cache copy under a new path: it moved outside the view.
                let old = self.nodes[&ino].path.clone();
                self.move_subtree(&old, path);
                return ino;
            }
        }
        let ino = self.next;
        self.next += 1;
        self.nodes.insert(
            ino,
            Node {
                path: path.clone(),
                key,
                lookups: 0,
                detached: false,
                watch: None,
            },
        );
        self.by_path.insert(path.clone(), ino);
        if key != Key::Ghost {
            self.by_key.insert(key, ino);
        }
        ino
    }

    /// `ino` now stands for the cache copy `key` (its name was opened and led
    /// there).
    pub fn rekey(&mut self, ino: u64, key: Key) {
        let Some(node) = self.nodes.get_mut(&ino) else {
            return;
        };
        if node.key == key {
            return;
        }
        let old = std::mem::replace(&mut node.key, key);
        if self.by_key.get(&old) == Some(&ino) {
            self.by_key.remove(&old);
        }
        if key != Key::Ghost {
            self.by_key.insert(key, ino);
        }
    }

    /// Counts one lookup the kernel now holds on `ino`.
    pub fn looked_up(&mut self, ino: u64) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.lookups += 1;
        }
    }

    /// The number for `path` with one lookup counted (an entry reply).
    pub fn lookup(&mut self, path: &RelPath, key: Key) -> u64 {
        let ino = self.number(path, key);
        self.looked_up(ino);
        ino
    }

    /// Drops `ino` if no lookup holds it (an entry that was not sent after all).
    pub fn drop_unused(&mut self, ino: u64) -> Forgotten {
        match self.nodes.get(&ino) {
            Some(n) if n.lookups == 0 && ino != ROOT => self.remove(ino),
            _ => Forgotten::default(),
        }
    }

    /// The kernel forgets `count` lookups of `ino`; at none the number is dropped.
    pub fn forget(&mut self, ino: u64, count: u64) -> Forgotten {
        let Some(n) = self.nodes.get_mut(&ino) else {
            return Forgotten::default();
        };
        n.lookups = n.lookups.saturating_sub(count);
        if n.lookups > 0 || ino == ROOT {
            return Forgotten::default();
        }
        self.remove(ino)
    }

    fn remove(&mut self, ino: u64) -> Forgotten {
        let Some(node) = self.nodes.remove(&ino) else {
            return Forgotten::default();
        };
        if self.by_path.get(&node.path) == Some(&ino) {
            self.by_path.remove(&node.path);
        }
        if self.by_key.get(&node.key) == Some(&ino) {
            self.by_key.remove(&node.key);
        }
        Forgotten { watch: node.watch }
    }

    /// The item at `path` is gone (removed, or replaced): its number, and those of
    /// everything below it, no longer answer to the path.
    pub fn detach(&mut self, path: &RelPath) {
        for ino in self.subtree(path) {
            let Some(node) = self.nodes.get_mut(&ino) else {
                continue;
            };
            node.detached = true;
            let (p, k) = (node.path.clone(), node.key);
            if self.by_path.get(&p) == Some(&ino) {
                self.by_path.remove(&p);
            }
            if self.by_key.get(&k) == Some(&ino) {
                self.by_key.remove(&k);
            }
        }
    }

    /// `from` (and everything below it) is now at `to`; what was at `to` is gone.
    pub fn rename(&mut self, from: &RelPath, to: &RelPath) {
        if from == to {
            return;
        }
        self.detach(to);
        self.move_subtree(from, to);
    }

    /// Swaps the items at `a` and `b` (`RENAME_EXCHANGE`).
    pub fn exchange(&mut self, a: &RelPath, b: &RelPath) {
        let under_a = self.subtree(a);
        let under_b = self.subtree(b);
        for ino in under_a.iter().chain(&under_b) {
            if let Some(n) = self.nodes.get(ino) {
                if self.by_path.get(&n.path) == Some(ino) {
                    self.by_path.remove(&n.path);
                }
            }
        }
        self.reroot(&under_a, a, b);
        self.reroot(&under_b, b, a);
    }

    fn move_subtree(&mut self, from: &RelPath, to: &RelPath) {
        let moved = self.subtree(from);
        for ino in &moved {
            if let Some(n) = self.nodes.get(ino) {
                if self.by_path.get(&n.path) == Some(ino) {
                    self.by_path.remove(&n.path);
                }
            }
        }
        self.reroot(&moved, from, to);
    }

    /// Gives the nodes `inos` (all below `from`) their paths below `to`.
    fn reroot(&mut self, inos: &[u64], from: &RelPath, to: &RelPath) {
        for ino in inos {
            let Some(node) = self.nodes.get_mut(ino) else {
                continue;
            };
            let mut bytes = to.as_bytes().to_vec();
            bytes.extend_from_slice(&node.path.as_bytes()[from.as_bytes().len()..]);
            match RelPath::new(bytes) {
                Ok(new) => {
                    node.path = new.clone();
                    node.detached = false;
                    self.by_path.insert(new, *ino);
                }
                Err(_) => node.detached = true,
            }
        }
    }

    /// The numbers at `path` and below it.
    fn subtree(&self, path: &RelPath) -> Vec<u64> {
        let mut out: Vec<u64> = self.by_path.get(path).copied().into_iter().collect();
        if path.is_root() {
            return self.by_path.values().copied().collect();
        }
        let mut prefix = path.as_bytes().to_vec();
        prefix.push(b'/');
        for (p, ino) in self
            .by_path
            .range((Bound::Excluded(path.clone()), Bound::Unbounded))
        {
            if !p.as_bytes().starts_with(&prefix) {
                break;
            }
            out.push(*ino);
        }
        out
    }

    /// Every folder watch with its number (to invalidate everything after lost
    /// events) and every number with its path.
    pub fn all(&self) -> Vec<(u64, RelPath)> {
        self.nodes
            .iter()
            .filter(|(_, n)| !n.detached)
            .map(|(i, n)| (*i, n.path.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(p: &str) -> RelPath {
        RelPath::from_str_lossy(p).unwrap()
    }

    fn local(ino: u64) -> Key {
        Key::Local { dev: 1, ino }
    }

    #[test]
    fn numbers_follow_renames() {
        let mut inodes = Inodes::new();
        let a = inodes.lookup(&rel("a"), local(10));
        let ab = inodes.lookup(&rel("a/b"), local(11));
        let other = inodes.lookup(&rel("ab"), local(12));
        inodes.rename(&rel("a"), &rel("z"));
        assert_eq!(inodes.ino_of(&rel("z")), Some(a));
        assert_eq!(inodes.ino_of(&rel("z/b")), Some(ab));
        assert_eq!(inodes.ino_of(&rel("ab")), Some(other));
        assert_eq!(inodes.ino_of(&rel("a")), None);
        assert_eq!(inodes.path(ab), Some(&rel("z/b")));
    }

    #[test]
    fn a_replaced_file_gets_a_new_number_and_the_old_one_is_detached() {
        let mut inodes = Inodes::new();
        let old = inodes.lookup(&rel("f"), local(10));
        let new = inodes.lookup(&rel("f"), local(20));
        assert_ne!(old, new);
        assert_eq!(inodes.path(old), None, "the old number no longer answers");
        assert_eq!(inodes.path(new), Some(&rel("f")));
        // The kernel forgets the old one: dropped, the new one stays.
        inodes.forget(old, 1);
        assert_eq!(inodes.key(old), None);
        assert_eq!(inodes.ino_of(&rel("f")), Some(new));
    }

    #[test]
    fn a_ghost_keeps_its_number_when_it_gets_content_and_a_moved_file_too() {
        let mut inodes = Inodes::new();
        let g = inodes.lookup(&rel("g"), Key::Ghost);
        assert_eq!(inodes.lookup(&rel("g"), local(5)), g);
        assert_eq!(inodes.key(g), Some(local(5)));
        // Moved outside the view: found by its identity under the new name.
        assert_eq!(inodes.lookup(&rel("h"), local(5)), g);
        assert_eq!(inodes.path(g), Some(&rel("h")));
        assert_eq!(inodes.ino_of(&rel("g")), None);
    }

    #[test]
    fn forgotten_numbers_are_dropped_with_their_watch() {
        let mut inodes = Inodes::new();
        let d = inodes.lookup(&rel("d"), local(7));
        inodes.looked_up(d);
        inodes.set_watch(d, 3);
        assert_eq!(inodes.forget(d, 1), Forgotten::default());
        assert_eq!(inodes.forget(d, 1), Forgotten { watch: Some(3) });
        assert_eq!(inodes.len(), 1);
        assert_eq!(inodes.forget(ROOT, 5), Forgotten::default());
        assert_eq!(inodes.path(ROOT), Some(&RelPath::root()));
    }

    #[test]
    fn exchange_swaps_subtrees() {
        let mut inodes = Inodes::new();
        let a = inodes.lookup(&rel("a"), local(1));
        let ax = inodes.lookup(&rel("a/x"), local(2));
        let b = inodes.lookup(&rel("b"), local(3));
        inodes.exchange(&rel("a"), &rel("b"));
        assert_eq!(inodes.ino_of(&rel("b")), Some(a));
        assert_eq!(inodes.ino_of(&rel("b/x")), Some(ax));
        assert_eq!(inodes.ino_of(&rel("a")), Some(b));
    }
}
