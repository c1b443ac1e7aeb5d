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

use super::temp_sweep::{remove_own_temp_files, Removal};
use super::{auth_failed, is_connection_failure, retry, short_message, unreachable, Runtime};
use crate::error::{ErrorKind, RemoteError, Result};

use crate::{Capabilities, Entry, Expect, Remote, Stat, Written};
use futures_util::StreamExt;
use offline_core::{is_temp_name, Hash, Kind, Meta, RelPath, TempTag};
use openssh::{KnownHosts, SessionBuilder};
use openssh_sftp_client::error::SftpErrorKind;
use openssh_sftp_client::file::TokioCompatFile;
use openssh_sftp_client::metadata::{MetaData, MetaDataBuilder, Permissions};
use openssh_sftp_client::Error as SftpError;
use std::ffi::OsStr;
use std::io::{self, Read};
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

mod pool;
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

/// Classifies an SFTP failure: an answer of the server keeps its meaning, any
/// other failure (the ssh connection broke) means the server is unreachable.
fn fail(path: &RelPath, action: &str, err: SftpError) -> RemoteError {
    let detail = short_message(&err);
    let kind = match &err {
        SftpError::SftpError(kind, _) => match kind {
            SftpErrorKind::NoSuchFile => ErrorKind::NotFound,
            SftpErrorKind::PermDenied => ErrorKind::PermissionDenied,
            SftpErrorKind::OpUnsupported => ErrorKind::Unsupported,
            _ => ErrorKind::Io,
        },
        SftpError::UnsupportedExtension(_) => ErrorKind::Unsupported,
        SftpError::RemoteChildSpawnError(ssh) => return ssh_error(path, action, ssh),
        _ => return unreachable(path, action, &detail),
    };
    RemoteError::new(kind, path, format!("cannot {action}: {detail}"))
}

fn ssh_error(path: &RelPath, action: &str, err: &openssh::Error) -> RemoteError {
    let detail = short_message(err);
    let lower = detail.to_ascii_lowercase();
    if lower.contains("permission denied") || lower.contains("authentication") {
        auth_failed(path, action, &detail)
    } else if lower.contains("host key verification failed") {
        RemoteError::new(
            ErrorKind::PermissionDenied,
            path,
            format!("cannot {action}: the server's host key is unknown or changed; check it and add it to known_hosts ({detail})"),
        )
    } else if is_connection_failure(err) || lower.contains("could not resolve") {
        unreachable(path, action, &detail)
    } else {
        RemoteError::new(
            ErrorKind::Unreachable,
            path,
            format!("cannot {action}: the ssh connection failed ({detail})"),
        )
    }
}

/// Worth another try: the connection hiccuped (not an answer of the server).
fn transient(err: &SftpError) -> bool {
    !matches!(
        err,
        SftpError::SftpError(..) | SftpError::UnsupportedExtension(_)
    ) && is_connection_failure(err)
}

fn is_not_found(err: &SftpError) -> bool {
    matches!(err, SftpError::SftpError(SftpErrorKind::NoSuchFile, _))
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

    /// `lstat` with retries; `None` when nothing is there.
    fn lstat(&self, path: &RelPath) -> Result<Option<MetaData>> {
        let full = self.full(path);
        self.lstat_full(path, &full)
    }

    fn lstat_full(&self, path: &RelPath, full: &Path) -> Result<Option<MetaData>> {
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
    fn to_stat(&self, path: &RelPath, full: &Path, meta: &MetaData) -> Result<Option<Stat>> {
        let mtime_s = meta
            .modified()
            .map(|t| t.as_duration().as_secs() as i64)
            .unwrap_or(0);
        let mtime_ns = super::secs_to_ns(mtime_s);
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
    fn list_all(&self, dir: &RelPath) -> Result<Vec<(Entry, bool)>> {
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
                out.push((super::unusable_entry(name), false));
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

    /// Checks a precondition against what is at `path` now.
    fn check_expect(&self, path: &RelPath, expect: &Expect) -> Result<Option<Stat>> {
        let current = self.stat(path)?;
        let changed = |message: &str| Err(RemoteError::new(ErrorKind::Changed, path, message));
        match (expect, &current) {
            (Expect::Any, _) | (Expect::Absent, None) => {}
            (Expect::Absent, Some(_)) => {
                return changed("something appeared there since it was scanned")
            }
            (Expect::Identity(_), None) => return changed("it was removed since it was scanned"),
            (Expect::Identity(id), Some(stat)) if stat.identity == *id => {}
            (Expect::Identity(_), Some(_)) => return changed("it changed since it was scanned"),
        }
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
        let current = self.check_expect(path, expect)?;
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
            let current = self.check_expect(path, expect)?;
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
        let Some(current) = self.check_expect(path, expect)? else {
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
        let Some(current) = self.check_expect(path, expect)? else {
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

/// A download read from synchronous code.
struct BlockingRead {
    handle: tokio::runtime::Handle,
    file: std::pin::Pin<Box<TokioCompatFile>>,
    /// The session the file is open on, busy until the read is done.
    _session: pool::Lease,
}

impl Read for BlockingRead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        use tokio::io::AsyncReadExt;
        let file = &mut self.file;
        self.handle.block_on(file.read(out))
    }
}
