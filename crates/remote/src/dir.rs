//! The directory backend: a side that is a folder on a mounted file system (the
//! cache folder, or an SMB/NFS/sshfs share mounted on this machine). This file
//! opens folders below the root without following symlinks and carries out each
//! operation of [`Remote`]; `temp` writes items under temp names, `stat` reads
//! items, `sweep` removes leftover temp files.

mod stat;
mod sweep;
mod temp;

use crate::error::{ErrorKind, RemoteError, Result};
use crate::sys::{self, Access};
use crate::{Capabilities, CheckExpect, Entry, Expect, Lineage, Remote, Staged, Stat, Written};
use offline_core::{is_temp_name, Hash, RelPath, TempTag};
use rustix::fs::FileType;
use stat::{check_replaceable, entry, fsync_dir, is_not_there, lstat, stat_after_change, to_stat};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use temp::{create_temp, make_dir_in_place, write_temp, TempItem};

/// A side that is a folder on a mounted file system.
///
/// Every operation opens the root again, so a share that was unmounted shows up
/// as [`ErrorKind::Unreachable`] instead of as the empty mount point below it.
#[derive(Debug)]
pub struct DirRemote {
    root: PathBuf,
    hidden: Vec<Vec<u8>>,
    /// The tag written into the names of the temp files this side makes; recovery
    /// removes only temp files with it.
    temp: TempTag,
}

impl DirRemote {
    /// Opens the folder `root`. Names in `hidden_root_names` (e.g. `.offline` for a
    /// cache, `.offline-share` for a share) are left out of the root's listing.
    /// Fails with [`ErrorKind::Unreachable`] when `root` is missing or not a folder.
    /// Its temp files get a random tag until [`DirRemote::with_temp_tag`] sets the
    /// cache's own.
    pub fn open(root: impl Into<PathBuf>, hidden_root_names: &[&[u8]]) -> Result<DirRemote> {
        let root = root.into();
        let here = RelPath::root();
        match std::fs::metadata(&root) {
            Ok(meta) if meta.is_dir() => Ok(DirRemote {
                root,
                hidden: hidden_root_names.iter().map(|name| name.to_vec()).collect(),
                temp: TempTag::from_u64(sys::random_u64()),
            }),
            Ok(_) => Err(RemoteError::new(
                ErrorKind::Unreachable,
                &here,
                format!("the root {} is not a folder", root.display()),
            )),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Err(RemoteError {
                kind: ErrorKind::Unreachable,
                path: here,
                message: format!("the root folder {} is missing", root.display()),
                source: Some(err),
            }),
            Err(err) => Err(RemoteError::from_io(
                &here,
                &format!("open the root folder {}", root.display()),
                err,
            )),
        }
    }

    /// The same side, naming its temp files with `tag` (the cache's).
    pub fn with_temp_tag(mut self, tag: &TempTag) -> DirRemote {
        self.temp = tag.clone();
        self
    }

    /// The tag of this side's temp files.
    pub fn temp_tag(&self) -> &TempTag {
        &self.temp
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where an item is on this machine.
    pub fn full_path(&self, path: &RelPath) -> PathBuf {
        if path.is_root() {
            self.root.clone()
        } else {
            self.root.join(path.as_os_str())
        }
    }

    /// Opens the root folder; a missing root means the share is unreachable.
    fn open_root(&self, access: Access, item: &RelPath) -> Result<OwnedFd> {
        sys::open_root(&self.root, access).map_err(|err| match ErrorKind::from_io(&err) {
            ErrorKind::NotFound | ErrorKind::NotADirectory => RemoteError {
                kind: ErrorKind::Unreachable,
                path: item.clone(),
                message: format!("the root folder {} is missing", self.root.display()),
                source: Some(err),
            },
            _ => RemoteError::from_io(item, "open the root folder", err),
        })
    }

    /// Opens the folder `dir`; errors name `item` and say `action`.
    fn open_dir(
        &self,
        dir: &RelPath,
        access: Access,
        item: &RelPath,
        action: &str,
    ) -> Result<OwnedFd> {
        if dir.is_root() {
            return self.open_root(access, item);
        }
        let root = self.open_root(Access::Handle, item)?;
        sys::open_below(root.as_fd(), dir.as_bytes(), access)
            .map_err(|err| RemoteError::from_io(item, action, err))
    }

    /// A handle on the folder an item is in, and the item's name there (the root
    /// is `.` in itself).
    fn locate(&self, path: &RelPath) -> Result<(OwnedFd, Vec<u8>)> {
        match path.parent() {
            None => Ok((self.open_root(Access::Handle, path)?, b".".to_vec())),
            Some(parent) => {
                let dir =
                    self.open_dir(&parent, Access::Handle, path, "open the folder it is in")?;
                Ok((dir, path.file_name().to_vec()))
            }
        }
    }

    /// Like [`DirRemote::locate`] for operations the root does not allow.
    fn locate_child(&self, path: &RelPath, what: &str) -> Result<(OwnedFd, Vec<u8>)> {
        if path.is_root() {
            return Err(RemoteError::new(
                ErrorKind::NameNotAllowed,
                path,
                format!("the root folder cannot be {what}"),
            ));
        }
        self.locate(path)
    }

    /// The children of an open folder, as `list` returns them.
    fn entries(&self, dir: &RelPath, fd: OwnedFd) -> Result<Vec<Entry>> {
        let handle = fd
            .try_clone()
            .map_err(|err| RemoteError::from_io(dir, "open the folder", err))?;
        let names =
            sys::read_names(fd).map_err(|err| RemoteError::from_io(dir, "read the folder", err))?;
        let mut entries = Vec::with_capacity(names.len());
        for name in names {
            if self.is_skipped(dir, &name) {
                continue;
            }
            if let Some(entry) = entry(handle.as_fd(), dir, name)? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// True for temp files (of any cache), and for the hidden names at the root.
    fn is_skipped(&self, dir: &RelPath, name: &[u8]) -> bool {
        is_temp_name(name) || (dir.is_root() && self.hidden.iter().any(|h| h == name))
    }
}

impl Remote for DirRemote {
    fn describe(&self) -> String {
        self.root.display().to_string()
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
        let (dir, name) = match self.locate(path) {
            Ok(found) => found,
            Err(err) if is_not_there(err.kind) => return Ok(None),
            Err(err) => return Err(err),
        };
        let Some(raw) = lstat(dir.as_fd(), &name, path)? else {
            return Ok(None);
        };
        match to_stat(dir.as_fd(), &name, &raw) {
            Ok(Some(stat)) => Ok(Some(stat)),
            Ok(None) => Err(RemoteError::new(
                ErrorKind::Io,
                path,
                "it is a device, FIFO or socket, which cannot be synced",
            )),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(RemoteError::from_io(path, "read the symlink", err)),
        }
    }

    fn list(&self, dir: &RelPath) -> Result<Vec<Entry>> {
        let fd = self.open_dir(dir, Access::List, dir, "open the folder")?;
        self.entries(dir, fd)
    }

    fn open_read(&self, path: &RelPath) -> Result<Box<dyn Read + Send>> {
        let (dir, name) = self.locate(path)?;
        let fd = sys::open_file_read(dir.as_fd(), &name)
            .map_err(|err| RemoteError::from_io(path, "open the file", err))?;
        let raw = sys::fstat(fd.as_fd())
            .map_err(|err| RemoteError::from_io(path, "read its metadata", err))?;
        match sys::file_type(&raw) {
            FileType::RegularFile => {}
            FileType::Directory => {
                return Err(RemoteError::new(
                    ErrorKind::IsADirectory,
                    path,
                    "it is a folder, not a file",
                ));
            }
            _ => {
                return Err(RemoteError::new(
                    ErrorKind::Io,
                    path,
                    "it is not a regular file",
                ));
            }
        }
        sys::set_blocking(fd.as_fd())
            .map_err(|err| RemoteError::from_io(path, "open the file", err))?;
        Ok(Box::new(File::from(fd)))
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
        let (dir, name) = self.locate_child(path, "replaced by a file")?;
        let attrs = (mode, mtime_ns, expected_hash);
        let (mut temp, file, hash) = write_temp(
            (dir.as_fd(), &self.temp),
            path,
            content,
            attrs,
            "dir.write_file.temp_written",
        )?;
        sys::fsync_file(file.as_fd())
            .map_err(|err| RemoteError::from_io(path, "flush the temp file to disk", err))?;
        drop(file);
        crashpoint::hit("dir.write_file.before_rename");
        check_replaceable(dir.as_fd(), &name, path, expect)?;
        temp.move_into_place(&name, path, expect)?;
        crashpoint::hit("dir.write_file.after_rename");
        fsync_dir(dir.as_fd(), path)?;
        crashpoint::hit("dir.write_file.dir_synced");
        let stat = stat_after_change(dir.as_fd(), &name, path)?;
        Ok(Written { stat, hash })
    }

    fn make_dir(
        &self,
        path: &RelPath,
        mode: u32,
        mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        let (dir, name) = self.locate(path)?;
        let current = lstat(dir.as_fd(), &name, path)?;
        expect.verify(path, current.as_ref().map(sys::identity).as_deref())?;
        match current {
            Some(raw) if sys::file_type(&raw) == FileType::Directory => {}
            Some(_) => {
                return Err(RemoteError::new(
                    ErrorKind::AlreadyExists,
                    path,
                    "a file or symlink is where the folder should be",
                ));
            }
            None => {
                crashpoint::hit("dir.make_dir.before_mkdir");
                make_dir_in_place(dir.as_fd(), &self.temp, (&name, path), mode, mtime_ns)?;
                crashpoint::hit("dir.make_dir.after_mkdir");
            }
        }
        sys::chmod(dir.as_fd(), &name, mode)
            .map_err(|err| RemoteError::from_io(path, "set the folder's mode", err))?;
        if let Some(mtime_ns) = mtime_ns {
            sys::set_mtime(dir.as_fd(), &name, mtime_ns)
                .map_err(|err| RemoteError::from_io(path, "set the folder's time", err))?;
        }
        fsync_dir(dir.as_fd(), path)?;
        stat_after_change(dir.as_fd(), &name, path)
    }

    fn make_symlink(
        &self,
        path: &RelPath,
        target: &[u8],
        mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        let (dir, name) = self.locate_child(path, "replaced by a symlink")?;
        let (mut temp, ()) = create_temp(dir.as_fd(), &self.temp, path, |temp_name| {
            sys::symlink(target, dir.as_fd(), temp_name)
        })?;
        if let Some(mtime_ns) = mtime_ns {
            sys::set_mtime(dir.as_fd(), &temp.name, mtime_ns)
                .map_err(|err| RemoteError::from_io(path, "set the symlink's time", err))?;
        }
        crashpoint::hit("dir.make_symlink.before_rename");
        check_replaceable(dir.as_fd(), &name, path, expect)?;
        temp.move_into_place(&name, path, expect)?;
        crashpoint::hit("dir.make_symlink.after_rename");
        fsync_dir(dir.as_fd(), path)?;
        stat_after_change(dir.as_fd(), &name, path)
    }

    fn remove(&self, path: &RelPath, expect: &Expect) -> Result<()> {
        let (dir, name) = self.locate_child(path, "removed")?;
        let Some(raw) = lstat(dir.as_fd(), &name, path)? else {
            return Err(RemoteError::new(
                ErrorKind::NotFound,
                path,
                "nothing is there to remove",
            ));
        };
        expect.verify(path, Some(&sys::identity(&raw)))?;
        let is_dir = sys::file_type(&raw) == FileType::Directory;
        crashpoint::hit("dir.remove.before_unlink");
        sys::unlink(dir.as_fd(), &name, is_dir)
            .map_err(|err| RemoteError::from_io(path, "remove it", err))?;
        crashpoint::hit("dir.remove.after_unlink");
        fsync_dir(dir.as_fd(), path)
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        self.move_item(from, to, &Expect::Any).map(|_| ())
    }

    fn lineage(&self) -> Lineage {
        Lineage::Inode
    }

    fn born_ns(&self, path: &RelPath) -> Result<Option<i64>> {
        let (dir, name) = self.locate(path)?;
        crate::birth::born_ns(dir.as_fd(), &name)
            .map_err(|err| RemoteError::from_io(path, "read its birth time", err))
    }

    /// `renameat2` with `RENAME_NOREPLACE` after the check, both folders flushed.
    fn move_item(&self, from: &RelPath, to: &RelPath, expect: &Expect) -> Result<Stat> {
        let (from_dir, from_name) = self.locate_child(from, "renamed")?;
        let (to_dir, to_name) = self.locate_child(to, "replaced")?;
        let Some(raw) = lstat(from_dir.as_fd(), &from_name, from)? else {
            return Err(RemoteError::new(
                ErrorKind::NotFound,
                from,
                "nothing is there to rename",
            ));
        };
        expect.verify(from, Some(&sys::identity(&raw)))?;
        crashpoint::hit("dir.rename.before_rename");
        sys::rename_no_replace(from_dir.as_fd(), &from_name, to_dir.as_fd(), &to_name).map_err(
            |err| {
                if ErrorKind::from_io(&err) == ErrorKind::AlreadyExists {
                    RemoteError::from_io(to, &format!("rename {from} to it"), err)
                } else {
                    RemoteError::from_io_on_name(from, &format!("rename it to {to}"), err)
                }
            },
        )?;
        crashpoint::hit("dir.rename.after_rename");
        fsync_dir(to_dir.as_fd(), to)?;
        if from.parent() != to.parent() {
            fsync_dir(from_dir.as_fd(), from)?;
        }
        stat_after_change(to_dir.as_fd(), &to_name, to)
    }

    fn set_attrs(
        &self,
        path: &RelPath,
        mode: Option<u32>,
        mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        let (dir, name) = self.locate(path)?;
        let Some(raw) = lstat(dir.as_fd(), &name, path)? else {
            return Err(RemoteError::new(
                ErrorKind::NotFound,
                path,
                "nothing is there",
            ));
        };
        expect.verify(path, Some(&sys::identity(&raw)))?;
        let is_link = sys::file_type(&raw) == FileType::Symlink;
        crashpoint::hit("dir.set_attrs.before");
        if let (Some(mode), false) = (mode, is_link) {
            sys::chmod(dir.as_fd(), &name, mode)
                .map_err(|err| RemoteError::from_io(path, "set the mode", err))?;
        }
        if let Some(mtime_ns) = mtime_ns {
            sys::set_mtime(dir.as_fd(), &name, mtime_ns)
                .map_err(|err| RemoteError::from_io(path, "set the modification time", err))?;
        }
        crashpoint::hit("dir.set_attrs.after");
        stat_after_change(dir.as_fd(), &name, path)
    }

    fn remove_temp_files(&self) -> Result<usize> {
        let mut pending = vec![RelPath::root()];
        let mut removed = 0;
        while let Some(dir) = pending.pop() {
            removed += self.remove_temp_files_in(&dir, &mut pending)?;
        }
        Ok(removed)
    }

    fn can_stage(&self) -> bool {
        true
    }

    fn stage_file(
        &self,
        path: &RelPath,
        content: &mut dyn Read,
        mode: u32,
        mtime_ns: i64,
        expected_hash: Option<Hash>,
    ) -> Result<Staged> {
        let (dir, _name) = self.locate_child(path, "replaced by a file")?;
        let attrs = (mode, mtime_ns, expected_hash);
        let (mut temp, _file, hash) = write_temp(
            (dir.as_fd(), &self.temp),
            path,
            content,
            attrs,
            "dir.stage_file.temp_written",
        )?;
        // Kept: the caller places it or discards it.
        temp.placed = true;
        Ok(Staged {
            path: path.clone(),
            temp_name: temp.name.clone(),
            hash,
        })
    }

    fn sync_staged(&self) -> Result<()> {
        let root = self.open_root(Access::List, &RelPath::root())?;
        crashpoint::hit("dir.sync_staged.before");
        rustix::fs::syncfs(&root).map_err(|err| {
            RemoteError::from_io(&RelPath::root(), "flush the share to disk", err.into())
        })?;
        crashpoint::hit("dir.sync_staged.after");
        Ok(())
    }

    fn commit_staged(&self, staged: &Staged, expect: &Expect) -> Result<Written> {
        let path = &staged.path;
        let (dir, name) = self.locate_child(path, "replaced by a file")?;
        let mut temp = TempItem {
            dir: dir.as_fd(),
            name: staged.temp_name.clone(),
            placed: false,
            is_dir: false,
        };
        crashpoint::hit("dir.commit_staged.before_rename");
        check_replaceable(dir.as_fd(), &name, path, expect)?;
        temp.move_into_place(&name, path, expect)?;
        crashpoint::hit("dir.commit_staged.after_rename");
        let stat = stat_after_change(dir.as_fd(), &name, path)?;
        Ok(Written {
            stat,
            hash: staged.hash,
        })
    }

    fn discard_staged(&self, staged: &Staged) -> Result<()> {
        let (dir, _name) = self.locate_child(&staged.path, "replaced by a file")?;
        let _temp = TempItem {
            dir: dir.as_fd(),
            name: staged.temp_name.clone(),
            placed: false,
            is_dir: false,
        };
        Ok(())
    }
}
