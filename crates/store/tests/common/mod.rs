//! Helpers shared by the store's tests: temp databases, paths and sample records.
#![allow(dead_code)] // each test file uses only some helpers

use offline_core::{Meta, RelPath};
use offline_store::{Original, Store};
use std::path::PathBuf;
use tempfile::TempDir;

/// A new database in a fresh temp folder (kept alive by the returned `TempDir`).
pub fn new_store() -> (TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.db");
    let store = Store::create(&path).expect("create store");
    (dir, path, store)
}

/// A path from bytes.
pub fn p(bytes: &[u8]) -> RelPath {
    RelPath::new(bytes.to_vec()).expect("valid test path")
}

/// A cached original with both identities set.
pub fn original(meta: Meta) -> Original {
    Original {
        meta,
        local_identity: Some("ino=12:ctime=34".to_string()),
        remote_identity: Some("etag-\u{e9}".to_string()),
        cached: true,
    }
}

/// A plain file original.
pub fn file(n: u8) -> Original {
    original(Meta::file(
        u64::from(n) * 10,
        1_700_000_000_000_000_000 + i64::from(n),
        0o644,
        [n; 32],
    ))
}

/// Executes raw SQL on the database file, behind the store's back.
pub fn raw_sql(path: &std::path::Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).expect("raw open");
    conn.execute_batch(sql).expect("raw sql");
}
