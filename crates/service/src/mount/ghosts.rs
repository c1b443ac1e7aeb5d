//! Ghosts in the view: what the state database knows of items without a cache copy
//! (asked per path and per folder, never held whole, so memory does not grow with
//! the share), and how one becomes a cache item: fetched (auto-cached, needs the
//! share), claimed (removed or replaced: needs no content, works offline), or, for a
//! folder, created in the cache with its synced mode and time.

use super::view::{io_errno, lock, set_times, time_of, Node, OfflineFs};
use fuser::Errno;
use offline_core::{ConnectState, Meta, RelPath};
use offline_engine::{EngineError, NullSink};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

/// How long an operation waits for a sync that holds the cache's lock.
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// The errno of a ghost opened while the share is offline.
pub const OFFLINE_ERRNO: i32 = libc::EHOSTDOWN;

impl OfflineFs {
    /// The synced metadata of `path` if it is a ghost (known, no cache copy).
    pub fn ghost(&self, path: &RelPath) -> Option<Meta> {
        if path.is_root() {
            return None;
        }
        match lock(&self.store).original(path) {
            Ok(Some(o)) if !o.cached => Some(o.meta),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(path = %path, "reading the state database: {e}");
                None
            }
        }
    }

    /// The ghosts directly inside `dir` (with or without a cache copy beside them:
    /// callers check the cache folder), in path order.
    pub fn ghosts_in(&self, dir: &RelPath) -> Vec<(RelPath, Meta)> {
        match lock(&self.store).ghosts_in(dir) {
            Ok(children) => children.into_iter().map(|(p, o)| (p, o.meta)).collect(),
            Err(e) => {
                tracing::warn!(path = %dir, "reading the state database: {e}");
                Vec::new()
            }
        }
    }

    /// The ghosts inside `dir` that have no cache copy.
    pub fn visible_ghosts_in(&self, dir: &RelPath) -> Vec<RelPath> {
        self.ghosts_in(dir)
            .into_iter()
            .map(|(p, _)| p)
            .filter(|p| fs::symlink_metadata(self.full(p)).is_err())
            .collect()
    }

    /// True when ghosts lie anywhere below `dir`.
    pub fn has_ghosts_below(&self, dir: &RelPath) -> bool {
        lock(&self.store).has_ghost_below(dir).unwrap_or(true)
    }

    fn is_online(&self) -> bool {
        !matches!(
            lock(&self.cache).connect_state(),
            Ok((ConnectState::Offline, _))
        )
    }

    /// Brings a ghost's content into the cache (auto-cached). `EHOSTDOWN` while the
    /// share is offline.
    pub fn fetch(&self, path: &RelPath) -> Result<(), Errno> {
        if !self.is_online() {
            return Err(Errno::from_i32(OFFLINE_ERRNO));
        }
        let started = Instant::now();
        loop {
            let result = lock(&self.cache).fetch(std::slice::from_ref(path), &mut NullSink);
            match result {
                Ok(summary) => {
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

    /// Renames `from` (holding ghosts, or one) to `to` on the share and in the cache
    /// at once, its base along (`Cache::move_item`); false when that could not be
    /// done (offline, the share's copy changed, no folder there).
    pub fn move_on_share(&self, from: &RelPath, to: &RelPath) -> bool {
        if !self.is_online() {
            return false;
        }
        let started = Instant::now();
        loop {
            let result = lock(&self.cache).move_item(from, to);
            match result {
                Ok(()) => return true,
                Err(EngineError::Busy { .. }) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => {
                    tracing::info!(from = %from, to = %to, "not renamed on the share, fetched instead: {e}");
                    return false;
                }
            }
        }
    }

    /// A ghost is removed or replaced in the cache: the engine marks it as cached
    /// with no cache copy (`Cache::claim_ghost`), which the next sync takes as a
    /// deletion in the cache. Waits for a sync that holds the cache's lock.
    pub fn claim(&self, path: &RelPath) -> Result<(), Errno> {
        let started = Instant::now();
        loop {
            let claimed = lock(&self.cache).claim_ghost(path);
            match claimed {
                Ok(_) => return Ok(()),
                Err(EngineError::Busy { .. }) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(EngineError::Busy { .. }) => return Err(Errno::EAGAIN),
                Err(e) => {
                    tracing::warn!(path = %path, "claiming a ghost: {e}");
                    return Err(Errno::EIO);
                }
            }
        }
    }

    /// Makes sure the folder `path` exists in the cache (a ghost folder is created
    /// with its synced mode and time, which the next sync records as cached).
    pub fn local_dir(&self, path: &RelPath) -> Result<(), Errno> {
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

    /// The folder `path`'s parent, made a cache folder if it is a ghost.
    pub fn local_parent(&self, path: &RelPath) -> Result<(), Errno> {
        self.local_dir(&path.parent().unwrap_or_else(RelPath::root))
    }

    /// Gives a ghost (a whole ghost folder too) its content; used before changing it.
    pub fn materialize(&self, path: &RelPath) -> Result<(), Errno> {
        match self.node(path) {
            Some(Node::Local(_)) => Ok(()),
            Some(Node::Ghost(_)) => self.fetch(path),
            None => Err(Errno::ENOENT),
        }
    }
}
