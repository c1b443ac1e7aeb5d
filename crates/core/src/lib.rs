//! The model of offline-files and its three-way sync planner.
//!
//! This crate does no I/O. It holds:
//! - the enumerations, with Windows Offline Files' numeric values:
//!   [`SyncOperation`], [`SyncState`], [`ConflictResolution`], the sync control
//!   flags ([`SyncControl`]), [`ConnectState`] and [`OfflineReason`];
//! - item paths ([`RelPath`], raw bytes), metadata ([`Meta`]) and the copies a sync
//!   compares: each side's [`Scanned`] copy and the [`Original`] (the base);
//! - the planner ([`plan()`]): a pure function from the original, local and remote
//!   copies of every path to a [`Plan`] of work.
//!
//! Choices made where Windows leaves the states open: a kind change on one side is
//! reported as that side's *Changed* state of the new kind (a folder that replaced a
//! file locally is `DirChangedOnClient_FileOnServer`); states 1–5 with *OnClient* /
//! *OnServer* but no original are used when the base is unknown
//! ([`plan_without_base`]); the four *Renamed* states and the four
//! *FileReplacedAndDeletedOnClient* states (50–53, undocumented) are never assigned:
//! a rename is a deletion plus a creation, a replaced-then-deleted file a deletion.
//! Nor are the six *Sparse* states (16–19, 38, 41): a cache copy is never partly
//! present here (every fill is written to a temp file and renamed into place whole,
//! and recovery removes the temp files of an interrupted one), and a pinned item not
//! filled yet is a ghost, assigned the *NoClientCopy* states and filled by `pin`.

pub mod connect;
pub mod control;
pub mod copies;
pub mod meta;
pub mod names;
pub mod operation;
pub mod path;
pub mod plan;
pub mod side;
pub mod state;
pub mod terminal;

pub use connect::{ConnectState, OfflineReason};
pub use control::{ConflictPolicy, ConflictResolution, SyncControl};
pub use copies::{Expect, Original, Scanned};
pub use meta::{Hash, Kind, Meta};
pub use names::{
    is_reserved_root_name, is_temp_name, TempTag, CACHE_DIR_NAME, SHARE_MARKER, TEMP_PREFIX,
};
pub use operation::SyncOperation;
pub use path::{escape_bytes, unescape_bytes, PathError, RelPath};
pub use plan::{plan, plan_without_base, Action, Plan, PlanItem, Triple};
pub use side::Side;
pub use state::SyncState;
pub use terminal::escape_terminal;
