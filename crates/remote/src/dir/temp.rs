//! Items under a temp name in the target's folder (safety rule 1 on a folder):
//! creating one with a fresh name, streaming and hashing a file's content into it,
//! making a folder with its mode set before it appears, and moving a temp item into
//! place; a temp item that is dropped before it is placed is removed.

use super::stat::changed;
use crate::error::{ErrorKind, RemoteError, Result};
use crate::hash::copy_hashed;
use crate::sparse::SparseWriter;
use crate::sys;
use crate::Expect;
use offline_core::{Hash, RelPath, TempTag};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};

/// How many fresh temp names are tried before giving up.
const TEMP_ATTEMPTS: usize = 16;

/// A temp file or symlink in a folder; removed when dropped unless it was moved
/// into place.
pub(super) struct TempItem<'a> {
    pub(super) dir: BorrowedFd<'a>,
    pub(super) name: Vec<u8>,
    pub(super) placed: bool,
    pub(super) is_dir: bool,
}

impl TempItem<'_> {
    /// Renames the temp item to `name`; without replacing anything when `expect`
    /// is [`Expect::Absent`].
    pub(super) fn move_into_place(
        &mut self,
        name: &[u8],
        path: &RelPath,
        expect: &Expect,
    ) -> Result<()> {
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
pub(super) fn write_temp<'a>(
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
pub(super) fn create_temp<'a, T>(
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
pub(super) fn make_dir_in_place(
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
pub(super) fn copy_into(content: &mut dyn Read, file: &mut File, path: &RelPath) -> Result<Hash> {
    let mut writer = SparseWriter::new(file);
    let write_err = |err| RemoteError::from_io(path, "write the temp file", err);
    let (hash, _) = copy_hashed(path, content, |chunk| {
        if let Some(err) = crashpoint::fail("dir.write_file.write") {
            return Err(write_err(err));
        }
        writer.write(chunk).map_err(write_err)
    })?;
    writer.finish().map_err(write_err)?;
    Ok(hash)
}
