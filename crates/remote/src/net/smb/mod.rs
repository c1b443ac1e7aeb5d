//! SMB 2/3 shares (Windows file servers, Samba), spoken directly through the
//! pure-Rust `smb` crate: no kernel mount, no root.
//!
//! - **Connection** (`session.rs`): one signed session per backend, encrypted
//!   whenever the server can (SMB 3); made again when it breaks; requests that may
//!   be repeated are tried up to three times.
//! - **Identity** (`meta.rs`): the server's file id, last write time, change time
//!   and size. Modification times are kept (set by the client, to 100 ns);
//!   permission bits and symlinks are not SMB's.
//! - **Writes** (`write.rs`): temp file, flush, rename through the open handle,
//!   `ReplaceIfExists` off where nothing may be there.
//! - **Names** (`names.rs`): the characters Windows refuses are refused before
//!   anything is sent; a name the server refuses, or one that differs only by
//!   case from an item already there (servers usually ignore case), is an item
//!   error with a clear reason, and never makes the other item be replaced.
//! - **Sharing violations** (another program holds the file open and denies the
//!   change) are item errors of kind [`ErrorKind::InUse`], tried again next sync.

mod change;
mod lookup;
mod meta;
mod names;
mod read;
mod session;
mod status;
mod transport;
mod watch;
mod write;

use super::temp_sweep::{remove_own_temp_files, Removal};
use crate::error::{ErrorKind, RemoteError, Result};
use crate::{Capabilities, ChangeWatch, Entry, Expect, Remote, Stat, Written};
use lookup::Found;
use names::NameMatch;
use offline_core::{is_temp_name, Hash, Kind, RelPath, TempTag};
use session::{Encrypt, Session, Target};
use std::io::Read;
use std::sync::Arc;

/// The settings to open an SMB share.
pub(crate) struct SmbConfig<'a> {
    pub host: &'a str,
    pub port: Option<u16>,
    pub user: Option<&'a str>,
    pub password: Option<&'a str>,
    pub domain: Option<&'a str>,
    pub share: &'a str,
    /// The folder inside the share (`a/b`), empty for the share's root.
    pub path: &'a str,
    /// The value of `OFFLINE_SMB_ENCRYPT`, if set.
    pub encrypt: Option<&'a str>,
}

/// An SMB share.
pub struct SmbRemote {
    session: Arc<Session>,
    /// The share's folder as the server names it (`a\b`), empty for the share root.
    root: String,
    hidden: Vec<Vec<u8>>,
    /// The tag in the names of this cache's temp files.
    temp: TempTag,
    location: String,
}

impl SmbRemote {
    /// Connects and logs on, and checks that the share's folder is there.
    pub(crate) fn connect(
        config: &SmbConfig<'_>,
        location: &str,
        (hidden, temp): (&[&[u8]], &TempTag),
    ) -> Result<SmbRemote> {
        let user = config
            .user
            .map(str::to_string)
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "guest".to_string());
        let user = match config.domain {
            Some(domain) if !user.contains('\\') && !user.contains('@') => {
                format!("{domain}\\{user}")
            }
            _ => user,
        };
        let target = Target {
            host: config.host.to_string(),
            port: config.port,
            user,
            password: config.password.unwrap_or_default().to_string(),
            share: config.share.to_string(),
            encrypt: Encrypt::from_setting(config.encrypt)?,
        };
        let remote = SmbRemote {
            session: Arc::new(Session::open(target)?),
            root: names::root_path(config.path),
            hidden: hidden.iter().map(|h| h.to_vec()).collect(),
            temp: temp.clone(),
            location: location.to_string(),
        };
        match remote.stat(&RelPath::root())? {
            Some(stat) if stat.meta.kind == Kind::Dir => Ok(remote),
            _ => Err(RemoteError::new(
                ErrorKind::Unreachable,
                &RelPath::root(),
                format!(
                    "the share has no folder {}",
                    if config.path.is_empty() {
                        "/"
                    } else {
                        config.path
                    }
                ),
            )),
        }
    }

    /// The item's path as the server takes it.
    fn target(&self, path: &RelPath) -> Result<String> {
        names::server_path(&self.root, path)
    }

    /// Every child of `dir`, with a flag for the names `list` leaves out.
    fn list_all(&self, dir: &RelPath) -> Result<Vec<(Entry, bool)>> {
        let target = self.target(dir)?;
        let listed = self
            .session
            .retrying_on_this_thread(dir, "list the folder", |link| {
                let target = &target;
                async move { lookup::list(&link.tree, target).await }
            })?;
        let mut out = Vec::with_capacity(listed.len());
        for item in listed {
            let name = item.name.into_bytes();
            if dir.join(&name).is_err() {
                // Passed on as it is: the engine reports and skips it.
                out.push((crate::net::unusable_entry(name), false));
                continue;
            }
            let Some(stat) = item.stat else {
                tracing::warn!(
                    "{dir}: {} is a Windows symlink or junction; not synced",
                    String::from_utf8_lossy(&name)
                );
                continue;
            };
            let skipped = is_temp_name(&name) || (dir.is_root() && self.hidden.contains(&name));
            out.push((Entry { name, stat }, skipped));
        }
        Ok(out)
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

impl Remote for SmbRemote {
    fn describe(&self) -> String {
        self.location.clone()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            rename: true,
            empty_dirs: true,
            symlinks: false,
            modes: false,
        }
    }

    fn stat(&self, path: &RelPath) -> Result<Option<Stat>> {
        let target = self.target(path)?;
        let found = self.session.retrying(path, "read its metadata", |link| {
            let target = &target;
            async move { lookup::lookup(&link.tree, target).await }
        })?;
        match found {
            Found::Absent if path.is_root() => Err(RemoteError::new(
                ErrorKind::Unreachable,
                path,
                "the share's folder is gone from the server",
            )),
            Found::Absent => Ok(None),
            // Another item, whose name differs by case, is not this one.
            Found::Item {
                name: NameMatch::OtherCase(_),
                ..
            } if !path.is_root() => Ok(None),
            Found::Item { stat, .. } => Ok(stat),
        }
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
        let target = self.target(path)?;
        let file = self.session.retrying(path, "open the file", |link| {
            let target = &target;
            async move {
                let access = smb::FileAccessMask::new()
                    .with_generic_read(true)
                    .with_synchronize(true);
                let resource = lookup::open(
                    &link.tree,
                    target,
                    access,
                    smb::CreateDisposition::Open,
                    smb::CreateOptions::new().with_non_directory_file(true),
                )
                .await;
                match resource {
                    Ok(smb::Resource::File(file)) => Ok(Some((file, link.alive.clone()))),
                    Ok(other) => {
                        lookup::close(other).await;
                        Ok(None)
                    }
                    Err(err) if lookup::is_absent(&err) => Err(RemoteError::new(
                        ErrorKind::NotFound,
                        path,
                        "cannot open the file: nothing is there",
                    )
                    .into()),
                    Err(err) => Err(err.into()),
                }
            }
        })?;
        match file {
            Some((file, alive)) => Ok(Box::new(read::SmbRead::new(
                self.session.rt.handle(),
                alive,
                file,
            ))),
            None => Err(RemoteError::new(
                ErrorKind::Io,
                path,
                "it is not a regular file",
            )),
        }
    }

    fn write_file(
        &self,
        path: &RelPath,
        content: &mut dyn Read,
        _mode: u32,
        mtime_ns: i64,
        expected_hash: Option<Hash>,
        expect: &Expect,
    ) -> Result<Written> {
        Self::refuse_root(path, "replaced by a file")?;
        let target = self.target(path)?;
        self.session
            .once(path, "write the file", |link| async move {
                write::write_file(
                    &link.tree,
                    path,
                    (&target, &self.temp),
                    content,
                    mtime_ns,
                    expected_hash,
                    expect,
                )
                .await
            })
    }

    fn make_dir(
        &self,
        path: &RelPath,
        _mode: u32,
        _mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        Self::refuse_root(path, "created")?;
        let target = self.target(path)?;
        self.session
            .once(path, "create the folder", |link| async move {
                write::make_dir(&link.tree, path, &target, expect).await
            })
    }

    fn make_symlink(
        &self,
        path: &RelPath,
        _target: &[u8],
        _mtime_ns: Option<i64>,
        _expect: &Expect,
    ) -> Result<Stat> {
        Err(crate::net::no_symlinks(path))
    }

    fn remove(&self, path: &RelPath, expect: &Expect) -> Result<()> {
        Self::refuse_root(path, "removed")?;
        let target = self.target(path)?;
        self.session.once(path, "remove it", |link| async move {
            change::remove(&link.tree, path, &target, expect).await
        })
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        Self::refuse_root(from, "renamed")?;
        Self::refuse_root(to, "replaced")?;
        let (a, b) = (self.target(from)?, self.target(to)?);
        self.session
            .once(from, &format!("rename it to {to}"), |link| async move {
                change::rename(&link.tree, (from, &a), (to, &b)).await
            })
    }

    fn set_attrs(
        &self,
        path: &RelPath,
        _mode: Option<u32>,
        mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        let target = self.target(path)?;
        self.session.once(path, "set its time", |link| async move {
            change::set_mtime(&link.tree, path, &target, mtime_ns, expect).await
        })
    }

    fn watch_changes(&self) -> Option<Result<Box<dyn ChangeWatch>>> {
        Some(Ok(Box::new(watch::SmbWatch::new(
            self.session.clone(),
            self.root.clone(),
        ))))
    }

    fn round_trip(&self) -> Result<std::time::Duration> {
        // A stat is three requests on SMB (open, query, close).
        let start = std::time::Instant::now();
        self.stat(&RelPath::root())?;
        Ok(start.elapsed() / 3)
    }

    fn remove_temp_files(&self) -> Result<usize> {
        remove_own_temp_files(
            &self.temp,
            |dir| self.list_all(dir),
            |item| match self.remove(item, &Expect::Any) {
                Ok(()) => Ok(Removal::Removed),
                Err(e) if e.kind == ErrorKind::NotFound => Ok(Removal::AlreadyGone),
                Err(e) => Err(e),
            },
        )
    }
}
