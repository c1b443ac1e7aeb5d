//! The two sides of a sync, seen through one trait.
//!
//! The engine reads and writes both the share and the cache folder through
//! [`Remote`]: it lists folders ([`Remote::list`]), reads files, and changes items
//! only with a precondition ([`Expect`]) checked right before the change (safety
//! rule 2), writing content through a temp file renamed over the target (safety
//! rule 1).
//!
//! The first backend is [`DirRemote`]: a local folder, or a mounted SMB/NFS/sshfs
//! share. Network shares (cargo features `webdav`, `sftp`, `s3`, `smb`, all on by default)
//! are opened from a URL by [`open_share`]. The trait asks for nothing a plain object store cannot give: identities
//! are opaque strings (an etag would do), and [`Capabilities`] tells the engine
//! when renames, empty folders, symlinks or modes are missing.

mod birth;
mod dir;
mod error;
mod expect;
mod hash;
pub mod location;
#[cfg(feature = "net")]
mod net;
mod open;
mod sparse;
mod sys;

pub use dir::DirRemote;
pub use error::{ErrorKind, RemoteError, Result};
pub use expect::CheckExpect;
pub use hash::hash_reader;
pub use location::{is_url, Location, Settings, CREDENTIALS_FILE};
#[cfg(any(feature = "webdav", feature = "s3"))]
pub use net::object::ObjectRemote;
#[cfg(feature = "sftp")]
pub use net::sftp::SftpRemote;
#[cfg(feature = "smb")]
pub use net::smb::SmbRemote;
pub use open::{open_network, open_share, ShareOptions};

pub use offline_core::{Expect, Lineage};
use offline_core::{Hash, Meta, RelPath, TempTag};
use std::io::Read;

/// A new random temp tag (for a new cache, see [`DirRemote::with_temp_tag`]).
pub fn fresh_temp_tag() -> TempTag {
    TempTag::from_u64(sys::random_u64())
}

/// What one item looks like on a side, without its content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// Kind, size, mtime and mode; `hash` is always `None` (a listing never reads
    /// content). For a symlink `target` holds the link's bytes and `size` their length.
    pub meta: Meta,
    /// An opaque fingerprint that changes whenever content, mode or mtime change.
    /// The directory backend uses `dev:ino:ctime_sec.ctime_nsec:size:mtime_ns`.
    pub identity: String,
}

/// One child of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The child's name (raw bytes, one path component).
    pub name: Vec<u8>,
    /// What the child looks like.
    pub stat: Stat,
}

/// What a backend can represent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Items can be renamed in place.
    pub rename: bool,
    /// A folder can exist without children.
    pub empty_dirs: bool,
    /// Symlinks can be stored as links.
    pub symlinks: bool,
    /// Permission bits are kept.
    pub modes: bool,
}

/// The result of [`Remote::write_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The file as it is now at its final place.
    pub stat: Stat,
    /// The BLAKE3 hash of the bytes written.
    pub hash: Hash,
}

/// A file written under a temp name beside its target: not yet durable, not yet in
/// place. [`Remote::sync_staged`] makes it durable, [`Remote::commit_staged`] puts it
/// in place. Batching many files this way costs two `syncfs` per batch instead of
/// two `fsync` per file, with the same promise: the target always holds its old or
/// its complete new content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// The target.
    pub path: RelPath,
    /// The temp item's name in the target's folder.
    pub temp_name: Vec<u8>,
    /// The BLAKE3 hash of the bytes written.
    pub hash: Hash,
}

/// What changed on a share, as its server told ([`Remote::watch_changes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareChanges {
    /// These items (files or folders; a folder covers what is inside it).
    Paths(Vec<RelPath>),
    /// Something changed, the server did not say what (its list overflowed, or
    /// the watch was started again): everything must be looked at.
    Unknown,
}

/// A live watch of a share for changes other clients make.
pub trait ChangeWatch: Send {
    /// Waits up to `timeout` for the next changes; `Ok(None)` when none came.
    /// A broken connection is an error ([`ErrorKind::Unreachable`]); the caller
    /// starts a new watch when the share is back.
    fn wait(&mut self, timeout: std::time::Duration) -> Result<Option<ShareChanges>>;
}

/// One side of a sync: the share, or the cache folder.
///
/// Paths are relative to the side's root; the empty path is the root itself.
/// Symlinks are never followed, neither in the last component nor above it.
pub trait Remote: Send + Sync {
    /// For messages: the share's path or URL.
    fn describe(&self) -> String;

    /// What this side can represent.
    fn capabilities(&self) -> Capabilities;

    /// The item at `path`, not following a symlink; `Ok(None)` when nothing is there
    /// (also when a parent is missing or not a folder). The root is allowed.
    fn stat(&self, path: &RelPath) -> Result<Option<Stat>>;

    /// The children of a folder, in any order, never following symlinks.
    ///
    /// Skips temp files of a sync ([`offline_core::is_temp_name`]) and, at the
    /// root only, the hidden names the backend was given. A child that vanishes
    /// while the folder is read is skipped. Other names are passed on as the side
    /// gave them, even ones that cannot be an item (`..`, with `/` or NUL, outside
    /// the folder): the engine checks every name.
    fn list(&self, dir: &RelPath) -> Result<Vec<Entry>>;

    /// Opens a regular file for reading; a symlink is not followed.
    fn open_read(&self, path: &RelPath) -> Result<Box<dyn Read + Send>>;

    /// The BLAKE3 hash of a file's content and its length, read as a stream.
    fn hash_file(&self, path: &RelPath) -> Result<(Hash, u64)> {
        let mut reader = self.open_read(path)?;
        hash_reader(&mut reader).map_err(|err| RemoteError::from_io(path, "read the file", err))
    }

    /// Writes a file atomically and returns its new stat and the hash of the bytes
    /// written.
    ///
    /// `content` is streamed into a temp file in the target's folder and hashed on
    /// the way; when `expected_hash` is given and differs, the write fails with
    /// [`ErrorKind::Changed`]. The file gets `mode` and `mtime_ns`, is made durable,
    /// `expect` is checked against the target, and the temp file is renamed over
    /// it. On any error the temp file is removed and the target is untouched.
    fn write_file(
        &self,
        path: &RelPath,
        content: &mut dyn Read,
        mode: u32,
        mtime_ns: i64,
        expected_hash: Option<Hash>,
        expect: &Expect,
    ) -> Result<Written>;

    /// Creates a folder with exactly `mode`, after checking `expect`. When a folder
    /// is already there and `expect` allows it, only its mode (and mtime) are set.
    fn make_dir(
        &self,
        path: &RelPath,
        mode: u32,
        mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat>;

    /// Creates (or atomically replaces) a symlink to `target`, after checking
    /// `expect`, and sets the link's own mtime when given.
    fn make_symlink(
        &self,
        path: &RelPath,
        target: &[u8],
        mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat>;

    /// Removes a file, a symlink (never its target) or an empty folder (never
    /// recursively), after checking `expect`. Nothing there: [`ErrorKind::NotFound`].
    fn remove(&self, path: &RelPath, expect: &Expect) -> Result<()>;

    /// Renames an item without replacing anything: [`ErrorKind::AlreadyExists`]
    /// when `to` exists.
    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()>;

    /// What this side's identities say about an item across a rename, for the
    /// planner's rename detection. The default, [`Lineage::Stat`], only lets a
    /// rename be found with a content hash that confirms it.
    fn lineage(&self) -> Lineage {
        Lineage::Stat
    }

    /// When the item at `path` was born (created), in nanoseconds since the epoch,
    /// where this side knows it (`statx` on a local filesystem); `Ok(None)` when it
    /// does not. Asked for a rename candidate found by its inode only: a file born
    /// after the original was last recorded took a deleted file's inode number.
    fn born_ns(&self, _path: &RelPath) -> Result<Option<i64>> {
        Ok(None)
    }

    /// Carries out a rename found by the planner: the item at `from` (a folder with
    /// everything in it), checked against `expect` right before, is renamed to `to`
    /// without moving its bytes and without replacing anything
    /// ([`ErrorKind::AlreadyExists`] when `to` exists). Returns its stat at `to`.
    fn move_item(&self, from: &RelPath, to: &RelPath, expect: &Expect) -> Result<Stat> {
        let now = self.stat(from)?;
        expect.verify(from, now.as_ref().map(|s| s.identity.as_str()))?;
        self.rename(from, to)?;
        self.stat(to)?.ok_or_else(|| {
            RemoteError::new(
                ErrorKind::Changed,
                to,
                "it vanished right after it was renamed",
            )
        })
    }

    /// Finishes a [`Remote::move_item`] of the folder `from` to `to` that was
    /// interrupted (the process killed) with the folder under both names, on a side
    /// whose folder rename is many steps (S3: a copy per key, then the deletions).
    /// What is under `to` must be what the rename put there (each file the same as
    /// the one under `from`, when that one is still there); then the rest is done
    /// and `true` returned. `false`, having changed nothing, when it is not (the next
    /// plan sees both folders) or when this side renames in one step, so no rename
    /// is ever half done (the default).
    fn finish_move(&self, _from: &RelPath, _to: &RelPath) -> Result<bool> {
        Ok(false)
    }

    /// Sets the mode and/or mtime of an item (of a symlink only the mtime), after
    /// checking `expect`, and returns its new stat.
    fn set_attrs(
        &self,
        path: &RelPath,
        mode: Option<u32>,
        mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat>;

    /// Removes leftover temp files of this side's temp tag in the whole tree and
    /// returns how many were removed; another cache's temp files and a person's file
    /// that only looks like one are left alone. Used by recovery after a crash.
    fn remove_temp_files(&self) -> Result<usize>;

    /// True when a read ([`Remote::open_read`]) always delivers one whole version
    /// of a file, never bytes of two (an object store's GET): then a copy need not
    /// look at the source again afterwards to know it was not torn.
    fn reads_whole_versions(&self) -> bool {
        false
    }

    /// True when this backend can stage files ([`Remote::stage_file`]) for batched
    /// durability. Backends that cannot are written one file at a time.
    fn can_stage(&self) -> bool {
        false
    }

    /// Writes `content` to a temp file beside `path` (checking `expected_hash` like
    /// [`Remote::write_file`]), with its mode and mtime, without syncing or placing it.
    fn stage_file(
        &self,
        path: &RelPath,
        _content: &mut dyn std::io::Read,
        _mode: u32,
        _mtime_ns: i64,
        _expected_hash: Option<Hash>,
    ) -> Result<Staged> {
        Err(RemoteError::new(
            ErrorKind::Io,
            path,
            "this share cannot stage files",
        ))
    }

    /// Makes every file staged so far, and every rename done so far, durable.
    fn sync_staged(&self) -> Result<()> {
        Ok(())
    }

    /// Checks `expect` against the target and renames the staged file over it (the
    /// caller syncs afterwards). On failure the temp file is removed.
    fn commit_staged(&self, staged: &Staged, _expect: &Expect) -> Result<Written> {
        Err(RemoteError::new(
            ErrorKind::Io,
            &staged.path,
            "this share cannot stage files",
        ))
    }

    /// Removes a staged file that will not be placed.
    fn discard_staged(&self, _staged: &Staged) -> Result<()> {
        Ok(())
    }

    /// A watch for changes made on the share by other clients, where the server
    /// can tell (SMB `CHANGE_NOTIFY`); `None` where it cannot (the caller watches
    /// a local folder itself, or polls).
    fn watch_changes(&self) -> Option<Result<Box<dyn ChangeWatch>>> {
        None
    }

    /// How long one request to this side takes now (the daemon's slow-link
    /// mode): by default, the time of a stat of the root.
    fn round_trip(&self) -> Result<std::time::Duration> {
        let start = std::time::Instant::now();
        self.stat(&RelPath::root())?;
        Ok(start.elapsed())
    }
}
