//! Writing to the state database: one transaction, committed as a whole or not at all.

use crate::error::{classify, Result};
use crate::records::{ConflictChange, ConflictRecord, JournalEntry, Original, Pin, PinSource};
use crate::rows;
use offline_core::RelPath;
use rusqlite::{params, Connection, Transaction};
use std::path::Path;

/// A write transaction on the state database. Dropping it without
/// [`Batch::commit`] rolls every change back.
pub struct Batch<'a> {
    tx: Transaction<'a>,
    path: &'a Path,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(tx: Transaction<'a>, path: &'a Path) -> Batch<'a> {
        Batch { tx, path }
    }
}

impl Batch<'_> {
    /// Sets the original of `path`, replacing any earlier one.
    pub fn put_original(&self, path: &RelPath, original: &Original) -> Result<()> {
        self.run(|conn| put_original(conn, path, original))
    }

    /// Removes the original of `path` only.
    pub fn delete_original(&self, path: &RelPath) -> Result<()> {
        self.run(|conn| {
            conn.prepare_cached("DELETE FROM originals WHERE path = ?1")?
                .execute(params![path.as_bytes()])?;
            Ok(())
        })
    }

    /// Removes the original of `path` and of everything below it (all of them for the
    /// root). Returns how many were removed. `a` covers `a/b` but not `ab` or `a.txt`.
    pub fn delete_originals_under(&self, path: &RelPath) -> Result<u64> {
        self.run(|conn| delete_originals_under(conn, path))
    }

    /// Moves what is recorded for `from` and everything below it (originals, pins,
    /// conflicts) to the same paths under `to`, replacing rows already there: the
    /// item was renamed. Returns how many rows moved.
    pub fn move_item(&self, from: &RelPath, to: &RelPath) -> Result<u64> {
        self.run(|conn| {
            let mut moved = 0;
            for table in ["originals", "conflicts", "pins"] {
                moved += move_rows(conn, table, from, to)?;
            }
            Ok(moved)
        })
    }

    /// Records the conflict of `record.path`, replacing any earlier one.
    pub fn put_conflict(&self, record: &ConflictRecord) -> Result<ConflictChange> {
        self.run(|conn| put_conflict(conn, record))
    }

    /// Removes the conflict of `path`; true if there was one.
    pub fn delete_conflict(&self, path: &RelPath) -> Result<bool> {
        self.run(|conn| {
            let removed = conn
                .prepare_cached("DELETE FROM conflicts WHERE path = ?1")?
                .execute(params![path.as_bytes()])?;
            Ok(removed > 0)
        })
    }

    /// Records a pin, replacing the same source's earlier pin of the same path.
    pub fn put_pin(&self, pin: &Pin) -> Result<()> {
        self.run(|conn| {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO pins (path, source, inherit) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![pin.path.as_bytes(), pin.source.name(), pin.inherit])?;
            Ok(())
        })
    }

    /// Removes one source's pin of `path`; true if there was one.
    pub fn delete_pin(&self, path: &RelPath, source: PinSource) -> Result<bool> {
        self.run(|conn| {
            let removed = conn
                .prepare_cached("DELETE FROM pins WHERE path = ?1 AND source = ?2")?
                .execute(params![path.as_bytes(), source.name()])?;
            Ok(removed > 0)
        })
    }

    /// Sets a setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.run(|conn| set_setting(conn, key, value))
    }

    /// Writes a journal row for an operation about to start; returns its new id
    /// (`entry.id` is ignored). The row is durable once the batch is committed.
    pub fn journal_begin(&self, entry: &JournalEntry) -> Result<i64> {
        self.run(|conn| {
            conn.prepare_cached(
                "INSERT INTO journal (path, operation, detail, started_ns) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                entry.path.as_bytes(),
                entry.operation.code(),
                entry.detail,
                entry.started_ns
            ])?;
            Ok(conn.last_insert_rowid())
        })
    }

    /// Clears the journal row `id` (an operation that ended). Clearing a row that is
    /// not there does nothing.
    pub fn journal_end(&self, id: i64) -> Result<()> {
        self.run(|conn| {
            conn.prepare_cached("DELETE FROM journal WHERE id = ?1")?
                .execute(params![id])?;
            Ok(())
        })
    }

    /// Makes every change of the batch durable at once.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        crashpoint::hit("store.commit.before");
        self.tx.commit().map_err(|err| classify(path, err.into()))?;
        crashpoint::hit("store.commit.after");
        Ok(())
    }

    /// Runs a call in the transaction, reporting damage as corruption.
    fn run<T>(&self, call: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        call(&self.tx).map_err(|err| classify(self.path, err))
    }
}

fn put_original(conn: &Connection, path: &RelPath, original: &Original) -> Result<()> {
    let meta = &original.meta;
    let sql = format!(
        "INSERT OR REPLACE INTO originals ({}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        rows::ORIGINAL_COLUMNS
    );
    conn.prepare_cached(&sql)?.execute(params![
        path.as_bytes(),
        meta.kind.name(),
        rows::size_value(path, meta.size)?,
        meta.mtime_ns,
        meta.mode,
        meta.hash.as_ref().map(|hash| hash.as_slice()),
        meta.target.as_deref(),
        original.local_identity,
        original.remote_identity,
        original.cached,
    ])?;
    Ok(())
}

fn delete_originals_under(conn: &Connection, path: &RelPath) -> Result<u64> {
    if path.is_root() {
        let removed = conn.execute("DELETE FROM originals", [])?;
        return Ok(removed as u64);
    }
    let (low, high) = below(path);
    let removed = conn
        .prepare_cached("DELETE FROM originals WHERE path = ?1 OR (path >= ?2 AND path < ?3)")?
        .execute(params![path.as_bytes(), low, high])?;
    Ok(removed as u64)
}

/// The byte range of the paths strictly below `path` (not the root): they start
/// with "path/", so lie in ["path/", "path0"), '0' being the byte after '/'.
fn below(path: &RelPath) -> (Vec<u8>, Vec<u8>) {
    let mut low = path.as_bytes().to_vec();
    low.push(b'/');
    let mut high = path.as_bytes().to_vec();
    high.push(b'/' + 1);
    (low, high)
}

/// Moves the rows of `table` at and below `from` to the same paths under `to`.
fn move_rows(conn: &Connection, table: &str, from: &RelPath, to: &RelPath) -> Result<u64> {
    let (low, high) = below(from);
    let paths: Vec<Vec<u8>> = conn
        .prepare_cached(&format!(
            "SELECT DISTINCT path FROM {table} WHERE path = ?1 OR (path >= ?2 AND path < ?3)"
        ))?
        .query_map(params![from.as_bytes(), low, high], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut moved = 0;
    for old in paths {
        let Some(new) = RelPath::new(old.clone())
            .ok()
            .and_then(|p| p.rebased(from, to))
        else {
            continue;
        };
        moved += conn
            .prepare_cached(&format!(
                "UPDATE OR REPLACE {table} SET path = ?1 WHERE path = ?2"
            ))?
            .execute(params![new.as_bytes(), old])? as u64;
    }
    Ok(moved)
}

fn put_conflict(conn: &Connection, record: &ConflictRecord) -> Result<ConflictChange> {
    let path = &record.path;
    let existed = conn
        .prepare_cached("SELECT 1 FROM conflicts WHERE path = ?1")?
        .exists(params![path.as_bytes()])?;
    let sql = format!(
        "INSERT OR REPLACE INTO conflicts ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rows::CONFLICT_COLUMNS
    );
    conn.prepare_cached(&sql)?.execute(params![
        path.as_bytes(),
        record.state.code(),
        record.detected_ns,
        rows::meta_json(path, record.original.as_ref())?,
        rows::meta_json(path, record.local.as_ref())?,
        rows::meta_json(path, record.remote.as_ref())?,
    ])?;
    Ok(if existed {
        ConflictChange::Updated
    } else {
        ConflictChange::Added
    })
}

/// Sets a setting (shared by [`Batch`] and the store's own autocommit call).
pub(crate) fn set_setting(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)")?
        .execute(params![key, value])?;
    Ok(())
}
