//! The cache's own settings in the state database, typed: each [`Setting`] is a key
//! with a value of its own type, turned into the database's text only here. The
//! settings a new (or rebuilt) cache starts with are written by one function for
//! `init` and `repair` alike.

use crate::error::Result;
use offline_core::{ConnectState, OfflineReason};
use offline_store::{Batch, Store};

/// Settings keys in the state database.
pub mod keys {
    /// Where the share is (an absolute folder path).
    pub const SHARE: &str = "share";
    /// `online` / `offline` / `unknown`.
    pub const CONNECT_STATE: &str = "connect_state";
    /// Why the share is offline.
    pub const OFFLINE_REASON: &str = "offline_reason";
    /// When the last sync without errors ended (ns since the epoch).
    pub const LAST_GOOD_SYNC_NS: &str = "last_good_sync_ns";
    /// Set while a sync runs; found set at start means the last one was interrupted.
    pub const SYNC_RUNNING: &str = "sync_running";
    /// File copies in flight at most during a sync.
    pub const TRANSFERS: &str = "transfers";
}

/// One setting with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting<'a> {
    /// Where the share is (a folder path or a URL, as given).
    Share(&'a str),
    /// The share's connect state.
    ConnectState(ConnectState),
    /// Why the share is offline.
    OfflineReason(OfflineReason),
    /// A sync is running (left set by one that was interrupted).
    SyncRunning(bool),
    /// When the last sync without errors ended (ns since the epoch).
    LastGoodSyncNs(i64),
    /// File copies in flight at most during a sync.
    Transfers(usize),
}

impl Setting<'_> {
    /// Its key in the database.
    pub fn key(&self) -> &'static str {
        match self {
            Setting::Share(_) => keys::SHARE,
            Setting::ConnectState(_) => keys::CONNECT_STATE,
            Setting::OfflineReason(_) => keys::OFFLINE_REASON,
            Setting::SyncRunning(_) => keys::SYNC_RUNNING,
            Setting::LastGoodSyncNs(_) => keys::LAST_GOOD_SYNC_NS,
            Setting::Transfers(_) => keys::TRANSFERS,
        }
    }

    /// Its value as the database keeps it.
    pub fn value(&self) -> String {
        match self {
            Setting::Share(s) => s.to_string(),
            Setting::ConnectState(s) => s.name().to_string(),
            Setting::OfflineReason(r) => r.name().to_string(),
            Setting::SyncRunning(on) => flag(*on).to_string(),
            Setting::LastGoodSyncNs(ns) => ns.to_string(),
            Setting::Transfers(n) => n.to_string(),
        }
    }
}

/// A yes/no setting as the database keeps it.
fn flag(on: bool) -> &'static str {
    if on {
        "1"
    } else {
        "0"
    }
}

/// Writes `settings` in one transaction.
pub(crate) fn write(store: &Store, settings: &[Setting<'_>]) -> Result<()> {
    let pairs: Vec<(&str, String)> = settings.iter().map(|s| (s.key(), s.value())).collect();
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    store.set_settings(&refs)?;
    Ok(())
}

/// Writes `settings` into an open transaction.
pub(crate) fn write_in(batch: &Batch<'_>, settings: &[Setting<'_>]) -> Result<()> {
    for setting in settings {
        batch.set_setting(setting.key(), &setting.value())?;
    }
    Ok(())
}

/// What a new cache of `share` starts with (also a rebuilt one): online.
pub(crate) fn initial(share: &str) -> [Setting<'_>; 3] {
    [
        Setting::Share(share),
        Setting::ConnectState(ConnectState::Online),
        Setting::OfflineReason(OfflineReason::NotApplicable),
    ]
}

/// True when the last sync left the running mark set (it was interrupted).
pub(crate) fn sync_running(store: &Store) -> Result<bool> {
    Ok(store.setting(keys::SYNC_RUNNING)?.as_deref() == Some(flag(true)))
}
