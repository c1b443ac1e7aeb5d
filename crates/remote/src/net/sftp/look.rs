//! Reading the share's items over SFTP: the attributes of one item (`lstat`, with
//! retries) turned into a [`Stat`] and its identity, and the listing of a folder.

use super::errors::{fail, is_not_found, transient};
use super::SftpRemote;
use crate::error::Result;
use crate::net::retry;
use crate::{Entry, Stat};
use futures_util::StreamExt;
use offline_core::{is_temp_name, Kind, Meta, RelPath};
use openssh_sftp_client::metadata::MetaData;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

impl SftpRemote {
    /// `lstat` with retries; `None` when nothing is there.
    pub(super) fn lstat(&self, path: &RelPath) -> Result<Option<MetaData>> {
        let full = self.full(path);
        self.lstat_full(path, &full)
    }

    pub(super) fn lstat_full(&self, path: &RelPath, full: &Path) -> Result<Option<MetaData>> {
        let result = self.rt.block_on(retry(
            || async { self.sftp().fs().symlink_metadata(full).await },
            transient,
        ));
        match result {
            Ok(meta) => Ok(Some(meta)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(fail(path, "read its metadata", e)),
        }
    }

    /// The [`Stat`] of an item from its attributes (a symlink's target is read).
    pub(super) fn to_stat(
        &self,
        path: &RelPath,
        full: &Path,
        meta: &MetaData,
    ) -> Result<Option<Stat>> {
        let mtime_s = meta
            .modified()
            .map(|t| t.as_duration().as_secs() as i64)
            .unwrap_or(0);
        let mtime_ns = crate::net::secs_to_ns(mtime_s);
        let mode = meta
            .permissions()
            .map(|p| p.as_raw().bits() & 0o7777)
            .unwrap_or(0o644);
        let Some(kind) = meta.file_type() else {
            return Ok(None);
        };
        let (meta, identity) = if kind.is_dir() {
            (Meta::dir(mtime_ns, mode), format!("dir:{mode:o}"))
        } else if kind.is_file() {
            let size = meta.len().unwrap_or(0);
            (
                Meta {
                    kind: Kind::File,
                    size,
                    mtime_ns,
                    mode,
                    hash: None,
                    target: None,
                },
                format!("size:{size}:mtime:{mtime_s}:mode:{mode:o}"),
            )
        } else if kind.is_symlink() {
            let target = self
                .rt
                .block_on(retry(
                    || async { self.sftp().fs().read_link(full).await },
                    transient,
                ))
                .map_err(|e| fail(path, "read the symlink", e))?;
            let target = target.as_os_str().as_bytes().to_vec();
            let identity = format!("link:{}:mtime:{mtime_s}", target.len());
            (Meta::symlink(target, mtime_ns), identity)
        } else {
            tracing::warn!("{path}: a device, FIFO or socket on the server; not synced");
            return Ok(None);
        };
        Ok(Some(Stat { meta, identity }))
    }

    /// Every child of `dir`, with a flag for the names `list` leaves out.
    pub(super) fn list_all(&self, dir: &RelPath) -> Result<Vec<(Entry, bool)>> {
        let full = self.full(dir);
        let raw = self
            .rt
            .block_on(retry(
                || async {
                    let handle = self.sftp().fs().open_dir(&full).await?;
                    let mut entries = Vec::new();
                    let mut stream = std::pin::pin!(handle.read_dir());
                    while let Some(entry) = stream.next().await {
                        let entry = entry?;
                        entries.push((
                            entry.filename().as_os_str().as_bytes().to_vec(),
                            entry.metadata(),
                        ));
                    }
                    Ok(entries)
                },
                transient,
            ))
            .map_err(|e| fail(dir, "list the folder", e))?;
        let mut out = Vec::with_capacity(raw.len());
        for (name, meta) in raw {
            if name == b"." || name == b".." || name.is_empty() {
                continue;
            }
            let Ok(item) = dir.join(&name) else {
                // Passed on as it is: the engine reports and skips it.
                out.push((crate::net::unusable_entry(name), false));
                continue;
            };
            let skipped = is_temp_name(&name) || (dir.is_root() && self.hidden.contains(&name));
            let child = full.join(OsStr::from_bytes(&name));
            let Some(stat) = self.to_stat(&item, &child, &meta)? else {
                continue;
            };
            out.push((Entry { name, stat }, skipped));
        }
        Ok(out)
    }
}
