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
use crate::sink::{SyncSink, SyncSummary};
use apply::Work;
use keep::Keeper;
use ledger::{Entry, Ledger};
use offline_core::{Action, PlanItem, RelPath, SyncOperation};
use offline_remote::Remote;
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
mod run;
mod sides;

pub use parallel::{DEFAULT_TRANSFERS, MAX_TRANSFERS};

/// Carries out one plan against the two sides.
pub(crate) struct Executor<'a> {
    work: Work<'a>,
    ledger: Ledger<'a>,
    prepared: &'a Prepared,
    /// File copies in flight at most.
    transfers: usize,
    /// The paths with a recorded conflict when the run started.
    stored_conflicts: HashSet<RelPath>,
}

impl<'a> Executor<'a> {
    pub(crate) fn new(
        cache: &'a mut Cache,
        share: &'a dyn Remote,
        prepared: &'a Prepared,
    ) -> Result<Executor<'a>> {
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
        let Cache { store, local, .. } = cache;
        Ok(Executor {
            work: Work {
                sides: Sides { local, share },
                keeper,
            },
            ledger: Ledger::new(store),
            prepared,
            transfers,
            stored_conflicts,
        })
    }

    /// Runs every item: deletions first, deepest first (so folders are empty when
    /// their turn comes), then everything else, parents first. File copies run on a
    /// pool of worker threads (at most `transfers` at once) while the other items go
    /// on here. Then the conflicts this run found settled are dropped, the plan's
    /// refreshed fingerprints recorded, and the ledger closed.
    pub(crate) fn run(self, sink: &mut dyn SyncSink) -> Result<SyncSummary> {
        let Executor {
            work,
            ledger,
            prepared,
            transfers,
            stored_conflicts,
        } = self;
        let items = &prepared.plan.items;
        let deletions = items.iter().rev().filter(|i| is_deletion(i));
        let others = items.iter().filter(|i| !is_deletion(i) && !is_excluded(i));
        let order: Vec<&PlanItem> = deletions.chain(others).collect();
        let sides = work.sides;
        let mut run = Run::new(work, ledger, sink);
        run.report_problems(&prepared.problems, &prepared.skipped);
        std::thread::scope(|scope| {
            let mut pool = Pool::start(scope, sides, transfers);
            run.run_items(&order, &mut pool)
        })?;
        let mut ended = run.end();
        for path in settled_conflicts(prepared, &stored_conflicts, &ended.failed) {
            ended.ledger.append(Entry::Settled(path));
        }
        for (path, original) in &prepared.plan.refresh {
            ended
                .ledger
                .append(Entry::Put(path.clone(), original.clone()));
        }
        // Excluded paths are no part of the sync: their originals go silently.
        for item in items.iter().filter(|i| is_excluded(i)) {
            ended.ledger.append(Entry::ForgetTree(item.path.clone()));
        }
        ended.ledger.close()?;
        Ok(ended.summary)
    }
}

/// The recorded conflicts this run settled (or found settled): not planned again,
/// not failed, and looked at by this prepare.
fn settled_conflicts(
    prepared: &Prepared,
    stored: &HashSet<RelPath>,
    failed: &HashSet<RelPath>,
) -> Vec<RelPath> {
    let planned: HashSet<&RelPath> = prepared
        .plan
        .items
        .iter()
        .filter(|i| matches!(i.action, Action::LogConflict | Action::Blocked))
        .map(|i| &i.path)
        .collect();
    stored
        .iter()
        .filter(|p| !planned.contains(p) && !failed.contains(*p) && prepared.covers(p))
        .cloned()
        .collect()
}

fn is_excluded(item: &PlanItem) -> bool {
    item.action == Action::ForgetExcluded
}

fn is_deletion(item: &PlanItem) -> bool {
    matches!(
        item.action,
        Action::Run(SyncOperation::DeleteClientCopy) | Action::Run(SyncOperation::DeleteServerCopy)
    )
}
