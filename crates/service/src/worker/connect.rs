//! The worker and the share's connect state: a cheap check that an online share is
//! still there, reconnect attempts while it is unreachable (back online by itself
//! when it answers), and the events when the recorded state changes.

use super::sync::Reason;
use super::Worker;
use crate::events::{id, Event};
use offline_core::{ConnectState, OfflineReason, RelPath};
use offline_engine::EngineError;
use std::time::Instant;

impl Worker {
    /// Checks that the share is still there while nothing else looks (a cheap look
    /// at its root marker), so it goes offline soon after it disappears.
    pub(super) fn probe(&mut self) {
        self.timers.probed(Instant::now(), &self.settings);
        if let Err(EngineError::Unreachable { reason, .. }) = self.cache.connect_share() {
            tracing::info!(cache = %self.root.display(), "share unreachable: {reason}");
            if let Err(e) = self
                .cache
                .set_connect_state(ConnectState::Offline, OfflineReason::ConnectionError)
            {
                tracing::warn!("recording the connect state: {e}");
            }
            self.check_connect_state();
        }
    }

    /// Tries the share again; back online by itself when it answers.
    pub(super) fn try_reconnect(&mut self) {
        self.bus
            .publish(&Event::for_cache(id::ITEM_RECONNECT_BEGIN, &self.root));
        let reached = self.cache.connect_share().is_ok();
        self.bus
            .publish(&Event::for_cache(id::ITEM_RECONNECT_END, &self.root).with("online", reached));
        if !reached {
            tracing::debug!(cache = %self.root.display(), "share still unreachable");
            return;
        }
        // Someone may have put the share offline on purpose meanwhile.
        if let Ok((ConnectState::Offline, OfflineReason::ConnectionForced)) =
            self.cache.connect_state()
        {
            self.check_connect_state();
            return;
        }
        if let Err(e) = self
            .cache
            .set_connect_state(ConnectState::Online, OfflineReason::NotApplicable)
        {
            tracing::warn!("recording the connect state: {e}");
            return;
        }
        tracing::info!(cache = %self.root.display(), "share reachable again: back online");
        self.check_connect_state();
        self.timers.next_retry = None;
        if !self.stopping() && !self.in_blackout() {
            self.sync(Reason::Reconnect, Vec::new());
        }
    }

    /// Publishes item_disconnected / item_reconnected when the connect state changed.
    pub(super) fn check_connect_state(&mut self) {
        let Ok(now) = self.cache.connect_state() else {
            return;
        };
        if now == self.connect {
            return;
        }
        let before = self.connect;
        self.connect = now;
        let was_offline = before.0 == ConnectState::Offline;
        let is_offline = now.0 == ConnectState::Offline;
        if is_offline && (!was_offline || before.1 != now.1) {
            tracing::info!(cache = %self.root.display(), reason = now.1.name(), "share offline");
            self.bus.publish(
                &Event::for_item(id::ITEM_DISCONNECTED, &self.root, &RelPath::root())
                    .with("share", self.cache.share_location())
                    .with("offline_reason", now.1.name())
                    .with("item_type", "share"),
            );
            let retry = now.1 != OfflineReason::ConnectionForced;
            self.timers.offline(Instant::now(), &self.settings, retry);
        } else if was_offline && !is_offline {
            self.bus.publish(
                &Event::for_item(id::ITEM_RECONNECTED, &self.root, &RelPath::root())
                    .with("share", self.cache.share_location())
                    .with("item_type", "share"),
            );
            self.timers.next_retry = None;
            if before.1 == OfflineReason::ConnectionForced {
                // `offline reconnect`: send what waited.
                self.timers.next_full = Instant::now();
            }
        }
    }
}
