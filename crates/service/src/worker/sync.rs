//! One background sync of the worker: why it runs, what it covers (the changed paths,
//! collapsed to the top-most, or everything), the sync itself with its events, and
//! what its outcome changes (what waits for the next push, the backoff, the status);
//! and the rescan that finds the changes the watcher missed.

use super::{Worker, MAX_SCOPE};
use crate::events::{id, Event};
use crate::outcome::SyncOutcome;
use crate::rescan;
use crate::settings::local_minute_now;
use crate::sink::{new_sync_id, EventSink};
use crate::status::Activity;
use offline_core::{RelPath, SyncControl};
use offline_engine::cache::now_ns;
use offline_engine::{EngineError, PrepareOptions};
use offline_store::Store;
use std::collections::BTreeSet;
use std::time::Instant;

/// On a slow link, background syncs copy files larger than this only in the
/// slow-link window.
pub const LARGE_FILE: u64 = 1024 * 1024;

/// Why a background sync runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reason {
    Startup,
    Scheduled,
    Push,
    Rescan,
    Reconnect,
    ShareChange,
}

impl Reason {
    fn name(self) -> &'static str {
        match self {
            Reason::Startup => "startup",
            Reason::Scheduled => "scheduled",
            Reason::Push => "push",
            Reason::Rescan => "rescan",
            Reason::Reconnect => "reconnect",
            Reason::ShareChange => "share_change",
        }
    }
}

/// Keeps only the top-most paths (a folder covers what is inside it).
pub(super) fn collapse(paths: &BTreeSet<RelPath>) -> Vec<RelPath> {
    let mut out: Vec<RelPath> = Vec::new();
    for p in paths {
        if out.iter().any(|top| top.contains(p)) {
            continue;
        }
        out.retain(|top| !p.contains(top));
        out.push(p.clone());
    }
    out
}

impl Worker {
    /// One background sync of `scope` (empty: everything), both ways, conflicts
    /// logged for the person.
    pub(super) fn sync(&mut self, reason: Reason, scope: Vec<RelPath>) {
        let now = Instant::now();
        let whole = scope.is_empty();
        let covered = self.take_covered(&scope);
        self.timers.push_done();
        self.share_push = false;
        if whole {
            self.timers.full_sync_started(now, &self.settings);
        }
        let control = SyncControl::default();
        let options = PrepareOptions {
            scope: scope.clone(),
            defer_larger_than: self.defer_limit(),
            ..PrepareOptions::default()
        };
        let sync_id = new_sync_id();
        self.write_status(Some(Activity::Syncing));
        self.bus.publish(
            &Event::for_cache(id::BACKGROUND_SYNC_BEGIN, &self.root)
                .with("sync_id", sync_id.as_str())
                .with("reason", reason.name())
                .with("sync_in", control.sync_in)
                .with("sync_out", control.sync_out)
                .with("policy", control.policy.name())
                .with(
                    "scope",
                    scope.iter().map(|p| p.escaped()).collect::<Vec<_>>(),
                ),
        );
        let reader = Store::open(self.cache.store().path()).ok();
        let mut sink = EventSink::new(
            self.bus.clone(),
            self.stop.clone(),
            self.root.clone(),
            sync_id.clone(),
            reader,
            Some(self.state.conflicts()),
        );
        let started = Instant::now();
        let outcome = self.cache.synchronize(&control, &options, &mut sink);
        self.timers.probed(Instant::now(), &self.settings);
        let result = match &outcome {
            Ok(summary) => {
                if let Some(recovery) = &summary.recovered {
                    tracing::info!(cache = %self.root.display(), "{}", recovery.describe());
                }
                tracing::info!(
                    cache = %self.root.display(),
                    reason = reason.name(),
                    items = sink.items,
                    errors = summary.errors,
                    conflicts = summary.conflicts,
                    ms = started.elapsed().as_millis() as u64,
                    "background sync"
                );
                if summary.stopped.is_some() {
                    // Stopped between two items: what is left waits for next time.
                    self.unsynced.extend(covered);
                }
                SyncOutcome::of(summary)
            }
            Err(err) => {
                self.unsynced.extend(covered);
                let text = err.to_string();
                sink.end_with_error(&text);
                self.failed(err, &text, &sync_id, whole)
            }
        };
        if outcome.is_ok() {
            if let Err(e) = self.cache.enforce_limits() {
                tracing::warn!("enforcing the cache limits: {e}");
            }
        }
        self.bus.publish(
            &Event::for_cache(id::BACKGROUND_SYNC_END, &self.root)
                .with("sync_id", sync_id.as_str())
                .with("reason", reason.name())
                .with("result", result.name()),
        );
        if let Some(through) = sink.conflicts_through.take() {
            // Announced by the sink already.
            self.state.conflicts_announced(through);
        }
        if result != SyncOutcome::Busy {
            self.last_sync_ns = Some(now_ns());
            self.last_result = Some(result);
        }
        self.publish_state_changes();
        self.check_connect_state();
        self.write_status(None);
    }

    /// The changed paths a sync of `scope` covers, taken out of those waiting;
    /// changes that arrive meanwhile wait for the next push.
    fn take_covered(&mut self, scope: &[RelPath]) -> BTreeSet<RelPath> {
        if scope.is_empty() {
            self.unsynced_all = false;
            return std::mem::take(&mut self.unsynced);
        }
        let mut covered = BTreeSet::new();
        self.unsynced.retain(|p| {
            if scope.iter().any(|s| s.contains(p)) {
                covered.insert(p.clone());
                false
            } else {
                true
            }
        });
        covered
    }

    /// What a sync that failed with `err` means for the next ones, and its outcome.
    fn failed(&mut self, err: &EngineError, text: &str, sync_id: &str, whole: bool) -> SyncOutcome {
        let now = Instant::now();
        match err {
            EngineError::Unreachable { .. } => {
                tracing::info!(cache = %self.root.display(), "share unreachable: {text}");
                SyncOutcome::Unreachable
            }
            EngineError::Disconnected { .. } => SyncOutcome::Disconnected,
            EngineError::MassDelete { .. } => {
                // Only a person can allow that (`offline sync --force`): say so
                // once, and wait for the next scheduled sync or a new change.
                tracing::warn!(cache = %self.root.display(), "background sync refused: {text}");
                self.bus.publish(
                    &Event::for_cache(id::SYNC_ERROR, &self.root)
                        .with("sync_id", sync_id)
                        .with("error", text)
                        .with("refused", true),
                );
                self.timers.push_done();
                SyncOutcome::Refused
            }
            EngineError::Busy { .. } => {
                // Another command works on the cache: try again shortly.
                self.timers.busy(now, whole);
                SyncOutcome::Busy
            }
            _ => {
                tracing::warn!(cache = %self.root.display(), "background sync failed: {text}");
                self.bus.publish(
                    &Event::for_cache(id::SYNC_ERROR, &self.root)
                        .with("sync_id", sync_id)
                        .with("error", text),
                );
                self.timers.failed(now, !self.unsynced.is_empty());
                SyncOutcome::Error
            }
        }
    }

    /// The size over which copies wait for the slow-link window, while they must.
    fn defer_limit(&self) -> Option<u64> {
        let window = self.settings.slow_link_window?;
        (self.slow_link().is_some() && !window.contains(local_minute_now())).then_some(LARGE_FILE)
    }

    /// Looks for changes the watcher missed: pushes dirty items.
    pub(super) fn rescan(&mut self) {
        let Some(local) = &self.local else {
            return;
        };
        let dirty: BTreeSet<RelPath> =
            match rescan::changed_paths(local, self.cache.store(), MAX_SCOPE) {
                Ok(rescan::Found::Paths(paths)) => paths.into_iter().collect(),
                Ok(rescan::Found::Many) => {
                    tracing::info!(cache = %self.root.display(), "rescan found many changes");
                    self.unsynced_all = true;
                    self.sync(Reason::Rescan, Vec::new());
                    return;
                }
                Err(e) => {
                    tracing::warn!(cache = %self.root.display(), "rescan failed: {e}");
                    return;
                }
            };
        if dirty.is_empty() {
            return;
        }
        tracing::info!(cache = %self.root.display(), items = dirty.len(), "rescan found changes");
        let scope = collapse(&dirty);
        self.unsynced.extend(dirty);
        self.sync(Reason::Rescan, scope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(p: &str) -> RelPath {
        RelPath::from_str_lossy(p).unwrap()
    }

    #[test]
    fn collapse_keeps_top_most_paths() {
        let set: BTreeSet<RelPath> = ["a", "a/b", "a/b/c", "b/x", "b/y", "c"]
            .into_iter()
            .map(rel)
            .collect();
        assert_eq!(
            collapse(&set),
            vec![rel("a"), rel("b/x"), rel("b/y"), rel("c")]
        );
    }
}
