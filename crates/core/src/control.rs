//! What a sync is asked to do: the sync control flags (Windows' bit values), the
//! conflict-resolution codes, and the policy the CLI exposes.

use serde::Serialize;
use std::fmt;

/// Windows' `OFFLINEFILES_SYNC_CONFLICT_RESOLVE` codes: what a conflict handler answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum ConflictResolution {
    /// Unresolved; someone else may deal with it.
    None = 0,
    /// The local copy overwrites the server copy.
    KeepLocal = 1,
    /// The server copy overwrites the local copy.
    KeepRemote = 2,
    /// Both are kept: one under a new name, on both sides.
    KeepAllChanges = 3,
    /// The copy changed last wins.
    KeepLatest = 4,
    /// Record the conflict for the person to settle.
    Log = 5,
    /// Leave it, unrecorded.
    Skip = 6,
    /// Cancel the whole sync.
    Abort = 7,
}

impl ConflictResolution {
    /// All eight in numeric order.
    pub const ALL: [ConflictResolution; 8] = [
        ConflictResolution::None,
        ConflictResolution::KeepLocal,
        ConflictResolution::KeepRemote,
        ConflictResolution::KeepAllChanges,
        ConflictResolution::KeepLatest,
        ConflictResolution::Log,
        ConflictResolution::Skip,
        ConflictResolution::Abort,
    ];

    /// Windows' numeric value.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The conflict policy a sync runs with (`--policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// Leave both copies untouched and record the conflict (the default).
    #[default]
    Log,
    /// The cache copy wins; the share's bytes are kept in `.offline/conflicts/`.
    KeepLocal,
    /// The share copy wins; the cache's bytes are kept in `.offline/conflicts/`.
    KeepRemote,
    /// The copy with the later modification time wins; the other is kept in `.offline/conflicts/`.
    KeepLatest,
    /// Both are kept on both sides: the cache's version under `NAME (conflict HOST N).EXT`.
    KeepAll,
}

impl ConflictPolicy {
    /// The resolution code this policy stands for.
    pub fn resolution(self) -> ConflictResolution {
        match self {
            ConflictPolicy::Log => ConflictResolution::Log,
            ConflictPolicy::KeepLocal => ConflictResolution::KeepLocal,
            ConflictPolicy::KeepRemote => ConflictResolution::KeepRemote,
            ConflictPolicy::KeepLatest => ConflictResolution::KeepLatest,
            ConflictPolicy::KeepAll => ConflictResolution::KeepAllChanges,
        }
    }

    /// The `--policy` spelling.
    pub fn name(self) -> &'static str {
        match self {
            ConflictPolicy::Log => "log",
            ConflictPolicy::KeepLocal => "keep-local",
            ConflictPolicy::KeepRemote => "keep-remote",
            ConflictPolicy::KeepLatest => "keep-latest",
            ConflictPolicy::KeepAll => "keep-all",
        }
    }
}

impl fmt::Display for ConflictPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Windows' sync control bits (`OFFLINEFILES_SYNC_CONTROL_FLAG_*`).
pub mod flags {
    /// Fill every sparse file.
    pub const FILL_SPARSE: u32 = 0x0000_0001;
    /// Bring server changes down (implies FILL_SPARSE).
    pub const SYNC_IN: u32 = 0x0000_0002;
    /// Push local changes up.
    pub const SYNC_OUT: u32 = 0x0000_0004;
    /// Pin new server files found inside pinned folders.
    pub const PIN_NEW_FILES: u32 = 0x0000_0008;
    /// Leave suspended trees alone.
    pub const SKIP_SUSPENDED_DIRS: u32 = 0x0000_2000;
    /// With SYNC_OUT: do not create client-only files on the server.
    pub const NO_NEW_FILES_OUT: u32 = 0x0002_0000;
    /// The conflict-resolution field.
    pub const CR_MASK: u32 = 0xF000_0000;
    /// Record conflicts (log).
    pub const CR_DEFAULT: u32 = 0x0000_0000;
    /// Local wins.
    pub const CR_KEEP_LOCAL: u32 = 0x1000_0000;
    /// Remote wins.
    pub const CR_KEEP_REMOTE: u32 = 0x2000_0000;
    /// Latest change wins.
    pub const CR_KEEP_LATEST: u32 = 0x3000_0000;
}

/// Which sides a sync may write, and how it treats conflicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncControl {
    /// Bring share changes into the cache.
    pub sync_in: bool,
    /// Push cache changes to the share.
    pub sync_out: bool,
    /// Fill sparse (partly cached) items.
    pub fill_sparse: bool,
    /// Pin new share items that appear inside pinned folders.
    pub pin_new_files: bool,
    /// Do not create cache-only files on the share.
    pub no_new_files_out: bool,
    /// Leave suspended trees alone.
    pub skip_suspended_dirs: bool,
    /// How conflicts are settled.
    pub policy: ConflictPolicy,
}

impl Default for SyncControl {
    fn default() -> Self {
        SyncControl {
            sync_in: true,
            sync_out: true,
            fill_sparse: true,
            pin_new_files: true,
            no_new_files_out: false,
            skip_suspended_dirs: false,
            policy: ConflictPolicy::Log,
        }
    }
}

impl SyncControl {
    /// The Windows bit layout of these settings. `keep-all` has no CR bits on Windows
    /// (it is a handler answer), so it maps to the default field.
    pub fn to_bits(&self) -> u32 {
        let mut bits = 0;
        if self.fill_sparse {
            bits |= flags::FILL_SPARSE;
        }
        if self.sync_in {
            bits |= flags::SYNC_IN;
        }
        if self.sync_out {
            bits |= flags::SYNC_OUT;
        }
        if self.pin_new_files {
            bits |= flags::PIN_NEW_FILES;
        }
        if self.skip_suspended_dirs {
            bits |= flags::SKIP_SUSPENDED_DIRS;
        }
        if self.no_new_files_out {
            bits |= flags::NO_NEW_FILES_OUT;
        }
        bits |= match self.policy {
            ConflictPolicy::KeepLocal => flags::CR_KEEP_LOCAL,
            ConflictPolicy::KeepRemote => flags::CR_KEEP_REMOTE,
            ConflictPolicy::KeepLatest => flags::CR_KEEP_LATEST,
            ConflictPolicy::Log | ConflictPolicy::KeepAll => flags::CR_DEFAULT,
        };
        bits
    }

    /// Reads the Windows bit layout. SYNC_IN turns on FILL_SPARSE, as on Windows.
    pub fn from_bits(bits: u32) -> SyncControl {
        let sync_in = bits & flags::SYNC_IN != 0;
        SyncControl {
            sync_in,
            sync_out: bits & flags::SYNC_OUT != 0,
            fill_sparse: sync_in || bits & flags::FILL_SPARSE != 0,
            pin_new_files: bits & flags::PIN_NEW_FILES != 0,
            no_new_files_out: bits & flags::NO_NEW_FILES_OUT != 0,
            skip_suspended_dirs: bits & flags::SKIP_SUSPENDED_DIRS != 0,
            policy: match bits & flags::CR_MASK {
                flags::CR_KEEP_LOCAL => ConflictPolicy::KeepLocal,
                flags::CR_KEEP_REMOTE => ConflictPolicy::KeepRemote,
                flags::CR_KEEP_LATEST => ConflictPolicy::KeepLatest,
                _ => ConflictPolicy::Log,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_codes_match_windows() {
        for (i, r) in ConflictResolution::ALL.iter().enumerate() {
            assert_eq!(r.code() as usize, i);
        }
        assert_eq!(ConflictResolution::Abort.code(), 7);
    }

    #[test]
    fn control_bits_round_trip() {
        let c = SyncControl {
            policy: ConflictPolicy::KeepLatest,
            no_new_files_out: true,
            ..SyncControl::default()
        };
        let bits = c.to_bits();
        assert_eq!(bits & flags::CR_MASK, 0x3000_0000);
        assert_eq!(bits & flags::SYNC_IN, flags::SYNC_IN);
        assert_eq!(SyncControl::from_bits(bits), c);
        assert!(SyncControl::from_bits(flags::SYNC_IN).fill_sparse);
    }
}
