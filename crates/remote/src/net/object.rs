//! WebDAV and S3 shares through OpenDAL.
//!
//! Both are stores of named blobs reached over HTTP; they differ in what they can
//! do, and this backend says so in [`Capabilities`]:
//!
//! - **S3** (an object store): folders are key prefixes; an empty folder is kept as
//!   a zero-byte *folder marker object* whose key is the folder's path with a
//!   trailing slash (`photos/2024/`, what the AWS console and OpenDAL create). There
//!   is no rename: a file is written to its final key directly (a PUT is atomic
//!   per object, so readers see the old or the new object, never a part), and the
//!   keep-all conflict path's rename is a server-side copy followed by a delete.
//!   The identity of a file is its ETag (with its size).
//! - **WebDAV**: real folders. A file is uploaded to a temp name in its folder and
//!   moved over the target (`MOVE`), so a dropped upload never leaves half a file.
//!   The identity is the ETag, size and modification time. Servers whose ETag is
//!   only mtime+size (nginx) could give two versions written in the same second
//!   the same identity: before a version replaces one with the same identity, this
//!   backend waits for the next second and uploads it again, so an identity always
//!   changes with the content.
//!
//! Neither keeps permission bits, symlinks or modification times chosen by the
//! client: a file's time is the time it was written to the server.
//!
//! Listings are streamed from OpenDAL's lister one folder at a time (S3 pages of
//! 1000 keys with a `/` delimiter), never the whole bucket at once. Requests that
//! fail with a transient error (connection refused or reset, 5xx, timeouts) are
//! retried with backoff (OpenDAL's retry layer: 2 retries); a server that stays
//! away is [`ErrorKind::Unreachable`].
//!
//! This file holds what both share and carries out each operation of [`Remote`];
//! `open` sets a share up, `dav` and `s3` hold what only one protocol reads,
//! `dav_write` and `s3_write` upload a file, `rename` renames an S3 folder,
//! `errors` classifies failures and `read` streams a download.

mod dav;
mod dav_write;
mod errors;
mod open;
mod read;
mod rename;
mod s3;
mod s3_write;

use super::temp_sweep::{remove_own_temp_files, Removal};
use super::{key, no_symlinks, Runtime};
use crate::error::{ErrorKind, RemoteError, Result};
use crate::{Capabilities, CheckExpect, Entry, Expect, Lineage, Remote, Stat, Written};
use dav::Dav;
use futures_util::StreamExt;
use offline_core::{is_temp_name, Hash, Kind, Meta, RelPath, TempTag};
pub(crate) use open::{S3Config, WebdavConfig};
use opendal::Operator;
use read::BlockingRead;
use std::io::Read;

/// Mode reported for files and folders (these shares keep no permission bits; the
/// engine carries the last synced mode over, see `Capabilities::modes`).
const FILE_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;

/// Which protocol the operator speaks, with what only that protocol needs.
enum Flavor {
    Webdav(Dav),
    S3,
}

/// A WebDAV or S3 share.
pub struct ObjectRemote {
    rt: Runtime,
    op: Operator,
    flavor: Flavor,
    hidden: Vec<Vec<u8>>,
    /// The cache's tag in the names of the temp files this share gets.
    temp: TempTag,
    location: String,
}

impl ObjectRemote {
    fn is_s3(&self) -> bool {
        matches!(self.flavor, Flavor::S3)
    }

    /// Checks that the share's root is there (a request to the server).
    fn probe_root(&self) -> Result<()> {
        let root = RelPath::root();
        let result = if self.is_s3() {
            self.rt.guarded(async {
                let mut lister = self.op.lister_with("/").limit(1).await?;
                lister.next().await.transpose().map(|_| ())
            })
        } else if let Flavor::Webdav(dav) = &self.flavor {
            // OpenDAL answers a stat of the root without asking the server.
            return self.dav_probe(dav);
        } else {
            Ok(())
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => Err(RemoteError::new(
                ErrorKind::Unreachable,
                &root,
                if self.is_s3() {
                    "the bucket does not exist"
                } else {
                    "the share's root folder does not exist on the server"
                },
            )),
            Err(e) => Err(match self.fail(&root, "reach the share", e) {
                err if err.kind == ErrorKind::NotFound || err.kind == ErrorKind::Io => {
                    RemoteError::new(ErrorKind::Unreachable, &root, err.message)
                }
                err => err,
            }),
        }
    }

    /// The stat of a file or folder from OpenDAL's metadata.
    fn to_stat(&self, meta: &opendal::Metadata) -> Stat {
        let mtime_ns = meta
            .last_modified()
            .map(|t| t.into_inner().as_second())
            .map(super::secs_to_ns)
            .unwrap_or(0);
        if meta.is_dir() {
            return Stat {
                meta: Meta::dir(mtime_ns, DIR_MODE),
                identity: "dir".to_string(),
            };
        }
        let size = meta.content_length();
        let etag = meta.etag().map(|e| e.trim_matches('"')).unwrap_or("");
        let identity = if self.is_s3() {
            if etag.is_empty() {
                format!("size:{size}:mtime:{mtime_ns}")
            } else {
                format!("etag:{etag}:size:{size}")
            }
        } else {
            format!("etag:{etag}:size:{size}:mtime:{mtime_ns}")
        };
        Stat {
            meta: Meta {
                kind: Kind::File,
                size,
                mtime_ns,
                mode: FILE_MODE,
                hash: None,
                target: None,
            },
            identity,
        }
    }

    fn dir_stat() -> Stat {
        Stat {
            meta: Meta::dir(0, DIR_MODE),
            identity: "dir".to_string(),
        }
    }

    /// The file at `key` (a HEAD on S3, a PROPFIND on WebDAV), or `None`.
    fn stat_key(&self, path: &RelPath, key: &str) -> Result<Option<Stat>> {
        match self.rt.guarded(self.op.stat(key)) {
            Ok(meta) => Ok(Some(self.to_stat(&meta))),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.fail(path, "read its metadata", e)),
        }
    }

    /// Every child of `dir`, temp files and hidden names included, with a flag for
    /// the names `list` leaves out. Names are what the server gave: one that cannot
    /// be an item (an entry outside the folder, `..`, `a//b`) is passed on for the
    /// engine to report.
    fn list_all(&self, dir: &RelPath) -> Result<Vec<(Entry, bool)>> {
        let listed = match &self.flavor {
            Flavor::Webdav(dav) => self.dav_list(dav, dir)?,
            Flavor::S3 => self.s3_list(dir)?,
        };
        Ok(listed
            .into_iter()
            .map(|entry| {
                let skipped = is_temp_name(&entry.name)
                    || (dir.is_root() && self.hidden.contains(&entry.name));
                (entry, skipped)
            })
            .collect())
    }

    /// Checks `expect` against the file at `key` and that no folder is there;
    /// returns what is there.
    fn check_file_target(
        &self,
        path: &RelPath,
        key: &str,
        expect: &Expect,
    ) -> Result<Option<Stat>> {
        let current = self.stat(path)?;
        expect.verify(path, current.as_ref().map(|s| s.identity.as_str()))?;
        if current.as_ref().is_some_and(|s| s.meta.kind == Kind::Dir) {
            return Err(RemoteError::new(
                ErrorKind::IsADirectory,
                path,
                "a folder is where the item should go",
            ));
        }
        let _ = key;
        Ok(current)
    }

    fn stat_after_change(&self, path: &RelPath) -> Result<Stat> {
        self.stat(path)?.ok_or_else(|| {
            RemoteError::new(
                ErrorKind::Changed,
                path,
                "it vanished right after it was changed",
            )
        })
    }
}

impl Remote for ObjectRemote {
    fn describe(&self) -> String {
        self.location.clone()
    }

    fn lineage(&self) -> Lineage {
        // S3's ETag is the content's (a server-side copy keeps it); WebDAV's is
        // often the file's time and size only.
        if self.is_s3() {
            Lineage::ContentTag
        } else {
            Lineage::Stat
        }
    }

    fn reads_whole_versions(&self) -> bool {
        // An S3 GET serves one object version whole.
        self.is_s3()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            rename: !self.is_s3(),
            empty_dirs: true,
            symlinks: false,
            modes: false,
        }
    }

    fn stat(&self, path: &RelPath) -> Result<Option<Stat>> {
        if path.is_root() {
            self.probe_root()?;
            return Ok(Some(Self::dir_stat()));
        }
        let key = key(path)?;
        if let Some(stat) = self.stat_key(path, key)? {
            return Ok(Some(stat));
        }
        if self.is_s3() {
            if self.s3_dir_exists(path, key)? {
                let marker = self.stat_key(path, &format!("{key}/"))?;
                let mtime = marker.map(|m| m.meta.mtime_ns).unwrap_or(0);
                return Ok(Some(Stat {
                    meta: Meta::dir(mtime, DIR_MODE),
                    identity: "dir".to_string(),
                }));
            }
            return Ok(None);
        }
        // WebDAV: a folder may only answer under its name with a trailing slash.
        self.stat_key(path, &format!("{key}/"))
    }

    fn list(&self, dir: &RelPath) -> Result<Vec<Entry>> {
        Ok(self
            .list_all(dir)?
            .into_iter()
            .filter(|(_, skipped)| !skipped)
            .map(|(entry, _)| entry)
            .collect())
    }

    fn open_read(&self, path: &RelPath) -> Result<Box<dyn Read + Send>> {
        let key = key(path)?;
        let stream = self.rt.guarded(async {
            let reader = self.op.reader(key).await?;
            reader.into_bytes_stream(..).await
        });
        let stream = stream.map_err(|e| self.fail(path, "open the file", e))?;
        Ok(Box::new(BlockingRead {
            handle: self.rt.handle(),
            stream,
            buffer: bytes::Bytes::new(),
        }))
    }

    fn write_file(
        &self,
        path: &RelPath,
        content: &mut dyn Read,
        _mode: u32,
        _mtime_ns: i64,
        expected_hash: Option<Hash>,
        expect: &Expect,
    ) -> Result<Written> {
        if path.is_root() {
            return Err(RemoteError::new(
                ErrorKind::NameNotAllowed,
                path,
                "the root folder cannot be replaced by a file",
            ));
        }
        let key = key(path)?;
        match &self.flavor {
            Flavor::S3 => self.s3_write(path, key, content, expected_hash, expect),
            Flavor::Webdav(dav) => self.dav_write(dav, path, key, content, expected_hash, expect),
        }
    }

    fn make_dir(
        &self,
        path: &RelPath,
        _mode: u32,
        _mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        let current = self.stat(path)?;
        expect.verify(path, current.as_ref().map(|s| s.identity.as_str()))?;
        match current {
            Some(stat) if stat.meta.kind == Kind::Dir => return Ok(stat),
            Some(_) => {
                return Err(RemoteError::new(
                    ErrorKind::AlreadyExists,
                    path,
                    "a file is where the folder should be",
                ))
            }
            None => {}
        }
        let folder = format!("{}/", key(path)?);
        self.rt
            .guarded(self.op.create_dir(&folder))
            .map_err(|e| self.fail(path, "create the folder", e))?;
        self.stat_after_change(path)
    }

    fn make_symlink(
        &self,
        path: &RelPath,
        _target: &[u8],
        _mtime_ns: Option<i64>,
        _expect: &Expect,
    ) -> Result<Stat> {
        Err(no_symlinks(path))
    }

    fn remove(&self, path: &RelPath, expect: &Expect) -> Result<()> {
        if path.is_root() {
            return Err(RemoteError::new(
                ErrorKind::NameNotAllowed,
                path,
                "the root folder cannot be removed",
            ));
        }
        let Some(current) = self.stat(path)? else {
            return Err(RemoteError::new(
                ErrorKind::NotFound,
                path,
                "nothing is there to remove",
            ));
        };
        expect.verify(path, Some(&current.identity))?;
        let key = key(path)?;
        if current.meta.kind == Kind::Dir {
            // Never recursive: a WebDAV DELETE of a folder would take its children.
            if self
                .list_all(path)?
                .iter()
                .any(|(entry, _)| !is_temp_name(&entry.name))
            {
                return Err(RemoteError::new(
                    ErrorKind::NotEmpty,
                    path,
                    "the folder is not empty",
                ));
            }
            let folder = format!("{key}/");
            return match self.rt.guarded(self.op.delete(&folder)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(self.fail(path, "remove the folder", e)),
            };
        }
        self.rt
            .guarded(self.op.delete(key))
            .map_err(|e| self.fail(path, "remove it", e))
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        if from.is_root() || to.is_root() {
            return Err(RemoteError::new(
                ErrorKind::NameNotAllowed,
                from,
                "the root folder cannot be renamed or replaced",
            ));
        }
        let Some(source) = self.stat(from)? else {
            return Err(RemoteError::new(
                ErrorKind::NotFound,
                from,
                "nothing is there to rename",
            ));
        };
        if self.stat(to)?.is_some() {
            return Err(RemoteError::new(
                ErrorKind::AlreadyExists,
                to,
                format!("cannot rename {from} to it: something is already there"),
            ));
        }
        let (from_key, to_key) = (key(from)?, key(to)?);
        match &self.flavor {
            Flavor::Webdav(dav) => {
                let (a, b) = if source.meta.kind == Kind::Dir {
                    (format!("{from_key}/"), format!("{to_key}/"))
                } else {
                    (from_key.to_string(), to_key.to_string())
                };
                self.dav_move(dav, from, &a, &b, false)
            }
            Flavor::S3 => {
                if source.meta.kind == Kind::Dir {
                    return self.s3_rename_folder(from, to);
                }
                // No rename on an object store: a server-side copy, then a delete.
                self.rt
                    .guarded(self.op.copy(from_key, to_key))
                    .map_err(|e| self.fail(to, &format!("copy {from} to it"), e))?;
                self.rt
                    .guarded(self.op.delete(from_key))
                    .map_err(|e| self.fail(from, "remove it after copying it", e))
            }
        }
    }

    /// S3 only (a WebDAV MOVE is one step): a folder's remaining copies and
    /// deletions; a file copied but not yet deleted under its old name is deleted.
    fn finish_move(&self, from: &RelPath, to: &RelPath) -> Result<bool> {
        if !self.is_s3() || from.is_root() || to.is_root() {
            return Ok(false);
        }
        let (Some(source), Some(target)) = (self.stat(from)?, self.stat(to)?) else {
            return Ok(false);
        };
        match (source.meta.kind, target.meta.kind) {
            (Kind::Dir, Kind::Dir) => self.s3_finish_folder_rename(from, to),
            (Kind::File, Kind::File) if source.identity == target.identity => {
                crashpoint::hit("s3.rename.delete");
                self.rt
                    .guarded(self.op.delete(key(from)?))
                    .map_err(|e| self.fail(from, "remove it after copying it", e))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn set_attrs(
        &self,
        path: &RelPath,
        _mode: Option<u32>,
        _mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        // Modes and client-chosen times are not kept on these shares.
        let Some(current) = self.stat(path)? else {
            return Err(RemoteError::new(
                ErrorKind::NotFound,
                path,
                "nothing is there",
            ));
        };
        expect.verify(path, Some(&current.identity))?;
        Ok(current)
    }

    fn remove_temp_files(&self) -> Result<usize> {
        if self.is_s3() {
            // Objects are written to their final keys: there are no temp files.
            return Ok(0);
        }
        remove_own_temp_files(
            &self.temp,
            |dir| self.list_all(dir),
            |item| match self.rt.guarded(self.op.delete(key(item)?)) {
                Ok(()) => Ok(Removal::Removed),
                Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(Removal::AlreadyGone),
                Err(e) => Err(self.fail(item, "remove the temp file", e)),
            },
        )
    }
}
