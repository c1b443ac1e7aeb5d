//! The sync controls the property tests run every case under: each conflict
//! policy with both directions, one direction only, and no new files out.

#![allow(dead_code)]

use offline_core::{ConflictPolicy, SyncControl};

/// Every conflict policy.
pub const POLICIES: [ConflictPolicy; 5] = [
    ConflictPolicy::Log,
    ConflictPolicy::KeepLocal,
    ConflictPolicy::KeepRemote,
    ConflictPolicy::KeepLatest,
    ConflictPolicy::KeepAll,
];

/// Each policy with both directions, in only, out only, and both with no new files out.
pub fn controls() -> Vec<SyncControl> {
    let mut out = vec![];
    for policy in POLICIES {
        for (sync_in, sync_out, no_new_files_out) in [
            (true, true, false),
            (true, false, false),
            (false, true, false),
            (true, true, true),
        ] {
            out.push(SyncControl {
                sync_in,
                sync_out,
                no_new_files_out,
                policy,
                ..SyncControl::default()
            });
        }
    }
    out
}
