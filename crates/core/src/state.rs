//! The 54 sync states (Windows' `OFFLINEFILES_SYNC_STATE`, same numbers): what prepare
//! found for an item, named `<client part>_<server part>`.

use serde::{Serialize, Serializer};
use std::fmt;

macro_rules! sync_states {
    ($($name:ident = $code:literal => $wire:literal,)*) => {
        /// The state prepare assigns to an item.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum SyncState {
            $(
                #[allow(missing_docs)]
                $name = $code,
            )*
        }

        impl SyncState {
            /// All 54 states in numeric order.
            pub const ALL: [SyncState; 54] = [$(SyncState::$name,)*];

            /// The snake_case name used on the wire.
            pub fn name(self) -> &'static str {
                match self {
                    $(SyncState::$name => $wire,)*
                }
            }
        }
    };
}

sync_states! {
    Stable = 0 => "stable",
    FileOnClientDirOnServer = 1 => "file_on_client_dir_on_server",
    FileOnClientNoServerCopy = 2 => "file_on_client_no_server_copy",
    DirOnClientFileOnServer = 3 => "dir_on_client_file_on_server",
    DirOnClientFileChangedOnServer = 4 => "dir_on_client_file_changed_on_server",
    DirOnClientNoServerCopy = 5 => "dir_on_client_no_server_copy",
    FileCreatedOnClientNoServerCopy = 6 => "file_created_on_client_no_server_copy",
    FileCreatedOnClientFileChangedOnServer = 7 => "file_created_on_client_file_changed_on_server",
    FileCreatedOnClientDirChangedOnServer = 8 => "file_created_on_client_dir_changed_on_server",
    FileCreatedOnClientFileOnServer = 9 => "file_created_on_client_file_on_server",
    FileCreatedOnClientDirOnServer = 10 => "file_created_on_client_dir_on_server",
    FileCreatedOnClientDeletedOnServer = 11 => "file_created_on_client_deleted_on_server",
    FileChangedOnClientChangedOnServer = 12 => "file_changed_on_client_changed_on_server",
    FileChangedOnClientDirOnServer = 13 => "file_changed_on_client_dir_on_server",
    FileChangedOnClientDirChangedOnServer = 14 => "file_changed_on_client_dir_changed_on_server",
    FileChangedOnClientDeletedOnServer = 15 => "file_changed_on_client_deleted_on_server",
    FileSparseOnClientChangedOnServer = 16 => "file_sparse_on_client_changed_on_server",
    FileSparseOnClientDeletedOnServer = 17 => "file_sparse_on_client_deleted_on_server",
    FileSparseOnClientDirOnServer = 18 => "file_sparse_on_client_dir_on_server",
    FileSparseOnClientDirChangedOnServer = 19 => "file_sparse_on_client_dir_changed_on_server",
    DirCreatedOnClientNoServerCopy = 20 => "dir_created_on_client_no_server_copy",
    DirCreatedOnClientDirOnServer = 21 => "dir_created_on_client_dir_on_server",
    DirCreatedOnClientFileOnServer = 22 => "dir_created_on_client_file_on_server",
    DirCreatedOnClientFileChangedOnServer = 23 => "dir_created_on_client_file_changed_on_server",
    DirCreatedOnClientDirChangedOnServer = 24 => "dir_created_on_client_dir_changed_on_server",
    DirCreatedOnClientDeletedOnServer = 25 => "dir_created_on_client_deleted_on_server",
    DirChangedOnClientFileOnServer = 26 => "dir_changed_on_client_file_on_server",
    DirChangedOnClientFileChangedOnServer = 27 => "dir_changed_on_client_file_changed_on_server",
    DirChangedOnClientChangedOnServer = 28 => "dir_changed_on_client_changed_on_server",
    DirChangedOnClientDeletedOnServer = 29 => "dir_changed_on_client_deleted_on_server",
    NoClientCopyFileOnServer = 30 => "no_client_copy_file_on_server",
    NoClientCopyDirOnServer = 31 => "no_client_copy_dir_on_server",
    NoClientCopyFileChangedOnServer = 32 => "no_client_copy_file_changed_on_server",
    NoClientCopyDirChangedOnServer = 33 => "no_client_copy_dir_changed_on_server",
    DeletedOnClientFileOnServer = 34 => "deleted_on_client_file_on_server",
    DeletedOnClientDirOnServer = 35 => "deleted_on_client_dir_on_server",
    DeletedOnClientFileChangedOnServer = 36 => "deleted_on_client_file_changed_on_server",
    DeletedOnClientDirChangedOnServer = 37 => "deleted_on_client_dir_changed_on_server",
    FileSparseOnClient = 38 => "file_sparse_on_client",
    FileChangedOnClient = 39 => "file_changed_on_client",
    FileRenamedOnClient = 40 => "file_renamed_on_client",
    DirSparseOnClient = 41 => "dir_sparse_on_client",
    DirChangedOnClient = 42 => "dir_changed_on_client",
    DirRenamedOnClient = 43 => "dir_renamed_on_client",
    FileChangedOnServer = 44 => "file_changed_on_server",
    FileRenamedOnServer = 45 => "file_renamed_on_server",
    FileDeletedOnServer = 46 => "file_deleted_on_server",
    DirChangedOnServer = 47 => "dir_changed_on_server",
    DirRenamedOnServer = 48 => "dir_renamed_on_server",
    DirDeletedOnServer = 49 => "dir_deleted_on_server",
    FileReplacedAndDeletedOnClientFileOnServer = 50 => "file_replaced_and_deleted_on_client_file_on_server",
    FileReplacedAndDeletedOnClientFileChangedOnServer = 51 => "file_replaced_and_deleted_on_client_file_changed_on_server",
    FileReplacedAndDeletedOnClientDirOnServer = 52 => "file_replaced_and_deleted_on_client_dir_on_server",
    FileReplacedAndDeletedOnClientDirChangedOnServer = 53 => "file_replaced_and_deleted_on_client_dir_changed_on_server",
}

impl SyncState {
    /// Windows' numeric value.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The state with this numeric value.
    pub fn from_code(code: u8) -> Option<SyncState> {
        SyncState::ALL.get(code as usize).copied()
    }

    /// The four Renamed states, which Windows only reserves. Here they are assigned
    /// by the planner's rename detection, which needs two paths (the old and the
    /// new), never by the decision about one path.
    pub fn is_reserved(self) -> bool {
        matches!(
            self,
            SyncState::FileRenamedOnClient
                | SyncState::DirRenamedOnClient
                | SyncState::FileRenamedOnServer
                | SyncState::DirRenamedOnServer
        )
    }
}

impl fmt::Display for SyncState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for SyncState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifty_four_states_numbered_in_order() {
        assert_eq!(SyncState::ALL.len(), 54);
        for (i, s) in SyncState::ALL.iter().enumerate() {
            assert_eq!(s.code() as usize, i);
            assert_eq!(SyncState::from_code(i as u8), Some(*s));
        }
        assert_eq!(SyncState::FileChangedOnClientChangedOnServer.code(), 12);
        assert_eq!(SyncState::DeletedOnClientFileChangedOnServer.code(), 36);
        assert_eq!(SyncState::DirDeletedOnServer.code(), 49);
        assert_eq!(SyncState::from_code(54), None);
    }
}
