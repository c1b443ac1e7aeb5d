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

/// Files per batch.
const BATCH_FILES: usize = 512;
/// Bytes per batch.
const BATCH_BYTES: u64 = 256 << 20;

/// One staged copy waiting for its batch to be placed.
struct StagedCopy<'p> {
    job: Job<'p>,
    file: StagedFile,
}

/// The copies staged so far.
#[derive(Default)]
pub(super) struct Batch<'p> {
    copies: Vec<StagedCopy<'p>>,
    bytes: u64,
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
    /// Adds a copy the pool staged; true when the batch is full and should be placed.
    pub(super) fn add(&mut self, job: Job<'p>, file: StagedFile) -> bool {
        self.bytes += file.src.meta.size;
        self.copies.push(StagedCopy { job, file });
        self.copies.len() >= BATCH_FILES || self.bytes >= BATCH_BYTES
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
