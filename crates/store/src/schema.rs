//! The tables, the connection settings, and the checks that a file is a state
//! database of a version this program can read.

use crate::error::{Result, StoreError};
use crate::SCHEMA_VERSION;
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::time::Duration;

/// How long a call waits for another process's lock before failing with "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The tables every state database has.
const TABLES: [&str; 6] = [
    "meta",
    "settings",
    "originals",
    "conflicts",
    "pins",
    "journal",
];

const CREATE_TABLES: &str = "
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE originals (
    path BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    mode INTEGER NOT NULL,
    hash BLOB NULL,
    target BLOB NULL,
    local_identity TEXT NULL,
    remote_identity TEXT NULL,
    cached INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE conflicts (
    path BLOB PRIMARY KEY,
    state INTEGER NOT NULL,
    detected_ns INTEGER NOT NULL,
    original TEXT NULL,
    local TEXT NULL,
    remote TEXT NULL
);
CREATE TABLE pins (
    path BLOB NOT NULL,
    source TEXT NOT NULL,
    inherit INTEGER NOT NULL,
    PRIMARY KEY (path, source)
);
CREATE TABLE journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path BLOB NOT NULL,
    operation INTEGER NOT NULL,
    detail TEXT NOT NULL,
    started_ns INTEGER NOT NULL
);
";

/// Sets the lock wait only: safe on a file not yet known to be ours.
pub(crate) fn set_busy_timeout(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(())
}

/// Write-ahead log and durable commits. Writes to the file: call only on a file known
/// to be a state database (or a new one).
pub(crate) fn set_durability(conn: &Connection) -> Result<()> {
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// Makes the tables and records [`SCHEMA_VERSION`], in one transaction.
pub(crate) fn create(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch(CREATE_TABLES)?;
    crate::changes::ensure(&tx)?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
        params![SCHEMA_VERSION],
    )?;
    tx.commit()?;
    Ok(())
}

/// Checks, by reading only, that the file is a state database this program can use.
pub(crate) fn check(conn: &Connection, path: &Path) -> Result<()> {
    let corrupt = |detail: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let present = table_names(conn)?;
    if !present.iter().any(|name| name == "meta") {
        return Err(corrupt("it has no `meta` table".to_string()));
    }
    let found = match version(conn)? {
        Some(Value::Integer(n)) => n,
        Some(_) => return Err(corrupt("its schema version is not an integer".to_string())),
        None => return Err(corrupt("it has no schema version".to_string())),
    };
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found < 1 {
        return Err(corrupt(format!("schema version {found} is not valid")));
    }
    match TABLES
        .iter()
        .find(|table| !present.iter().any(|name| name == *table))
    {
        Some(table) => Err(corrupt(format!("it has no `{table}` table"))),
        None => Ok(()),
    }
}

/// The names of the tables in the file (fails on a file that is not a database).
fn table_names(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let names = stmt
        .query_map([], |row| row.get::<_, Value>(0))?
        .collect::<rusqlite::Result<Vec<Value>>>()?;
    Ok(names
        .into_iter()
        .filter_map(|name| match name {
            Value::Text(text) => Some(text),
            _ => None,
        })
        .collect())
}

/// The raw value of the schema version row, if there is one.
fn version(conn: &Connection) -> Result<Option<Value>> {
    let value = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |row| row.get::<_, Value>(0),
        )
        .optional()?;
    Ok(value)
}
