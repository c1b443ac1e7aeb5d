//! Batched file copies: many files are staged (written under temp names), made
//! durable with one `syncfs`, renamed into place, and made durable again with a
//! second `syncfs` before their originals are committed. Two syncs per batch
//! instead of two per file, with the same promise as a single copy: each target holds
//! its old or its complete new content at every instant, and no original is recorded
//! before its data is durable.

use super::parallel::Job;
use super::sides::StagedFile;
use super::{item_error, Executor, StoreChange};
use crate::sink::{ItemReport, ItemResult, Response, SyncSink, SyncSummary};
use offline_core::{Action, Kind, Meta, PlanItem, RelPath, Side, SyncOperation};
use offline_remote::RemoteError;
use std::collections::HashSet;

/// Files per batch.
const BATCH_FILES: usize = 512;
/// Bytes per batch.
const BATCH_BYTES: u64 = 256 << 20;

/// One staged copy waiting for its batch to be placed.
pub(super) struct StagedCopy<'p> {
    job: Job<'p>,
    file: StagedFile,
}

/// The copies staged so far.
#[derive(Default)]
pub(super) struct Batch<'p> {
    copies: Vec<StagedCopy<'p>>,
    bytes: u64,
}

impl Batch<'_> {
    fn is_full(&self) -> bool {
        self.copies.len() >= BATCH_FILES || self.bytes >= BATCH_BYTES
    }
}

/// The sides a copy of `item` goes from and to, if it is a plain file copy.
pub(super) fn copy_direction(item: &PlanItem) -> Option<(Side, Side)> {
    match item.action {
        Action::Run(SyncOperation::CreateCopyOnServer | SyncOperation::SyncToServer) => {
            Some((Side::Local, Side::Remote))
        }
        Action::Run(
            SyncOperation::CreateCopyOnClient | SyncOperation::SyncToClient | SyncOperation::Pin,
        ) => Some((Side::Remote, Side::Local)),
        _ => None,
    }
}

impl<'a> Executor<'a> {
    /// True when a file copy of `src` to `path` on `to` can go through a batch: the
    /// target side can stage, and the target is absent or a file with other content.
    pub(super) fn can_batch(&self, to: Side, item: &PlanItem, src: &Meta) -> bool {
        if !self.side(to).can_stage() {
            return false;
        }
        match item.triple.copy(to) {
            None => true,
            Some(dst) => dst.meta.kind != Kind::Dir && !dst.meta.same_content(src),
        }
    }

    /// Adds a copy the pool staged to the batch, and places the batch when it is full.
    /// `Some(reason)`: stop the run.
    pub(super) fn add_staged(
        &mut self,
        batch: &mut Batch<'a>,
        job: Job<'a>,
        file: StagedFile,
        sink: &mut dyn SyncSink,
        summary: &mut SyncSummary,
        failed: &mut HashSet<RelPath>,
    ) -> crate::Result<Option<String>> {
        batch.bytes += file.src.meta.size;
        batch.copies.push(StagedCopy { job, file });
        if batch.is_full() {
            return self.flush(batch, sink, summary, failed);
        }
        Ok(None)
    }

    /// Makes the staged copies durable, places them, makes that durable, and reports
    /// them. `Some(reason)`: stop the run.
    pub(super) fn flush(
        &mut self,
        batch: &mut Batch<'_>,
        sink: &mut dyn SyncSink,
        summary: &mut SyncSummary,
        failed: &mut HashSet<RelPath>,
    ) -> crate::Result<Option<String>> {
        let copies = std::mem::take(&mut batch.copies);
        batch.bytes = 0;
        if copies.is_empty() {
            return Ok(None);
        }
        let synced = self.sync_sides(&copies);
        let mut placed = Vec::with_capacity(copies.len());
        for StagedCopy { job, file } in copies {
            let target = self.side(job.to);
            let result = match &synced {
                Ok(()) => target.commit_staged(&file.staged, &file.expect),
                Err(e) => {
                    let _ = target.discard_staged(&file.staged);
                    Err(e.clone_for(&job.item.path))
                }
            };
            placed.push((job, file.src, result));
        }
        // The renames must be durable before any original says they happened.
        let renames_synced = self.sync_sides_of(placed.iter().map(|(job, _, _)| job.to));
        let mut stop = None;
        for (job, src, result) in placed {
            let result = match (&renames_synced, result) {
                (Ok(()), Ok(written)) => {
                    self.record_copy(job.from, &src, job.to, &job.item.path, written.stat);
                    Ok(src.meta.size)
                }
                (Err(e), Ok(_)) => Err(e.clone_for(&job.item.path)),
                (_, Err(e)) => Err(e),
            };
            let report = self.copy_report(job.item, result, job.journal);
            if let Some(reason) = self.finish_copy(report, sink, summary, failed)? {
                stop.get_or_insert(reason);
            }
        }
        Ok(stop)
    }

    fn sync_sides(&self, copies: &[StagedCopy<'_>]) -> Result<(), RemoteError> {
        self.sync_sides_of(copies.iter().map(|c| c.job.to))
    }

    fn sync_sides_of(&self, sides: impl Iterator<Item = Side>) -> Result<(), RemoteError> {
        let mut done = Vec::new();
        for side in sides {
            if done.contains(&side) {
                continue;
            }
            self.side(side).sync_staged()?;
            done.push(side);
        }
        Ok(())
    }

    pub(super) fn copy_report(
        &mut self,
        item: &PlanItem,
        result: Result<u64, RemoteError>,
        journal: Option<i64>,
    ) -> ItemReport {
        if let Some(id) = journal {
            self.pending.push(StoreChange::EndJournal(id));
        }
        let (result, bytes) = match result {
            Ok(bytes) => (ItemResult::Ok, bytes),
            Err(e) => (ItemResult::Error(item_error(item, &e)), 0),
        };
        let mut report = ItemReport::for_item(item, result);
        report.bytes = bytes;
        report
    }

    /// Reports one copy and checks whether the run must stop.
    pub(super) fn finish_copy(
        &mut self,
        report: ItemReport,
        sink: &mut dyn SyncSink,
        summary: &mut SyncSummary,
        failed: &mut HashSet<RelPath>,
    ) -> crate::Result<Option<String>> {
        let response = sink.item_result(&report);
        summary.add(&report);
        if matches!(report.result, ItemResult::Error(_)) {
            failed.insert(report.path.clone());
            if !self.share_reachable() {
                return Ok(Some(super::SHARE_LOST.to_string()));
            }
        }
        self.maybe_commit()?;
        if response == Response::Abort {
            return Ok(Some("stopped on request".to_string()));
        }
        Ok(None)
    }
}

/// Errors that stand for a whole batch are repeated for each of its items.
trait CloneFor {
    fn clone_for(&self, path: &RelPath) -> RemoteError;
}

impl CloneFor for RemoteError {
    fn clone_for(&self, path: &RelPath) -> RemoteError {
        RemoteError::new(self.kind, path, self.message.clone())
    }
}
