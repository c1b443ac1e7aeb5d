//! The records kept in the state database: originals, conflicts, pins, journal rows.

use offline_core::{Meta, RelPath, SyncOperation, SyncState};
use std::fmt;

pub use offline_core::Original;

/// A conflict kept for the person to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictRecord {
    /// The item in conflict.
    pub path: RelPath,
    /// The state prepare found.
    pub state: SyncState,
    /// When it was found, nanoseconds since the Unix epoch (UTC).
    pub detected_ns: i64,
    /// The base copy, if there was one.
    pub original: Option<Meta>,
    /// The cache copy, if there is one.
    pub local: Option<Meta>,
    /// The share copy, if there is one.
    pub remote: Option<Meta>,
}

/// What [`crate::Batch::put_conflict`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictChange {
    /// The path had no conflict before.
    Added,
    /// The path's conflict was replaced.
    Updated,
}

/// Who asked for an item to be pinned. Each source is kept separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinSource {
    /// The person using the cache.
    User,
    /// Pinned for every user of the machine.
    AllUsers,
    /// An administrator's policy.
    Policy,
}

impl PinSource {
    /// All sources.
    pub const ALL: [PinSource; 3] = [PinSource::User, PinSource::AllUsers, PinSource::Policy];

    /// The name stored in the database.
    pub fn name(self) -> &'static str {
        match self {
            PinSource::User => "user",
            PinSource::AllUsers => "all_users",
            PinSource::Policy => "policy",
        }
    }

    /// Reads a name written by [`PinSource::name`].
    pub fn from_name(name: &str) -> Option<PinSource> {
        PinSource::ALL
            .into_iter()
            .find(|source| source.name() == name)
    }
}

impl fmt::Display for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One pin of one item by one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The pinned item.
    pub path: RelPath,
    /// Who pinned it.
    pub source: PinSource,
    /// True when new children are pinned too.
    pub inherit: bool,
}

/// An operation in flight, written before it starts and cleared after it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// Assigned by [`crate::Batch::journal_begin`] (ignored on input).
    pub id: i64,
    /// The item the operation works on.
    pub path: RelPath,
    /// What is being done.
    pub operation: SyncOperation,
    /// Free text (or JSON) the engine needs for recovery, such as temp file names.
    pub detail: String,
    /// When it started, nanoseconds since the Unix epoch (UTC).
    pub started_ns: i64,
}
