//! Share listings read ahead for the walk: the walk names the folders it will visit
//! next, and a few threads list them on the share meanwhile. A network share answers
//! each listing after a round trip or more; with several in flight the walk waits for
//! about one of them per batch instead of one per folder. Listings read ahead are
//! held until the walk takes them, and at most `limit` folders are asked for or held
//! at once, so memory stays bounded.

use offline_core::RelPath;
use offline_remote::{Entry, ErrorKind, Remote, RemoteError};
use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::Scope;

type Listing = Result<Vec<Entry>, RemoteError>;

/// Listing threads for one walk of the share.
pub(crate) struct ReadAhead {
    jobs: Sender<RelPath>,
    done: Receiver<(RelPath, Listing)>,
    /// Folders asked for and not taken yet (in flight or ready).
    asked: HashSet<RelPath>,
    ready: HashMap<RelPath, Listing>,
    limit: usize,
}

impl ReadAhead {
    /// Starts `threads` listing threads in `scope`; at most `limit` folders are in
    /// flight or held at once.
    pub(crate) fn start<'scope, 'env>(
        scope: &'scope Scope<'scope, 'env>,
        share: &'env dyn Remote,
        threads: usize,
        limit: usize,
    ) -> ReadAhead {
        let (jobs, job_rx) = channel::<RelPath>();
        let (done_tx, done) = channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        for _ in 0..threads.max(1) {
            let job_rx = Arc::clone(&job_rx);
            let done_tx = done_tx.clone();
            scope.spawn(move || loop {
                let next = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(poisoned) => poisoned.into_inner().recv(),
                };
                let Ok(dir) = next else {
                    return;
                };
                let listed = catch_unwind(AssertUnwindSafe(|| share.list(&dir)))
                    .unwrap_or_else(|_| Err(thread_failed(&dir)));
                if done_tx.send((dir, listed)).is_err() {
                    return;
                }
            });
        }
        ReadAhead {
            jobs,
            done,
            asked: HashSet::new(),
            ready: HashMap::new(),
            limit: limit.max(1),
        }
    }

    /// Starts listing `dir` if it is not asked for yet and there is room.
    pub(crate) fn ask(&mut self, dir: &RelPath) {
        if self.asked.len() >= self.limit || self.asked.contains(dir) {
            return;
        }
        if self.jobs.send(dir.clone()).is_ok() {
            self.asked.insert(dir.clone());
        }
    }

    /// The listing of `dir`, waiting for it (and asking for it first if needed).
    pub(crate) fn take(&mut self, dir: &RelPath) -> Listing {
        if !self.asked.contains(dir) {
            if self.jobs.send(dir.clone()).is_err() {
                return Err(thread_failed(dir));
            }
            self.asked.insert(dir.clone());
        }
        while !self.ready.contains_key(dir) {
            match self.done.recv() {
                Ok((listed, result)) => {
                    self.ready.insert(listed, result);
                }
                Err(_) => {
                    self.asked.remove(dir);
                    return Err(thread_failed(dir));
                }
            }
        }
        self.asked.remove(dir);
        self.ready
            .remove(dir)
            .unwrap_or_else(|| Err(thread_failed(dir)))
    }
}

fn thread_failed(dir: &RelPath) -> RemoteError {
    RemoteError::new(ErrorKind::Io, dir, "the listing thread failed")
}
