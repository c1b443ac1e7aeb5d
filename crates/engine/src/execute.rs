//! The executor: an interpreter over the plan's items, following the safety rules.
//! Each item's work is done as the item says (`execute/apply.rs`, `execute/keep.rs`;
//! file copies on a pool of threads, `execute/parallel.rs`, the cache's placed in
//! batches, `execute/batch.rs`), checked against the item's precondition right before
//! anything is replaced or deleted (content goes through a temp file renamed into
//! place, a losing copy is kept before it is overwritten), reported to the sink, and
//! its base update appended to the ledger (`execute/ledger.rs`, committing as
//! `execute/commit_policy.rs` says), which records an original only after its data
//! is durable. A run (`execute/run.rs`) ends with a
//! typed [`StopReason`](crate::StopReason) when it stops early.

use crate::cache::{now_ns, Cache};
use crate::conflict::host_name;
use crate::error::Result;
use crate::prepare::Prepared;
use crate::sink::{ItemReport, SyncSink, SyncSummary};
use apply::Work;
use keep::Keeper;
use ledger::{Entry, Ledger};
use offline_core::{Action, Original, PlanItem, RelPath};
use offline_remote::{DirRemote, Remote};
use offline_store::Store;
use parallel::Pool;
use run::Run;
use sides::Sides;
use std::collections::HashSet;

mod apply;
mod batch;
mod commit_policy;
mod keep;
mod ledger;
mod parallel;
mod rename;
mod run;
mod sides;

pub(crate) use ledger::RenameRow;
pub use parallel::{DEFAULT_TRANSFERS, MAX_TRANSFERS};

/// Carries out one plan against the two sides.
pub(crate) struct Executor<'a> {
    work: Work<'a>,
    ledger: Ledger<'a>,
    /// File copies in flight at most.
    transfers: usize,
    /// The paths with a recorded conflict when the run started.
    stored_conflicts: HashSet<RelPath>,
}

/// What the end of a run records besides its items: the conflicts it settled
/// (recorded ones it did not plan again, in the trees it could read), the refreshed
/// fingerprints, and the originals of excluded paths to forget.
pub(crate) struct Closing<'c> {
    /// The paths planned as a logged or blocked conflict.
    pub(crate) planned_conflicts: HashSet<RelPath>,
    /// The trees prepare looked at (empty: everything).
    pub(crate) scope: &'c [RelPath],
    /// The paths prepare could not read.
    pub(crate) problems: Vec<RelPath>,
    /// Unchanged items with new fingerprints (`Plan::refresh`).
    pub(crate) refresh: &'c [(RelPath, Original)],
    /// Excluded paths whose originals go.
    pub(crate) excluded: Vec<RelPath>,
}

impl Closing<'_> {
    /// The planned conflicts and excluded paths of `items`, added.
    pub(crate) fn note(&mut self, items: &[PlanItem]) {
        for item in items {
            if matches!(item.action, Action::LogConflict | Action::Blocked) {
                self.planned_conflicts.insert(item.path.clone());
            }
            if is_excluded(item) {
                self.excluded.push(item.path.clone());
            }
        }
    }

    /// True when this prepare looked at `path` and could read it.
    fn covers(&self, path: &RelPath) -> bool {
        let in_scope = self.scope.is_empty() || self.scope.iter().any(|s| s.contains(path));
        in_scope && !self.problems.iter().any(|p| p.contains(path))
    }
}

/// An executor running: its items are handed over in pieces, in run order.
pub(crate) struct Running<'a, 's> {
    run: Run<'a, 's>,
    transfers: usize,
    stored_conflicts: HashSet<RelPath>,
}

impl<'a> Executor<'a> {
    pub(crate) fn new(cache: &'a mut Cache, share: &'a dyn Remote) -> Result<Executor<'a>> {
        let parts = Parts::of(cache)?;
        let Cache { store, local, .. } = cache;
        Ok(Executor::from_parts(parts, store, local, share))
    }

    /// An executor over the cache's state database and folder, with what
    /// [`Parts::of`] read from the cache before.
    pub(crate) fn from_parts(
        parts: Parts,
        store: &'a mut Store,
        local: &'a DirRemote,
        share: &'a dyn Remote,
    ) -> Executor<'a> {
        Executor {
            work: Work {
                sides: Sides { local, share },
                keeper: parts.keeper,
            },
            ledger: Ledger::new(store),
            transfers: parts.transfers,
            stored_conflicts: parts.stored_conflicts,
        }
    }

    /// Runs every item of a prepared plan in the plan's order
    /// ([`offline_core::Plan::run_order`]): renamed items and the folders they go
    /// into first, then deletions, deepest first (so folders are empty when their
    /// turn comes), then everything else, parents first. File copies run on a pool
    /// of worker threads (at most `transfers` at once) while the other items go on
    /// here. Then the conflicts this run found settled are dropped, the plan's
    /// refreshed fingerprints recorded, and the ledger closed.
    pub(crate) fn run(self, prepared: &Prepared, sink: &mut dyn SyncSink) -> Result<SyncSummary> {
        let mut running = self.start(sink);
        running.report(&prepared.problems, &prepared.skipped);
        running.run_items(prepared.plan.run_order())?;
        let mut closing = Closing {
            planned_conflicts: HashSet::new(),
            scope: &prepared.scope,
            problems: prepared.problems.iter().map(|p| p.path.clone()).collect(),
            refresh: &prepared.plan.refresh,
            excluded: Vec::new(),
        };
        closing.note(&prepared.plan.items);
        running.finish(closing)
    }

    /// Starts a run reporting to `sink`.
    pub(crate) fn start<'s>(self, sink: &'s mut dyn SyncSink) -> Running<'a, 's> {
        Running {
            run: Run::new(self.work, self.ledger, sink),
            transfers: self.transfers,
            stored_conflicts: self.stored_conflicts,
        }
    }
}

/// What an executor reads from the cache before the run (the cache is then split
/// between the walk and the executor when they take turns).
pub(crate) struct Parts {
    keeper: Keeper,
    transfers: usize,
    stored_conflicts: HashSet<RelPath>,
}

impl Parts {
    pub(crate) fn of(cache: &Cache) -> Result<Parts> {
        let stored_conflicts = cache
            .store
            .conflicts()?
            .into_iter()
            .map(|c| c.path)
            .collect();
        // `OFFLINE_TRANSFERS=N` overrides the setting for one run (the crash tests
        // set 1 for a rebuilt database, which has no settings yet).
        let transfers = match crate::env_count("OFFLINE_TRANSFERS", MAX_TRANSFERS, 0) {
            0 => cache.transfers()?,
            n => n,
        };
        let keeper = Keeper {
            meta_dir: cache.meta_dir(),
            run_started_ns: now_ns(),
            host: host_name(),
            temp_tag: cache.local.temp_tag().clone(),
        };
        Ok(Parts {
            keeper,
            transfers,
            stored_conflicts,
        })
    }
}

impl Running<'_, '_> {
    /// Reports the paths prepare could not read (they count as failed) and the
    /// names it left out on purpose (skipped).
    pub(crate) fn report(&mut self, problems: &[ItemReport], skipped: &[ItemReport]) {
        self.run.report_problems(problems, skipped);
    }

    /// Hands the sink one more piece of the plan (see [`SyncSink::more`]).
    pub(crate) fn more(&mut self, piece: &offline_core::Plan) {
        self.run.more(piece);
    }

    /// True once the run stopped: nothing more is started.
    pub(crate) fn stopped(&self) -> bool {
        self.run.stopped()
    }

    /// Runs `order` (items of the plan in run order; excluded ones are only
    /// forgotten at the end), its copies on a pool of threads that ends with it.
    pub(crate) fn run_items(&mut self, order: Vec<&PlanItem>) -> Result<()> {
        let order: Vec<&PlanItem> = order.into_iter().filter(|i| !is_excluded(i)).collect();
        if order.is_empty() {
            return Ok(());
        }
        let sides = self.run.work.sides;
        let (run, transfers) = (&mut self.run, self.transfers);
        std::thread::scope(|scope| {
            let mut pool = Pool::start(scope, sides, transfers);
            run.run_items(&order, &mut pool)
        })
    }

    /// Ends the run: settled conflicts, refreshed fingerprints and forgotten
    /// excluded paths are recorded with the last commit.
    pub(crate) fn finish(self, closing: Closing<'_>) -> Result<SyncSummary> {
        let mut ended = self.run.end();
        let settled = self.stored_conflicts.iter().filter(|p| {
            !closing.planned_conflicts.contains(*p)
                && !ended.failed.contains(*p)
                && closing.covers(p)
        });
        let settled: Vec<RelPath> = settled.cloned().collect();
        for path in settled {
            ended.ledger.append(Entry::Settled(path));
        }
        for (path, original) in closing.refresh {
            ended
                .ledger
                .append(Entry::Put(path.clone(), original.clone()));
        }
        // Excluded paths are no part of the sync: their originals go silently.
        for path in closing.excluded {
            ended.ledger.append(Entry::ForgetTree(path));
        }
        ended.ledger.close()?;
        Ok(ended.summary)
    }
}

fn is_excluded(item: &PlanItem) -> bool {
    item.action == Action::ForgetExcluded
}
