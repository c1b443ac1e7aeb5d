//! `offline mount CACHE MOUNTPOINT`: a FUSE view of the whole share namespace.
//!
//! Items with a cache copy are served from the cache folder (reads and writes go to
//! that copy, which is then dirty and pushed by the daemon). Ghosts (known by name
//! only) are listed from the state database with their synced metadata, and fetched
//! on open while the share is online (they become auto-cached). While the share is
//! offline, opening a ghost fails with `EHOSTDOWN` ("Host is down"); everything
//! cached keeps working. Removing a ghost, or replacing it (a rename over it, an
//! open with `O_TRUNC`), needs no content: the ghost is marked as deleted in the
//! cache, and the next sync carries that out on the share. The cache's own
//! `.offline/` folder and the sync's temp files are hidden.

use anyhow::{bail, Context, Result};
use fuser::{
    AccessFlags, Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation,
    INodeNo, KernelConfig, LockOwner, MountOption, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate,
    ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite,
    ReplyXattr, Request, TimeOrNow, WriteFlags,
};
use offline_core::{is_temp_name, ConnectState, Kind, Meta, RelPath, CACHE_DIR_NAME};
use offline_engine::{Cache, EngineError, NullSink};
use offline_store::{Original, Store};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long the kernel may keep names and attributes (the cache folder also changes
/// under the view, by syncs).
const TTL: Duration = Duration::from_secs(1);
/// How long an operation waits for a sync that holds the cache's lock.
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// The errno of a ghost opened while the share is offline.
pub const OFFLINE_ERRNO: i32 = libc::EHOSTDOWN;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Inode numbers by path, for as long as the mount lives.
struct Inodes {
    by_ino: HashMap<u64, RelPath>,
    by_path: HashMap<RelPath, u64>,
    next: u64,
}

impl Inodes {
    fn new() -> Inodes {
        let mut inodes = Inodes {
            by_ino: HashMap::new(),
            by_path: HashMap::new(),
            next: 2,
        };
        inodes.by_ino.insert(1, RelPath::root());
        inodes.by_path.insert(RelPath::root(), 1);
        inodes
    }

    fn ino(&mut self, path: &RelPath) -> u64 {
        if let Some(ino) = self.by_path.get(path) {
            return *ino;
        }
        let ino = self.next;
        self.next += 1;
        self.by_ino.insert(ino, path.clone());
        self.by_path.insert(path.clone(), ino);
        ino
    }

    fn forget_path(&mut self, path: &RelPath) {
        if let Some(ino) = self.by_path.remove(path) {
            self.by_ino.remove(&ino);
        }
    }

    /// `from` (and everything below it) is now at `to`.
    fn rename(&mut self, from: &RelPath, to: &RelPath) {
        let moved: Vec<(RelPath, u64)> = self
            .by_path
            .iter()
            .filter(|(p, _)| from.contains(p))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        let replaced: Vec<RelPath> = self
            .by_path
            .keys()
            .filter(|p| to.contains(p))
            .cloned()
            .collect();
        for p in replaced {
            self.forget_path(&p);
        }
        for (p, ino) in moved {
            self.by_path.remove(&p);
            let mut bytes = to.as_bytes().to_vec();
            bytes.extend_from_slice(&p.as_bytes()[from.as_bytes().len()..]);
            if let Ok(new) = RelPath::new(bytes) {
                self.by_ino.insert(ino, new.clone());
                self.by_path.insert(new, ino);
            }
        }
    }
}

/// The ghosts of the state database (originals without a cache copy), reloaded
/// when the database changes.
#[derive(Default)]
struct Ghosts {
    stamp: Option<(i64, u64, i64, u64)>,
    checked: Option<Instant>,
    meta: HashMap<RelPath, Meta>,
    children: HashMap<RelPath, Vec<RelPath>>,
}

/// One open directory: its entries, listed at opendir.
type DirList = Vec<(u64, FileType, Vec<u8>)>;

/// A node of the view.
enum Node {
    Local(fs::Metadata),
    Ghost(Meta),
}

/// The file system.
pub struct OfflineFs {
    root: PathBuf,
    db_path: PathBuf,
    cache: Mutex<Cache>,
    writer: Mutex<Store>,
    inodes: Mutex<Inodes>,
    ghosts: Mutex<Ghosts>,
    files: Mutex<HashMap<u64, Arc<File>>>,
    dirs: Mutex<HashMap<u64, Arc<DirList>>>,
    next_fh: AtomicU64,
    uid: u32,
    gid: u32,
}

fn kind_of(ft: fs::FileType) -> FileType {
    FileType::from_std(ft).unwrap_or(FileType::RegularFile)
}

fn ghost_kind(kind: Kind) -> FileType {
    match kind {
        Kind::File => FileType::RegularFile,
        Kind::Dir => FileType::Directory,
        Kind::Symlink => FileType::Symlink,
    }
}

fn time_of(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

fn io_errno(e: &io::Error) -> Errno {
    Errno::from_i32(e.raw_os_error().unwrap_or(libc::EIO))
}

fn stamp_of(path: &Path) -> (i64, u64) {
    fs::metadata(path)
        .map(|m| (m.mtime() * 1_000_000_000 + m.mtime_nsec(), m.len()))
        .unwrap_or((0, 0))
}

impl OfflineFs {
    /// The view of the cache at `cache_dir`.
    pub fn new(cache_dir: &Path) -> Result<OfflineFs> {
        let cache = Cache::open(cache_dir)?;
        let root = cache.root().to_path_buf();
        let db_path = cache.store().path().to_path_buf();
        let writer = Store::open(&db_path)?;
        let meta = fs::metadata(&root)?;
        Ok(OfflineFs {
            root,
            db_path,
            cache: Mutex::new(cache),
            writer: Mutex::new(writer),
            inodes: Mutex::new(Inodes::new()),
            ghosts: Mutex::new(Ghosts::default()),
            files: Mutex::new(HashMap::new()),
            dirs: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
            uid: meta.uid(),
            gid: meta.gid(),
        })
    }

    fn full(&self, path: &RelPath) -> PathBuf {
        self.root.join(path.as_os_str())
    }

    fn path_of(&self, ino: INodeNo) -> Result<RelPath, Errno> {
        lock(&self.inodes)
            .by_ino
            .get(&ino.0)
            .cloned()
            .ok_or(Errno::ENOENT)
    }

    fn child(&self, parent: INodeNo, name: &OsStr) -> Result<RelPath, Errno> {
        let dir = self.path_of(parent)?;
        dir.join(name.as_bytes()).map_err(|_| Errno::EINVAL)
    }

    fn hidden(path: &RelPath) -> bool {
        (path.depth() == 1 && path.first_component() == CACHE_DIR_NAME)
            || is_temp_name(path.file_name())
    }

    /// Reloads the ghosts when the state database changed (looked at most every
    /// 200 ms).
    fn refresh_ghosts(&self, ghosts: &mut Ghosts) {
        if ghosts
            .checked
            .is_some_and(|at| at.elapsed() < Duration::from_millis(200))
        {
            return;
        }
        ghosts.checked = Some(Instant::now());
        let (db_t, db_n) = stamp_of(&self.db_path);
        let mut wal = self.db_path.clone().into_os_string();
        wal.push("-wal");
        let (wal_t, wal_n) = stamp_of(Path::new(&wal));
        let stamp = (db_t, db_n, wal_t, wal_n);
        if ghosts.stamp == Some(stamp) {
            return;
        }
        let originals = match lock(&self.writer).originals() {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!("reading the state database: {e}");
                return;
            }
        };
        ghosts.meta.clear();
        ghosts.children.clear();
        for (path, original) in originals {
            if original.cached || path.is_root() {
                continue;
            }
            if let Some(parent) = path.parent() {
                ghosts
                    .children
                    .entry(parent)
                    .or_default()
                    .push(path.clone());
            }
            ghosts.meta.insert(path, original.meta);
        }
        ghosts.stamp = Some(stamp);
    }

    fn invalidate_ghosts(&self) {
        let mut g = lock(&self.ghosts);
        g.stamp = None;
        g.checked = None;
    }

    fn ghost(&self, path: &RelPath) -> Option<Meta> {
        let mut g = lock(&self.ghosts);
        self.refresh_ghosts(&mut g);
        g.meta.get(path).cloned()
    }

    /// What is at `path` in the view.
    fn node(&self, path: &RelPath) -> Option<Node> {
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
                Some(Node::Local(m)) if m.is_dir() => {}
                Some(Node::Ghost(m)) if m.is_dir() => {}
                _ => return None,
            },
            _ => {}
        }
        Some(Node::Ghost(meta))
    }

    fn attr(&self, ino: u64, node: &Node) -> FileAttr {
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

    fn entry_of(&self, path: &RelPath) -> Result<FileAttr, Errno> {
        let node = self.node(path).ok_or(Errno::ENOENT)?;
        let ino = lock(&self.inodes).ino(path);
        Ok(self.attr(ino, &node))
    }

    fn is_online(&self) -> bool {
        !matches!(
            lock(&self.cache).connect_state(),
            Ok((ConnectState::Offline, _))
        )
    }

    /// Brings a ghost's content into the cache (auto-cached). `EHOSTDOWN` while the
    /// share is offline.
    fn fetch(&self, path: &RelPath) -> Result<(), Errno> {
        if !self.is_online() {
            return Err(Errno::from_i32(OFFLINE_ERRNO));
        }
        let started = Instant::now();
        loop {
            let result = lock(&self.cache).fetch(std::slice::from_ref(path), &mut NullSink);
            match result {
                Ok(summary) => {
                    self.invalidate_ghosts();
                    if fs::symlink_metadata(self.full(path)).is_ok() {
                        return Ok(());
                    }
                    tracing::warn!(path = %path, errors = summary.errors, "fetch brought nothing");
                    return Err(if self.is_online() {
                        Errno::EIO
                    } else {
                        Errno::from_i32(OFFLINE_ERRNO)
                    });
                }
                Err(EngineError::Busy { .. }) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(EngineError::Unreachable { .. } | EngineError::Disconnected { .. }) => {
                    return Err(Errno::from_i32(OFFLINE_ERRNO))
                }
                Err(EngineError::Busy { .. }) => return Err(Errno::EAGAIN),
                Err(e) => {
                    tracing::warn!(path = %path, "fetch failed: {e}");
                    return Err(Errno::EIO);
                }
            }
        }
    }

    /// A ghost is removed or replaced in the cache: it is marked as cached with no
    /// cache copy, which the next sync takes as a deletion in the cache.
    fn claim(&self, path: &RelPath) -> Result<(), Errno> {
        let started = Instant::now();
        let cache = lock(&self.cache);
        let _held = loop {
            match cache.lock() {
                Ok(l) => break l,
                Err(EngineError::Busy { .. }) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(_) => return Err(Errno::EAGAIN),
            }
        };
        let mut store = lock(&self.writer);
        let original = match store.original(path) {
            Ok(Some(o)) => o,
            Ok(None) => return Ok(()),
            Err(_) => return Err(Errno::EIO),
        };
        if original.cached {
            return Ok(());
        }
        let claimed = Original {
            cached: true,
            local_identity: None,
            ..original
        };
        let done = store.transaction().and_then(|batch| {
            batch.put_original(path, &claimed)?;
            batch.commit()
        });
        drop(store);
        self.invalidate_ghosts();
        done.map_err(|_| Errno::EIO)
    }

    /// Makes sure the folder `path` exists in the cache (a ghost folder is created
    /// with its synced mode and time, which the next sync records as cached).
    fn local_dir(&self, path: &RelPath) -> Result<(), Errno> {
        if path.is_root() {
            return Ok(());
        }
        match self.node(path) {
            Some(Node::Local(m)) if m.is_dir() => Ok(()),
            Some(Node::Local(_)) => Err(Errno::ENOTDIR),
            Some(Node::Ghost(meta)) if meta.is_dir() => {
                if let Some(parent) = path.parent() {
                    self.local_dir(&parent)?;
                }
                let full = self.full(path);
                match fs::create_dir(&full) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
                    Err(e) => return Err(io_errno(&e)),
                }
                let _ = fs::set_permissions(&full, fs::Permissions::from_mode(meta.mode & 0o7777));
                set_times(&full, None, Some(time_of(meta.mtime_ns)));
                Ok(())
            }
            Some(Node::Ghost(_)) => Err(Errno::ENOTDIR),
            None => Err(Errno::ENOENT),
        }
    }

    /// Gives a ghost (a whole ghost folder too) its content; used before changing it.
    fn materialize(&self, path: &RelPath) -> Result<(), Errno> {
        match self.node(path) {
            Some(Node::Local(_)) => Ok(()),
            Some(Node::Ghost(_)) => self.fetch(path),
            None => Err(Errno::ENOENT),
        }
    }

    fn ghost_children(&self, dir: &RelPath) -> Vec<RelPath> {
        let mut g = lock(&self.ghosts);
        self.refresh_ghosts(&mut g);
        g.children.get(dir).cloned().unwrap_or_default()
    }

    /// True when ghosts lie anywhere below `dir`.
    fn has_ghosts_below(&self, dir: &RelPath) -> bool {
        let mut g = lock(&self.ghosts);
        self.refresh_ghosts(&mut g);
        g.meta.keys().any(|p| dir.is_ancestor_of(p))
    }

    /// The ghosts inside `dir` that have no cache copy.
    fn visible_ghost_children(&self, dir: &RelPath) -> Vec<RelPath> {
        self.ghost_children(dir)
            .into_iter()
            .filter(|p| fs::symlink_metadata(self.full(p)).is_err())
            .collect()
    }

    fn new_fh(&self) -> u64 {
        self.next_fh.fetch_add(1, Ordering::SeqCst)
    }

    fn open_file(&self, path: &RelPath, flags: i32, create_mode: Option<u32>) -> io::Result<File> {
        let acc = flags & libc::O_ACCMODE;
        let mut options = fs::OpenOptions::new();
        options
            .read(acc == libc::O_RDONLY || acc == libc::O_RDWR)
            .write(acc == libc::O_WRONLY || acc == libc::O_RDWR)
            .append(flags & libc::O_APPEND != 0)
            .truncate(flags & libc::O_TRUNC != 0 && acc != libc::O_RDONLY)
            .custom_flags(flags & (libc::O_SYNC | libc::O_DSYNC | libc::O_NOFOLLOW));
        if let Some(mode) = create_mode {
            if flags & libc::O_EXCL != 0 {
                options.create_new(true);
            } else {
                options.create(true);
            }
            options.mode(mode);
            if acc == libc::O_RDONLY {
                // create(true) needs write access in std; the kernel asked for read only.
                options.write(true);
            }
        }
        options.open(self.full(path))
    }
}

/// Sets access and modification times (`None`: leave as is), not following links.
fn set_times(path: &Path, atime: Option<SystemTime>, mtime: Option<SystemTime>) -> bool {
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

fn resolve_time(t: Option<TimeOrNow>) -> Option<SystemTime> {
    t.map(|t| match t {
        TimeOrNow::SpecificTime(t) => t,
        TimeOrNow::Now => SystemTime::now(),
    })
}

impl Filesystem for OfflineFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        // O_TRUNC comes with the open: a ghost opened to be overwritten needs no fetch.
        let _ = config.add_capabilities(fuser::InitFlags::FUSE_ATOMIC_O_TRUNC);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.child(parent, name).and_then(|p| self.entry_of(&p)) {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        // An open file that was removed meanwhile still answers through its handle.
        if let Some(fh) = fh {
            if let Some(file) = lock(&self.files).get(&fh.0).cloned() {
                if let Ok(m) = file.metadata() {
                    return reply.attr(&TTL, &self.attr(ino.0, &Node::Local(m)));
                }
            }
        }
        match self
            .path_of(ino)
            .and_then(|p| self.node(&p).ok_or(Errno::ENOENT))
        {
            Ok(node) => reply.attr(&TTL, &self.attr(ino.0, &node)),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let run = || -> Result<FileAttr, Errno> {
            let path = self.path_of(ino)?;
            let open = fh.and_then(|fh| lock(&self.files).get(&fh.0).cloned());
            if open.is_none() {
                if size == Some(0)
                    && matches!(self.node(&path), Some(Node::Ghost(m)) if m.kind == Kind::File)
                {
                    // Truncating a ghost needs no content: replace it by an empty file.
                    let meta = self.ghost(&path).ok_or(Errno::ENOENT)?;
                    self.claim(&path)?;
                    self.open_file(
                        &path,
                        libc::O_WRONLY | libc::O_TRUNC,
                        Some(meta.mode & 0o7777),
                    )
                    .map_err(|e| io_errno(&e))?;
                } else {
                    self.materialize(&path)?;
                }
            }
            let full = self.full(&path);
            if let Some(mode) = mode {
                let is_link = fs::symlink_metadata(&full)
                    .map(|m| m.file_type().is_symlink())
                    .unwrap_or(false);
                if !is_link {
                    fs::set_permissions(&full, fs::Permissions::from_mode(mode & 0o7777))
                        .map_err(|e| io_errno(&e))?;
                }
            }
            if uid.is_some() || gid.is_some() {
                std::os::unix::fs::lchown(&full, uid, gid).map_err(|e| io_errno(&e))?;
            }
            if let Some(size) = size {
                match &open {
                    Some(file) => file.set_len(size),
                    None => fs::OpenOptions::new()
                        .write(true)
                        .open(&full)
                        .and_then(|f| f.set_len(size)),
                }
                .map_err(|e| io_errno(&e))?;
            }
            if atime.is_some() || mtime.is_some() {
                set_times(&full, resolve_time(atime), resolve_time(mtime));
            }
            let node = match &open {
                Some(file) if fs::symlink_metadata(&full).is_err() => {
                    Node::Local(file.metadata().map_err(|e| io_errno(&e))?)
                }
                _ => self.node(&path).ok_or(Errno::ENOENT)?,
            };
            Ok(self.attr(ino.0, &node))
        };
        match run() {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let path = match self.path_of(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        match self.node(&path) {
            Some(Node::Local(_)) => match fs::read_link(self.full(&path)) {
                Ok(target) => reply.data(target.as_os_str().as_bytes()),
                Err(e) => reply.error(io_errno(&e)),
            },
            Some(Node::Ghost(meta)) => match meta.target {
                Some(target) => reply.data(&target),
                None => reply.error(Errno::EINVAL),
            },
            None => reply.error(Errno::ENOENT),
        }
    }

    fn mknod(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        if mode & libc::S_IFMT != libc::S_IFREG {
            // Devices, fifos and sockets are not synced.
            return reply.error(Errno::EPERM);
        }
        let run = || -> Result<FileAttr, Errno> {
            let path = self.child(parent, name)?;
            if self.node(&path).is_some() {
                return Err(Errno::EEXIST);
            }
            self.local_dir(&path.parent().unwrap_or_else(RelPath::root))?;
            self.open_file(
                &path,
                libc::O_WRONLY | libc::O_EXCL,
                Some(mode & !umask & 0o7777),
            )
            .map_err(|e| io_errno(&e))?;
            self.entry_of(&path)
        };
        match run() {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let run = || -> Result<FileAttr, Errno> {
            let path = self.child(parent, name)?;
            if Self::hidden(&path) {
                return Err(Errno::EPERM);
            }
            if self.node(&path).is_some() {
                return Err(Errno::EEXIST);
            }
            self.local_dir(&path.parent().unwrap_or_else(RelPath::root))?;
            let full = self.full(&path);
            fs::DirBuilder::new()
                .mode(mode & !umask & 0o7777)
                .create(&full)
                .map_err(|e| io_errno(&e))?;
            self.entry_of(&path)
        };
        match run() {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let run = || -> Result<(), Errno> {
            let path = self.child(parent, name)?;
            match self.node(&path) {
                Some(Node::Local(m)) if m.is_dir() => Err(Errno::EISDIR),
                Some(Node::Local(_)) => fs::remove_file(self.full(&path)).map_err(|e| io_errno(&e)),
                Some(Node::Ghost(m)) if m.is_dir() => Err(Errno::EISDIR),
                Some(Node::Ghost(_)) => self.claim(&path),
                None => Err(Errno::ENOENT),
            }?;
            lock(&self.inodes).forget_path(&path);
            Ok(())
        };
        match run() {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let run = || -> Result<(), Errno> {
            let path = self.child(parent, name)?;
            let node = self.node(&path).ok_or(Errno::ENOENT)?;
            let is_dir = match &node {
                Node::Local(m) => m.is_dir(),
                Node::Ghost(m) => m.is_dir(),
            };
            if !is_dir {
                return Err(Errno::ENOTDIR);
            }
            if !self.visible_ghost_children(&path).is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
            match node {
                Node::Local(_) => fs::remove_dir(self.full(&path)).map_err(|e| io_errno(&e))?,
                Node::Ghost(_) => self.claim(&path)?,
            }
            lock(&self.inodes).forget_path(&path);
            Ok(())
        };
        match run() {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn symlink(
        &self,
        _req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let run = || -> Result<FileAttr, Errno> {
            let path = self.child(parent, link_name)?;
            if self.node(&path).is_some() {
                return Err(Errno::EEXIST);
            }
            self.local_dir(&path.parent().unwrap_or_else(RelPath::root))?;
            std::os::unix::fs::symlink(target, self.full(&path)).map_err(|e| io_errno(&e))?;
            self.entry_of(&path)
        };
        match run() {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let run = || -> Result<(), Errno> {
            let from = self.child(parent, name)?;
            let to = self.child(newparent, newname)?;
            if Self::hidden(&from) || Self::hidden(&to) {
                return Err(Errno::EPERM);
            }
            self.materialize(&from)?;
            if self.has_ghosts_below(&from) {
                // Ghosts exist only in the state database: moving the folder would
                // leave them behind. Bring their content first.
                self.fetch(&from)?;
            }
            self.local_dir(&to.parent().unwrap_or_else(RelPath::root))?;
            let replaced_ghost = matches!(self.node(&to), Some(Node::Ghost(_)));
            if replaced_ghost {
                if flags.contains(RenameFlags::RENAME_NOREPLACE) {
                    return Err(Errno::EEXIST);
                }
                if flags.contains(RenameFlags::RENAME_EXCHANGE) {
                    self.materialize(&to)?;
                } else {
                    if !self.visible_ghost_children(&to).is_empty() {
                        return Err(Errno::ENOTEMPTY);
                    }
                    self.claim(&to)?;
                }
            }
            let (a, b) = (self.full(&from), self.full(&to));
            if flags.is_empty() {
                fs::rename(&a, &b).map_err(|e| io_errno(&e))?;
            } else {
                let raw = rustix::fs::RenameFlags::from_bits_retain(flags.bits());
                rustix::fs::renameat_with(rustix::fs::CWD, &a, rustix::fs::CWD, &b, raw)
                    .map_err(|e| Errno::from_i32(e.raw_os_error()))?;
            }
            let mut inodes = lock(&self.inodes);
            if flags.contains(RenameFlags::RENAME_EXCHANGE) {
                let tmp =
                    RelPath::new(b".offline-fuse-exchange".to_vec()).map_err(|_| Errno::EIO)?;
                inodes.rename(&from, &tmp);
                inodes.rename(&to, &from);
                inodes.rename(&tmp, &to);
            } else {
                inodes.rename(&from, &to);
            }
            Ok(())
        };
        match run() {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn link(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _newparent: INodeNo,
        _newname: &OsStr,
        reply: ReplyEntry,
    ) {
        // Hard links are not synced.
        reply.error(Errno::EPERM);
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let run = || -> Result<u64, Errno> {
            let path = self.path_of(ino)?;
            let flags = flags.0;
            let writing = flags & libc::O_ACCMODE != libc::O_RDONLY;
            let mut create_mode = None;
            match self.node(&path) {
                Some(Node::Local(_)) => {}
                Some(Node::Ghost(meta))
                    if meta.kind == Kind::File && writing && flags & libc::O_TRUNC != 0 =>
                {
                    // New content replaces the ghost: nothing to fetch.
                    self.claim(&path)?;
                    create_mode = Some(meta.mode & 0o7777);
                }
                Some(Node::Ghost(_)) => self.fetch(&path)?,
                None => return Err(Errno::ENOENT),
            }
            let file = self
                .open_file(&path, flags, create_mode)
                .map_err(|e| io_errno(&e))?;
            let fh = self.new_fh();
            lock(&self.files).insert(fh, Arc::new(file));
            Ok(fh)
        };
        match run() {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let Some(file) = lock(&self.files).get(&fh.0).cloned() else {
            return reply.error(Errno::EBADF);
        };
        let mut buf = vec![0u8; size as usize];
        let mut filled = 0;
        while filled < buf.len() {
            match file.read_at(&mut buf[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return reply.error(io_errno(&e)),
            }
        }
        reply.data(&buf[..filled]);
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let Some(file) = lock(&self.files).get(&fh.0).cloned() else {
            return reply.error(Errno::EBADF);
        };
        match file.write_all_at(data, offset) {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(io_errno(&e)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        lock(&self.files).remove(&fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        let Some(file) = lock(&self.files).get(&fh.0).cloned() else {
            return reply.error(Errno::EBADF);
        };
        let done = if datasync {
            file.sync_data()
        } else {
            file.sync_all()
        };
        match done {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(io_errno(&e)),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let run = || -> Result<u64, Errno> {
            let path = self.path_of(ino)?;
            let node = self.node(&path).ok_or(Errno::ENOENT)?;
            let mut names: Vec<(Vec<u8>, FileType)> = Vec::new();
            match node {
                Node::Local(m) if m.is_dir() => {
                    let entries = fs::read_dir(self.full(&path)).map_err(|e| io_errno(&e))?;
                    for entry in entries.flatten() {
                        let name = entry.file_name().as_bytes().to_vec();
                        let Ok(child) = path.join(&name) else {
                            continue;
                        };
                        if Self::hidden(&child) {
                            continue;
                        }
                        let kind = entry
                            .file_type()
                            .map(kind_of)
                            .unwrap_or(FileType::RegularFile);
                        names.push((name, kind));
                    }
                }
                Node::Ghost(m) if m.is_dir() => {}
                _ => return Err(Errno::ENOTDIR),
            }
            {
                let mut g = lock(&self.ghosts);
                self.refresh_ghosts(&mut g);
                if let Some(children) = g.children.get(&path) {
                    for child in children {
                        let name = child.file_name().to_vec();
                        if names.iter().any(|(n, _)| n == &name) {
                            continue;
                        }
                        if fs::symlink_metadata(self.full(child)).is_ok() {
                            continue;
                        }
                        if let Some(meta) = g.meta.get(child) {
                            names.push((name, ghost_kind(meta.kind)));
                        }
                    }
                }
            }
            names.sort_by(|a, b| a.0.cmp(&b.0));
            let mut list: DirList = Vec::with_capacity(names.len() + 2);
            let mut inodes = lock(&self.inodes);
            let parent_ino = path.parent().map(|p| inodes.ino(&p)).unwrap_or(1);
            list.push((ino.0, FileType::Directory, b".".to_vec()));
            list.push((parent_ino, FileType::Directory, b"..".to_vec()));
            for (name, kind) in names {
                if let Ok(child) = path.join(&name) {
                    list.push((inodes.ino(&child), kind, name));
                }
            }
            drop(inodes);
            let fh = self.new_fh();
            lock(&self.dirs).insert(fh, Arc::new(list));
            Ok(fh)
        };
        match run() {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let Some(list) = lock(&self.dirs).get(&fh.0).cloned() else {
            return reply.error(Errno::EBADF);
        };
        for (i, (ino, kind, name)) in list.iter().enumerate().skip(offset as usize) {
            if reply.add(
                INodeNo(*ino),
                (i + 1) as u64,
                *kind,
                OsStr::from_bytes(name),
            ) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        lock(&self.dirs).remove(&fh.0);
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        match rustix::fs::statvfs(&self.root) {
            Ok(s) => reply.statfs(
                s.f_blocks,
                s.f_bfree,
                s.f_bavail,
                s.f_files,
                s.f_ffree,
                s.f_bsize as u32,
                s.f_namemax as u32,
                s.f_frsize as u32,
            ),
            Err(e) => reply.error(Errno::from_i32(e.raw_os_error())),
        }
    }

    fn getxattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _name: &OsStr,
        _size: u32,
        reply: ReplyXattr,
    ) {
        // Extended attributes are not synced: there are none.
        reply.error(Errno::ENODATA);
    }

    fn setxattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _name: &OsStr,
        _value: &[u8],
        _flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::EOPNOTSUPP);
    }

    fn removexattr(&self, _req: &Request, _ino: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::ENODATA);
    }

    fn listxattr(&self, _req: &Request, _ino: INodeNo, size: u32, reply: ReplyXattr) {
        if size == 0 {
            reply.size(0);
        } else {
            reply.data(&[]);
        }
    }

    fn copy_file_range(
        &self,
        _req: &Request,
        _ino_in: INodeNo,
        _fh_in: FileHandle,
        _offset_in: u64,
        _ino_out: INodeNo,
        _fh_out: FileHandle,
        _offset_out: u64,
        _len: u64,
        _flags: fuser::CopyFileRangeFlags,
        reply: ReplyWrite,
    ) {
        // The kernel then copies through read and write.
        reply.error(Errno::ENOSYS);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: AccessFlags, reply: ReplyEmpty) {
        reply.ok();
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let run = || -> Result<(FileAttr, u64), Errno> {
            let path = self.child(parent, name)?;
            if Self::hidden(&path) {
                return Err(Errno::EPERM);
            }
            self.local_dir(&path.parent().unwrap_or_else(RelPath::root))?;
            let mut flags = flags;
            match self.node(&path) {
                Some(Node::Ghost(_)) if flags & libc::O_EXCL != 0 => return Err(Errno::EEXIST),
                Some(Node::Ghost(meta)) if meta.kind == Kind::File => {
                    if flags & libc::O_TRUNC != 0 {
                        self.claim(&path)?;
                    } else {
                        self.fetch(&path)?;
                    }
                }
                Some(Node::Ghost(_)) => return Err(Errno::EISDIR),
                Some(Node::Local(_)) | None => {}
            }
            if flags & libc::O_ACCMODE == libc::O_RDONLY {
                flags |= libc::O_RDWR;
            }
            let file = self
                .open_file(&path, flags, Some(mode & !umask & 0o7777))
                .map_err(|e| io_errno(&e))?;
            let attr = self.entry_of(&path)?;
            let fh = self.new_fh();
            lock(&self.files).insert(fh, Arc::new(file));
            Ok((attr, fh))
        };
        match run() {
            Ok((attr, fh)) => reply.created(
                &TTL,
                &attr,
                Generation(0),
                FileHandle(fh),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(e),
        }
    }
}

/// Mounts the view of the cache at `cache_dir` on `mountpoint` and serves it until
/// SIGTERM or SIGINT, or until it is unmounted (`fusermount3 -u MOUNTPOINT`).
pub fn run(cache_dir: &Path, mountpoint: &Path) -> Result<()> {
    let fs_view = OfflineFs::new(cache_dir)?;
    let root = fs_view.root.clone();
    let mountpoint = mountpoint
        .canonicalize()
        .with_context(|| format!("the mount point {} cannot be used", mountpoint.display()))?;
    if !mountpoint.is_dir() {
        bail!("the mount point {} is not a folder", mountpoint.display());
    }
    if mountpoint.starts_with(&root) {
        bail!(
            "the mount point {} must not lie inside the cache {}",
            mountpoint.display(),
            root.display()
        );
    }
    if !Path::new("/dev/fuse").exists() {
        bail!("FUSE is not available here (/dev/fuse is missing)");
    }
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName(format!("offline:{}", root.display())),
        MountOption::Subtype("offline".into()),
        MountOption::DefaultPermissions,
        MountOption::NoDev,
        MountOption::NoSuid,
    ];
    config.n_threads = Some(4);
    // As root the kernel is asked directly; otherwise fuser runs fusermount3.
    let session = fuser::spawn_mount(fs_view, &mountpoint, &config).with_context(|| {
        format!(
            "mounting on {} (as root, or with fusermount3 from the fuse3 package)",
            mountpoint.display()
        )
    })?;
    eprintln!(
        "offline mount: {} on {} (stop with Ctrl-C or `fusermount3 -u {}`)",
        root.display(),
        mountpoint.display(),
        mountpoint.display()
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let signals = crate::daemon::watch_signals(stop)?;
    loop {
        if session.guard.is_finished() {
            // Unmounted from outside.
            return session
                .join()
                .context("the FUSE session ended with an error");
        }
        if signals.recv_timeout(Duration::from_millis(200)).is_ok() {
            break;
        }
    }
    let guard_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let unmounting = std::thread::spawn({
        let done = guard_done.clone();
        move || {
            let result = session.umount_and_join();
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            result
        }
    });
    // A file still open keeps the mount busy: then detach it lazily (it goes away
    // once the last user closes it) rather than hang.
    let started = Instant::now();
    while !guard_done.load(std::sync::atomic::Ordering::SeqCst) {
        if started.elapsed() > Duration::from_secs(5) {
            detach(&mountpoint);
            eprintln!(
                "offline mount: {} was busy; detached it (it goes away when its last file is closed)",
                mountpoint.display()
            );
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    match unmounting.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::debug!("unmounting: {e}");
            detach(&mountpoint);
        }
        Err(_) => detach(&mountpoint),
    }
    eprintln!("offline mount: unmounted {}", mountpoint.display());
    Ok(())
}

/// Lazily unmounts `dir` (as root), else asks fusermount3.
fn detach(dir: &Path) {
    let detached = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map(|c| {
            // SAFETY: a valid NUL-terminated path; umount2 only reads it.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) == 0 }
        })
        .unwrap_or(false);
    if !detached {
        let _ = std::process::Command::new("fusermount3")
            .arg("-u")
            .arg("-z")
            .arg(dir)
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(p: &str) -> RelPath {
        RelPath::from_str_lossy(p).unwrap()
    }

    #[test]
    fn inodes_follow_renames() {
        let mut inodes = Inodes::new();
        let a = inodes.ino(&rel("a"));
        let ab = inodes.ino(&rel("a/b"));
        let other = inodes.ino(&rel("ab"));
        inodes.rename(&rel("a"), &rel("z"));
        assert_eq!(inodes.ino(&rel("z")), a);
        assert_eq!(inodes.ino(&rel("z/b")), ab);
        assert_eq!(inodes.ino(&rel("ab")), other);
        assert_ne!(inodes.ino(&rel("a")), a);
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
