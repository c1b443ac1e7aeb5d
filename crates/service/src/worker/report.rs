//! What the worker tells about itself in `.offline/daemon.json`: what it does (an
//! [`Activity`]), when it syncs or retries next, how its last sync ended (a
//! [`crate::outcome::SyncOutcome`]); rewritten only when something moved.

use super::schedule::instant_to_ns;
use super::Worker;
use crate::status::{self, Activity, DaemonStatus};
use offline_core::{ConnectState, OfflineReason};

/// Two times closer than this are the same to the status file (the clock's
/// rounding moves them every time).
const SAME_TIME_NS: i64 = 50_000_000;

impl Worker {
    /// What the worker does when no sync runs.
    fn activity(&self) -> Activity {
        match self.connect {
            (ConnectState::Offline, OfflineReason::ConnectionForced) => Activity::Disconnected,
            (ConnectState::Offline, _) => Activity::Offline,
            _ if self.in_blackout() => Activity::Blackout,
            _ => Activity::Idle,
        }
    }

    /// Writes the status file (`activity`: what the worker does now, `None`: what it
    /// does when no sync runs).
    pub(super) fn write_status(&mut self, activity: Option<Activity>) {
        let offline = self.connect.0 == ConnectState::Offline;
        let status = DaemonStatus {
            pid: std::process::id(),
            started_ns: self.started_ns,
            activity: activity.unwrap_or(self.activity()),
            next_sync_ns: (!offline).then(|| instant_to_ns(self.timers.next_full)),
            next_retry_ns: if offline {
                self.timers.next_retry.map(instant_to_ns)
            } else {
                None
            },
            last_sync_ns: self.last_sync_ns,
            last_result: self.last_result,
            socket: self.bus.socket().map(|s| s.display().to_string()),
            share_changes: self.share_watch.as_ref().map(|w| w.mode().describe()),
            round_trip_ms: self
                .share_watch
                .as_ref()
                .and_then(|w| w.round_trip())
                .map(|d| d.as_millis() as u64),
            slow_link: self.slow_link().is_some(),
            ui: self.ui.clone(),
        };
        if self
            .written_status
            .as_ref()
            .is_some_and(|w| same_status(w, &status))
        {
            return;
        }
        if let Err(e) = status::write(&self.meta_dir, &status) {
            tracing::warn!("{e:#}");
        }
        self.written_status = Some(status);
    }
}

/// True when only the clock's rounding moved between `a` and `b`.
fn same_status(a: &DaemonStatus, b: &DaemonStatus) -> bool {
    let close = |x: Option<i64>, y: Option<i64>| match (x, y) {
        (Some(x), Some(y)) => (x - y).abs() < SAME_TIME_NS,
        (None, None) => true,
        _ => false,
    };
    a.activity == b.activity
        && close(a.next_sync_ns, b.next_sync_ns)
        && close(a.next_retry_ns, b.next_retry_ns)
        && a.last_sync_ns == b.last_sync_ns
        && a.last_result == b.last_result
        && a.slow_link == b.slow_link
        && a.round_trip_ms.map(|m| m / 10) == b.round_trip_ms.map(|m| m / 10)
}
