//! Batched file copies: many files are staged (written under temp names), made
//! durable with one `syncfs`, renamed into place, and made durable again with a
//! second `syncfs` before their originals are committed. Two syncs per batch
//! instead of two per file, with the same promise as a single copy: each target holds
//! its old or its complete new content at every instant, and no original is recorded
//! before its data is durable. The batch only places files; the run records and
//! reports what it placed.

use super::parallel::Job;
use super::sides::{Copied, Sides, StagedFile};
use offline_core::{Kind, Meta, PlanItem, RelPath, Side};
use offline_remote::RemoteError;
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

    /// Makes the staged copies durable, places them, and makes that durable: each
    /// copy as it ended, in the order they were staged.
    pub(super) fn place(
        &mut self,
        sides: &Sides<'_>,
    ) -> Vec<(Job<'p>, Result<Copied, RemoteError>)> {
        let copies = std::mem::take(&mut self.copies);
        self.bytes = 0;
        self.since = None;
        if copies.is_empty() {
            return Vec::new();
        }
        let synced = sync_sides(sides, copies.iter().map(|c| c.job.to));
        let mut placed = Vec::with_capacity(copies.len());
        for StagedCopy { job, file } in copies {
            let target = sides.side(job.to);
            let result = match &synced {
                Ok(()) => target.commit_staged(&file.staged, &file.expect),
                Err(e) => {
                    let _ = target.discard_staged(&file.staged);
                    Err(e.clone_for(&job.item.path))
                }
            };
            placed.push((job, file.src, result));
        }
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
