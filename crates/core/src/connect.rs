//! The connect state of a share and the reason it is offline (Windows' numbers).

use serde::Serialize;
use std::fmt;

/// Whether the share is being reached (`OFFLINEFILES_CONNECT_STATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum ConnectState {
    /// Not known yet.
    Unknown = 0,
    /// Work goes to the cache only.
    Offline = 1,
    /// The share is reached.
    Online = 2,
}

/// Why a share or item is offline (`OFFLINEFILES_OFFLINE_REASON`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum OfflineReason {
    /// The query failed.
    Unknown = 0,
    /// The item is online.
    NotApplicable = 1,
    /// Someone chose to work offline; stays until reconnect.
    ConnectionForced = 2,
    /// The link is too slow.
    ConnectionSlow = 3,
    /// The share could not be reached; cleared by the next sync that reaches it.
    ConnectionError = 4,
    /// The item has an unresolved conflict.
    ItemVersionConflict = 5,
    /// The item or its tree is suspended.
    ItemSuspended = 6,
}

impl ConnectState {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            ConnectState::Unknown => "unknown",
            ConnectState::Offline => "offline",
            ConnectState::Online => "online",
        }
    }

    /// Reads a snake_case name.
    pub fn from_name(name: &str) -> Option<ConnectState> {
        [
            ConnectState::Unknown,
            ConnectState::Offline,
            ConnectState::Online,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

impl OfflineReason {
    /// All seven in numeric order.
    pub const ALL: [OfflineReason; 7] = [
        OfflineReason::Unknown,
        OfflineReason::NotApplicable,
        OfflineReason::ConnectionForced,
        OfflineReason::ConnectionSlow,
        OfflineReason::ConnectionError,
        OfflineReason::ItemVersionConflict,
        OfflineReason::ItemSuspended,
    ];

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            OfflineReason::Unknown => "unknown",
            OfflineReason::NotApplicable => "not_applicable",
            OfflineReason::ConnectionForced => "connection_forced",
            OfflineReason::ConnectionSlow => "connection_slow",
            OfflineReason::ConnectionError => "connection_error",
            OfflineReason::ItemVersionConflict => "item_version_conflict",
            OfflineReason::ItemSuspended => "item_suspended",
        }
    }

    /// Reads a snake_case name.
    pub fn from_name(name: &str) -> Option<OfflineReason> {
        OfflineReason::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl fmt::Display for ConnectState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for OfflineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_windows() {
        assert_eq!(ConnectState::Online as u8, 2);
        for (i, r) in OfflineReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
            assert_eq!(OfflineReason::from_name(r.name()), Some(*r));
        }
    }
}
