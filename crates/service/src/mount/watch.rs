//! Keeping the kernel's caches true: every folder of the cache folder that the
//! kernel holds an inode for is watched with inotify, and a change there (a sync
//! writing, renaming or removing an item, the person editing the cache folder
//! directly; a file written in place is seen when it is closed, so the view's own
//! writes cost nothing) invalidates the name and the attributes (and
//! cached pages) the kernel keeps for it, and the folder's cached listing, as soon
//! as it happens. A change of the state database (ghosts come and go there only)
//! drops every cached listing. Lost events (an inotify queue overflow) invalidate
//! everything the kernel holds.

use super::inodes::Inodes;
use super::view::lock;
use fuser::{INodeNo, Notifier};
use offline_core::RelPath;
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// How long events gather after a batch was handled.
const GATHER: std::time::Duration = std::time::Duration::from_millis(10);

/// The inotify instance and which inode number each watch belongs to.
pub struct Watcher {
    fd: OwnedFd,
    by_wd: Mutex<HashMap<i32, u64>>,
    /// The watch on the cache's `.offline/` folder (its state database).
    meta: Mutex<Option<i32>>,
}

/// What a batch of events asks the kernel to forget.
#[derive(Default)]
struct Batch {
    /// Names changed in a folder (created, removed, renamed).
    names: BTreeSet<(u64, Vec<u8>)>,
    /// Items whose attributes or content changed (by folder and name).
    items: BTreeSet<(u64, Vec<u8>)>,
    /// Folders whose own attributes changed.
    dirs: BTreeSet<u64>,
    /// The state database changed.
    database: bool,
    /// Events were lost: everything.
    all: bool,
}

impl Watcher {
    pub fn new() -> std::io::Result<Watcher> {
        let fd = inotify::init(CreateFlags::CLOEXEC)?;
        Ok(Watcher {
            fd,
            by_wd: Mutex::new(HashMap::new()),
            meta: Mutex::new(None),
        })
    }

    /// Watches the cache's `.offline/` folder for changes of its state database.
    pub fn watch_database(&self, meta_dir: &Path) {
        let mask = WatchFlags::MODIFY
            | WatchFlags::CLOSE_WRITE
            | WatchFlags::MOVED_TO
            | WatchFlags::CREATE
            | WatchFlags::ONLYDIR;
        match inotify::add_watch(&self.fd, meta_dir, mask) {
            Ok(wd) => *lock(&self.meta) = Some(wd),
            Err(e) => tracing::warn!("cannot watch the state database: {e}"),
        }
    }

    /// Watches the cache folder `dir` for inode number `ino`; `None` when it cannot
    /// be watched (its entries then keep the short time to live).
    pub fn watch(&self, ino: u64, dir: &Path) -> Option<i32> {
        let mask = WatchFlags::CREATE
            | WatchFlags::DELETE
            | WatchFlags::MOVED_FROM
            | WatchFlags::MOVED_TO
            | WatchFlags::ATTRIB
            | WatchFlags::CLOSE_WRITE
            | WatchFlags::DELETE_SELF
            | WatchFlags::ONLYDIR
            | WatchFlags::DONT_FOLLOW
            | WatchFlags::EXCL_UNLINK;
        match inotify::add_watch(&self.fd, dir, mask) {
            Ok(wd) => {
                lock(&self.by_wd).insert(wd, ino);
                Some(wd)
            }
            Err(e) => {
                tracing::debug!(dir = %dir.display(), "cannot watch: {e}");
                None
            }
        }
    }

    /// Stops watching for `ino` (the kernel forgot the folder).
    pub fn unwatch(&self, wd: i32, ino: u64) {
        let mut by_wd = lock(&self.by_wd);
        if by_wd.get(&wd) == Some(&ino) {
            by_wd.remove(&wd);
            let _ = inotify::remove_watch(&self.fd, wd);
        }
    }

    fn owner(&self, wd: i32) -> Option<u64> {
        lock(&self.by_wd).get(&wd).copied()
    }

    fn dropped(&self, wd: i32) -> Option<u64> {
        lock(&self.by_wd).remove(&wd)
    }
}

/// Starts the thread that turns cache folder changes into kernel invalidations.
pub fn spawn(
    watcher: Arc<Watcher>,
    inodes: Arc<Mutex<Inodes>>,
    listed: Arc<Mutex<HashSet<u64>>>,
    notifier: Notifier,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("offline-mount-watch".into())
        .spawn(move || run(&watcher, &inodes, &listed, &notifier))?;
    Ok(())
}

fn run(
    watcher: &Watcher,
    inodes: &Mutex<Inodes>,
    listed: &Mutex<HashSet<u64>>,
    notifier: &Notifier,
) {
    let meta = *lock(&watcher.meta);
    let mut buf = vec![MaybeUninit::<u8>::uninit(); 64 * 1024];
    let mut reader = inotify::Reader::new(&watcher.fd, &mut buf);
    loop {
        let mut batch = Batch::default();
        loop {
            let event = match reader.next() {
                Ok(e) => e,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    tracing::warn!("the mount's inotify watch failed: {e}");
                    return;
                }
            };
            let flags = event.events();
            if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                batch.all = true;
            } else if Some(event.wd()) == meta {
                let name = event.file_name().map(|n| n.to_bytes()).unwrap_or_default();
                batch.database |= offline_engine::layout::is_state_db_name(name);
            } else if flags.contains(ReadFlags::IGNORED) {
                if let Some(ino) = watcher.dropped(event.wd()) {
                    lock(inodes).clear_watch(ino);
                }
            } else if let Some(dir) = watcher.owner(event.wd()) {
                match event.file_name() {
                    Some(name) if !name.to_bytes().is_empty() => {
                        let name = name.to_bytes().to_vec();
                        let renamed = ReadFlags::CREATE
                            | ReadFlags::DELETE
                            | ReadFlags::MOVED_FROM
                            | ReadFlags::MOVED_TO;
                        if flags.intersects(renamed) {
                            batch.names.insert((dir, name.clone()));
                        }
                        batch.items.insert((dir, name));
                    }
                    _ => {
                        batch.dirs.insert(dir);
                    }
                }
            }
            if reader.is_buffer_empty() {
                break;
            }
        }
        if batch.database || batch.all {
            let dirs: Vec<u64> = lock(listed).drain().collect();
            for dir in dirs {
                let _ = notifier.inval_inode(INodeNo(dir), 0, 0);
            }
        }
        send(&batch, inodes, notifier);
        // Let the next events gather: a burst costs one invalidation per item.
        std::thread::sleep(GATHER);
    }
}

/// Tells the kernel what to forget. The table's lock is never held while the
/// kernel is told (it may wait for an operation that needs the table).
fn send(batch: &Batch, inodes: &Mutex<Inodes>, notifier: &Notifier) {
    let (names, items) = {
        let table = lock(inodes);
        if batch.all {
            let all = table.all();
            drop(table);
            for (ino, path) in all {
                let _ = notifier.inval_inode(INodeNo(ino), 0, 0);
                if let Some(parent) = path.parent().and_then(|p| lock(inodes).ino_of(&p)) {
                    let _ =
                        notifier.inval_entry(INodeNo(parent), OsStr::from_bytes(path.file_name()));
                }
            }
            return;
        }
        let items: Vec<u64> = batch
            .items
            .iter()
            .filter_map(|(dir, name)| {
                let path: RelPath = table.path(*dir)?.join(name).ok()?;
                table.ino_of(&path)
            })
            .chain(batch.dirs.iter().copied())
            .collect();
        (batch.names.clone(), items)
    };
    for ino in items {
        let _ = notifier.inval_inode(INodeNo(ino), 0, 0);
    }
    let mut folders = BTreeSet::new();
    for (dir, name) in names {
        let _ = notifier.inval_entry(INodeNo(dir), OsStr::from_bytes(&name));
        folders.insert(dir);
    }
    // Their listings (the kernel may keep them).
    for dir in folders {
        let _ = notifier.inval_inode(INodeNo(dir), 0, 0);
    }
}
