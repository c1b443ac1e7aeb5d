//! One run of the executor: the state threaded through every item (the sink, the
//! totals, the failed paths, why the run stopped) and the life of
//! one item: begun, done (by the run itself or by the copy pool), reported to the
//! sink, retried when the sink asks, its base update appended to the ledger, and the
//! run stopped when the sink asks, its output fails, or the share is lost.

use super::apply::{copy_entry, item_error, Done, Work};
use super::batch::{can_batch, Batch};
use super::commit_policy::CommitPolicy;
use super::ledger::{JournalId, Ledger};
use super::parallel::{CopyKind, Job, Outcome, Pool};
use super::sides::Copied;
use crate::error::{ItemError, Result};
use crate::sink::{ItemReport, ItemResult, Response, StopReason, SyncSink, SyncSummary};
use offline_core::{Action, Kind, PlanItem, RelPath, Side};
use std::collections::HashSet;

/// How often a sink may ask to retry one item.
const MAX_RETRIES: u32 = 3;

/// After an item's report: done with it, or try it again (the sink asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Done,
    Retry,
}

/// The state of one run.
pub(super) struct Run<'a, 's> {
    pub(super) work: Work<'a>,
    ledger: Ledger<'a>,
    sink: &'s mut dyn SyncSink,
    summary: SyncSummary,
    failed: HashSet<RelPath>,
    stop: Option<StopReason>,
    /// The new paths of renames that did not happen: what lies below them waits.
    unrenamed: Vec<RelPath>,
}

/// What a run leaves: its ledger (to close), its totals and the paths that failed.
pub(super) struct Ended<'a> {
    pub(super) ledger: Ledger<'a>,
    pub(super) summary: SyncSummary,
    pub(super) failed: HashSet<RelPath>,
}

impl<'a, 's> Run<'a, 's> {
    pub(super) fn new(work: Work<'a>, ledger: Ledger<'a>, sink: &'s mut dyn SyncSink) -> Self {
        Run {
            work,
            ledger,
            sink,
            summary: SyncSummary::default(),
            failed: HashSet::new(),
            stop: None,
            unrenamed: Vec::new(),
        }
    }

    /// The run's totals and ledger, with why it stopped early, if it did.
    pub(super) fn end(self) -> Ended<'a> {
        let mut summary = self.summary;
        summary.stopped = self.stop;
        Ended {
            ledger: self.ledger,
            summary,
            failed: self.failed,
        }
    }

    /// Reports the paths prepare could not read (they count as failed) and the
    /// names it left out on purpose (skipped).
    pub(super) fn report_problems(&mut self, problems: &[ItemReport], skipped: &[ItemReport]) {
        for report in problems.iter().chain(skipped) {
            self.summary.add(report);
            if let Err(e) = self.sink.item_result(report) {
                self.halt(StopReason::SinkFailed(e.to_string()));
            }
        }
        for report in problems {
            self.failed.insert(report.path.clone());
        }
    }

    /// True once the run stopped (the sink asked, its output failed, the share is gone).
    pub(super) fn stopped(&self) -> bool {
        self.stop.is_some()
    }

    /// Runs the items in `order`. File copies go to `pool` (a file's folder is made
    /// before its copy starts); every started copy ends and is recorded before this
    /// returns, also when the run stops early (the staged batch is placed).
    pub(super) fn run_items<'p>(
        &mut self,
        order: &[&'p PlanItem],
        pool: &mut Pool<'p>,
    ) -> Result<()> {
        let batch = &mut Batch::new(self.ledger.commit_policy() == CommitPolicy::Timed);
        for (index, &item) in order.iter().enumerate() {
            if self.stop.is_some() {
                break;
            }
            if self.sink.query_abort() {
                self.halt(StopReason::Requested);
                break;
            }
            let journal = self.ledger.journal(order, index)?;
            if self.unrenamed.iter().any(|r| r.is_ancestor_of(&item.path)) {
                self.wait_for_rename(item, journal)?;
                continue;
            }
            match self.copy_kind(item) {
                Some((kind, from, to)) => {
                    let job = Job {
                        item,
                        kind,
                        from,
                        to,
                        journal,
                        retries: 0,
                    };
                    self.start_copy(job, pool, batch)?;
                }
                None => self.run_one(item, journal)?,
            }
        }
        loop {
            while !pool.is_idle() {
                if let Some((job, outcome)) = pool.next_done(true) {
                    self.settle(job, outcome, pool, batch)?;
                }
            }
            if batch.is_empty() {
                return Ok(());
            }
            self.flush(pool, batch)?;
        }
    }

    /// How `item` is copied by the pool, and from which side to which, when it is a
    /// plain file copy; other items run here, one at a time.
    fn copy_kind(&self, item: &PlanItem) -> Option<(CopyKind, Side, Side)> {
        if !matches!(item.action, Action::Run(_)) || item.moved.is_some() {
            return None;
        }
        let (from, to) = item.copy_direction()?;
        let src = item.triple.meta(from)?;
        if src.kind != Kind::File {
            return None;
        }
        let kind = if can_batch(&self.work.sides, to, item, src) {
            CopyKind::Stage
        } else {
            CopyKind::Direct
        };
        Some((kind, from, to))
    }

    /// An item below a folder whose rename did not happen: the folder is not there
    /// on the side it was to be renamed on, so the item is left for the next sync.
    fn wait_for_rename(&mut self, item: &PlanItem, journal: Option<JournalId>) -> Result<()> {
        self.begin(item);
        let done = Ok(Done {
            skipped: Some("the rename of a folder above it did not happen".to_string()),
            ..Done::default()
        });
        self.conclude(item, done, journal, MAX_RETRIES)?;
        Ok(())
    }

    /// Does one item here, as often as the sink asks to retry it.
    fn run_one(&mut self, item: &PlanItem, journal: Option<JournalId>) -> Result<()> {
        let mut retries = 0;
        loop {
            self.begin(item);
            let done = self.work.apply(item);
            let renamed = done.as_ref().is_ok_and(|d| {
                d.entries
                    .iter()
                    .any(|e| matches!(e, super::ledger::Entry::Move(..)))
            });
            if item.renames_on().is_some() && !renamed {
                self.unrenamed.push(item.path.clone());
            } else {
                self.unrenamed.retain(|r| *r != item.path);
            }
            match self.conclude(item, done, journal, retries)? {
                Next::Retry => retries += 1,
                Next::Done => return Ok(()),
            }
        }
    }

    /// Hands a copy to the pool once a place is free, and settles the copies that
    /// ended meanwhile. When the run stops while it waits, the copy is not started.
    fn start_copy<'p>(
        &mut self,
        job: Job<'p>,
        pool: &mut Pool<'p>,
        batch: &mut Batch<'p>,
    ) -> Result<()> {
        while pool.is_full() {
            let Some((done, outcome)) = pool.next_done(true) else {
                break;
            };
            self.settle(done, outcome, pool, batch)?;
            if self.stop.is_some() {
                self.ledger.abandon(job.journal);
                return Ok(());
            }
        }
        self.begin(job.item);
        pool.submit(job);
        // With one copy in flight the run waits for it: one thing at a time, in plan
        // order, so a run passes the same crash points every time.
        let wait = pool.is_serial();
        while let Some((done, outcome)) = pool.next_done(wait) {
            self.settle(done, outcome, pool, batch)?;
        }
        Ok(())
    }

    /// Records and reports a copy the pool finished (a staged one joins the batch,
    /// which is placed when full).
    fn settle<'p>(
        &mut self,
        job: Job<'p>,
        outcome: Outcome,
        pool: &mut Pool<'p>,
        batch: &mut Batch<'p>,
    ) -> Result<()> {
        let copied = match outcome {
            Outcome::Staged(Ok(file)) => {
                if batch.add(job, file) {
                    self.flush(pool, batch)?;
                }
                return Ok(());
            }
            Outcome::Copied(copied) => copied,
            Outcome::Staged(Err(e)) => Err(e),
        };
        self.conclude_copy(job, copied, pool)
    }

    /// Places the staged batch and settles each of its copies.
    fn flush<'p>(&mut self, pool: &mut Pool<'p>, batch: &mut Batch<'p>) -> Result<()> {
        for (job, copied) in batch.place(&self.work.sides, pool.limit()) {
            self.conclude_copy(job, copied, pool)?;
        }
        Ok(())
    }

    /// Ends a copy of the pool: reported and recorded, or handed to the pool again
    /// when it failed and the sink asks to retry it.
    fn conclude_copy<'p>(
        &mut self,
        job: Job<'p>,
        copied: std::result::Result<Copied, offline_remote::RemoteError>,
        pool: &mut Pool<'p>,
    ) -> Result<()> {
        let done = copied
            .and_then(|copied| {
                let bytes = copied.bytes;
                let entry = copy_entry(job.item, copied)?;
                Ok(Done {
                    bytes,
                    entries: vec![entry],
                    ..Done::default()
                })
            })
            .map_err(|e| item_error(job.item, &e));
        if self.conclude(job.item, done, job.journal, job.retries)? == Next::Retry {
            self.begin(job.item);
            pool.submit(Job {
                retries: job.retries + 1,
                ..job
            });
        }
        Ok(())
    }

    /// Tells the sink about one more piece of the plan.
    pub(super) fn more(&mut self, piece: &offline_core::Plan) {
        if let Err(e) = self.sink.more(piece) {
            self.halt(StopReason::SinkFailed(e.to_string()));
        }
    }

    /// Tells the sink an item starts.
    fn begin(&mut self, item: &PlanItem) {
        if let Err(e) = self.sink.item_begin(item) {
            self.halt(StopReason::SinkFailed(e.to_string()));
        }
    }

    /// Ends one attempt at `item`: reports it, and unless the sink asks to retry a
    /// failure, appends its base update to the ledger (with the end of its journal
    /// row) and counts it. A failure stops the run when the share is gone.
    fn conclude(
        &mut self,
        item: &PlanItem,
        done: std::result::Result<Done, Box<ItemError>>,
        journal: Option<JournalId>,
        retries: u32,
    ) -> Result<Next> {
        // Work partly done (a rename whose rest failed or waits) keeps its entries.
        let (result, done) = match done {
            Ok(mut done) => match (done.failed.take(), done.skipped.take()) {
                (Some(err), _) => (ItemResult::Error(err), done),
                (None, Some(reason)) => (ItemResult::Skipped(reason), done),
                (None, None) => (result_of(item), done),
            },
            Err(err) => (ItemResult::Error(err), Done::default()),
        };
        let failed = matches!(result, ItemResult::Error(_));
        let mut report = ItemReport::for_item(item, result);
        report.bytes = done.bytes;
        report.note = done.note;
        let response = match self.sink.item_result(&report) {
            Ok(response) => response,
            Err(e) => {
                self.halt(StopReason::SinkFailed(e.to_string()));
                Response::Continue
            }
        };
        let untouched = done.entries.is_empty();
        if failed
            && untouched
            && response == Response::Retry
            && retries < MAX_RETRIES
            && self.stop.is_none()
        {
            return Ok(Next::Retry);
        }
        // On failure the target was left untouched (nothing to record: the next sync
        // tries again), or a rename was done first (recorded).
        self.ledger.item_done(journal, done.entries)?;
        self.summary.add(&report);
        if failed {
            self.failed.insert(item.path.clone());
            if !crate::share_root_ok(self.work.sides.share) {
                self.halt(StopReason::ShareLost);
            }
        }
        if response == Response::Abort {
            self.halt(StopReason::Requested);
        }
        Ok(Next::Done)
    }

    /// Stops the run (the first reason given stays).
    fn halt(&mut self, reason: StopReason) {
        self.stop.get_or_insert(reason);
    }
}

/// How an item whose work went through ends.
fn result_of(item: &PlanItem) -> ItemResult {
    match item.action {
        Action::LogConflict => ItemResult::Conflict,
        Action::Blocked => ItemResult::Skipped(
            "a folder above it is in an unresolved file-versus-folder conflict".to_string(),
        ),
        _ => ItemResult::Ok,
    }
}
