//! Holding large copies back (the daemon's slow-link mode): a planned copy of a
//! file larger than a limit is left out of the run and reported as skipped; the
//! next sync without the limit carries it.

use crate::sink::{ItemReport, ItemResult};
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
        .filter(|m| m.meta.kind == Kind::File)
        .map(|m| m.meta.size)
        .max()
        .unwrap_or(0)
}

/// Drops the copies of files larger than `limit` bytes from `items` and returns a
/// skipped report for each; with no limit, keeps every item.
pub(crate) fn defer_large(items: &mut Vec<PlanItem>, limit: Option<u64>) -> Vec<ItemReport> {
    let Some(limit) = limit else {
        return Vec::new();
    };
    let mut reports = Vec::new();
    items.retain(|item| {
        let size = copy_size(item);
        if !(copies_content(item) && size > limit) {
            return true;
        }
        let reason = format!(
            "a large file ({size} bytes) on a slow link: it waits for the slow-link window"
        );
        reports.push(ItemReport::for_item(item, ItemResult::Skipped(reason)));
        false
    });
    reports
}
