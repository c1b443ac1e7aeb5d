//! Concurrent file copies: a bounded pool of worker threads that copy (or stage)
//! files while the executor goes on with the items that need no copy. At most
//! `limit` copies are in flight; their outcomes are handed back in the order the
//! copies were started, so the executor records and reports them in plan order.

use super::sides::{Copied, Sides, StagedFile};
use offline_core::{PlanItem, Side};
use offline_remote::{ErrorKind, RemoteError};
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
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
pub(super) struct Job<'p> {
    pub(super) item: &'p PlanItem,
    pub(super) kind: CopyKind,
    pub(super) from: Side,
    pub(super) to: Side,
    pub(super) journal: Option<i64>,
}

/// What a copy did.
pub(super) enum Outcome {
    Staged(Result<StagedFile, RemoteError>),
    Copied(Result<Copied, RemoteError>),
}

/// The pool of one run.
pub(super) struct Pool<'p> {
    jobs: Option<Sender<(usize, Job<'p>)>>,
    done: Receiver<(usize, Outcome)>,
    /// Started copies not handed back yet, oldest first.
    waiting: VecDeque<(usize, Job<'p>)>,
    finished: HashMap<usize, Outcome>,
    next: usize,
    running: usize,
    limit: usize,
}

impl<'p> Pool<'p> {
    /// Starts `limit` workers in `scope`.
    pub(super) fn start<'scope, 'env: 'scope>(
        scope: &'scope Scope<'scope, 'env>,
        sides: Sides<'env>,
        limit: usize,
    ) -> Pool<'p>
    where
        'p: 'env,
    {
        let limit = limit.clamp(1, MAX_TRANSFERS);
        let (job_tx, job_rx) = channel::<(usize, Job<'p>)>();
        let (done_tx, done_rx) = channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        for _ in 0..limit {
            let job_rx = Arc::clone(&job_rx);
            let done_tx = done_tx.clone();
            scope.spawn(move || work(sides, &job_rx, &done_tx));
        }
        Pool {
            jobs: Some(job_tx),
            done: done_rx,
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

    /// True when no copy is started and not handed back.
    pub(super) fn is_idle(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Starts a copy (the caller checks [`Pool::is_full`] first).
    pub(super) fn submit(&mut self, job: Job<'p>) {
        let id = self.next;
        self.next += 1;
        let message = (id, job_copy(&job));
        self.waiting.push_back((id, job));
        self.running += 1;
        let sent = self.jobs.as_ref().map(|tx| tx.send(message));
        if !matches!(sent, Some(Ok(()))) {
            // Every worker is gone (it cannot happen while the pool lives): the
            // copy ends as an error instead of waiting forever.
            self.running -= 1;
            self.finished
                .insert(id, worker_gone(&self.waiting[self.waiting.len() - 1].1));
        }
    }

    /// The oldest started copy, with its outcome, once it has ended; waits for it
    /// when `wait` is true.
    pub(super) fn next_done(&mut self, wait: bool) -> Option<(Job<'p>, Outcome)> {
        let front = self.waiting.front()?.0;
        while !self.finished.contains_key(&front) {
            let received = if wait {
                self.done.recv().ok()
            } else {
                self.done.try_recv().ok()
            };
            match received {
                Some((id, outcome)) => {
                    self.running -= 1;
                    self.finished.insert(id, outcome);
                }
                None if wait => {
                    // No worker left to answer: end the copy as an error.
                    let outcome = worker_gone(&self.waiting.front()?.1);
                    self.running = self.running.saturating_sub(1);
                    self.finished.insert(front, outcome);
                }
                None => return None,
            }
        }
        let outcome = self.finished.remove(&front)?;
        let (_, job) = self.waiting.pop_front()?;
        Some((job, outcome))
    }
}

/// The part of a job a worker needs (the pool keeps the job itself).
fn job_copy<'p>(job: &Job<'p>) -> Job<'p> {
    Job {
        item: job.item,
        kind: job.kind,
        from: job.from,
        to: job.to,
        journal: job.journal,
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

/// A worker: runs copies until the pool closes.
fn work<'p>(
    sides: Sides<'_>,
    jobs: &Mutex<Receiver<(usize, Job<'p>)>>,
    done: &Sender<(usize, Outcome)>,
) {
    loop {
        let next = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok((id, job)) = next else {
            return;
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| run(sides, &job)))
            .unwrap_or_else(|_| worker_gone(&job));
        if done.send((id, outcome)).is_err() {
            return;
        }
    }
}

fn run(sides: Sides<'_>, job: &Job<'_>) -> Outcome {
    let path = &job.item.path;
    match job.kind {
        CopyKind::Stage => Outcome::Staged(sides.stage(job.from, job.to, path)),
        CopyKind::Direct => {
            let expect = sides.expect(job.to, path);
            Outcome::Copied(sides.copy(job.from, path, job.to, path, expect))
        }
    }
}
