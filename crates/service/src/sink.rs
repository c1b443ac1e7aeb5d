//! The daemon's progress sink: turns a sync's reports into events (sync_begin, a
//! sync_file_result per item, the conflict records added, updated and removed, then
//! sync_end, all with the run's sync id) and stops the run between two items when
//! the daemon is asked to stop.

use crate::bus::Bus;
use crate::events::{id, Event};
use crate::outcome::SyncOutcome;
use offline_core::{Plan, PlanItem, RelPath, SyncState};
use offline_engine::changes::changes_since;
use offline_engine::{
    Change, ChangeToken, ItemReport, ItemResult, Response, SinkError, SyncSink, SyncSummary, Topic,
};
use offline_store::Store;
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A random sync id, written like a GUID.
pub fn new_sync_id() -> String {
    let n = fastrand::u128(..);
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Publishes one change of a conflict record: added (7), updated (8) or removed (9),
/// with the state and time of the record (of the removed one when it was removed).
pub fn publish_conflict_change(bus: &Bus, cache: &std::path::Path, change: &Change) {
    let Change::Conflict { path, before, now } = change else {
        return;
    };
    let (event_id, (state, detected)) = match (before, now) {
        (None, Some(now)) => (id::SYNC_CONFLICT_REC_ADDED, now),
        (Some(_), Some(now)) => (id::SYNC_CONFLICT_REC_UPDATED, now),
        (Some(before), None) => (id::SYNC_CONFLICT_REC_REMOVED, before),
        (None, None) => return,
    };
    bus.publish(
        &Event::for_item(event_id, cache, path)
            .with("sync_state", state.name())
            .with("detected_ns", *detected),
    );
}

/// The sink of one background sync.
pub struct EventSink {
    bus: Bus,
    stop: Arc<AtomicBool>,
    cache: PathBuf,
    sync_id: String,
    store: Option<Store>,
    /// Where the last look at conflict records ended (`None`: it is not known, so
    /// none are announced).
    conflicts_from: Option<ChangeToken>,
    /// sync_begin was published.
    pub began: bool,
    /// sync_end was published.
    pub ended: bool,
    /// Items reported.
    pub items: u64,
    /// Where the look at conflict records at the run's end ended (they are
    /// announced up to there).
    pub conflicts_through: Option<ChangeToken>,
    item_delay: Duration,
}

impl EventSink {
    /// A sink for one run; `store` is a second handle on the cache's state database
    /// (for the conflict records that changed since `conflicts_from`, announced at
    /// the end).
    pub fn new(
        bus: Bus,
        stop: Arc<AtomicBool>,
        cache: PathBuf,
        sync_id: String,
        store: Option<Store>,
        conflicts_from: Option<ChangeToken>,
    ) -> EventSink {
        // A test hook: slow every item down, so a test can stop the daemon mid-sync.
        let item_delay = std::env::var("OFFLINE_DAEMON_ITEM_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or_default();
        EventSink {
            bus,
            stop,
            cache,
            sync_id,
            store,
            conflicts_from,
            began: false,
            ended: false,
            items: 0,
            conflicts_through: None,
            item_delay,
        }
    }

    /// The run's sync id.
    pub fn sync_id(&self) -> &str {
        &self.sync_id
    }

    /// Publishes a sync_end for a run that failed after it began.
    pub fn end_with_error(&mut self, error: &str) {
        if self.began && !self.ended {
            self.ended = true;
            self.bus.publish(
                &Event::for_cache(id::SYNC_END, &self.cache)
                    .with("sync_id", self.sync_id.as_str())
                    .with("result", SyncOutcome::Error.name())
                    .with("error", error),
            );
        }
    }
}

impl SyncSink for EventSink {
    fn begin(&mut self, plan: &Plan) -> Result<(), SinkError> {
        self.began = true;
        self.bus.publish(
            &Event::for_cache(id::SYNC_BEGIN, &self.cache)
                .with("sync_id", self.sync_id.as_str())
                .with("items", plan.visible_items().count() as u64),
        );
        Ok(())
    }

    fn query_abort(&mut self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn item_begin(&mut self, _item: &PlanItem) -> Result<(), SinkError> {
        if !self.item_delay.is_zero() && !self.stop.load(Ordering::SeqCst) {
            std::thread::sleep(self.item_delay);
        }
        Ok(())
    }

    fn item_result(&mut self, report: &ItemReport) -> Result<Response, SinkError> {
        self.items += 1;
        let mut event = Event::for_item(id::SYNC_FILE_RESULT, &self.cache, &report.path)
            .with("sync_id", self.sync_id.as_str())
            .with("result", report.result.name());
        if let Some(op) = report.operation {
            event = event
                .with("operation", op.name())
                .with("operation_code", op.code() as u64);
        }
        if let Some(state) = report.state {
            event = event.with("sync_state", state.name());
        }
        if report.bytes > 0 {
            event = event.with("bytes", report.bytes);
        }
        match &report.result {
            ItemResult::Error(e) => {
                event = event
                    .with("error", e.message.as_str())
                    .with("hint", e.hint.as_str());
            }
            ItemResult::Skipped(why) => {
                event = event.with("note", why.as_str());
            }
            _ => {}
        }
        if let Some(note) = &report.note {
            event = event.with("note", note.as_str());
        }
        if let Some(from) = &report.from {
            event = event.with("old_path", from.escaped());
        }
        self.bus.publish(&event);
        if let Some(from) = renamed_in_cache(report) {
            // The share renamed it and this sync renamed the cache's copy (a rename
            // made in the cache was announced by the watcher when it happened).
            self.bus.publish(
                &Event::for_item(id::ITEM_RENAMED, &self.cache, &report.path)
                    .with("old_path", from.escaped())
                    .with("sync_id", self.sync_id.as_str()),
            );
        }
        if self.stop.load(Ordering::SeqCst) {
            Ok(Response::Abort)
        } else {
            Ok(Response::Continue)
        }
    }

    fn end(&mut self, summary: &SyncSummary) -> Result<(), SinkError> {
        if let (Some(store), Some(from)) = (&self.store, self.conflicts_from) {
            let (bus, cache) = (&self.bus, &self.cache);
            match changes_since(store, from, Topic::Conflicts, |change| {
                publish_conflict_change(bus, cache, &change)
            }) {
                Ok(look) => self.conflicts_through = Some(look.token),
                Err(e) => tracing::warn!("reading the conflict records: {e}"),
            }
        }
        let result = SyncOutcome::of(summary).name();
        let counts: serde_json::Map<String, serde_json::Value> = summary
            .counts
            .iter()
            .map(|((counted, result), n)| (format!("{counted}:{result}"), json!(n)))
            .collect();
        let mut event = Event::for_cache(id::SYNC_END, &self.cache)
            .with("sync_id", self.sync_id.as_str())
            .with("result", result)
            .with("conflicts", summary.conflicts)
            .with("errors", summary.errors)
            .with("skipped", summary.skipped)
            .with("bytes", summary.bytes)
            .with("counts", serde_json::Value::Object(counts));
        if let Some(why) = &summary.stopped {
            event = event.with("stopped", why.to_string());
        }
        self.ended = true;
        self.bus.publish(&event);
        Ok(())
    }
}

/// The old path of an item a sync renamed in the cache (renamed on the share).
fn renamed_in_cache(report: &ItemReport) -> Option<&RelPath> {
    let on_share = matches!(
        report.state,
        Some(SyncState::FileRenamedOnServer | SyncState::DirRenamedOnServer)
    );
    let done = report.result == ItemResult::Ok;
    report.from.as_ref().filter(|_| on_share && done)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sync_ids_are_guid_shaped_and_differ() {
        let a = super::new_sync_id();
        let b = super::new_sync_id();
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert_ne!(a, b);
    }
}
