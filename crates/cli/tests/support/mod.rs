//! The one home of what the test helper islands (`common/`, `crash_support/`,
//! `service_support/`) share: the `offline` binary built for the tests and the two
//! sides of a sync. Each island includes this file and re-exports from it, so the
//! old module names keep working.

#![allow(dead_code)]

use std::path::PathBuf;

/// The path of the `offline` binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_offline");

/// The `offline` binary built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(BIN)
}

/// Which side of the sync a helper works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Share,
    Cache,
}

impl Side {
    /// The folder name of this side's losing copies under `.offline/conflicts/<UTC>/`.
    pub fn word(self) -> &'static str {
        match self {
            Side::Share => "share",
            Side::Cache => "cache",
        }
    }
}
