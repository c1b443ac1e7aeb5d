//! Recovery's sweep of a folder side for this cache's own temp files: every
//! folder is read, each temp item the cache's tag owns is removed (an empty temp
//! folder too), and everything else is left alone.

use super::stat::{child, is_not_there};
use super::DirRemote;
use crate::error::{ErrorKind, RemoteError, Result};
use crate::sys::{self, Access};
use offline_core::{is_temp_name, RelPath};
use rustix::fs::FileType;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};

impl DirRemote {
    /// Removes this side's own temp files directly in `dir` and returns how many,
    /// adding its subfolders to `pending`. Anything else (another cache's temp
    /// file, a person's file named like one) is left alone.
    pub(super) fn remove_temp_files_in(
        &self,
        dir: &RelPath,
        pending: &mut Vec<RelPath>,
    ) -> Result<usize> {
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

/// Removes one temp file; false when it was already gone.
fn remove_temp(dir: BorrowedFd<'_>, name: &[u8], item: &RelPath) -> Result<bool> {
    match sys::unlink(dir, name, false) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(RemoteError::from_io(item, "remove the temp file", err)),
    }
}

/// Kinds of failure that let a cleanup go on with the next folder.
fn is_gone_or_closed(kind: ErrorKind) -> bool {
    is_not_there(kind) || kind == ErrorKind::PermissionDenied
}
