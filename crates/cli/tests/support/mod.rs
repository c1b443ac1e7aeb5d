//! The one home of what the test helper islands (`common/`, `crash_support/`,
//! `service_support/`) share: the `offline` binary built for the tests, the two
//! sides of a sync, the walk of a tree snapshot and its items ([`Node`]). Each island includes this file and re-exports from it, so the
//! old module names keep working.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

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

/// Calls `visit(rel, full, lstat)` for every item below `root`, parents before their
/// children, never following symlinks, leaving out the cache's `.offline/` and the
/// share's `.offline-share` marker at the root. `rel` is the relative path's bytes
/// (`/`-separated). The walk of every tree snapshot of the islands.
pub fn visit_tree(root: &Path, visit: &mut dyn FnMut(&[u8], &Path, &fs::Metadata)) {
    visit_below(root, &[], visit);
}

fn visit_below(dir: &Path, rel: &[u8], visit: &mut dyn FnMut(&[u8], &Path, &fs::Metadata)) {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").file_name())
        .collect();
    names.sort();
    for name in names {
        let name = name.as_bytes();
        if rel.is_empty() && (name == b".offline" || name == b".offline-share") {
            continue;
        }
        let mut path = rel.to_vec();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(name);
        let full = dir.join(OsStr::from_bytes(name));
        let meta = fs::symlink_metadata(&full).expect("lstat");
        visit(&path, &full, &meta);
        if meta.is_dir() {
            visit_below(&full, &path, visit);
        }
    }
}

/// One item of a tree snapshot (times are not compared).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    File {
        content: Vec<u8>,
        mode: u32,
    },
    Dir {
        mode: u32,
    },
    Symlink {
        target: Vec<u8>,
    },
    /// A device, FIFO or socket, by its file type.
    Other {
        file_type: String,
    },
}

impl Node {
    /// The item at `full`, whose `lstat` is `meta`; a symlink is not followed.
    pub fn read(full: &Path, meta: &fs::Metadata) -> Node {
        let ft = meta.file_type();
        let mode = meta.permissions().mode() & 0o7777;
        if ft.is_symlink() {
            let target =
                fs::read_link(full).unwrap_or_else(|e| panic!("readlink {}: {e}", full.display()));
            Node::Symlink {
                target: target.as_os_str().as_bytes().to_vec(),
            }
        } else if ft.is_dir() {
            Node::Dir { mode }
        } else if ft.is_file() {
            let content = fs::read(full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()));
            Node::File { content, mode }
        } else {
            Node::Other {
                file_type: format!("{ft:?}"),
            }
        }
    }
}

/// Every item below `root` ([`visit_tree`]'s walk) with its relative path's bytes.
pub fn nodes(root: &Path) -> Vec<(Vec<u8>, Node)> {
    let mut out = Vec::new();
    visit_tree(root, &mut |rel, full, meta| {
        out.push((rel.to_vec(), Node::read(full, meta)))
    });
    out
}
