//! The two sides of a run as the executor's worker threads see them: read-only
//! access to the cache folder and the share, and the copy steps that need nothing
//! else (no state database, no sink). What prepare saw comes with each step, from
//! its plan item. The executor records what they did.

use offline_core::{Kind, PlanItem, RelPath, Scanned, Side};
use offline_remote::{DirRemote, ErrorKind, Expect, Remote, RemoteError, Staged, Stat};

/// Both sides, shared by every thread of a run.
#[derive(Clone, Copy)]
pub(super) struct Sides<'a> {
    pub(super) local: &'a DirRemote,
    pub(super) share: &'a dyn Remote,
}

/// What prepare saw of a copy's source and target (nothing for a path it did not
/// see, such as a copy just renamed to its conflict name).
#[derive(Clone, Copy, Default)]
pub(super) struct Seen<'i> {
    pub(super) src: Option<&'i Scanned>,
    pub(super) dst: Option<&'i Scanned>,
}

impl<'i> Seen<'i> {
    /// The copies of `item` on `from` and `to`.
    pub(super) fn of(item: &'i PlanItem, from: Side, to: Side) -> Seen<'i> {
        Seen {
            src: item.triple.copy(from),
            dst: item.triple.copy(to),
        }
    }
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
            Side::Cache => self.local,
            Side::Share => self.share,
        }
    }

    /// The precondition a change of `item` on `side` checks: the item's own
    /// ([`PlanItem::expect`], what prepare saw there). A folder's own stat changes
    /// whenever this run deletes or adds something in it (deletions run first), so a
    /// folder only has to still be a folder: it is removed only when empty, and
    /// otherwise only its mode and time are set.
    pub(super) fn precondition(&self, item: &PlanItem, side: Side) -> Expect {
        let expect = item.expect(side);
        if item.triple.meta(side).is_some_and(|m| m.is_dir()) {
            if let Ok(Some(now)) = self.side(side).stat(&item.path) {
                if now.meta.is_dir() {
                    return Expect::Identity(now.identity);
                }
            }
        }
        expect
    }

    /// The source copy as prepare saw it, or as it is now for paths prepare did not see
    /// (a copy just renamed to its conflict name).
    pub(super) fn current(
        &self,
        side: Side,
        path: &RelPath,
        seen: Option<&Scanned>,
    ) -> Result<Scanned, RemoteError> {
        if let Some(s) = seen {
            return Ok(s.clone());
        }
        let remote = self.side(side);
        let stat = remote
            .stat(path)?
            .ok_or_else(|| RemoteError::new(ErrorKind::NotFound, path, "it is gone"))?;
        let mut meta = stat.meta;
        if meta.kind == Kind::File {
            meta.hash = Some(remote.hash_file(path)?.0);
        }
        Ok(Scanned::new(meta, stat.identity))
    }

    /// Copies the item at `path` on `from` to `path` on `to`, replacing what is there
    /// only if it matches `expect`.
    pub(super) fn copy(
        &self,
        from: Side,
        to: Side,
        path: &RelPath,
        seen: Seen<'_>,
        expect: Expect,
    ) -> Result<Copied, RemoteError> {
        let mut src = self.current(from, path, seen.src)?;
        if src.meta.kind == Kind::File && src.meta.hash.is_none() {
            // Prepare hashes only what it compares; a single copy checks the source
            // against its hash while writing, so it needs one.
            src.meta.hash = Some(self.side(from).hash_file(path)?.0);
        }
        let dst = match expect {
            Expect::Absent => None,
            _ => seen.dst,
        };
        let (stat, bytes) = self.put_copy(from, to, path, (&src, dst), expect)?;
        Ok(Copied { src, stat, bytes })
    }

    /// Puts `src` (read from `from`) in place of `dst` (what prepare saw on `to`).
    fn put_copy(
        &self,
        from: Side,
        to: Side,
        path: &RelPath,
        (src, dst): (&Scanned, Option<&Scanned>),
        mut expect: Expect,
    ) -> Result<(Stat, u64), RemoteError> {
        let target = self.side(to);
        let meta = &src.meta;
        let dst_kind = dst.map(|d| d.meta.kind);
        if dst.is_some_and(|d| d.meta.kind == meta.kind && d.meta.same_content(meta))
            && meta.kind != Kind::Symlink
        {
            let mtime = (meta.kind == Kind::File).then_some(meta.mtime_ns);
            let stat = target.set_attrs(path, Some(meta.mode), mtime, &expect)?;
            return Ok((stat, 0));
        }
        if dst_kind.is_some() && (dst_kind == Some(Kind::Dir)) != (meta.kind == Kind::Dir) {
            // A kind change: the old item goes first (a folder only if empty by now).
            target.remove(path, &expect)?;
            expect = Expect::Absent;
        }
        match meta.kind {
            Kind::File => {
                let mut reader = self.side(from).open_read(path)?;
                let written = target.write_file(
                    path,
                    &mut reader,
                    meta.mode,
                    meta.mtime_ns,
                    meta.hash,
                    &expect,
                )?;
                Ok((written.stat, meta.size))
            }
            Kind::Dir => {
                let stat = target.make_dir(path, meta.mode, Some(meta.mtime_ns), &expect)?;
                Ok((stat, 0))
            }
            Kind::Symlink => {
                let link = meta.target.clone().unwrap_or_default();
                let stat = target.make_symlink(path, &link, Some(meta.mtime_ns), &expect)?;
                Ok((stat, 0))
            }
        }
    }

    /// Writes the `from` copy of `item` under a temp name beside its target on `to`,
    /// without syncing or placing it.
    pub(super) fn stage(
        &self,
        item: &PlanItem,
        from: Side,
        to: Side,
    ) -> Result<StagedFile, RemoteError> {
        let path = &item.path;
        let expect = self.precondition(item, to);
        let mut src = item
            .triple
            .copy(from)
            .cloned()
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
        if now.is_some_and(|s| *s.identity == *src.identity) {
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
