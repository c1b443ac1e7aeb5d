//! The eight sync operations (Windows' `OFFLINEFILES_SYNC_OPERATION`, same numbers).
//! Every unit of work and every error names one.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The operation an item's work (or error) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum SyncOperation {
    /// The item exists only in the cache: create it on the share.
    CreateCopyOnServer = 0,
    /// The item exists only on the share: create it in the cache.
    CreateCopyOnClient = 1,
    /// The cache copy changed: send it to the share.
    SyncToServer = 2,
    /// The share copy changed: bring it to the cache.
    SyncToClient = 3,
    /// The cache copy was deleted: delete the share copy.
    DeleteServerCopy = 4,
    /// The share copy was deleted: delete the cache copy.
    DeleteClientCopy = 5,
    /// Filling the content of a pinned item.
    Pin = 6,
    /// Listing both sides, comparing them with the originals and planning.
    Prepare = 7,
}

impl SyncOperation {
    /// All eight, in numeric order.
    pub const ALL: [SyncOperation; 8] = [
        SyncOperation::CreateCopyOnServer,
        SyncOperation::CreateCopyOnClient,
        SyncOperation::SyncToServer,
        SyncOperation::SyncToClient,
        SyncOperation::DeleteServerCopy,
        SyncOperation::DeleteClientCopy,
        SyncOperation::Pin,
        SyncOperation::Prepare,
    ];

    /// Windows' numeric value.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The operation with this numeric value.
    pub fn from_code(code: u8) -> Option<SyncOperation> {
        SyncOperation::ALL.get(code as usize).copied()
    }

    /// The snake_case name used on the wire and in tables.
    pub fn name(self) -> &'static str {
        match self {
            SyncOperation::CreateCopyOnServer => "create_copy_on_server",
            SyncOperation::CreateCopyOnClient => "create_copy_on_client",
            SyncOperation::SyncToServer => "sync_to_server",
            SyncOperation::SyncToClient => "sync_to_client",
            SyncOperation::DeleteServerCopy => "delete_server_copy",
            SyncOperation::DeleteClientCopy => "delete_client_copy",
            SyncOperation::Pin => "pin",
            SyncOperation::Prepare => "prepare",
        }
    }

    /// Words for people: "create copy on server".
    pub fn description(self) -> &'static str {
        match self {
            SyncOperation::CreateCopyOnServer => "create copy on server",
            SyncOperation::CreateCopyOnClient => "create copy on client",
            SyncOperation::SyncToServer => "sync to server",
            SyncOperation::SyncToClient => "sync to client",
            SyncOperation::DeleteServerCopy => "delete server copy",
            SyncOperation::DeleteClientCopy => "delete client copy",
            SyncOperation::Pin => "pin",
            SyncOperation::Prepare => "prepare",
        }
    }

    /// True when the operation writes to the share.
    pub fn writes_server(self) -> bool {
        matches!(
            self,
            SyncOperation::CreateCopyOnServer
                | SyncOperation::SyncToServer
                | SyncOperation::DeleteServerCopy
        )
    }

    /// True when the operation writes to the cache.
    pub fn writes_client(self) -> bool {
        matches!(
            self,
            SyncOperation::CreateCopyOnClient
                | SyncOperation::SyncToClient
                | SyncOperation::DeleteClientCopy
                | SyncOperation::Pin
        )
    }
}

impl fmt::Display for SyncOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_windows() {
        for (i, op) in SyncOperation::ALL.iter().enumerate() {
            assert_eq!(op.code() as usize, i);
            assert_eq!(SyncOperation::from_code(i as u8), Some(*op));
        }
        assert_eq!(SyncOperation::Prepare.code(), 7);
        assert_eq!(SyncOperation::from_code(8), None);
    }
}
