//! Concurrent file copies: a bounded pool of worker threads that copy (or stage)
//! files while the executor goes on with the items that need no copy. At most
//! `limit` copies are in flight; their outcomes are handed back in the order the
//! copies were started, so the executor records and reports them in plan order.

use super::ledger::JournalId;
use super::sides::{Copied, Seen, Sides, StagedFile};
use crate::workers;
use offline_core::{PlanItem, Side};
use offline_remote::{ErrorKind, RemoteError};
use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{Receiver, Sender};
use std::thread::Scope;

/// Copies in flight by default (`offline config --transfers`).
pub const DEFAULT_TRANSFERS: usize = 4;
/// The most copies in flight a cache may be set to.
pub const MAX_TRANSFERS: usize = 64;
/// Finished copies kept waiting for an earlier, slower one, per copy in flight.
const REORDER_PER_TRANSFER: usize = 16;

/// How a file reaches its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CopyKind {
    /// Written under a temp name and placed with its batch (the cache folder, a
    /// mounted share).
    Stage,
    /// Written and placed by the target in one call (network shares).
    Direct,
}

/// One copy to run.
#[derive(Clone, Copy)]
pub(super) struct Job<'p> {
    pub(super) item: &'p PlanItem,
    pub(super) kind: CopyKind,
    pub(super) from: Side,
    pub(super) to: Side,
    pub(super) journal: Option<JournalId>,
    /// Earlier attempts the sink asked to retry.
    pub(super) retries: u32,
}

/// What a copy did.
pub(super) enum Outcome {
    Staged(Result<StagedFile, RemoteError>),
    Copied(Result<Copied, RemoteError>),
}

/// The pool of one run.
pub(super) struct Pool<'p> {
    jobs: Sender<(usize, Job<'p>)>,
    done: Receiver<((usize, Job<'p>), Outcome)>,
    /// Started copies not handed back yet, oldest first.
    waiting: VecDeque<(usize, Job<'p>)>,
    finished: HashMap<usize, Outcome>,
    next: usize,
    running: usize,
    limit: usize,
}

impl<'p> Pool<'p> {
    /// Starts `limit` workers in `scope`.
    pub(super) fn start<'scope>(
        scope: &'scope Scope<'scope, '_>,
        sides: Sides<'p>,
        limit: usize,
    ) -> Pool<'p>
    where
        'p: 'scope,
    {
        let limit = limit.clamp(1, MAX_TRANSFERS);
        let (jobs, done) = workers::start(
            scope,
            limit,
            move |(_, job): &(usize, Job<'p>)| run(sides, job),
            |(_, job)| worker_gone(job),
        );
        Pool {
            jobs,
            done,
            waiting: VecDeque::new(),
            finished: HashMap::new(),
            next: 0,
            running: 0,
            limit,
        }
    }

    /// True when a new copy must wait until one in flight ends.
    pub(super) fn is_full(&self) -> bool {
        self.running >= self.limit || self.waiting.len() >= self.limit * REORDER_PER_TRANSFER
    }

    /// True when only one copy may be in flight: the run then waits for each copy
    /// before it goes on, so everything happens in plan order.
    pub(super) fn is_serial(&self) -> bool {
        self.limit == 1
    }

    /// The most copies in flight (also how many threads place a batch).
    pub(super) fn limit(&self) -> usize {
        self.limit
    }

    /// True when no copy is started and not handed back.
    pub(super) fn is_idle(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Starts a copy (the caller checks [`Pool::is_full`] first).
    pub(super) fn submit(&mut self, job: Job<'p>) {
        let id = self.next;
        self.next += 1;
        self.waiting.push_back((id, job));
        if self.jobs.send((id, job)).is_ok() {
            self.running += 1;
        } else {
            // Every worker is gone (it cannot happen while the pool lives): the
            // copy ends as an error instead of waiting forever.
            self.finished.insert(id, worker_gone(&job));
        }
    }

    /// The oldest started copy, with its outcome, once it has ended; waits for it
    /// when `wait` is true.
    pub(super) fn next_done(&mut self, wait: bool) -> Option<(Job<'p>, Outcome)> {
        let (front, front_job) = *self.waiting.front()?;
        while !self.finished.contains_key(&front) {
            let received = if wait {
                self.done.recv().ok()
            } else {
                self.done.try_recv().ok()
            };
            match received {
                Some(((id, _), outcome)) => {
                    self.running -= 1;
                    self.finished.insert(id, outcome);
                }
                None if wait => {
                    // No worker left to answer: end the copy as an error.
                    self.running = self.running.saturating_sub(1);
                    self.finished.insert(front, worker_gone(&front_job));
                }
                None => return None,
            }
        }
        let outcome = self.finished.remove(&front)?;
        self.waiting.pop_front();
        Some((front_job, outcome))
    }
}

fn worker_gone(job: &Job<'_>) -> Outcome {
    let err = RemoteError::new(
        ErrorKind::Io,
        &job.item.path,
        "the copy was not run (its worker thread stopped)",
    );
    match job.kind {
        CopyKind::Stage => Outcome::Staged(Err(err)),
        CopyKind::Direct => Outcome::Copied(Err(err)),
    }
}

fn run(sides: Sides<'_>, job: &Job<'_>) -> Outcome {
    match job.kind {
        CopyKind::Stage => Outcome::Staged(sides.stage(job.item, job.from, job.to)),
        CopyKind::Direct => {
            let expect = sides.precondition(job.item, job.to);
            let seen = Seen::of(job.item, job.from, job.to);
            Outcome::Copied(sides.copy(job.from, job.to, &job.item.path, seen, expect))
        }
    }
}
