//! One run of the executor: the state threaded through every item (the sink, the
//! totals, the failed paths, the staged batch, why the run stopped) and the life of
//! one item: begun, done (by the run itself or by the copy pool), reported to the
//! sink, retried when the sink asks, its base update appended to the ledger, and the
//! run stopped when the sink asks, its output fails, or the share is lost.

use super::apply::{copy_entry, item_error, Done, Work};
use super::batch::{can_batch, Batch};
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
    batch: Batch<'a>,
    stop: Option<StopReason>,
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
            batch: Batch::default(),
            stop: None,
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

    /// Runs the items in `order`. File copies go to `pool` (a file's folder is made
    /// before its copy starts); every started copy ends and is recorded before this
    /// returns, also when the run stops early.
    pub(super) fn run_items(&mut self, order: &[&'a PlanItem], pool: &mut Pool<'a>) -> Result<()> {
        for (index, &item) in order.iter().enumerate() {
            if self.stop.is_some() {
                break;
            }
            if self.sink.query_abort() {
                self.halt(StopReason::Requested);
                break;
            }
            let journal = self.ledger.journal(order, index)?;
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
                    self.start_copy(job, pool)?;
                }
                None => self.run_one(item, journal)?,
            }
        }
        loop {
            while !pool.is_idle() {
                if let Some((job, outcome)) = pool.next_done(true) {
                    self.settle(job, outcome, pool)?;
                }
            }
            if self.batch.is_empty() {
                return Ok(());
            }
            self.flush(pool)?;
        }
    }

    /// How `item` is copied by the pool, and from which side to which, when it is a
    /// plain file copy; other items run here, one at a time.
    fn copy_kind(&self, item: &PlanItem) -> Option<(CopyKind, Side, Side)> {
        if !matches!(item.action, Action::Run(_)) {
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

    /// Does one item here, as often as the sink asks to retry it.
    fn run_one(&mut self, item: &PlanItem, journal: Option<JournalId>) -> Result<()> {
        let mut retries = 0;
        loop {
            self.begin(item);
            let done = self.work.apply(item);
            match self.conclude(item, done, journal, retries)? {
                Next::Retry => retries += 1,
                Next::Done => return Ok(()),
            }
        }
    }

    /// Hands a copy to the pool once a place is free, and settles the copies that
    /// ended meanwhile. When the run stops while it waits, the copy is not started.
    fn start_copy(&mut self, job: Job<'a>, pool: &mut Pool<'a>) -> Result<()> {
        while pool.is_full() {
            let Some((done, outcome)) = pool.next_done(true) else {
                break;
            };
            self.settle(done, outcome, pool)?;
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
            self.settle(done, outcome, pool)?;
        }
        Ok(())
    }

    /// Records and reports a copy the pool finished (a staged one joins the batch,
    /// which is placed when full).
    fn settle(&mut self, job: Job<'a>, outcome: Outcome, pool: &mut Pool<'a>) -> Result<()> {
        let copied = match outcome {
            Outcome::Staged(Ok(file)) => {
                if self.batch.add(job, file) {
                    self.flush(pool)?;
                }
                return Ok(());
            }
            Outcome::Copied(copied) => copied,
            Outcome::Staged(Err(e)) => Err(e),
        };
        self.conclude_copy(job, copied, pool)
    }

    /// Places the staged batch and settles each of its copies.
    fn flush(&mut self, pool: &mut Pool<'a>) -> Result<()> {
        for (job, copied) in self.batch.place(&self.work.sides) {
            self.conclude_copy(job, copied, pool)?;
        }
        Ok(())
    }

    /// Ends a copy of the pool: reported and recorded, or handed to the pool again
    /// when it failed and the sink asks to retry it.
    fn conclude_copy(
        &mut self,
        job: Job<'a>,
        copied: std::result::Result<Copied, offline_remote::RemoteError>,
        pool: &mut Pool<'a>,
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
        let (result, done) = match done {
            Ok(Done {
                skipped: Some(reason),
                ..
            }) => (ItemResult::Skipped(reason), Done::default()),
            Ok(done) => (result_of(item), done),
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
        if failed && response == Response::Retry && retries < MAX_RETRIES && self.stop.is_none() {
            return Ok(Next::Retry);
        }
        // On failure the target was left untouched: nothing to record, and the next
        // sync tries again.
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
