//! SFTP shares, through the `openssh` and `openssh-sftp-client` crates (the ones
//! OpenDAL's sftp service is built on), used directly: OpenDAL's service cannot be
//! given a known_hosts file or a connect timeout, and hides permission bits and
//! symlinks, which SFTP keeps.
//!
//! The connection is the system `ssh` client (a control master per session), so
//! `~/.ssh/config`, keys and agents work as for `ssh`; the server's key is checked
//! strictly (against `OFFLINE_SFTP_KNOWN_HOSTS` when set). Copies in flight get a
//! session each, up to eight ([`pool`]). Files are written to a temp name in their
//! folder, flushed (`fsync@openssh.com` when offered) and renamed over the target
//! (`posix-rename@openssh.com`), or hard-linked into place where nothing may be
//! there yet, so a dropped upload never leaves half a file ([`upload`]).
//!
//! SFTP (version 3) gives times in whole seconds and no inode: the identity of a
//! file is its size, modification time and mode. A file's time is the time it was
//! uploaded, and this backend keeps those times strictly increasing per path (a
//! version written in the same second as the one it replaces gets the next
//! second), so a new version never takes the identity of the one it replaced.
//!
//! This file connects and carries out each operation of [`Remote`]; `look` reads
//! items and folders, `errors` classifies failures, `read` streams a download.

use super::temp_sweep::{remove_own_temp_files, Removal};
use super::Runtime;
use crate::error::{ErrorKind, RemoteError, Result};
use crate::{Capabilities, CheckExpect, Entry, Expect, Remote, Stat, Written};
use errors::{fail, is_not_found, ssh_error};
use offline_core::{Hash, Kind, RelPath, TempTag};
use openssh::{KnownHosts, SessionBuilder};
use openssh_sftp_client::error::SftpErrorKind;
use openssh_sftp_client::file::TokioCompatFile;
use openssh_sftp_client::metadata::{MetaDataBuilder, Permissions};
use openssh_sftp_client::Error as SftpError;
use read::BlockingRead;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The settings to open an SFTP share.
pub(crate) struct SftpConfig<'a> {
    pub host: &'a str,
    pub port: Option<u16>,
    pub user: Option<&'a str>,
    pub root: &'a str,
    pub key: Option<&'a str>,
    pub known_hosts: Option<&'a str>,
}

mod errors;
mod look;
mod pool;
mod read;
mod upload;

/// An SFTP share.
pub struct SftpRemote {
    rt: Runtime,
    pool: pool::Pool,
    root: PathBuf,
    hidden: Vec<Vec<u8>>,
    /// The cache's tag in the names of the temp files this share gets.
    temp: TempTag,
    location: String,
}

impl SftpRemote {
    /// Connects to the server (the system `ssh` client) and checks that the
    /// share's root folder is there.
    pub(crate) fn connect(
        config: &SftpConfig<'_>,
        location: &str,
        (hidden, temp): (&[&[u8]], &TempTag),
    ) -> Result<SftpRemote> {
        let here = RelPath::root();
        let rt = Runtime::new()?;
        let mut builder = SessionBuilder::default();
        builder
            .known_hosts_check(KnownHosts::Strict)
            .connect_timeout(super::connect_timeout())
            .server_alive_interval(Duration::from_secs(15))
            .control_directory(std::env::temp_dir());
        if let Some(user) = config.user {
            builder.user(user.to_string());
        }
        if let Some(port) = config.port {
            builder.port(port);
        }
        if let Some(key) = config.key {
            builder.keyfile(key);
        }
        if let Some(file) = config.known_hosts {
            builder.user_known_hosts_file(file);
        }
        let first = rt
            .block_on(pool::open(&builder, config.host))
            .map_err(|e| match e {
                pool::Opening::Ssh(e) => ssh_error(&here, "connect to the server", &e),
                pool::Opening::Sftp(e) => fail(&here, "start the sftp session", e),
            })?;
        let remote = SftpRemote {
            pool: pool::Pool::new(builder, config.host, first),
            rt,
            root: PathBuf::from(config.root),
            hidden: hidden.iter().map(|h| h.to_vec()).collect(),
            temp: temp.clone(),
            location: location.to_string(),
        };
        match remote.lstat(&here)? {
            Some(stat) if stat.file_type().is_some_and(|t| t.is_dir()) => Ok(remote),
            Some(_) => Err(RemoteError::new(
                ErrorKind::Unreachable,
                &here,
                format!("the share's root {} is not a folder", config.root),
            )),
            None => Err(RemoteError::new(
                ErrorKind::Unreachable,
                &here,
                format!(
                    "the share's root folder {} does not exist on the server",
                    config.root
                ),
            )),
        }
    }

    /// The least busy session, for a quick request.
    fn sftp(&self) -> pool::Lease {
        self.pool.any()
    }

    /// Where an item is on the server.
    fn full(&self, path: &RelPath) -> PathBuf {
        if path.is_root() {
            self.root.clone()
        } else {
            self.root.join(path.as_os_str())
        }
    }

    fn stat_required(&self, path: &RelPath, what: &str) -> Result<Stat> {
        self.stat(path)?.ok_or_else(|| {
            RemoteError::new(
                ErrorKind::Changed,
                path,
                format!("it vanished right after {what}"),
            )
        })
    }

    /// Sets the permission bits of the item at `full`.
    async fn chmod(&self, full: &Path, mode: u32) -> std::result::Result<(), SftpError> {
        let mut builder = MetaDataBuilder::new();
        builder.permissions(Permissions::from(mode as u16));
        self.sftp().fs().set_metadata(full, builder.create()).await
    }

    fn remove_quietly(&self, full: &Path) {
        if let Err(e) = self.rt.block_on(self.sftp().fs().remove_file(full)) {
            tracing::warn!("could not remove the temp file {}: {e}", full.display());
        }
    }

    /// Checks a precondition against what is at `path` now; returns what is there.
    fn stat_checked(&self, path: &RelPath, expect: &Expect) -> Result<Option<Stat>> {
        let current = self.stat(path)?;
        expect.verify(path, current.as_ref().map(|s| s.identity.as_str()))?;
        Ok(current)
    }

    /// Refuses to replace a folder with a file or symlink.
    fn refuse_dir(path: &RelPath, current: Option<&Stat>) -> Result<()> {
        if current.is_some_and(|c| c.meta.kind == Kind::Dir) {
            return Err(RemoteError::new(
                ErrorKind::IsADirectory,
                path,
                "a folder is where the item should go",
            ));
        }
        Ok(())
    }

    fn refuse_root(path: &RelPath, what: &str) -> Result<()> {
        if path.is_root() {
            return Err(RemoteError::new(
                ErrorKind::NameNotAllowed,
                path,
                format!("the root folder cannot be {what}"),
            ));
        }
        Ok(())
    }
}

impl Drop for SftpRemote {
    fn drop(&mut self) {
        self.pool.close(&self.rt);
    }
}

impl Remote for SftpRemote {
    fn describe(&self) -> String {
        self.location.clone()
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
        let full = self.full(path);
        let Some(meta) = self.lstat_full(path, &full)? else {
            if path.is_root() {
                return Err(RemoteError::new(
                    ErrorKind::Unreachable,
                    path,
                    "the share's root folder is gone from the server",
                ));
            }
            return Ok(None);
        };
        self.to_stat(path, &full, &meta)
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
        // Opened straight away (the folder's listing said it is a file): nothing
        // there is `NotFound`; a folder opened for reading fails at the first read.
        let full = self.full(path);
        let sftp = self.pool.for_copy(&self.rt);
        let file = self
            .rt
            .block_on(sftp.open(&full))
            .map_err(|e| fail(path, "open the file", e))?;
        Ok(Box::new(BlockingRead {
            handle: self.rt.handle(),
            file: Box::pin(TokioCompatFile::new(file)),
            _session: sftp,
        }))
    }

    fn write_file(
        &self,
        path: &RelPath,
        content: &mut dyn Read,
        mode: u32,
        _mtime_ns: i64,
        expected_hash: Option<Hash>,
        expect: &Expect,
    ) -> Result<Written> {
        self.upload(path, content, mode, expected_hash, expect)
    }

    fn make_dir(
        &self,
        path: &RelPath,
        mode: u32,
        _mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        let full = self.full(path);
        let current = self.stat_checked(path, expect)?;
        match current {
            Some(stat) if stat.meta.kind == Kind::Dir => {}
            Some(_) => {
                return Err(RemoteError::new(
                    ErrorKind::AlreadyExists,
                    path,
                    "a file or symlink is where the folder should be",
                ))
            }
            None => self
                .rt
                .block_on(self.sftp().fs().create_dir(&full))
                .map_err(|e| fail(path, "create the folder", e))?,
        }
        self.rt
            .block_on(self.chmod(&full, mode))
            .map_err(|e| fail(path, "set the folder's mode", e))?;
        self.stat_required(path, "it was created")
    }

    fn make_symlink(
        &self,
        path: &RelPath,
        target: &[u8],
        _mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        Self::refuse_root(path, "replaced by a symlink")?;
        let full = self.full(path);
        let dir = full.parent().unwrap_or(Path::new("/"));
        let temp = dir.join(OsStr::from_bytes(
            &self.temp.temp_name(crate::sys::random_u64()),
        ));
        // `symlink(target, link)`, like std (the crate deals with OpenSSH's order).
        self.rt
            .block_on(
                self.sftp()
                    .fs()
                    .symlink(Path::new(OsStr::from_bytes(target)), &temp),
            )
            .map_err(|e| fail(path, "create the symlink", e))?;
        let placed = (|| {
            let current = self.stat_checked(path, expect)?;
            Self::refuse_dir(path, current.as_ref())?;
            self.place(&self.sftp(), path, None, &temp, &full, expect)
        })();
        if let Err(err) = placed {
            self.remove_quietly(&temp);
            return Err(err);
        }
        self.stat_required(path, "it was created")
    }

    fn remove(&self, path: &RelPath, expect: &Expect) -> Result<()> {
        Self::refuse_root(path, "removed")?;
        let full = self.full(path);
        let Some(current) = self.stat_checked(path, expect)? else {
            return Err(RemoteError::new(
                ErrorKind::NotFound,
                path,
                "nothing is there to remove",
            ));
        };
        let is_dir = current.meta.kind == Kind::Dir;
        let result = self.rt.block_on(async {
            let mut fs = self.sftp().fs();
            if is_dir {
                fs.remove_dir(&full).await
            } else {
                fs.remove_file(&full).await
            }
        });
        match result {
            Ok(()) => Ok(()),
            Err(SftpError::SftpError(SftpErrorKind::Failure, _)) if is_dir => Err(
                RemoteError::new(ErrorKind::NotEmpty, path, "the folder is not empty"),
            ),
            Err(e) if is_not_found(&e) => Err(RemoteError::new(
                ErrorKind::NotFound,
                path,
                "nothing is there to remove",
            )),
            Err(e) => Err(fail(path, "remove it", e)),
        }
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        Self::refuse_root(from, "renamed")?;
        Self::refuse_root(to, "replaced")?;
        let Some(source) = self.lstat(from)? else {
            return Err(RemoteError::new(
                ErrorKind::NotFound,
                from,
                "nothing is there to rename",
            ));
        };
        let is_file = source.file_type().is_some_and(|t| !t.is_dir());
        if self.lstat(to)?.is_some() {
            return Err(RemoteError::new(
                ErrorKind::AlreadyExists,
                to,
                format!("cannot rename {from} to it: something is already there"),
            ));
        }
        let (a, b) = (self.full(from), self.full(to));
        let result = self.rt.block_on(async {
            let mut fs = self.sftp().fs();
            if is_file && self.sftp().support_hardlink() {
                // A hard link fails where something is: no replace, no race.
                fs.hard_link(&a, &b).await?;
                fs.remove_file(&a).await
            } else {
                fs.rename(&a, &b).await
            }
        });
        result.map_err(|e| match e {
            SftpError::SftpError(SftpErrorKind::Failure, _) if is_file => RemoteError::new(
                ErrorKind::AlreadyExists,
                to,
                format!("cannot rename {from} to it: something is already there"),
            ),
            e => fail(from, &format!("rename it to {to}"), e),
        })
    }

    fn set_attrs(
        &self,
        path: &RelPath,
        mode: Option<u32>,
        _mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        let full = self.full(path);
        let Some(current) = self.stat_checked(path, expect)? else {
            return Err(RemoteError::new(
                ErrorKind::NotFound,
                path,
                "nothing is there",
            ));
        };
        // Times on this share are the server's (see the module notes): only the
        // mode is set.
        if let (Some(mode), false) = (mode, current.meta.kind == Kind::Symlink) {
            if mode != current.meta.mode {
                self.rt
                    .block_on(self.chmod(&full, mode))
                    .map_err(|e| fail(path, "set the mode", e))?;
            }
        }
        self.stat_required(path, "its mode was set")
    }

    fn remove_temp_files(&self) -> Result<usize> {
        remove_own_temp_files(
            &self.temp,
            |dir| self.list_all(dir),
            |item| {
                let full = self.full(item);
                match self.rt.block_on(self.sftp().fs().remove_file(&full)) {
                    Ok(()) => Ok(Removal::Removed),
                    Err(e) if is_not_found(&e) => Ok(Removal::AlreadyGone),
                    Err(e) => Err(fail(item, "remove the temp file", e)),
                }
            },
        )
    }
}
