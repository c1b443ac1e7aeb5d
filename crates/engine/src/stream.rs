//! An initial sync whose plan is streamed: when no original is known, the plan can
//! hold no rename and no deletion, so the walk hands the planner one folder at a
//! time, the planner releases the items before the next folder to walk
//! (`Planner::release`, each as the whole plan decides it), and the executor runs
//! them in pieces of a few thousand, in path order, dropping each piece once it is
//! done. Memory follows one piece and the walk's front, not the tree. The guards
//! have nothing to stop: without originals nothing is deleted and no share item was
//! known (they read the originals, of which there are none). A sink that shows
//! totals before the work starts takes the whole plan as before
//! ([`SyncSink::streams`]).

use crate::cache::Cache;
use crate::error::Result;
use crate::execute::{Closing, Executor, Parts, Running};
use crate::prepare::{problem_reports, PrepareOptions};
use crate::sink::{ItemReport, SyncSink, SyncSummary};
use crate::walk::{Walk, Walker};
use offline_core::{Plan, PlanItem, RelPath, SyncControl};
use offline_remote::Remote;
use std::collections::HashSet;

/// Items run as one piece at least (each piece's copies end, and its last batch
/// of staged files is placed, before the next starts): small enough to keep memory
/// bounded (a few MiB), large enough that the partial batch at a piece's end
/// costs little (a batch is 512 files).
const PIECE_ITEMS: usize = 16_384;

impl Cache {
    /// True when this sync may stream its plan: `sink` takes pieces, the whole tree
    /// is synced against the originals, and none is known (an initial sync).
    pub(crate) fn streams(&self, options: &PrepareOptions, sink: &dyn SyncSink) -> Result<bool> {
        Ok(sink.streams()
            && options.scope.is_empty()
            && !options.without_base
            && self.store.original_count()? == 0)
    }

    /// Walks, plans and runs the sync in pieces (see the module's comment); the
    /// same work, in the same order, as [`Cache::prepare`] then [`Cache::execute`].
    pub(crate) fn sync_streamed(
        &mut self,
        share: &dyn Remote,
        control: &SyncControl,
        options: &PrepareOptions,
        sink: &mut dyn SyncSink,
    ) -> Result<SyncSummary> {
        let pins = self.store.pins()?;
        let exclusions = self.exclusions()?;
        let parts = Parts::of(self)?;
        sink.begin(&Plan::default())?;
        self.mark_running()?;
        let mut planner = self.planner(share, control, options);
        let Cache { store, local, .. } = self;
        let walker = Walker {
            local: &*local,
            share,
            store: None,
            pins: &pins,
            also_pinned: &options.also_pinned,
            exclusions: &exclusions,
        };
        let mut running = Executor::from_parts(parts, store, local, share).start(sink);
        let mut pieces = Pieces {
            items: Vec::new(),
            closing: Closing {
                planned_conflicts: HashSet::new(),
                scope: &[],
                problems: Vec::new(),
                refresh: &[],
                excluded: Vec::new(),
            },
            defer_larger_than: options.defer_larger_than,
        };
        let walked = walker.run_with(&[], &mut planner, &mut |walk, next| {
            pieces.take(walk, next, &mut running)?;
            Ok(!running.stopped())
        })?;
        let notes: Vec<ItemReport> = walked.notes;
        let left_out: Vec<ItemReport> = walked.left_out.iter().map(|l| l.report()).collect();
        let problems = problem_reports(walked.problems);
        let mut closing = pieces.closing;
        closing
            .problems
            .extend(problems.iter().map(|p| p.path.clone()));
        running.report(&problems, &left_out);
        running.report(&[], &notes);
        let summary = running.finish(closing)?;
        self.close_run(true, summary, sink)
    }
}

/// The plan's pieces as the walk releases them, and what the end of the run needs.
struct Pieces {
    /// Released items not run yet, in path order.
    items: Vec<PlanItem>,
    /// What the end of the run records (the paths that could not be read, the
    /// planned conflicts, the excluded paths).
    closing: Closing<'static>,
    defer_larger_than: Option<u64>,
}

impl Pieces {
    /// After a folder: reports what the walk could not read or left out, takes the
    /// items released before `next`, and runs them once there are enough (all of
    /// them at the end of the walk).
    fn take(
        &mut self,
        walk: &mut Walk<'_, '_>,
        next: Option<&RelPath>,
        running: &mut Running<'_, '_>,
    ) -> Result<()> {
        let (problems, left_out) = walk.take_found();
        let problems = problem_reports(problems);
        let skipped: Vec<ItemReport> = left_out.iter().map(|l| l.report()).collect();
        self.closing
            .problems
            .extend(problems.iter().map(|p| p.path.clone()));
        running.report(&problems, &skipped);
        let mut piece = walk.planner.release(next);
        let deferred = crate::defer::defer_large(&mut piece.items, self.defer_larger_than);
        running.report(&[], &deferred);
        self.items.append(&mut piece.items);
        // `OFFLINE_PIECE_ITEMS`: a knob for measuring (and for tests, small pieces).
        let piece_items = crate::env_count("OFFLINE_PIECE_ITEMS", usize::MAX, PIECE_ITEMS);
        if self.items.len() < piece_items && next.is_some() {
            return Ok(());
        }
        let piece = Plan {
            items: std::mem::take(&mut self.items),
            ..Plan::default()
        };
        self.closing.note(&piece.items);
        running.more(&piece);
        running.run_items(piece.run_order())
    }
}
