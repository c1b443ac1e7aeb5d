//! Batched file copies: many files are staged (written under temp names), made
//! durable with one `syncfs`, renamed into place, and made durable again with a
//! second `syncfs` before their originals are committed. Two syncs per batch
//! instead of two per file, with the same promise as a single copy: each target holds
//! its old or its complete new content at every instant, and no original is recorded
//! before its data is durable. The batch only places files; the run records and
//! reports what it placed. With several copies in flight, as many threads place the
//! batch's files at once (on a network share each placing is a round trip or two);
//! with one, they are placed one after the other in order, so a run passes the same
//! crash points every time.

use super::parallel::Job;
use super::sides::{Copied, Sides, StagedFile};
use offline_core::{Kind, Meta, PlanItem, RelPath, Side};
use offline_remote::{ErrorKind, RemoteError, Written};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Files per batch.
const BATCH_FILES: usize = 512;
/// Bytes per batch.
const BATCH_BYTES: u64 = 256 << 20;
/// A batch is placed once its first copy has waited this long (by default), so a
/// slow run's progress moves at least this often instead of only every 512 files.
const BATCH_AGE: Duration = Duration::from_secs(1);

/// One staged copy waiting for its batch to be placed.
struct StagedCopy<'p> {
    job: Job<'p>,
    file: StagedFile,
}

/// The copies staged so far.
pub(super) struct Batch<'p> {
    copies: Vec<StagedCopy<'p>>,
    bytes: u64,
    /// When the first copy waiting now was staged.
    since: Option<Instant>,
    /// Placed once this old; `None`: by count and bytes only, so a run passes the
    /// same crash points whatever the machine's speed (`OFFLINE_COMMIT_EVERY`).
    max_age: Option<Duration>,
}

/// True when a file copy of `src` to `item`'s path on `to` can go through a batch:
/// the target side can stage, and the target is absent or a file with other content.
pub(super) fn can_batch(sides: &Sides<'_>, to: Side, item: &PlanItem, src: &Meta) -> bool {
    if !sides.side(to).can_stage() {
        return false;
    }
    match item.triple.copy(to) {
        None => true,
        Some(dst) => dst.meta.kind != Kind::Dir && !dst.meta.same_content(src),
    }
}

impl<'p> Batch<'p> {
    /// An empty batch, placed when full or, when `timed`, once a second old.
    pub(super) fn new(timed: bool) -> Batch<'p> {
        Batch {
            copies: Vec::new(),
            bytes: 0,
            since: None,
            max_age: timed.then_some(BATCH_AGE),
        }
    }

    /// Adds a copy the pool staged; true when the batch is full (or old) and should
    /// be placed.
    pub(super) fn add(&mut self, job: Job<'p>, file: StagedFile) -> bool {
        self.bytes += file.src.meta.size;
        self.copies.push(StagedCopy { job, file });
        let since = *self.since.get_or_insert_with(Instant::now);
        let old = self.max_age.is_some_and(|age| since.elapsed() >= age);
        self.copies.len() >= BATCH_FILES || self.bytes >= BATCH_BYTES || old
    }

    /// True when nothing waits.
    pub(super) fn is_empty(&self) -> bool {
        self.copies.is_empty()
    }

    /// Makes the staged copies durable, places them (`width` at a time), and makes
    /// that durable: each copy as it ended, in the order they were staged.
    pub(super) fn place(
        &mut self,
        sides: &Sides<'_>,
        width: usize,
    ) -> Vec<(Job<'p>, Result<Copied, RemoteError>)> {
        let copies = std::mem::take(&mut self.copies);
        self.bytes = 0;
        self.since = None;
        if copies.is_empty() {
            return Vec::new();
        }
        let synced = sync_sides(sides, copies.iter().map(|c| c.job.to));
        let results = match &synced {
            Ok(()) => commit_all(sides, &copies, width),
            Err(e) => copies
                .iter()
                .map(|StagedCopy { job, file }| {
                    let _ = sides.side(job.to).discard_staged(&file.staged);
                    Err(e.clone_for(&job.item.path))
                })
                .collect(),
        };
        let placed: Vec<_> = copies
            .into_iter()
            .zip(results)
            .map(|(StagedCopy { job, file }, result)| (job, file.src, result))
            .collect();
        // The renames must be durable before any original says they happened.
        let renames_synced = sync_sides(sides, placed.iter().map(|(job, _, _)| job.to));
        placed
            .into_iter()
            .map(|(job, src, result)| {
                let result = match (&renames_synced, result) {
                    (Ok(()), Ok(written)) => Ok(Copied {
                        bytes: src.meta.size,
                        src,
                        stat: written.stat,
                    }),
                    (Err(e), Ok(_)) => Err(e.clone_for(&job.item.path)),
                    (_, Err(e)) => Err(e),
                };
                (job, result)
            })
            .collect()
    }
}

/// Puts each staged copy in place, on `width` threads at most (each takes the next
/// copy not taken yet); the results in the copies' order.
fn commit_all(
    sides: &Sides<'_>,
    copies: &[StagedCopy<'_>],
    width: usize,
) -> Vec<Result<Written, RemoteError>> {
    let commit = |copy: &StagedCopy<'_>| {
        sides
            .side(copy.job.to)
            .commit_staged(&copy.file.staged, &copy.file.expect)
    };
    let width = width.clamp(1, copies.len().max(1));
    if width == 1 {
        return copies.iter().map(commit).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Result<Written, RemoteError>>> =
        copies.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..width)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(copy) = copies.get(i) else {
                            return done;
                        };
                        done.push((i, commit(copy)));
                    }
                })
            })
            .collect();
        for thread in threads {
            // A thread that panicked leaves its copies without a result (below).
            for (i, result) in thread.join().unwrap_or_default() {
                results[i] = Some(result);
            }
        }
    });
    results
        .into_iter()
        .zip(copies)
        .map(|(result, copy)| {
            result.unwrap_or_else(|| {
                // Placed or not: either way the next sync compares both sides.
                Err(RemoteError::new(
                    ErrorKind::Io,
                    &copy.job.item.path,
                    "the thread placing it failed",
                ))
            })
        })
        .collect()
}

/// Makes what was staged and renamed on each of `sides` durable, once per side.
fn sync_sides(sides: &Sides<'_>, which: impl Iterator<Item = Side>) -> Result<(), RemoteError> {
    let mut done = Vec::new();
    for side in which {
        if done.contains(&side) {
            continue;
        }
        sides.side(side).sync_staged()?;
        done.push(side);
    }
    Ok(())
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
