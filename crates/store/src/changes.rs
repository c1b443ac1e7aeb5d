//! The change log: what became cached or stopped being cached, which pins and which
//! conflict records came and went, each with its value before the change. Triggers
//! write it (so every writer of the database, this version or an older one, feeds
//! it), numbered by a counter that only grows; a reader remembers the number it read
//! up to and asks what changed since, with the value before the first change and the
//! value now, instead of keeping a copy of the tables to compare. `PRAGMA
//! data_version` says cheaply whether another connection wrote at all.

use crate::error::{Result, StoreError};
use crate::records::PinSource;
use crate::store::Store;
use offline_core::{RelPath, SyncState};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, Row};

/// How many rows the log keeps at most (the oldest go first). A reader further
/// behind than that is told its look is incomplete.
pub const CHANGE_LOG_KEEP: i64 = 100_000;

/// The table and its triggers. `kind` says what a row is about: 1 an item's
/// `cached` flag (`old`: 0 or 1, 0 for no original), 2 a pin of `source` (`old`: it
/// existed), 3 a conflict record (`old`, `old_detected`: its state and time, NULL
/// for none). Each trigger runs before the change, so `old` is the
/// value as it was (the replaced row of an `INSERT OR REPLACE` included); a row
/// logged for nothing (the same value after) costs a row and is filtered on reading.
const CREATE_CHANGE_LOG: &str = "
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind INTEGER NOT NULL,
    path BLOB NOT NULL,
    source TEXT NULL,
    old INTEGER NULL,
    old_detected INTEGER NULL
);
CREATE TRIGGER IF NOT EXISTS changes_keep AFTER INSERT ON changes
WHEN new.seq % 1000 = 0 BEGIN
    DELETE FROM changes WHERE seq <= new.seq - 100000;
END;
CREATE TRIGGER IF NOT EXISTS originals_insert_logged BEFORE INSERT ON originals
WHEN COALESCE((SELECT cached FROM originals WHERE path = new.path), 0) != new.cached BEGIN
    INSERT INTO changes (kind, path, old)
    VALUES (1, new.path, COALESCE((SELECT cached FROM originals WHERE path = new.path), 0));
END;
CREATE TRIGGER IF NOT EXISTS originals_delete_logged BEFORE DELETE ON originals
WHEN old.cached != 0 BEGIN
    INSERT INTO changes (kind, path, old) VALUES (1, old.path, old.cached);
END;
CREATE TRIGGER IF NOT EXISTS originals_update_logged BEFORE UPDATE ON originals
WHEN old.cached != new.cached OR old.path != new.path BEGIN
    INSERT INTO changes (kind, path, old) VALUES (1, old.path, old.cached);
    INSERT INTO changes (kind, path, old)
    SELECT 1, new.path, COALESCE((SELECT cached FROM originals WHERE path = new.path), 0)
    WHERE new.path != old.path;
END;
CREATE TRIGGER IF NOT EXISTS pins_insert_logged BEFORE INSERT ON pins
WHEN NOT EXISTS (SELECT 1 FROM pins WHERE path = new.path AND source = new.source) BEGIN
    INSERT INTO changes (kind, path, source, old) VALUES (2, new.path, new.source, 0);
END;
CREATE TRIGGER IF NOT EXISTS pins_delete_logged BEFORE DELETE ON pins BEGIN
    INSERT INTO changes (kind, path, source, old) VALUES (2, old.path, old.source, 1);
END;
CREATE TRIGGER IF NOT EXISTS pins_update_logged BEFORE UPDATE ON pins
WHEN old.path != new.path OR old.source != new.source BEGIN
    INSERT INTO changes (kind, path, source, old) VALUES (2, old.path, old.source, 1);
    INSERT INTO changes (kind, path, source, old)
    SELECT 2, new.path, new.source,
           EXISTS (SELECT 1 FROM pins WHERE path = new.path AND source = new.source);
END;
CREATE TRIGGER IF NOT EXISTS conflicts_insert_logged BEFORE INSERT ON conflicts BEGIN
    INSERT INTO changes (kind, path, old, old_detected)
    VALUES (3, new.path,
            (SELECT state FROM conflicts WHERE path = new.path),
            (SELECT detected_ns FROM conflicts WHERE path = new.path));
END;
CREATE TRIGGER IF NOT EXISTS conflicts_delete_logged BEFORE DELETE ON conflicts BEGIN
    INSERT INTO changes (kind, path, old, old_detected)
    VALUES (3, old.path, old.state, old.detected_ns);
END;
CREATE TRIGGER IF NOT EXISTS conflicts_update_logged BEFORE UPDATE ON conflicts BEGIN
    INSERT INTO changes (kind, path, old, old_detected)
    VALUES (3, old.path, old.state, old.detected_ns);
    INSERT INTO changes (kind, path, old, old_detected)
    SELECT 3, new.path,
           (SELECT state FROM conflicts WHERE path = new.path),
           (SELECT detected_ns FROM conflicts WHERE path = new.path)
    WHERE new.path != old.path;
END;
";

/// Makes the log and its triggers where they are missing (a database made by an
/// older version gets them when first opened).
pub(crate) fn ensure(conn: &Connection) -> Result<()> {
    let present: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_logged'",
        [],
        |row| row.get(0),
    )?;
    if present == 9 {
        return Ok(());
    }
    if !conn.is_autocommit() {
        // Inside the transaction that makes the schema.
        conn.execute_batch(CREATE_CHANGE_LOG)?;
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(CREATE_CHANGE_LOG)?;
    tx.commit()?;
    Ok(())
}

/// A conflict record as the log compares it: its state and when it was found.
pub type ConflictMark = (SyncState, i64);

/// One item whose recorded state differs from what it was at the reader's last look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The item became cached (`now`) or stopped being cached (it was removed, or
    /// became a ghost).
    Cached { path: RelPath, now: bool },
    /// A pin of `source` was added (`now`) or removed.
    Pin {
        path: RelPath,
        source: PinSource,
        now: bool,
    },
    /// The item's conflict record was added, replaced by a different one, or removed.
    Conflict {
        path: RelPath,
        before: Option<ConflictMark>,
        now: Option<ConflictMark>,
    },
}

/// Which changes a look reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Cached items and pins.
    Items,
    /// Conflict records.
    Conflicts,
}

/// How far a look read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookedUpTo {
    /// The log's counter at the look: the next look starts from here.
    pub seq: i64,
    /// False when rows the look needed were dropped already (more than
    /// [`CHANGE_LOG_KEEP`] changes since, or the database was rebuilt): some
    /// changes were missed.
    pub complete: bool,
}

impl Store {
    /// SQLite's `data_version` of this connection: it moves when another connection
    /// commits a change, and only then.
    pub fn data_version(&self) -> Result<i64> {
        self.run(|conn| Ok(conn.query_row("PRAGMA data_version", [], |row| row.get(0))?))
    }

    /// The change log's counter now (0 before its first row).
    pub fn change_seq(&self) -> Result<i64> {
        self.run(last_seq)
    }

    /// Calls `each` with every item of `topic` whose state now differs from its state
    /// when the log's counter was `since`: pins before cached items; what is there
    /// now before what went; then in path order. A change undone meanwhile is no
    /// change. Reads in one transaction, so the counter returned and the states
    /// seen agree.
    pub fn changes_since(
        &self,
        since: i64,
        topic: Topic,
        mut each: impl FnMut(Change),
    ) -> Result<LookedUpTo> {
        self.run(|conn| {
            let tx = conn.unchecked_transaction()?;
            let seq = last_seq(&tx)?;
            let oldest: Option<i64> =
                tx.query_row("SELECT MIN(seq) FROM changes", [], |row| row.get(0))?;
            let complete = since <= seq && oldest.is_none_or(|oldest| oldest <= since + 1);
            match topic {
                Topic::Items => {
                    each_row(&tx, PIN_SQL, since, pin_change, &mut each)?;
                    each_row(&tx, CACHED_SQL, since, cached_change, &mut each)?;
                }
                Topic::Conflicts => {
                    each_row(&tx, CONFLICT_SQL, since, conflict_change, &mut each)?;
                }
            }
            // Read only: nothing to keep.
            drop(tx);
            Ok(LookedUpTo { seq, complete })
        })
    }
}

fn last_seq(conn: &Connection) -> Result<i64> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'changes'",
            [],
            |row| row.get(0),
        )
        .or_else(|err| match err {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            err => Err(err),
        })?;
    Ok(seq.unwrap_or(0))
}

// Per path (and source), the row with the lowest number holds the value at the look
// before (SQLite takes the bare columns from the row MIN() picked). What is there
// now comes first (pins added, items cached, conflict records added or replaced),
// then what went, each in path order.
const CACHED_SQL: &str = "
SELECT c.path, c.old, MIN(c.seq), COALESCE(o.cached, 0)
FROM changes c LEFT JOIN originals o ON o.path = c.path
WHERE c.seq > ?1 AND c.kind = 1
GROUP BY c.path ORDER BY 4 DESC, c.path";

const PIN_SQL: &str = "
SELECT c.path, c.old, MIN(c.seq), c.source,
       EXISTS (SELECT 1 FROM pins p WHERE p.path = c.path AND p.source = c.source)
FROM changes c
WHERE c.seq > ?1 AND c.kind = 2
GROUP BY c.path, c.source ORDER BY 5 DESC, c.path, c.source";

const CONFLICT_SQL: &str = "
SELECT c.path, c.old, MIN(c.seq), c.old_detected, k.state, k.detected_ns
FROM changes c LEFT JOIN conflicts k ON k.path = c.path
WHERE c.seq > ?1 AND c.kind = 3
GROUP BY c.path ORDER BY k.state IS NULL, c.path";

/// Runs one of the queries above, decoding each row with `decode` (`None`: no change).
fn each_row(
    conn: &Connection,
    sql: &str,
    since: i64,
    decode: impl Fn(&Row) -> Result<Option<Change>>,
    each: &mut impl FnMut(Change),
) -> Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![since])?;
    while let Some(row) = rows.next()? {
        if let Some(change) = decode(row)? {
            each(change);
        }
    }
    Ok(())
}

fn cached_change(row: &Row) -> Result<Option<Change>> {
    let path = path(row)?;
    let before = int(row, 1)? != 0;
    let now = int(row, 3)? != 0;
    Ok((before != now).then_some(Change::Cached { path, now }))
}

fn pin_change(row: &Row) -> Result<Option<Change>> {
    let path = path(row)?;
    let before = int(row, 1)? != 0;
    let name: String = row.get(3)?;
    let source = PinSource::from_name(&name)
        .ok_or_else(|| StoreError::BadRow(format!("changes: unknown pin source {name:?}")))?;
    let now = int(row, 4)? != 0;
    Ok((before != now).then_some(Change::Pin { path, source, now }))
}

fn conflict_change(row: &Row) -> Result<Option<Change>> {
    let path = path(row)?;
    let before = mark(row, 1, 3)?;
    let now = mark(row, 4, 5)?;
    Ok((before != now).then_some(Change::Conflict { path, before, now }))
}

fn path(row: &Row) -> Result<RelPath> {
    match row.get_ref(0)? {
        ValueRef::Blob(bytes) => RelPath::new(bytes.to_vec())
            .map_err(|err| StoreError::BadRow(format!("changes: a path: {err}"))),
        _ => Err(StoreError::BadRow("changes: a path is not bytes".into())),
    }
}

fn int(row: &Row, i: usize) -> Result<i64> {
    match row.get_ref(i)? {
        ValueRef::Integer(n) => Ok(n),
        ValueRef::Null => Ok(0),
        _ => Err(StoreError::BadRow(
            "changes: a value is not an integer".into(),
        )),
    }
}

/// A conflict's state and time from columns `state` and `detected` (NULL: none).
fn mark(row: &Row, state: usize, detected: usize) -> Result<Option<ConflictMark>> {
    let code = match row.get_ref(state)? {
        ValueRef::Null => return Ok(None),
        ValueRef::Integer(code) => code,
        _ => {
            return Err(StoreError::BadRow(
                "changes: a state is not an integer".into(),
            ))
        }
    };
    let state = u8::try_from(code)
        .ok()
        .and_then(SyncState::from_code)
        .ok_or_else(|| StoreError::BadRow(format!("changes: unknown state {code}")))?;
    Ok(Some((state, int(row, detected)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_its_last_rows_only() {
        assert_eq!(
            CHANGE_LOG_KEEP, 100_000,
            "the trigger's literal says the same"
        );
        assert!(CREATE_CHANGE_LOG.contains("new.seq - 100000"));
    }
}
