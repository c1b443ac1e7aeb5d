//! Item metadata as the planner sees it: kind, size, time, mode and content hash.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A BLAKE3 content hash.
pub type Hash = [u8; 32];

/// What an item is. Symlinks are synced as links and never followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link (its target is the content).
    Symlink,
}

impl Kind {
    /// The snake_case name, as stored in the database.
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
        }
    }

    /// Reads a name written by [`Kind::name`].
    pub fn from_name(name: &str) -> Option<Kind> {
        match name {
            "file" => Some(Kind::File),
            "dir" => Some(Kind::Dir),
            "symlink" => Some(Kind::Symlink),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The metadata of one copy of an item.
///
/// Two copies hold the same item when [`Meta::same_content`] and their modes agree;
/// modification times are carried across but are not part of that comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Meta {
    /// File, folder or symlink.
    pub kind: Kind,
    /// Bytes (files), target length (symlinks), 0 (folders).
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Permission bits (`0o7777` at most); ignored for symlinks.
    pub mode: u32,
    /// Content hash of a file; `None` for folders and symlinks, or when unknown.
    pub hash: Option<Hash>,
    /// The target of a symlink (boxed: a plan keeps several copies of each item's
    /// metadata, and a boxed slice is a third smaller than a `Vec` when absent).
    pub target: Option<Box<[u8]>>,
}

impl Meta {
    /// A regular file.
    pub fn file(size: u64, mtime_ns: i64, mode: u32, hash: Hash) -> Meta {
        Meta {
            kind: Kind::File,
            size,
            mtime_ns,
            mode,
            hash: Some(hash),
            target: None,
        }
    }

    /// A folder.
    pub fn dir(mtime_ns: i64, mode: u32) -> Meta {
        Meta {
            kind: Kind::Dir,
            size: 0,
            mtime_ns,
            mode,
            hash: None,
            target: None,
        }
    }

    /// A symlink pointing at `target`.
    pub fn symlink(target: Vec<u8>, mtime_ns: i64) -> Meta {
        Meta {
            kind: Kind::Symlink,
            size: target.len() as u64,
            mtime_ns,
            mode: 0o777,
            hash: None,
            target: Some(target.into_boxed_slice()),
        }
    }

    /// True when both copies have the same kind and the same bytes (files), the same
    /// target (symlinks), or are both folders.
    pub fn same_content(&self, other: &Meta) -> bool {
        if self.kind != other.kind {
            return false;
        }
        match self.kind {
            Kind::File => self.size == other.size && self.hash == other.hash,
            Kind::Symlink => self.target == other.target,
            Kind::Dir => true,
        }
    }

    /// True when the copies hold the same item: same content and, except for
    /// symlinks, the same permission bits.
    pub fn same_item(&self, other: &Meta) -> bool {
        self.same_content(other) && (self.kind == Kind::Symlink || self.mode == other.mode)
    }

    /// True for a folder.
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_comparison_ignores_mtime_but_not_mode() {
        let a = Meta::file(3, 10, 0o644, [1; 32]);
        let mut b = a.clone();
        b.mtime_ns = 99;
        assert!(a.same_item(&b));
        b.mode = 0o755;
        assert!(a.same_content(&b));
        assert!(!a.same_item(&b));
        let c = Meta::file(3, 10, 0o644, [2; 32]);
        assert!(!a.same_content(&c));
        assert!(!a.same_content(&Meta::dir(10, 0o644)));
    }
}
