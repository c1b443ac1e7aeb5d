//! An in-memory share: the `Remote` trait over a map of paths, for tests of
//! prepare, execute and recovery that need no server and no process. It keeps the
//! trait's promises that the engine relies on: every change checks its `Expect`
//! against the item's identity (which changes with every change), a folder is
//! removed only when empty, a rename never replaces anything, content is checked
//! against the expected hash. Tests change it behind the engine's back (`edit`),
//! make chosen writes fail once (`fail_next_write`), and take it away
//! (`set_reachable`).

use offline_core::{Expect, Hash, Kind, Meta, RelPath};
use offline_remote::{
    hash_reader, Capabilities, CheckExpect, Entry, ErrorKind, Remote, RemoteError, Result, Stat,
    Written,
};
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// One item of the share.
#[derive(Debug, Clone)]
struct Node {
    meta: Meta,
    content: Vec<u8>,
    /// Changes with every change of the item.
    generation: u64,
}

/// A share held in memory.
pub struct MemShare {
    nodes: Mutex<BTreeMap<RelPath, Node>>,
    next: AtomicU64,
    reachable: AtomicBool,
    /// Paths whose next write fails (once each).
    fail_writes: Mutex<HashSet<RelPath>>,
    /// Writes done (file contents written).
    pub writes: AtomicU64,
    /// The share goes away once this many writes are done (0: never).
    vanish_after: AtomicU64,
}

impl Default for MemShare {
    fn default() -> Self {
        MemShare::new()
    }
}

fn unreachable(path: &RelPath) -> RemoteError {
    RemoteError::new(ErrorKind::Unreachable, path, "the share went away")
}

fn changed(path: &RelPath, message: &str) -> RemoteError {
    RemoteError::new(ErrorKind::Changed, path, message)
}

impl MemShare {
    /// An empty share (its root only).
    pub fn new() -> MemShare {
        MemShare {
            nodes: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(1),
            reachable: AtomicBool::new(true),
            fail_writes: Mutex::new(HashSet::new()),
            writes: AtomicU64::new(0),
            vanish_after: AtomicU64::new(0),
        }
    }

    /// The share goes away (unreachable) once `writes` more files are written.
    pub fn vanish_after(&self, writes: u64) {
        let done = self.writes.load(Ordering::SeqCst);
        self.vanish_after.store(done + writes, Ordering::SeqCst);
    }

    fn generation(&self) -> u64 {
        self.next.fetch_add(1, Ordering::SeqCst)
    }

    /// Names the version, not the path: a rename keeps it (as an ETag a WebDAV
    /// MOVE keeps), so renames on this share are found by content hash.
    fn identity(_path: &RelPath, node: &Node) -> String {
        format!("mem:{}", node.generation)
    }

    /// Puts a file there (and its folders), behind the engine's back.
    pub fn put_file(&self, path: &str, content: &[u8]) {
        let path = super::p(path);
        let mut at = path.parent();
        let mut folders = Vec::new();
        while let Some(dir) = at.filter(|d| !d.is_root()) {
            at = dir.parent();
            folders.push(dir);
        }
        let mut nodes = self.nodes.lock().expect("lock");
        for dir in folders.into_iter().rev() {
            nodes.entry(dir).or_insert_with(|| Node {
                meta: Meta::dir(1_000, 0o755),
                content: Vec::new(),
                generation: self.generation(),
            });
        }
        let hash = *blake3::hash(content).as_bytes();
        let node = Node {
            meta: Meta::file(content.len() as u64, 2_000, 0o644, hash),
            content: content.to_vec(),
            generation: self.generation(),
        };
        nodes.insert(path, node);
    }

    /// Renames an item (a folder with everything in it) to `to`, making the folders
    /// above `to`, behind the engine's back; nothing happens when `from` is missing
    /// or `to` exists.
    pub fn move_item(&self, from: &str, to: &str) {
        let (from, to) = (super::p(from), super::p(to));
        {
            let mut nodes = self.nodes.lock().expect("lock");
            if !nodes.contains_key(&from) || nodes.contains_key(&to) || from.is_ancestor_of(&to) {
                return;
            }
            let mut at = to.parent();
            while let Some(dir) = at.filter(|d| !d.is_root()) {
                at = dir.parent();
                nodes.entry(dir).or_insert_with(|| Node {
                    meta: Meta::dir(1_000, 0o755),
                    content: Vec::new(),
                    generation: self.generation(),
                });
            }
        }
        let _ = self.rename(&from, &to);
    }

    /// Removes an item, behind the engine's back.
    pub fn delete(&self, path: &str) {
        self.nodes.lock().expect("lock").remove(&super::p(path));
    }

    /// The content of a file, if there is one.
    pub fn content(&self, path: &str) -> Option<Vec<u8>> {
        let nodes = self.nodes.lock().expect("lock");
        nodes
            .get(&super::p(path))
            .filter(|n| n.meta.kind == Kind::File)
            .map(|n| n.content.clone())
    }

    /// Every file, by path, with its content.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        let nodes = self.nodes.lock().expect("lock");
        nodes
            .iter()
            .filter(|(_, n)| n.meta.kind == Kind::File)
            .map(|(p, n)| (p.to_string(), n.content.clone()))
            .collect()
    }

    /// True when something (a file or folder) is at `path`.
    pub fn exists(&self, path: &str) -> bool {
        let path = super::p(path);
        path.is_root() || self.nodes.lock().expect("lock").contains_key(&path)
    }

    /// The identity the share gives `path` now.
    pub fn identity_of(&self, path: &str) -> Option<String> {
        let path = super::p(path);
        let nodes = self.nodes.lock().expect("lock");
        nodes.get(&path).map(|n| MemShare::identity(&path, n))
    }

    /// The next write of `path` fails (once).
    pub fn fail_next_write(&self, path: &str) {
        self.fail_writes
            .lock()
            .expect("lock")
            .insert(super::p(path));
    }

    /// Takes the share away (every call fails as unreachable) or brings it back.
    pub fn set_reachable(&self, reachable: bool) {
        self.reachable.store(reachable, Ordering::SeqCst);
    }

    fn check_reachable(&self, path: &RelPath) -> Result<()> {
        if self.reachable.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(unreachable(path))
        }
    }

    fn stat_of(path: &RelPath, node: &Node) -> Stat {
        let mut meta = node.meta.clone();
        meta.hash = None;
        Stat {
            meta,
            identity: MemShare::identity(path, node),
        }
    }

    /// Checks `expect` against `path` and that its parent is a folder.
    fn check(
        &self,
        nodes: &BTreeMap<RelPath, Node>,
        path: &RelPath,
        expect: &Expect,
    ) -> Result<()> {
        if let Some(parent) = path.parent().filter(|d| !d.is_root()) {
            if !nodes.get(&parent).is_some_and(|n| n.meta.is_dir()) {
                return Err(RemoteError::new(
                    ErrorKind::NotFound,
                    path,
                    "its folder is not there",
                ));
            }
        }
        let current = nodes.get(path).map(|n| MemShare::identity(path, n));
        expect.verify(path, current.as_deref())
    }

    /// Puts `node` at `path` after the checks, and returns its stat.
    fn place(&self, path: &RelPath, mut node: Node, expect: &Expect) -> Result<Stat> {
        self.check_reachable(path)?;
        let mut nodes = self.nodes.lock().expect("lock");
        self.check(&nodes, path, expect)?;
        node.generation = self.generation();
        let stat = MemShare::stat_of(path, &node);
        nodes.insert(path.clone(), node);
        Ok(stat)
    }
}

impl Remote for MemShare {
    fn describe(&self) -> String {
        "an in-memory share".to_string()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            rename: true,
            empty_dirs: true,
            symlinks: true,
            modes: true,
        }
    }

    fn stat(&self, path: &RelPath) -> Result<Option<Stat>> {
        self.check_reachable(path)?;
        if path.is_root() {
            return Ok(Some(Stat {
                meta: Meta::dir(0, 0o755),
                identity: "mem:root".to_string(),
            }));
        }
        let nodes = self.nodes.lock().expect("lock");
        Ok(nodes.get(path).map(|n| MemShare::stat_of(path, n)))
    }

    fn list(&self, dir: &RelPath) -> Result<Vec<Entry>> {
        self.check_reachable(dir)?;
        let nodes = self.nodes.lock().expect("lock");
        Ok(nodes
            .iter()
            .filter(|(path, _)| path.parent().as_ref() == Some(dir))
            .map(|(path, node)| Entry {
                name: path.file_name().to_vec(),
                stat: MemShare::stat_of(path, node),
            })
            .collect())
    }

    fn open_read(&self, path: &RelPath) -> Result<Box<dyn Read + Send>> {
        self.check_reachable(path)?;
        let nodes = self.nodes.lock().expect("lock");
        match nodes.get(path) {
            Some(node) if node.meta.kind == Kind::File => {
                Ok(Box::new(std::io::Cursor::new(node.content.clone())))
            }
            Some(_) => Err(RemoteError::new(
                ErrorKind::IsADirectory,
                path,
                "not a file",
            )),
            None => Err(RemoteError::new(ErrorKind::NotFound, path, "it is gone")),
        }
    }

    fn write_file(
        &self,
        path: &RelPath,
        content: &mut dyn Read,
        mode: u32,
        mtime_ns: i64,
        expected_hash: Option<Hash>,
        expect: &Expect,
    ) -> Result<Written> {
        self.check_reachable(path)?;
        if self.fail_writes.lock().expect("lock").remove(path) {
            return Err(RemoteError::new(
                ErrorKind::Io,
                path,
                "a write fault (test)",
            ));
        }
        let mut bytes = Vec::new();
        content
            .read_to_end(&mut bytes)
            .map_err(|e| RemoteError::io(path, e))?;
        let (hash, _) = hash_reader(&mut bytes.as_slice()).map_err(|e| RemoteError::io(path, e))?;
        if expected_hash.is_some_and(|h| h != hash) {
            return Err(changed(path, "the source changed while it was copied"));
        }
        let node = Node {
            meta: Meta::file(bytes.len() as u64, mtime_ns, mode, hash),
            content: bytes,
            generation: 0,
        };
        let stat = self.place(path, node, expect)?;
        let done = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if self.vanish_after.load(Ordering::SeqCst) == done {
            self.set_reachable(false);
        }
        Ok(Written { stat, hash })
    }

    fn make_dir(
        &self,
        path: &RelPath,
        mode: u32,
        mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        let node = Node {
            meta: Meta::dir(mtime_ns.unwrap_or(0), mode),
            content: Vec::new(),
            generation: 0,
        };
        self.place(path, node, expect)
    }

    fn make_symlink(
        &self,
        path: &RelPath,
        target: &[u8],
        mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        let node = Node {
            meta: Meta::symlink(target.to_vec(), mtime_ns.unwrap_or(0)),
            content: Vec::new(),
            generation: 0,
        };
        self.place(path, node, expect)
    }

    fn remove(&self, path: &RelPath, expect: &Expect) -> Result<()> {
        self.check_reachable(path)?;
        let mut nodes = self.nodes.lock().expect("lock");
        if !nodes.contains_key(path) {
            return Err(RemoteError::new(ErrorKind::NotFound, path, "it is gone"));
        }
        self.check(&nodes, path, expect)?;
        if nodes.keys().any(|p| path.is_ancestor_of(p)) {
            return Err(RemoteError::new(ErrorKind::NotEmpty, path, "not empty"));
        }
        nodes.remove(path);
        Ok(())
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        self.check_reachable(from)?;
        let mut nodes = self.nodes.lock().expect("lock");
        if nodes.contains_key(to) {
            return Err(RemoteError::new(ErrorKind::AlreadyExists, to, "it exists"));
        }
        let moved: Vec<RelPath> = nodes
            .keys()
            .filter(|p| *p == from || from.is_ancestor_of(p))
            .cloned()
            .collect();
        if moved.is_empty() {
            return Err(RemoteError::new(ErrorKind::NotFound, from, "it is gone"));
        }
        for old in moved {
            let rest = &old.as_bytes()[from.as_bytes().len()..];
            let mut new = to.as_bytes().to_vec();
            new.extend_from_slice(rest);
            let new = RelPath::new(new)
                .map_err(|e| RemoteError::new(ErrorKind::NameNotAllowed, to, e.to_string()))?;
            if let Some(node) = nodes.remove(&old) {
                nodes.insert(new, node);
            }
        }
        Ok(())
    }

    fn set_attrs(
        &self,
        path: &RelPath,
        mode: Option<u32>,
        mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        self.check_reachable(path)?;
        let mut nodes = self.nodes.lock().expect("lock");
        self.check(&nodes, path, expect)?;
        let generation = self.generation();
        let node = nodes
            .get_mut(path)
            .ok_or_else(|| RemoteError::new(ErrorKind::NotFound, path, "it is gone"))?;
        if let Some(mode) = mode.filter(|_| node.meta.kind != Kind::Symlink) {
            node.meta.mode = mode;
        }
        if let Some(mtime) = mtime_ns {
            node.meta.mtime_ns = mtime;
        }
        node.generation = generation;
        Ok(MemShare::stat_of(path, node))
    }

    fn remove_temp_files(&self) -> Result<usize> {
        // Every write here is whole: nothing is ever left under a temp name.
        self.check_reachable(&RelPath::root())?;
        Ok(0)
    }
}
