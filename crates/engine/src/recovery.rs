//! Recovery after an interrupted sync (safety rule 3): what was in flight is
//! reported, temp files on both sides are removed, and the journal is cleared. No
//! copy is rolled forward or back here: each item's original was recorded only after
//! its operation was durable, so the next prepare sees either the old state (and
//! redoes the operation) or both sides equal (and records them as synced). A rename
//! that was done on its side is rolled forward: its base (originals, pins, conflict)
//! moves to the new path, as the run would have recorded it; one cut short between
//! its steps (an S3 folder: copies, then deletions) is finished first; one not done
//! is left for the next prepare to find again.

use crate::cache::Cache;
use crate::error::Result;
use crate::execute::RenameRow;
use crate::settings::{self, Setting};
use offline_core::{RelPath, Side};
use offline_remote::{DirRemote, Remote};
use offline_store::JournalEntry;

/// What recovery found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// The last sync was interrupted (killed, power lost) before it ended.
    pub interrupted: bool,
    /// The operations it had begun and not ended: these items were in flight. The
    /// sync that follows redoes them, or records them as synced where both sides
    /// already agree.
    pub in_flight: Vec<JournalEntry>,
    /// Temp files of this cache (`.offline-tmp-<its tag>-*`) removed from the
    /// cache, the share and the conflicts folder.
    pub temp_files_removed: usize,
}

impl Recovery {
    /// True when there was anything to recover from.
    pub fn happened(&self) -> bool {
        self.interrupted || !self.in_flight.is_empty()
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        let mut paths: Vec<String> = self
            .in_flight
            .iter()
            .take(10)
            .map(|e| format!("{} ({})", e.path, e.operation.name()))
            .collect();
        if self.in_flight.len() > 10 {
            paths.push(format!("and {} more", self.in_flight.len() - 10));
        }
        let items = if paths.is_empty() {
            String::new()
        } else {
            format!(": {}", paths.join(", "))
        };
        format!(
            "the last sync was interrupted; {} items were in flight{items}; {} temp files removed; this sync finishes the work",
            self.in_flight.len(),
            self.temp_files_removed
        )
    }
}

impl Cache {
    /// Recovers from an interrupted sync, if the last one was: reports the journal's
    /// leftover rows, removes this cache's temp files on both sides (and in the
    /// conflicts folder; never another cache's, nor a person's file named like one)
    /// and clears the rows. Does nothing after a sync that ended.
    pub fn recover(&mut self, share: &dyn Remote) -> Result<Recovery> {
        let interrupted = settings::sync_running(&self.store)?;
        let in_flight = self.store.journal()?;
        if !interrupted && in_flight.is_empty() {
            return Ok(Recovery::default());
        }
        for entry in &in_flight {
            tracing::info!(
                "interrupted sync: {} ({}, {}) was in flight; the next prepare redoes or records it",
                entry.path,
                entry.operation.name(),
                entry.detail
            );
        }
        let mut removed = self.local.remove_temp_files()? + share.remove_temp_files()?;
        let conflicts = crate::layout::conflicts_dir(&self.meta_dir());
        if conflicts.is_dir() {
            removed += DirRemote::open(&conflicts, &[])?
                .with_temp_tag(&self.temp)
                .remove_temp_files()?;
        }
        let renamed = self.renames_done(share, &in_flight)?;
        let batch = self.store.transaction()?;
        for (from, to) in &renamed {
            batch.move_item(from, to)?;
        }
        for entry in &in_flight {
            batch.journal_end(entry.id)?;
        }
        settings::write_in(&batch, &[Setting::SyncRunning(false)])?;
        batch.commit()?;
        let mut recovery = Recovery {
            interrupted,
            in_flight,
            temp_files_removed: removed,
        };
        recovery.in_flight.sort_by_key(|e| e.id);
        Ok(recovery)
    }

    /// The renames in flight that were done on their side (nothing is at the old
    /// path there any more, something is at the new one), or that were cut short
    /// between their steps and are finished now (`Remote::finish_move`), as (old
    /// base path, new path). An error (the share unreachable) leaves the journal as
    /// it is, for the next sync to recover.
    fn renames_done(
        &self,
        share: &dyn Remote,
        in_flight: &[JournalEntry],
    ) -> Result<Vec<(RelPath, RelPath)>> {
        let mut done = Vec::new();
        for entry in in_flight {
            let Ok(row) = serde_json::from_str::<RenameRow>(&entry.detail) else {
                continue;
            };
            let side: &dyn Remote = match row.on.as_str() {
                s if s == Side::Cache.place() => &self.local,
                s if s == Side::Share.place() => share,
                _ => continue,
            };
            let (Ok(from), Ok(source)) =
                (RelPath::unescape(&row.from), RelPath::unescape(&row.source))
            else {
                continue;
            };
            let (Ok(at_source), Ok(at_target)) = (side.stat(&source), side.stat(&entry.path))
            else {
                continue;
            };
            let finished = match (at_source, at_target) {
                (None, Some(_)) => true,
                // Under both names: a rename of many steps (S3) cut short.
                (Some(_), Some(_)) => side.finish_move(&source, &entry.path)?,
                _ => false,
            };
            if finished {
                tracing::info!(
                    "interrupted sync: the rename of {from} to {} was done; its base follows",
                    entry.path
                );
                done.push((from, entry.path.clone()));
            }
        }
        Ok(done)
    }
}
