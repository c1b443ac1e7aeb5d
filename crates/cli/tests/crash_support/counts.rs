//! The crash points each enumeration reaches, as docs/SAFETY.md states them in its
//! table "Crash-point enumerations". Each enumeration asserts it reached at least its
//! number and killed a run at every point it reached; `crash.rs` checks the table
//! says exactly these numbers.

/// (the row's label in docs/SAFETY.md, crash points).
pub const SYNC_KEEP_ALL: (&str, usize) = ("`sync --policy keep-all`", 77);
pub const SYNC_KEEP_LOCAL: (&str, usize) = ("`sync --policy keep-local`", 159);
pub const SYNC_LOG: (&str, usize) = ("`sync` (policy `log`)", 81);
pub const RECOVERING_SYNC: (&str, usize) = ("the sync recovering from a crash", 96);
pub const RESOLVE_LOCAL: (&str, usize) = ("`resolve --keep local`", 16);
pub const RESOLVE_ALL: (&str, usize) = ("`resolve --keep all`", 16);
pub const EVICT: (&str, usize) = ("`evict --discard-changes`", 20);
pub const PIN: (&str, usize) = ("`pin`", 41);
pub const FETCH: (&str, usize) = ("`fetch`", 39);
pub const REPAIR: (&str, usize) = ("`repair`", 32);

/// Every row, in the table's order.
pub const ALL: [(&str, usize); 10] = [
    SYNC_KEEP_ALL,
    SYNC_KEEP_LOCAL,
    SYNC_LOG,
    RECOVERING_SYNC,
    RESOLVE_LOCAL,
    RESOLVE_ALL,
    EVICT,
    PIN,
    FETCH,
    REPAIR,
];
