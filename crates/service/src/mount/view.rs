//! The view's state and what is at a path: a cache copy (served from the cache
//! folder) or a ghost (from the state database), with the attributes and the time
//! the kernel may keep them. Entries in a folder whose cache copy is watched by
//! inotify are kept long ([`WATCHED_TTL`]: [`super::watch`] invalidates them when the
//! cache folder changes); ghosts and the rest briefly ([`SHORT_TTL`]).

use super::inodes::{Inodes, Key, ROOT};
use super::passthrough::Backings;
use super::reply::Entry;
use super::watch::Watcher;
use crate::mount_status::Io;
use anyhow::Result;
use fuser::{Errno, FileAttr, FileType, INodeNo};
use offline_core::{is_temp_name, Kind, Meta, RelPath, CACHE_DIR_NAME};
use offline_engine::Cache;
use offline_store::Store;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the kernel keeps entries and attributes of cache copies in a watched
/// folder (changes there are invalidated as they happen).
pub const WATCHED_TTL: Duration = Duration::from_secs(60);
/// How long it keeps ghosts and anything not watched (a sync changes ghosts in the
/// state database only).
pub const SHORT_TTL: Duration = Duration::from_secs(1);

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A node of the view.
pub enum Node {
    Local(fs::Metadata),
    Ghost(Meta),
}

impl Node {
    pub fn is_dir(&self) -> bool {
        match self {
            Node::Local(m) => m.is_dir(),
            Node::Ghost(m) => m.is_dir(),
        }
    }

    pub fn key(&self) -> Key {
        match self {
            Node::Local(m) => Key::Local {
                dev: m.dev(),
                ino: m.ino(),
            },
            Node::Ghost(_) => Key::Ghost,
        }
    }
}

/// An open file.
pub struct Handle {
    pub ino: u64,
    pub file: Arc<File>,
    /// Keeps the passthrough registration alive while the file is open.
    pub _backing: Option<Arc<fuser::BackingId>>,
}

/// The file system.
pub struct OfflineFs {
    pub(super) root: PathBuf,
    pub(super) meta_dir: PathBuf,
    pub(super) cache: Mutex<Cache>,
    pub(super) store: Mutex<Store>,
    pub(super) inodes: Arc<Mutex<Inodes>>,
    pub(super) files: Mutex<HashMap<u64, Handle>>,
    pub(super) dirs: Mutex<HashMap<u64, Arc<super::dirs::OpenDir>>>,
    /// Folders whose listing the kernel may keep (dropped when the state database
    /// changes: ghosts are not seen by inotify).
    pub(super) listed: Arc<Mutex<HashSet<u64>>>,
    pub(super) backings: Mutex<Backings>,
    pub(super) watcher: Arc<Watcher>,
    /// How file content is served (`None` until the kernel connects).
    pub(super) io: Arc<Mutex<Option<Io>>>,
    /// Passthrough was not turned off by the person.
    pub(super) want_passthrough: bool,
    next_fh: AtomicU64,
    uid: u32,
    gid: u32,
}

pub fn kind_of(ft: fs::FileType) -> FileType {
    FileType::from_std(ft).unwrap_or(FileType::RegularFile)
}

pub fn ghost_kind(kind: Kind) -> FileType {
    match kind {
        Kind::File => FileType::RegularFile,
        Kind::Dir => FileType::Directory,
        Kind::Symlink => FileType::Symlink,
    }
}

pub fn time_of(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

pub fn io_errno(e: &io::Error) -> Errno {
    Errno::from_i32(e.raw_os_error().unwrap_or(libc::EIO))
}

impl OfflineFs {
    /// The view of the cache at `cache_dir`.
    pub fn new(
        cache_dir: &Path,
        want_passthrough: bool,
        io: Arc<Mutex<Option<Io>>>,
    ) -> Result<OfflineFs> {
        let cache = Cache::open(cache_dir)?;
        let root = cache.root().to_path_buf();
        let meta_dir = cache.meta_dir();
        let store = Store::open(cache.store().path())?;
        let meta = fs::metadata(&root)?;
        let watcher = Arc::new(Watcher::new()?);
        let mut inodes = Inodes::new();
        if let Some(wd) = watcher.watch(ROOT, &root) {
            inodes.set_watch(ROOT, wd);
        }
        Ok(OfflineFs {
            root,
            meta_dir,
            cache: Mutex::new(cache),
            store: Mutex::new(store),
            inodes: Arc::new(Mutex::new(inodes)),
            files: Mutex::new(HashMap::new()),
            dirs: Mutex::new(HashMap::new()),
            listed: Arc::new(Mutex::new(HashSet::new())),
            backings: Mutex::new(Backings::default()),
            watcher,
            io,
            want_passthrough,
            next_fh: AtomicU64::new(1),
            uid: meta.uid(),
            gid: meta.gid(),
        })
    }

    pub fn full(&self, path: &RelPath) -> PathBuf {
        self.root.join(path.as_os_str())
    }

    pub fn path_of(&self, ino: INodeNo) -> Result<RelPath, Errno> {
        lock(&self.inodes).path(ino.0).cloned().ok_or(Errno::ENOENT)
    }

    pub fn child(&self, parent: INodeNo, name: &std::ffi::OsStr) -> Result<RelPath, Errno> {
        use std::os::unix::ffi::OsStrExt;
        let dir = self.path_of(parent)?;
        dir.join(name.as_bytes()).map_err(|_| Errno::EINVAL)
    }

    /// The cache's own folder and the sync's temp files are not shown.
    pub fn hidden(path: &RelPath) -> bool {
        (path.depth() == 1 && path.first_component() == CACHE_DIR_NAME)
            || is_temp_name(path.file_name())
    }

    /// What is at `path` in the view.
    pub fn node(&self, path: &RelPath) -> Option<Node> {
        if Self::hidden(path) {
            return None;
        }
        if let Ok(m) = fs::symlink_metadata(self.full(path)) {
            return Some(Node::Local(m));
        }
        let meta = self.ghost(path)?;
        // A ghost shows only inside a folder that shows.
        match path.parent() {
            Some(parent) if !parent.is_root() => match self.node(&parent) {
                Some(n) if n.is_dir() => {}
                _ => return None,
            },
            _ => {}
        }
        Some(Node::Ghost(meta))
    }

    pub fn attr(&self, ino: u64, node: &Node) -> FileAttr {
        match node {
            Node::Local(m) => FileAttr {
                ino: INodeNo(ino),
                size: m.len(),
                blocks: m.blocks(),
                atime: m.accessed().unwrap_or(UNIX_EPOCH),
                mtime: m.modified().unwrap_or(UNIX_EPOCH),
                ctime: time_of(m.ctime() * 1_000_000_000 + m.ctime_nsec()),
                crtime: UNIX_EPOCH,
                kind: kind_of(m.file_type()),
                perm: (m.mode() & 0o7777) as u16,
                nlink: m.nlink() as u32,
                uid: m.uid(),
                gid: m.gid(),
                rdev: m.rdev() as u32,
                blksize: m.blksize() as u32,
                flags: 0,
            },
            Node::Ghost(meta) => {
                let t = time_of(meta.mtime_ns);
                FileAttr {
                    ino: INodeNo(ino),
                    size: meta.size,
                    // No content here: a ghost takes no space.
                    blocks: 0,
                    atime: t,
                    mtime: t,
                    ctime: t,
                    crtime: UNIX_EPOCH,
                    kind: ghost_kind(meta.kind),
                    perm: if meta.kind == Kind::Symlink {
                        0o777
                    } else {
                        (meta.mode & 0o7777) as u16
                    },
                    nlink: if meta.kind == Kind::Dir { 2 } else { 1 },
                    uid: self.uid,
                    gid: self.gid,
                    rdev: 0,
                    blksize: 4096,
                    flags: 0,
                }
            }
        }
    }

    /// How long the kernel may keep what it learns of `node` inside folder `parent`.
    pub fn ttl(&self, parent: Option<u64>, node: &Node) -> Duration {
        match (node, parent) {
            (Node::Local(_), Some(dir)) if lock(&self.inodes).watch(dir).is_some() => WATCHED_TTL,
            _ => SHORT_TTL,
        }
    }

    /// The number of `path` (one lookup counted), watching it if it is a cache folder.
    pub fn remember(&self, path: &RelPath, node: &Node) -> u64 {
        let ino = lock(&self.inodes).lookup(path, node.key());
        if matches!(node, Node::Local(m) if m.is_dir()) {
            self.watch_dir(ino, path);
        }
        ino
    }

    /// Watches the cache folder of `ino` unless it is already.
    pub fn watch_dir(&self, ino: u64, path: &RelPath) {
        if lock(&self.inodes).watch(ino).is_some() {
            return;
        }
        if let Some(wd) = self.watcher.watch(ino, &self.full(path)) {
            lock(&self.inodes).set_watch(ino, wd);
        }
    }

    /// An entry reply for `path` in folder `parent` (one lookup counted).
    pub fn entry_of(&self, parent: Option<u64>, path: &RelPath) -> Result<Entry, Errno> {
        let node = self.node(path).ok_or(Errno::ENOENT)?;
        let ino = self.remember(path, &node);
        Ok(Entry {
            attr: self.attr(ino, &node),
            ttl: self.ttl(parent, &node),
        })
    }

    /// The folder number of `path`'s parent, if the kernel holds it.
    pub fn parent_ino(&self, path: &RelPath) -> Option<u64> {
        let parent = path.parent()?;
        lock(&self.inodes).ino_of(&parent)
    }

    pub fn new_fh(&self) -> u64 {
        self.next_fh.fetch_add(1, Ordering::SeqCst)
    }

    /// Lets go of the kernel's lookups of `ino`; unwatches a forgotten folder.
    pub fn forget(&self, ino: u64, count: u64) {
        let gone = lock(&self.inodes).forget(ino, count);
        if let Some(wd) = gone.watch {
            self.watcher.unwatch(wd, ino);
        }
    }
}

/// Sets access and modification times (`None`: leave as is), not following links.
pub fn set_times(path: &Path, atime: Option<SystemTime>, mtime: Option<SystemTime>) -> bool {
    use rustix::fs::{AtFlags, Timespec, Timestamps, CWD, UTIME_OMIT};
    let spec = |t: Option<SystemTime>| match t {
        Some(t) => {
            let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
            Timespec {
                tv_sec: d.as_secs() as i64,
                tv_nsec: d.subsec_nanos() as _,
            }
        }
        None => Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        },
    };
    let times = Timestamps {
        last_access: spec(atime),
        last_modification: spec(mtime),
    };
    rustix::fs::utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(p: &str) -> RelPath {
        RelPath::from_str_lossy(p).unwrap()
    }

    #[test]
    fn own_files_are_hidden() {
        assert!(OfflineFs::hidden(&rel(".offline")));
        assert!(!OfflineFs::hidden(&rel("x/.offline")));
        assert!(OfflineFs::hidden(&rel(
            "x/.offline-tmp-0123456789abcdef-0123456789abcdef"
        )));
        assert!(!OfflineFs::hidden(&rel("x/.offline-tmp-1")));
        assert!(!OfflineFs::hidden(&rel("x/y")));
    }
}
