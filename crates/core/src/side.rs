//! The two sides of a sync: the cache (client) and the share (server).

/// Which side of the sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The cache (client).
    Cache,
    /// The share (server).
    Share,
}

impl Side {
    /// Both sides, the cache first.
    pub const BOTH: [Side; 2] = [Side::Cache, Side::Share];

    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Cache => Side::Share,
            Side::Share => Side::Cache,
        }
    }

    /// "local" or "remote".
    pub fn name(self) -> &'static str {
        match self {
            Side::Cache => "local",
            Side::Share => "remote",
        }
    }

    /// "cache" or "share": the words messages and folder names use.
    pub fn place(self) -> &'static str {
        match self {
            Side::Cache => "cache",
            Side::Share => "share",
        }
    }
}
