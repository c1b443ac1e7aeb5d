//! The two sides of a run as the executor's worker threads see them: read-only
//! access to the cache folder, the share and what prepare saw, and the copy steps
//! that need nothing else (no state database, no sink). The executor records what
//! they did.

use crate::prepare::Prepared;
use crate::scan::{Scanned, ScannedRef};
use offline_core::{Kind, RelPath, Side};
use offline_remote::{DirRemote, ErrorKind, Expect, Remote, RemoteError, Staged, Stat};

/// Both sides and the prepared plan, shared by every thread of a run.
#[derive(Clone, Copy)]
pub(super) struct Sides<'a> {
    pub(super) local: &'a DirRemote,
    pub(super) share: &'a dyn Remote,
    pub(super) prepared: &'a Prepared,
}

/// A file copy that went to its target: the source as copied, the target's new
/// stat, and the bytes moved.
pub(super) struct Copied {
    pub(super) src: Scanned,
    pub(super) stat: Stat,
    pub(super) bytes: u64,
}

/// A file copy written under a temp name beside its target, waiting for its batch.
pub(super) struct StagedFile {
    pub(super) src: Scanned,
    pub(super) staged: Staged,
    pub(super) expect: Expect,
}

impl<'a> Sides<'a> {
    pub(super) fn side(&self, side: Side) -> &'a dyn Remote {
        match side {
            Side::Local => self.local,
            Side::Remote => self.share,
        }
    }

    pub(super) fn scanned(&self, side: Side, path: &RelPath) -> Option<ScannedRef<'a>> {
        self.prepared.scanned(side, path)
    }

    /// The precondition a change of `path` on `side` checks: what prepare saw there.
    pub(super) fn expect(&self, side: Side, path: &RelPath) -> Expect {
        match self.scanned(side, path) {
            // A folder's own stat changes whenever this run deletes or adds something
            // in it (deletions run first). It only has to still be a folder: it is
            // removed only when empty, and otherwise only its mode and time are set.
            Some(s) if s.meta.kind == Kind::Dir => match self.side(side).stat(path) {
                Ok(Some(now)) if now.meta.kind == Kind::Dir => Expect::Identity(now.identity),
                _ => Expect::Identity(s.identity.to_string()),
            },
            Some(s) => Expect::Identity(s.identity.to_string()),
            None => Expect::Absent,
        }
    }

    /// The source copy as prepare saw it, or as it is now for paths prepare did not see
    /// (a copy just renamed to its conflict name).
    pub(super) fn current(&self, side: Side, path: &RelPath) -> Result<Scanned, RemoteError> {
        if let Some(s) = self.scanned(side, path) {
            return Ok(s.to_owned());
        }
        let remote = self.side(side);
        let stat = remote
            .stat(path)?
            .ok_or_else(|| RemoteError::new(ErrorKind::NotFound, path, "it is gone"))?;
        let mut meta = stat.meta;
        if meta.kind == Kind::File {
            meta.hash = Some(remote.hash_file(path)?.0);
        }
        Ok(Scanned {
            meta,
            identity: stat.identity,
        })
    }

    /// Copies the item at `src_path` on `from` to `dst_path` on `to`, replacing what
    /// is there only if it matches `expect`.
    pub(super) fn copy(
        &self,
        from: Side,
        src_path: &RelPath,
        to: Side,
        dst_path: &RelPath,
        expect: Expect,
    ) -> Result<Copied, RemoteError> {
        let mut src = self.current(from, src_path)?;
        if src.meta.kind == Kind::File && src.meta.hash.is_none() {
            // Prepare hashes only what it compares; a single copy checks the source
            // against its hash while writing, so it needs one.
            src.meta.hash = Some(self.side(from).hash_file(src_path)?.0);
        }
        let dst = match expect {
            Expect::Absent => None,
            _ => self.scanned(to, dst_path),
        };
        let (stat, bytes) = self.put_copy(from, src_path, &src, to, dst_path, dst, expect)?;
        Ok(Copied { src, stat, bytes })
    }

    #[allow(clippy::too_many_arguments)]
    fn put_copy(
        &self,
        from: Side,
        src_path: &RelPath,
        src: &Scanned,
        to: Side,
        dst_path: &RelPath,
        dst: Option<ScannedRef<'_>>,
        mut expect: Expect,
    ) -> Result<(Stat, u64), RemoteError> {
        let target = self.side(to);
        let meta = &src.meta;
        let dst_kind = dst.map(|d| d.meta.kind);
        if dst.is_some_and(|d| d.meta.kind == meta.kind && d.meta.same_content(meta))
            && meta.kind != Kind::Symlink
        {
            let mtime = (meta.kind == Kind::File).then_some(meta.mtime_ns);
            let stat = target.set_attrs(dst_path, Some(meta.mode), mtime, &expect)?;
            return Ok((stat, 0));
        }
        if dst_kind.is_some() && (dst_kind == Some(Kind::Dir)) != (meta.kind == Kind::Dir) {
            // A kind change: the old item goes first (a folder only if empty by now).
            target.remove(dst_path, &expect)?;
            expect = Expect::Absent;
        }
        match meta.kind {
            Kind::File => {
                let mut reader = self.side(from).open_read(src_path)?;
                let written = target.write_file(
                    dst_path,
                    &mut reader,
                    meta.mode,
                    meta.mtime_ns,
                    meta.hash,
                    &expect,
                )?;
                Ok((written.stat, meta.size))
            }
            Kind::Dir => {
                let stat = target.make_dir(dst_path, meta.mode, Some(meta.mtime_ns), &expect)?;
                Ok((stat, 0))
            }
            Kind::Symlink => {
                let link = meta.target.clone().unwrap_or_default();
                let stat = target.make_symlink(dst_path, &link, Some(meta.mtime_ns), &expect)?;
                Ok((stat, 0))
            }
        }
    }

    /// Writes the `from` copy of `path` under a temp name beside its target on `to`,
    /// without syncing or placing it.
    pub(super) fn stage(
        &self,
        from: Side,
        to: Side,
        path: &RelPath,
    ) -> Result<StagedFile, RemoteError> {
        let expect = self.expect(to, path);
        let mut src = self
            .scanned(from, path)
            .map(ScannedRef::to_owned)
            .ok_or_else(|| RemoteError::new(ErrorKind::NotFound, path, "it is gone"))?;
        let mut reader = self.side(from).open_read(path)?;
        let staged = self.side(to).stage_file(
            path,
            &mut reader,
            src.meta.mode,
            src.meta.mtime_ns,
            src.meta.hash,
        )?;
        if src.meta.hash.is_none() {
            // Prepare did not hash it (nothing to compare with): the source must
            // not have changed while it was read, or the copy may be torn (unless
            // the side reads whole versions only: an object store).
            if !self.side(from).reads_whole_versions() {
                self.check_unchanged(from, path, &src, &staged)?;
            }
            src.meta.hash = Some(staged.hash);
        }
        Ok(StagedFile {
            src,
            staged,
            expect,
        })
    }

    /// Fails (and drops the staged file) when the source's fingerprint moved since
    /// prepare saw it.
    fn check_unchanged(
        &self,
        from: Side,
        path: &RelPath,
        src: &Scanned,
        staged: &Staged,
    ) -> Result<(), RemoteError> {
        let now = self.side(from).stat(path)?;
        if now.is_some_and(|s| s.identity == src.identity) {
            return Ok(());
        }
        let _ = self.side(from.other()).discard_staged(staged);
        Err(RemoteError::new(
            ErrorKind::Changed,
            path,
            "the source changed while it was copied",
        ))
    }
}
