//! Holding large copies back (the daemon's slow-link mode): a planned copy of a
//! file larger than a limit is left out of the run and reported as skipped; the
//! next sync without the limit carries it.

use crate::sink::{ItemReport, ItemResult};
use crate::walk::retain_aligned;
use offline_core::{Action, Kind, PlanItem, SyncOperation};

/// True when `item` copies a file's content from one side to the other.
fn copies_content(item: &PlanItem) -> bool {
    matches!(
        item.action,
        Action::Run(
            SyncOperation::SyncToServer
                | SyncOperation::SyncToClient
                | SyncOperation::CreateCopyOnServer
                | SyncOperation::CreateCopyOnClient
                | SyncOperation::Pin
        )
    )
}

/// The size of the file the item would copy (the larger side's).
fn copy_size(item: &PlanItem) -> u64 {
    [&item.triple.local, &item.triple.remote]
        .into_iter()
        .flatten()
        .filter(|m| m.kind == Kind::File)
        .map(|m| m.size)
        .max()
        .unwrap_or(0)
}

/// Drops the copies of files larger than `limit` bytes from `items` (with their
/// scanned copies beside them) and returns a skipped report for each.
pub(crate) fn defer_large<T>(
    items: &mut Vec<PlanItem>,
    local: &mut Vec<(usize, T)>,
    remote: &mut Vec<(usize, T)>,
    limit: u64,
) -> Vec<ItemReport> {
    let keep: Vec<bool> = items
        .iter()
        .map(|i| !(copies_content(i) && copy_size(i) > limit))
        .collect();
    let reports = items
        .iter()
        .zip(&keep)
        .filter(|(_, k)| !**k)
        .map(|(item, _)| {
            let reason = format!(
                "a large file ({} bytes) on a slow link: it waits for the slow-link window",
                copy_size(item)
            );
            ItemReport::for_item(item, ItemResult::Skipped(reason))
        })
        .collect();
    retain_aligned(items, local, remote, &keep);
    reports
}
