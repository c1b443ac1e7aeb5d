//! The directory backend: a side that is a folder on a mounted file system (the
//! cache folder, or an SMB/NFS/sshfs share mounted on this machine).

use crate::error::{ErrorKind, RemoteError, Result};
use crate::hash::{read_some, BUFFER_SIZE};
use crate::sparse::SparseWriter;
use crate::sys::{self, Access, RawStat};
use crate::{Capabilities, Entry, Expect, Lineage, Remote, Staged, Stat, Written};
use offline_core::{is_temp_name, Hash, Kind, Meta, RelPath, TempTag};
use rustix::fs::FileType;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// How many fresh temp names are tried before giving up.
const TEMP_ATTEMPTS: usize = 16;

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

    /// Removes this side's own temp files directly in `dir` and returns how many,
    /// adding its subfolders to `pending`. Anything else (another cache's temp
    /// file, a person's file named like one) is left alone.
    fn remove_temp_files_in(&self, dir: &RelPath, pending: &mut Vec<RelPath>) -> Result<usize> {
        let fd = match self.open_dir(dir, Access::List, dir, "open the folder") {
            Ok(fd) => fd,
            Err(err) if !dir.is_root() && is_gone_or_closed(err.kind) => {
                tracing::warn!("temp file cleanup skips {dir}: {err}");
                return Ok(0);
            }
            Err(err) => return Err(err),
        };
        let handle = fd
            .try_clone()
            .map_err(|err| RemoteError::from_io(dir, "open the folder", err))?;
        let names =
            sys::read_names(fd).map_err(|err| RemoteError::from_io(dir, "read the folder", err))?;
        let mut removed = 0;
        for name in names {
            if dir.is_root() && self.hidden.contains(&name) {
                continue;
            }
            let item = child(dir, &name)?;
            let Some(raw) = sys::lstat(handle.as_fd(), &name)
                .map_err(|err| RemoteError::from_io(&item, "read its metadata", err))?
            else {
                continue;
            };
            let is_dir = sys::file_type(&raw) == FileType::Directory;
            if !self.temp.owns(&name) {
                if is_dir && !is_temp_name(&name) {
                    pending.push(item);
                }
            } else if is_dir {
                // A folder made by `make_dir` that a crash kept from its place is
                // empty; anything else named like it is left alone.
                match sys::unlink(handle.as_fd(), &name, true) {
                    Ok(()) => removed += 1,
                    Err(err) => tracing::warn!(
                        "{item}: a folder named like a temp file; left alone ({err})"
                    ),
                }
            } else if remove_temp(handle.as_fd(), &name, &item)? {
                removed += 1;
            }
        }
        Ok(removed)
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
        check_expect(path, current.as_ref(), expect)?;
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
        check_expect(path, Some(&raw), expect)?;
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
        check_expect(from, Some(&raw), expect)?;
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
        check_expect(path, Some(&raw), expect)?;
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

/// A temp file or symlink in a folder; removed when dropped unless it was moved
/// into place.
struct TempItem<'a> {
    dir: BorrowedFd<'a>,
    name: Vec<u8>,
    placed: bool,
    is_dir: bool,
}

impl TempItem<'_> {
    /// Renames the temp item to `name`; without replacing anything when `expect`
    /// is [`Expect::Absent`].
    fn move_into_place(&mut self, name: &[u8], path: &RelPath, expect: &Expect) -> Result<()> {
        let result = if *expect == Expect::Absent {
            sys::rename_no_replace(self.dir, &self.name, self.dir, name)
        } else {
            sys::rename(self.dir, &self.name, self.dir, name)
        };
        match result {
            Ok(()) => {
                self.placed = true;
                Ok(())
            }
            Err(err) if ErrorKind::from_io(&err) == ErrorKind::AlreadyExists => Err(changed(
                path,
                "something appeared there since it was scanned",
            )),
            Err(err) => Err(RemoteError::from_io_on_name(
                path,
                "move the temp file into place",
                err,
            )),
        }
    }
}

impl Drop for TempItem<'_> {
    fn drop(&mut self) {
        if self.placed {
            return;
        }
        if let Err(err) = sys::unlink(self.dir, &self.name, self.is_dir) {
            let name = String::from_utf8_lossy(&self.name);
            tracing::warn!("could not remove the temp file {name}: {err}");
        }
    }
}

/// Writes `content` to a new temp file in `dir` (hashing it on the way), checks the
/// hash against the expected one, and sets the mode and mtime of `attrs`
/// (mode, mtime ns, expected hash). The temp file is removed on failure.
fn write_temp<'a>(
    (dir, tag): (BorrowedFd<'a>, &TempTag),
    path: &RelPath,
    content: &mut dyn Read,
    attrs: (u32, i64, Option<Hash>),
    point: &str,
) -> Result<(TempItem<'a>, File, Hash)> {
    let (mode, mtime_ns, expected_hash) = attrs;
    let (temp, fd) = create_temp(dir, tag, path, |temp_name| sys::create_new(dir, temp_name))?;
    let mut file = File::from(fd);
    let hash = copy_into(content, &mut file, path)?;
    crashpoint::hit(point);
    if expected_hash.is_some_and(|expected| expected != hash) {
        return Err(RemoteError::new(
            ErrorKind::Changed,
            path,
            "the source changed while it was copied",
        ));
    }
    sys::set_file_attrs(file.as_fd(), mode, mtime_ns)
        .map_err(|err| RemoteError::from_io(path, "set the mode and time of the temp file", err))?;
    Ok((temp, file, hash))
}

/// Creates a temp item with a fresh name of `tag` through `make`, retrying on a
/// name clash.
fn create_temp<'a, T>(
    dir: BorrowedFd<'a>,
    tag: &TempTag,
    path: &RelPath,
    make: impl Fn(&[u8]) -> io::Result<T>,
) -> Result<(TempItem<'a>, T)> {
    for _ in 0..TEMP_ATTEMPTS {
        let name = tag.temp_name(sys::random_u64());
        match make(&name) {
            Ok(made) => {
                let temp = TempItem {
                    dir,
                    name,
                    placed: false,
                    is_dir: false,
                };
                return Ok((temp, made));
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => {
                return Err(RemoteError::from_io(
                    path,
                    "create a temp file in its folder",
                    err,
                ))
            }
        }
    }
    Err(RemoteError::new(
        ErrorKind::AlreadyExists,
        path,
        "no free temp file name found in its folder",
    ))
}

/// Creates the folder `name` with its mode and time already set: it is made under a
/// temp name and renamed into place, so that a crash never leaves a folder with
/// another mode at the path (a half-made item the next sync would take for a
/// change). A leftover temp folder is empty and `remove_temp_files` removes it.
fn make_dir_in_place(
    dir: BorrowedFd<'_>,
    tag: &TempTag,
    (name, path): (&[u8], &RelPath),
    mode: u32,
    mtime_ns: Option<i64>,
) -> Result<()> {
    let (mut temp, ()) = create_temp(dir, tag, path, |temp_name| sys::mkdir(dir, temp_name))?;
    temp.is_dir = true;
    sys::chmod(dir, &temp.name, mode)
        .map_err(|err| RemoteError::from_io(path, "set the folder's mode", err))?;
    if let Some(mtime_ns) = mtime_ns {
        sys::set_mtime(dir, &temp.name, mtime_ns)
            .map_err(|err| RemoteError::from_io(path, "set the folder's time", err))?;
    }
    crashpoint::hit("dir.make_dir.before_rename");
    match sys::rename_no_replace(dir, &temp.name, dir, name) {
        Ok(()) => {
            temp.placed = true;
            Ok(())
        }
        Err(err) if ErrorKind::from_io(&err) == ErrorKind::AlreadyExists => Err(changed(
            path,
            "something appeared there since it was scanned",
        )),
        Err(err) => Err(RemoteError::from_io_on_name(path, "create the folder", err)),
    }
}

/// Streams `content` into `file`, hashing it on the way; blocks of zeros become
/// holes (see `sparse`), so a sparse file stays sparse.
fn copy_into(content: &mut dyn Read, file: &mut File, path: &RelPath) -> Result<Hash> {
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; BUFFER_SIZE];
    let mut writer = SparseWriter::new(file);
    let write_err = |err| RemoteError::from_io(path, "write the temp file", err);
    loop {
        let n = read_some(content, &mut buffer)
            .map_err(|err| RemoteError::from_io(path, "read the source", err))?;
        if n == 0 {
            writer.finish().map_err(write_err)?;
            return Ok(*hasher.finalize().as_bytes());
        }
        hasher.update(&buffer[..n]);
        if let Some(err) = crashpoint::fail("dir.write_file.write") {
            return Err(write_err(err));
        }
        writer.write(&buffer[..n]).map_err(write_err)?;
    }
}

/// Checks `expect` against what is at `name` now, and that it is no folder.
fn check_replaceable(
    dir: BorrowedFd<'_>,
    name: &[u8],
    path: &RelPath,
    expect: &Expect,
) -> Result<()> {
    let current = lstat(dir, name, path)?;
    check_expect(path, current.as_ref(), expect)?;
    match current {
        Some(raw) if sys::file_type(&raw) == FileType::Directory => Err(RemoteError::new(
            ErrorKind::IsADirectory,
            path,
            "a folder is where the item should go",
        )),
        _ => Ok(()),
    }
}

/// Checks a precondition against the current `lstat` of the item.
fn check_expect(path: &RelPath, current: Option<&RawStat>, expect: &Expect) -> Result<()> {
    match (expect, current) {
        (Expect::Any, _) | (Expect::Absent, None) => Ok(()),
        (Expect::Absent, Some(_)) => Err(changed(
            path,
            "something appeared there since it was scanned",
        )),
        (Expect::Identity(_), None) => Err(changed(path, "it was removed since it was scanned")),
        (Expect::Identity(id), Some(raw)) if sys::identity(raw) == *id => Ok(()),
        (Expect::Identity(_), Some(_)) => Err(changed(path, "it changed since it was scanned")),
    }
}

fn changed(path: &RelPath, message: &str) -> RemoteError {
    RemoteError::new(ErrorKind::Changed, path, message)
}

/// `lstat` with errors naming `path`.
fn lstat(dir: BorrowedFd<'_>, name: &[u8], path: &RelPath) -> Result<Option<RawStat>> {
    sys::lstat(dir, name).map_err(|err| RemoteError::from_io(path, "read its metadata", err))
}

/// `fsync` of a folder with errors naming `path`.
fn fsync_dir(dir: BorrowedFd<'_>, path: &RelPath) -> Result<()> {
    sys::fsync_dir(dir).map_err(|err| RemoteError::from_io(path, "flush its folder to disk", err))
}

/// The stat of an item this backend just changed.
fn stat_after_change(dir: BorrowedFd<'_>, name: &[u8], path: &RelPath) -> Result<Stat> {
    let raw = lstat(dir, name, path)?
        .ok_or_else(|| changed(path, "it vanished right after it was changed"))?;
    match to_stat(dir, name, &raw) {
        Ok(Some(stat)) => Ok(stat),
        Ok(None) => Err(changed(path, "it was replaced right after it was changed")),
        Err(err) => Err(RemoteError::from_io(path, "read the symlink", err)),
    }
}

/// The [`Stat`] of an item from its `lstat`; `None` for devices, FIFOs and sockets.
fn to_stat(dir: BorrowedFd<'_>, name: &[u8], raw: &RawStat) -> io::Result<Option<Stat>> {
    let mtime_ns = sys::mtime_ns(raw);
    let meta = match sys::file_type(raw) {
        FileType::RegularFile => Meta {
            kind: Kind::File,
            size: sys::size(raw),
            mtime_ns,
            mode: sys::mode(raw),
            hash: None,
            target: None,
        },
        FileType::Directory => Meta::dir(mtime_ns, sys::mode(raw)),
        FileType::Symlink => Meta::symlink(sys::read_link(dir, name)?, mtime_ns),
        _ => return Ok(None),
    };
    Ok(Some(Stat {
        meta,
        identity: sys::identity(raw),
    }))
}

/// One listed child of `dir`; `None` when it vanished or cannot be synced. The
/// child's path is built only for an error message (this runs for every item).
fn entry(dir_fd: BorrowedFd<'_>, dir: &RelPath, name: Vec<u8>) -> Result<Option<Entry>> {
    let raw = match sys::lstat(dir_fd, &name) {
        Ok(Some(raw)) => raw,
        Ok(None) => return Ok(None),
        Err(err) => {
            return Err(RemoteError::from_io(
                &child(dir, &name)?,
                "read its metadata",
                err,
            ))
        }
    };
    match to_stat(dir_fd, &name, &raw) {
        Ok(Some(stat)) => Ok(Some(Entry { name, stat })),
        Ok(None) => {
            tracing::warn!(
                "{}: a device, FIFO or socket; not synced",
                child(dir, &name)?
            );
            Ok(None)
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(RemoteError::from_io(
            &child(dir, &name)?,
            "read the symlink",
            err,
        )),
    }
}

/// The path of the child `name` of `dir`.
fn child(dir: &RelPath, name: &[u8]) -> Result<RelPath> {
    dir.join(name).map_err(|err| {
        let shown = offline_core::escape_bytes(name);
        RemoteError::new(
            ErrorKind::NameNotAllowed,
            dir,
            format!("the folder holds an entry with an unusable name {shown:?}: {err}"),
        )
    })
}

/// Removes one temp file; false when it was already gone.
fn remove_temp(dir: BorrowedFd<'_>, name: &[u8], item: &RelPath) -> Result<bool> {
    match sys::unlink(dir, name, false) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(RemoteError::from_io(item, "remove the temp file", err)),
    }
}

/// Kinds of failure that mean "no such item" when looking an item up.
fn is_not_there(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::Loop
    )
}

/// Kinds of failure that let a cleanup go on with the next folder.
fn is_gone_or_closed(kind: ErrorKind) -> bool {
    is_not_there(kind) || kind == ErrorKind::PermissionDenied
}
