//! What the folder backend reads about one item: its `lstat` turned into a
//! [`Stat`] (a listed child, an item just changed), the check that a target may be
//! replaced, and the errors of these looks.

use crate::error::{ErrorKind, RemoteError, Result};
use crate::sys::{self, RawStat};
use crate::{CheckExpect, Entry, Expect, Stat};
use offline_core::{Kind, Meta, RelPath};
use rustix::fs::FileType;
use std::io;
use std::os::fd::BorrowedFd;

/// Checks `expect` against what is at `name` now, and that it is no folder.
pub(super) fn check_replaceable(
    dir: BorrowedFd<'_>,
    name: &[u8],
    path: &RelPath,
    expect: &Expect,
) -> Result<()> {
    let current = lstat(dir, name, path)?;
    expect.verify(path, current.as_ref().map(sys::identity).as_deref())?;
    match current {
        Some(raw) if sys::file_type(&raw) == FileType::Directory => Err(RemoteError::new(
            ErrorKind::IsADirectory,
            path,
            "a folder is where the item should go",
        )),
        _ => Ok(()),
    }
}

pub(super) fn changed(path: &RelPath, message: &str) -> RemoteError {
    RemoteError::new(ErrorKind::Changed, path, message)
}

/// `lstat` with errors naming `path`.
pub(super) fn lstat(dir: BorrowedFd<'_>, name: &[u8], path: &RelPath) -> Result<Option<RawStat>> {
    sys::lstat(dir, name).map_err(|err| RemoteError::from_io(path, "read its metadata", err))
}

/// `fsync` of a folder with errors naming `path`.
pub(super) fn fsync_dir(dir: BorrowedFd<'_>, path: &RelPath) -> Result<()> {
    sys::fsync_dir(dir).map_err(|err| RemoteError::from_io(path, "flush its folder to disk", err))
}

/// The stat of an item this backend just changed.
pub(super) fn stat_after_change(dir: BorrowedFd<'_>, name: &[u8], path: &RelPath) -> Result<Stat> {
    let raw = lstat(dir, name, path)?
        .ok_or_else(|| changed(path, "it vanished right after it was changed"))?;
    match to_stat(dir, name, &raw) {
        Ok(Some(stat)) => Ok(stat),
        Ok(None) => Err(changed(path, "it was replaced right after it was changed")),
        Err(err) => Err(RemoteError::from_io(path, "read the symlink", err)),
    }
}

/// The [`Stat`] of an item from its `lstat`; `None` for devices, FIFOs and sockets.
pub(super) fn to_stat(dir: BorrowedFd<'_>, name: &[u8], raw: &RawStat) -> io::Result<Option<Stat>> {
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
pub(super) fn entry(dir_fd: BorrowedFd<'_>, dir: &RelPath, name: Vec<u8>) -> Result<Option<Entry>> {
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
pub(super) fn child(dir: &RelPath, name: &[u8]) -> Result<RelPath> {
    dir.join(name).map_err(|err| {
        let shown = offline_core::escape_bytes(name);
        RemoteError::new(
            ErrorKind::NameNotAllowed,
            dir,
            format!("the folder holds an entry with an unusable name {shown:?}: {err}"),
        )
    })
}

/// Kinds of failure that mean "no such item" when looking an item up.
pub(super) fn is_not_there(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::Loop
    )
}
