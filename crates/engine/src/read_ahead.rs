//! Listings read ahead for the walk: the walk names the folders it will visit next,
//! and a few threads list them on a side (the share, or the cache) meanwhile. A network share answers
//! each listing after a round trip or more; with several in flight the walk waits for
//! about one of them per batch instead of one per folder. Listings read ahead are
//! held until the walk takes them, and at most `limit` folders are asked for or held
//! at once, so memory stays bounded.

use crate::workers;
use offline_core::RelPath;
use offline_remote::{Entry, ErrorKind, Remote, RemoteError};
use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{Receiver, Sender};
use std::thread::Scope;

type Listing = Result<Vec<Entry>, RemoteError>;

/// Listing threads for one walk of a side.
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
        side: &'env dyn Remote,
        threads: usize,
        limit: usize,
    ) -> ReadAhead {
        let (jobs, done) = workers::start(
            scope,
            threads,
            move |dir| side.list(dir),
            |dir| Err(thread_failed(dir)),
        );
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
