//! Batched uploads over SFTP: the engine's staging (`Remote::stage_file`,
//! `sync_staged`, `commit_staged`). A file is written to a temp name beside its
//! target, given its mode and time, and left open without waiting for the disk; a
//! batch's temp files are then made durable together (`fsync@openssh.com` and close,
//! all in flight at once on every session, so the server's disk flushes overlap
//! instead of queueing one per file), and only then is each one put in place: a
//! hard link where nothing may be (the server refuses it if something appeared) or
//! an atomic rename over the version that was checked. The requests per file are
//! those of a single upload (open, write, setstat, fsync, close, link, remove); only
//! their order and overlap differ. A copy's thread that stages past [`MAX_OPEN`]
//! open files flushes them itself, possibly while the batch is being placed: a file
//! is placed only once the flush that took it has ended well ([`State`]), and a
//! failed flush removes its temp files and leaves its error for each file's commit.

use super::errors::fail;
use super::upload::{attrs, mtime_in, next_mtime, Finish};
use super::SftpRemote;
use crate::error::{ErrorKind, RemoteError, Result};
use crate::{Expect, Staged, Stat, Written};
use offline_core::{Hash, Kind, Meta, RelPath};
use openssh_sftp_client::file::File;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Staged files kept open at most (the server holds a descriptor for each): more
/// are made durable and closed before the next is staged.
const MAX_OPEN: usize = 256;

/// Who flushes staged files: the batch (or a commit, for one file), or a copy's
/// thread that staged past [`MAX_OPEN`]. Each has its fault-injection point
/// (`OFFLINE_FAIL=POINT:ERRNO`: the flush reports that error after it ran), since a
/// server's failed fsync cannot be made on a real disk in a test.
#[derive(Clone, Copy)]
enum Flusher {
    Batch,
    Staging,
}

impl Flusher {
    fn fault_point(self) -> &'static str {
        match self {
            Flusher::Batch => "sftp.flush",
            Flusher::Staging => "sftp.flush.staging",
        }
    }
}

/// What a failed flush says it was doing.
const FLUSH_ACTION: &str = "flush a staged file to disk";

/// Where a staged temp file is on its way to the disk.
enum State {
    /// Written, still open: not durable yet.
    Open(File),
    /// A sync is flushing it (on another thread, when a staging went past
    /// [`MAX_OPEN`]): not to be placed before that sync ends.
    Flushing,
    /// Flushed and closed.
    Durable,
    /// A sync could not make it durable; its temp file is removed, and this is what
    /// its commit reports.
    Failed(ErrorKind, String),
}

/// A staged temp file.
struct Pending {
    state: State,
    size: u64,
    mtime: u32,
    mode: u32,
}

/// The files this share staged and has not placed or discarded yet, by the full
/// path of their temp name on the server.
#[derive(Default)]
pub(super) struct Stage {
    pending: Mutex<HashMap<PathBuf, Pending>>,
    /// Signalled when a sync ends (its files are no longer [`State::Flushing`]).
    synced: Condvar,
}

impl Stage {
    fn lock(&self) -> MutexGuard<'_, HashMap<PathBuf, Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes `temp`'s entry once no sync is flushing it.
    fn take_settled(&self, temp: &Path) -> Option<Pending> {
        let pending = self.lock();
        let mut pending = self
            .synced
            .wait_while(pending, |p| {
                matches!(p.get(temp).map(|p| &p.state), Some(State::Flushing))
            })
            .unwrap_or_else(|e| e.into_inner());
        pending.remove(temp)
    }
}

impl SftpRemote {
    /// The full path of a staged file's temp name.
    fn staged_temp(&self, staged: &Staged) -> PathBuf {
        let full = self.full(&staged.path);
        full.parent()
            .unwrap_or(Path::new("/"))
            .join(OsStr::from_bytes(&staged.temp_name))
    }

    /// Writes `content` to a temp file beside `path` with `mode` and the upload's
    /// time, and keeps it open for the batch's sync.
    pub(super) fn stage(
        &self,
        path: &RelPath,
        content: &mut dyn Read,
        mode: u32,
        expected_hash: Option<Hash>,
    ) -> Result<Staged> {
        Self::refuse_root(path, "replaced by a file")?;
        let sftp = self.pool.for_copy(&self.rt);
        let full = self.full(path);
        let (mode, mtime) = (mode & 0o7777, next_mtime(None));
        let temp = self.write_temp(&sftp, path, &full, content, (mode, mtime), Finish::Later)?;
        if expected_hash.is_some_and(|expected| expected != temp.hash) {
            drop(temp.file);
            self.remove_quietly(&temp.path);
            return Err(RemoteError::new(
                ErrorKind::Changed,
                path,
                "the source changed while it was copied",
            ));
        }
        let temp_name = temp
            .path
            .file_name()
            .map(|n| n.as_bytes().to_vec())
            .unwrap_or_default();
        let pending = Pending {
            state: State::Open(temp.file),
            size: temp.size,
            mtime,
            mode,
        };
        let open = {
            let mut staged = self.stage.lock();
            staged.insert(temp.path.clone(), pending);
            staged
                .values()
                .filter(|p| matches!(p.state, State::Open(_)))
                .count()
        };
        if open >= MAX_OPEN && self.sync_open(Flusher::Staging).is_err() {
            // The files that sync took carry its error. When this one is among them,
            // the error is this copy's (its temp file is removed; no commit or
            // discard will come for it); when another sync took it, its commit
            // settles it.
            let mut staged = self.stage.lock();
            if let Some(Pending {
                state: State::Failed(kind, message),
                ..
            }) = staged.get(&temp.path)
            {
                let err = RemoteError::new(*kind, path, message.clone());
                staged.remove(&temp.path);
                return Err(err);
            }
        }
        Ok(Staged {
            path: path.clone(),
            temp_name,
            hash: temp.hash,
        })
    }

    /// Makes every file staged and still open durable and closes it. A file a sync
    /// on another thread is flushing is left to that sync: its commit waits for it.
    pub(super) fn sync_all_staged(&self) -> Result<()> {
        self.sync_open(Flusher::Batch)
    }

    /// [`Self::sync_all_staged`], as `by` does it.
    fn sync_open(&self, by: Flusher) -> Result<()> {
        let files: Vec<(PathBuf, File)> = self
            .stage
            .lock()
            .iter_mut()
            .filter_map(
                |(temp, p)| match std::mem::replace(&mut p.state, State::Flushing) {
                    State::Open(file) => Some((temp.clone(), file)),
                    other => {
                        p.state = other;
                        None
                    }
                },
            )
            .collect();
        let temps: Vec<PathBuf> = files.iter().map(|(temp, _)| temp.clone()).collect();
        let flushed = self.flush(files, by);
        {
            let mut staged = self.stage.lock();
            for temp in &temps {
                if let Some(pending) = staged.get_mut(temp) {
                    pending.state = match &flushed {
                        Ok(()) => State::Durable,
                        // Each keeps the error for its commit (this sync may have run
                        // for another file's staging).
                        Err(err) => State::Failed(err.kind, err.message.clone()),
                    };
                }
            }
        }
        self.stage.synced.notify_all();
        if flushed.is_err() {
            // Not durable: none of them may be placed.
            for temp in &temps {
                self.remove_quietly(temp);
            }
        }
        flushed
    }

    /// `fsync@openssh.com` (where the server offers it) and close of each file, all
    /// sent at once; each session's server answers its own in order.
    fn flush(&self, files: Vec<(PathBuf, File)>, by: Flusher) -> Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        let fsync = self.sftp().support_fsync();
        let first_temp = files[0].0.clone();
        let results = self
            .rt
            .block_on(futures_util::future::join_all(files.into_iter().map(
                |(temp, mut file)| async move {
                    let done = async {
                        if fsync {
                            file.sync_all().await?;
                        }
                        file.close().await
                    };
                    done.await.map_err(|e| (temp, e))
                },
            )));
        let first = results
            .iter()
            .find_map(|r| r.as_ref().err().map(|(temp, _)| temp));
        let named = self.rel_of(first.unwrap_or(&first_temp));
        if let Some(err) = crashpoint::fail(by.fault_point()) {
            return Err(RemoteError::from_io(&named, FLUSH_ACTION, err));
        }
        match results.into_iter().find_map(|r| r.err()) {
            None => Ok(()),
            Some((_, e)) => Err(fail(&named, FLUSH_ACTION, e)),
        }
    }

    /// The share path of a full path on the server (the root if it is not under it).
    fn rel_of(&self, full: &Path) -> RelPath {
        full.strip_prefix(&self.root)
            .ok()
            .and_then(|rel| RelPath::new(rel.as_os_str().as_bytes()).ok())
            .unwrap_or_else(RelPath::root)
    }

    /// Checks `expect` and puts the staged file in place; the temp file is removed
    /// on failure.
    pub(super) fn commit(&self, staged: &Staged, expect: &Expect) -> Result<Written> {
        let path = &staged.path;
        let temp = self.staged_temp(staged);
        let Some(mut pending) = self.stage.take_settled(&temp) else {
            return Err(RemoteError::new(
                ErrorKind::Io,
                path,
                "its staged temp file is not known (placed or discarded already)",
            ));
        };
        let open = match std::mem::replace(&mut pending.state, State::Durable) {
            State::Failed(kind, message) => return Err(RemoteError::new(kind, path, message)),
            State::Open(file) => Some(file),
            State::Durable | State::Flushing => None,
        };
        let full = self.full(path);
        let checked = (|| {
            if let Some(file) = open {
                // Not synced by the batch: made durable on its own.
                self.flush(vec![(temp.clone(), file)], Flusher::Batch)?;
            }
            if *expect != Expect::Absent {
                let current = self.stat_checked(path, expect)?;
                Self::refuse_dir(path, current.as_ref())?;
                let replaced = current.map(|c| c.identity);
                let old = replaced.as_deref().and_then(mtime_in);
                if old.is_some_and(|old| old >= u64::from(pending.mtime)) {
                    // The version it replaces has the staged file's time or a later
                    // one: a later time, so that the new identity differs.
                    let mtime = next_mtime(replaced.as_deref());
                    self.retime(path, &temp, pending.mode, mtime)?;
                    pending.mtime = mtime;
                }
            }
            crashpoint::hit(crate::net::CHECKED);
            Ok(())
        })();
        if let Err(err) = checked {
            self.remove_quietly(&temp);
            return Err(err);
        }
        self.place(&self.sftp(), path, None, &temp, &full, expect)?;
        let (size, mtime, mode) = (pending.size, pending.mtime, pending.mode);
        Ok(Written {
            stat: Stat {
                meta: Meta {
                    kind: Kind::File,
                    size,
                    mtime_ns: crate::net::secs_to_ns(i64::from(mtime)),
                    mode,
                    hash: None,
                    target: None,
                },
                identity: format!("size:{size}:mtime:{mtime}:mode:{mode:o}"),
            },
            hash: staged.hash,
        })
    }

    /// Gives a staged temp file a later time, durably.
    fn retime(&self, path: &RelPath, temp: &Path, mode: u32, mtime: u32) -> Result<()> {
        let sftp = self.sftp();
        let file = self
            .rt
            .block_on(async {
                sftp.fs().set_metadata(temp, attrs(mode, mtime)).await?;
                // Opened for writing (not truncated): the client sends an fsync
                // only for a file open for writing.
                sftp.options().write(true).open(temp).await
            })
            .map_err(|e| fail(path, "set the time of the temp file", e))?;
        self.flush(vec![(temp.to_path_buf(), file)], Flusher::Batch)
    }

    /// Removes a staged file that will not be placed.
    pub(super) fn discard(&self, staged: &Staged) {
        let temp = self.staged_temp(staged);
        if let Some(pending) = self.stage.lock().remove(&temp) {
            match pending.state {
                // Removed already.
                State::Failed(..) => {}
                // Dropping an open file closes it (the request goes out first).
                State::Open(file) => {
                    drop(file);
                    self.remove_quietly(&temp);
                }
                // A sync flushing it finds no entry and leaves the name alone.
                State::Flushing | State::Durable => self.remove_quietly(&temp),
            }
        }
    }
}
