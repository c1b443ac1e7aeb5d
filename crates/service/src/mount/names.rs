//! The namespace operations of the view: looking names up, attributes, and making,
//! removing and renaming items. Changes go to the cache folder (which the daemon
//! pushes); a ghost needs no content to be removed or replaced, but is fetched
//! before it is moved or changed in place.

use super::reply::Entry;
use super::view::{io_errno, lock, set_times, Node, OfflineFs};
use fuser::{Errno, INodeNo, RenameFlags, TimeOrNow};
use offline_core::Kind;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::time::SystemTime;

/// What `setattr` is asked to change.
pub struct Changes {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<TimeOrNow>,
    pub mtime: Option<TimeOrNow>,
}

fn resolve_time(t: Option<TimeOrNow>) -> Option<SystemTime> {
    t.map(|t| match t {
        TimeOrNow::SpecificTime(t) => t,
        TimeOrNow::Now => SystemTime::now(),
    })
}

impl OfflineFs {
    pub fn lookup_op(&self, parent: INodeNo, name: &OsStr) -> Result<Entry, Errno> {
        let path = self.child(parent, name)?;
        self.entry_of(Some(parent.0), &path)
    }

    /// The attributes of `ino` (through its open file when it has one: a file
    /// removed meanwhile still answers).
    pub fn getattr_op(&self, ino: INodeNo, fh: Option<u64>) -> Result<Entry, Errno> {
        if let Some(file) = self.open_handle(fh) {
            if let Ok(m) = file.metadata() {
                let node = Node::Local(m);
                let parent = self.path_of(ino).ok().and_then(|p| self.parent_ino(&p));
                return Ok(Entry {
                    attr: self.attr(ino.0, &node),
                    ttl: self.ttl(parent, &node),
                });
            }
        }
        let path = self.path_of(ino)?;
        let node = self.node(&path).ok_or(Errno::ENOENT)?;
        Ok(Entry {
            attr: self.attr(ino.0, &node),
            ttl: self.ttl(self.parent_ino(&path), &node),
        })
    }

    pub fn setattr_op(&self, ino: INodeNo, fh: Option<u64>, c: Changes) -> Result<Entry, Errno> {
        let path = self.path_of(ino)?;
        let open = self.open_handle(fh);
        if open.is_none() {
            match self.node(&path) {
                Some(Node::Ghost(meta)) if c.size == Some(0) && meta.kind == Kind::File => {
                    // Truncating a ghost needs no content: replace it by an empty file.
                    self.claim(&path)?;
                    self.open_file(
                        &path,
                        libc::O_WRONLY | libc::O_TRUNC,
                        Some(meta.mode & 0o7777),
                    )
                    .map_err(|e| io_errno(&e))?;
                }
                _ => self.materialize(&path)?,
            }
        }
        let full = self.full(&path);
        if let Some(mode) = c.mode {
            let is_link = fs::symlink_metadata(&full)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            if !is_link {
                fs::set_permissions(&full, fs::Permissions::from_mode(mode & 0o7777))
                    .map_err(|e| io_errno(&e))?;
            }
        }
        if c.uid.is_some() || c.gid.is_some() {
            std::os::unix::fs::lchown(&full, c.uid, c.gid).map_err(|e| io_errno(&e))?;
        }
        if let Some(size) = c.size {
            match &open {
                Some(file) => file.set_len(size),
                None => fs::OpenOptions::new()
                    .write(true)
                    .open(&full)
                    .and_then(|f| f.set_len(size)),
            }
            .map_err(|e| io_errno(&e))?;
        }
        if c.atime.is_some() || c.mtime.is_some() {
            set_times(&full, resolve_time(c.atime), resolve_time(c.mtime));
        }
        let node = match &open {
            Some(file) if fs::symlink_metadata(&full).is_err() => {
                Node::Local(file.metadata().map_err(|e| io_errno(&e))?)
            }
            _ => self.node(&path).ok_or(Errno::ENOENT)?,
        };
        Ok(Entry {
            attr: self.attr(ino.0, &node),
            ttl: self.ttl(self.parent_ino(&path), &node),
        })
    }

    pub fn readlink_op(&self, ino: INodeNo) -> Result<Vec<u8>, Errno> {
        let path = self.path_of(ino)?;
        match self.node(&path) {
            Some(Node::Local(_)) => fs::read_link(self.full(&path))
                .map(|t| t.as_os_str().as_bytes().to_vec())
                .map_err(|e| io_errno(&e)),
            Some(Node::Ghost(meta)) => meta.target.map(|t| t.to_vec()).ok_or(Errno::EINVAL),
            None => Err(Errno::ENOENT),
        }
    }

    /// A new regular file (`mode` with the umask applied); other kinds are refused.
    pub fn mknod_op(&self, parent: INodeNo, name: &OsStr, mode: u32) -> Result<Entry, Errno> {
        if mode & libc::S_IFMT != libc::S_IFREG {
            // Devices, fifos and sockets are not synced.
            return Err(Errno::EPERM);
        }
        let path = self.child(parent, name)?;
        if Self::hidden(&path) {
            return Err(Errno::EPERM);
        }
        if self.node(&path).is_some() {
            return Err(Errno::EEXIST);
        }
        self.local_parent(&path)?;
        self.open_file(&path, libc::O_WRONLY | libc::O_EXCL, Some(mode & 0o7777))
            .map_err(|e| io_errno(&e))?;
        self.entry_of(Some(parent.0), &path)
    }

    pub fn mkdir_op(&self, parent: INodeNo, name: &OsStr, mode: u32) -> Result<Entry, Errno> {
        let path = self.child(parent, name)?;
        if Self::hidden(&path) {
            return Err(Errno::EPERM);
        }
        if self.node(&path).is_some() {
            return Err(Errno::EEXIST);
        }
        self.local_parent(&path)?;
        fs::DirBuilder::new()
            .mode(mode & 0o7777)
            .create(self.full(&path))
            .map_err(|e| io_errno(&e))?;
        self.entry_of(Some(parent.0), &path)
    }

    pub fn unlink_op(&self, parent: INodeNo, name: &OsStr) -> Result<(), Errno> {
        let path = self.child(parent, name)?;
        match self.node(&path) {
            Some(n) if n.is_dir() => return Err(Errno::EISDIR),
            Some(Node::Local(_)) => fs::remove_file(self.full(&path)).map_err(|e| io_errno(&e))?,
            Some(Node::Ghost(_)) => self.claim(&path)?,
            None => return Err(Errno::ENOENT),
        }
        lock(&self.inodes).detach(&path);
        Ok(())
    }

    pub fn rmdir_op(&self, parent: INodeNo, name: &OsStr) -> Result<(), Errno> {
        let path = self.child(parent, name)?;
        let node = self.node(&path).ok_or(Errno::ENOENT)?;
        if !node.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !self.visible_ghosts_in(&path).is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        match node {
            Node::Local(_) => fs::remove_dir(self.full(&path)).map_err(|e| io_errno(&e))?,
            Node::Ghost(_) => self.claim(&path)?,
        }
        lock(&self.inodes).detach(&path);
        Ok(())
    }

    pub fn symlink_op(&self, parent: INodeNo, name: &OsStr, target: &Path) -> Result<Entry, Errno> {
        let path = self.child(parent, name)?;
        if Self::hidden(&path) {
            return Err(Errno::EPERM);
        }
        if self.node(&path).is_some() {
            return Err(Errno::EEXIST);
        }
        self.local_parent(&path)?;
        std::os::unix::fs::symlink(target, self.full(&path)).map_err(|e| io_errno(&e))?;
        self.entry_of(Some(parent.0), &path)
    }

    pub fn rename_op(
        &self,
        (parent, name): (INodeNo, &OsStr),
        (newparent, newname): (INodeNo, &OsStr),
        flags: RenameFlags,
    ) -> Result<(), Errno> {
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
        self.local_parent(&to)?;
        if matches!(self.node(&to), Some(Node::Ghost(_))) {
            if flags.contains(RenameFlags::RENAME_NOREPLACE) {
                return Err(Errno::EEXIST);
            }
            if flags.contains(RenameFlags::RENAME_EXCHANGE) {
                self.materialize(&to)?;
            } else {
                if !self.visible_ghosts_in(&to).is_empty() {
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
            inodes.exchange(&from, &to);
        } else {
            inodes.rename(&from, &to);
        }
        Ok(())
    }
}
