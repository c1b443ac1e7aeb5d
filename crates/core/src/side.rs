//! The two sides of a sync: the cache (client) and the share (server).

/// Which side of the sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The cache (client).
    Local,
    /// The share (server).
    Remote,
}

impl Side {
    /// Both sides, the cache first.
    pub const BOTH: [Side; 2] = [Side::Local, Side::Remote];

    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Local => Side::Remote,
            Side::Remote => Side::Local,
        }
    }

    /// "local" or "remote".
    pub fn name(self) -> &'static str {
        match self {
            Side::Local => "local",
            Side::Remote => "remote",
        }
    }

    /// "cache" or "share": the words messages and folder names use.
    pub fn place(self) -> &'static str {
        match self {
            Side::Local => "cache",
            Side::Remote => "share",
        }
    }
}
