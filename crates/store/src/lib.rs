//! The state database of an offline-files cache.
//!
//! One SQLite file (in `<cache>/.offline/`) holds everything the engine must remember
//! between runs:
//! - the *originals*: every item's state at its last successful sync, the base of the
//!   three-way compare ([`Original`]);
//! - the conflicts kept for the person ([`ConflictRecord`]);
//! - the pins, per source ([`Pin`], [`PinSource`]);
//! - the journal of operations in flight, for recovery after a crash ([`JournalEntry`]);
//! - small settings (key/value text);
//! - the change log, what became cached, pins and conflicts that came and went, for
//!   readers that ask what changed since their last look ([`Change`]).
//!
//! Paths are stored as raw bytes, so names that are not UTF-8 round-trip. Commits are
//! durable (`synchronous=FULL`, write-ahead log). Every write goes through a
//! [`Batch`], one transaction that is rolled back unless committed. A file that is
//! missing, damaged, or written by a newer program is reported as such
//! ([`StoreError`]) and never overwritten; rows are checked when read, so a bad row is
//! an error ([`StoreError::BadRow`]), not a panic.

mod batch;
mod changes;
mod error;
mod records;
mod rows;
mod schema;
mod store;

pub use batch::Batch;
pub use changes::{Change, ConflictMark, LookedUpTo, Topic, CHANGE_LOG_KEEP};
pub use error::{Result, StoreError};
pub use records::{ConflictChange, ConflictRecord, JournalEntry, Original, Pin, PinSource};
pub use store::Store;

/// The schema version this program writes and reads.
pub const SCHEMA_VERSION: i64 = 1;
