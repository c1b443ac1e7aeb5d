//! Conflicts settled by keeping a copy: keep-local, keep-remote and keep-latest save
//! the losing copy in the cache's conflicts folder before the winner replaces it;
//! keep-all moves one copy to a free conflict name on both sides.

use super::apply::{copy_entry, unplanned_copy_entry, Done, Work};
use super::sides::Seen;
use crate::cache::CONFLICTS_DIR_NAME;
use crate::conflict::{conflict_name, utc_stamp};
use offline_core::{Expect, Kind, PlanItem, RelPath, Side, TempTag};
use offline_remote::{DirRemote, ErrorKind, Remote, RemoteError};
use std::fs;
use std::path::PathBuf;

/// Where a run keeps losing copies, and the names it gives kept-both copies.
pub(super) struct Keeper {
    /// The cache's `.offline` folder.
    pub(super) meta_dir: PathBuf,
    /// When the run started (names its conflicts folder).
    pub(super) run_started_ns: i64,
    /// This machine's name (in conflict names).
    pub(super) host: String,
    /// The cache's temp tag (names the temp files in the conflicts folder).
    pub(super) temp_tag: TempTag,
}

impl Work<'_> {
    /// keep-local / keep-remote / keep-latest: the loser's bytes are copied into the
    /// conflicts folder, then the winner replaces it.
    pub(super) fn keep_one(&self, item: &PlanItem, winner: Side) -> Result<Done, RemoteError> {
        let loser = winner.other();
        let saved = self.save_copy(item, loser)?;
        let expect = self.sides.precondition(item, loser);
        let seen = Seen::of(item, winner, loser);
        let copied = self.sides.copy(winner, loser, &item.path, seen, expect)?;
        let note = saved.map(|p| format!("the {} copy was kept in {}", loser.place(), p.display()));
        Ok(Done {
            bytes: copied.bytes,
            note,
            skipped: None,
            entries: vec![copy_entry(item, copied)?],
        })
    }

    /// keep-all: the copy on `renamed` moves to a free conflict name, which is then
    /// copied to the other side; the other copy takes the path on both sides.
    pub(super) fn keep_both(&self, item: &PlanItem, renamed: Side) -> Result<Done, RemoteError> {
        let path = &item.path;
        let new_path = self.free_conflict_name(path)?;
        self.sides.side(renamed).rename(path, &new_path)?;
        let other = renamed.other();
        // The moved copy was not seen under its new name: it is read as it is now.
        let unseen = Seen::default();
        let moved = self
            .sides
            .copy(renamed, other, &new_path, unseen, Expect::Absent)?;
        let mut bytes = moved.bytes;
        let mut entries = vec![unplanned_copy_entry(&new_path, renamed, moved)];
        let seen = Seen::of(item, other, renamed);
        let copied = self
            .sides
            .copy(other, renamed, path, seen, Expect::Absent)?;
        bytes += copied.bytes;
        entries.push(copy_entry(item, copied)?);
        Ok(Done {
            bytes,
            skipped: None,
            note: Some(format!("the {} copy is now {}", renamed.place(), new_path)),
            entries,
        })
    }

    fn free_conflict_name(&self, path: &RelPath) -> Result<RelPath, RemoteError> {
        for n in 1..10_000 {
            let Some(candidate) = conflict_name(path, &self.keeper.host, n) else {
                break;
            };
            if self.sides.local.stat(&candidate)?.is_none()
                && self.sides.share.stat(&candidate)?.is_none()
            {
                return Ok(candidate);
            }
        }
        Err(RemoteError::new(
            ErrorKind::AlreadyExists,
            path,
            "no free conflict name was found",
        ))
    }

    /// Copies the `side` copy of `item` into this run's conflicts folder
    /// (`.offline/conflicts/<UTC time>/<cache|share>/<path>`, with `-N` after the time
    /// when an interrupted run of the same second already kept that path). The copy
    /// goes through a temp file renamed into place and made durable before the winner
    /// replaces the loser. Folders have no bytes to keep (`None`).
    fn save_copy(&self, item: &PlanItem, side: Side) -> Result<Option<PathBuf>, RemoteError> {
        let path = &item.path;
        let Some(scanned) = item.triple.copy(side) else {
            return Ok(None);
        };
        if scanned.meta.kind == Kind::Dir {
            return Ok(None);
        }
        let (folder, keeper) = self.keeper.conflict_folder(side, path)?;
        let mut folders = Vec::new();
        let mut above = path.parent();
        while let Some(dir) = above.filter(|d| !d.is_root()) {
            above = dir.parent();
            folders.push(dir);
        }
        // The folders of kept copies are private (the copy keeps its own mode): a
        // file from a 0700 folder must not become readable here.
        for dir in folders.iter().rev() {
            keeper.make_dir(dir, crate::private::PRIVATE_DIR_MODE, None, &Expect::Any)?;
        }
        crashpoint::hit("engine.save_copy.before");
        let meta = &scanned.meta;
        match meta.kind {
            Kind::Symlink => {
                let link = meta.target.clone().unwrap_or_default();
                keeper.make_symlink(path, &link, Some(meta.mtime_ns), &Expect::Absent)?;
            }
            _ => {
                let mut reader = self.sides.side(side).open_read(path)?;
                keeper.write_file(
                    path,
                    &mut reader,
                    meta.mode,
                    meta.mtime_ns,
                    meta.hash,
                    &Expect::Absent,
                )?;
            }
        }
        crashpoint::hit("engine.save_copy.after");
        Ok(Some(folder.join(path.as_os_str())))
    }
}

impl Keeper {
    /// This run's folder for losing copies from `side` where `path` is still free,
    /// created durably, and a backend writing into it.
    fn conflict_folder(
        &self,
        side: Side,
        path: &RelPath,
    ) -> Result<(PathBuf, DirRemote), RemoteError> {
        let base = self.meta_dir.join(CONFLICTS_DIR_NAME);
        let stamp = utc_stamp(self.run_started_ns);
        let io = |e: std::io::Error| RemoteError::io(path, e);
        for n in 1..1000 {
            let run_dir = match n {
                1 => base.join(&stamp),
                n => base.join(format!("{stamp}-{n}")),
            };
            let folder = run_dir.join(side.place());
            match fs::symlink_metadata(folder.join(path.as_os_str())) {
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
            crate::private::make_private_dirs(&folder).map_err(io)?;
            for dir in [&run_dir, &base] {
                fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
            }
            let keeper = DirRemote::open(&folder, &[])?.with_temp_tag(&self.temp_tag);
            return Ok((folder, keeper));
        }
        Err(RemoteError::new(
            ErrorKind::AlreadyExists,
            path,
            "no free place in the conflicts folder was found",
        ))
    }
}
