//! Turning table rows into records and back, checking every stored value on the way
//! in: a value of the wrong type or out of range is a [`StoreError::BadRow`], never a
//! panic.

use crate::error::{Result, StoreError};
use crate::records::{ConflictRecord, JournalEntry, Original, Pin, PinSource};
use offline_core::{escape_bytes, Hash, Kind, Meta, RelPath, SyncOperation, SyncState};
use rusqlite::types::ValueRef;
use rusqlite::Row;

/// The column values of one row, read in place one by one with checks (no copy of
/// the row is made: originals are read for every item of a sync).
pub(crate) struct Cols<'r> {
    row: &'r Row<'r>,
}

impl<'r> Cols<'r> {
    /// Checks that the row has at least `count` columns.
    pub(crate) fn read(row: &'r Row<'r>, count: usize) -> rusqlite::Result<Cols<'r>> {
        let found = row.as_ref().column_count();
        if found < count {
            return Err(rusqlite::Error::InvalidColumnIndex(found));
        }
        Ok(Cols { row })
    }

    /// Column `i` (NULL when there is none).
    fn take(&mut self, i: usize) -> ValueRef<'r> {
        self.row.get_ref(i).unwrap_or(ValueRef::Null)
    }

    /// Column `i` as a path: bytes that form a valid [`RelPath`].
    fn path(&mut self, i: usize, table: &str) -> Result<RelPath> {
        match self.take(i) {
            ValueRef::Blob(bytes) => RelPath::new(bytes.to_vec()).map_err(|err| {
                StoreError::BadRow(format!("{table}: path {:?}: {err}", escape_bytes(bytes)))
            }),
            other => Err(StoreError::BadRow(format!(
                "{table}: a path is stored as {}, not as bytes",
                type_name(other)
            ))),
        }
    }

    fn int(&mut self, i: usize, name: &str) -> std::result::Result<i64, String> {
        match self.take(i) {
            ValueRef::Integer(n) => Ok(n),
            other => Err(wrong_type(name, "an integer", other)),
        }
    }

    /// Column `i` as text, borrowed from the row.
    fn str(&mut self, i: usize, name: &str) -> std::result::Result<&'r str, String> {
        match self.take(i) {
            ValueRef::Text(bytes) => {
                std::str::from_utf8(bytes).map_err(|_| format!("{name} is not valid UTF-8"))
            }
            other => Err(wrong_type(name, "text", other)),
        }
    }

    fn text(&mut self, i: usize, name: &str) -> std::result::Result<String, String> {
        self.str(i, name).map(str::to_string)
    }

    fn opt_text(&mut self, i: usize, name: &str) -> std::result::Result<Option<String>, String> {
        match self.take(i) {
            ValueRef::Null => Ok(None),
            ValueRef::Text(bytes) => String::from_utf8(bytes.to_vec())
                .map(Some)
                .map_err(|_| format!("{name} is not valid UTF-8")),
            other => Err(wrong_type(name, "text or NULL", other)),
        }
    }

    fn opt_blob(&mut self, i: usize, name: &str) -> std::result::Result<Option<&'r [u8]>, String> {
        match self.take(i) {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(bytes) => Ok(Some(bytes)),
            other => Err(wrong_type(name, "bytes or NULL", other)),
        }
    }

    fn flag(&mut self, i: usize, name: &str) -> std::result::Result<bool, String> {
        match self.int(i, name)? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(format!("{name} is {n}, not 0 or 1")),
        }
    }

    fn number<T: TryFrom<i64>>(&mut self, i: usize, name: &str) -> std::result::Result<T, String> {
        let n = self.int(i, name)?;
        T::try_from(n).map_err(|_| format!("{name} {n} is out of range"))
    }

    fn hash(&mut self, i: usize) -> std::result::Result<Option<Hash>, String> {
        match self.opt_blob(i, "hash")? {
            None => Ok(None),
            Some(bytes) => Hash::try_from(bytes)
                .map(Some)
                .map_err(|_| format!("hash has {} bytes, not 32", bytes.len())),
        }
    }

    fn meta_json(&mut self, i: usize, name: &str) -> std::result::Result<Option<Meta>, String> {
        match self.opt_text(i, name)? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|err| format!("{name} is not valid metadata: {err}")),
        }
    }
}

fn type_name(value: ValueRef<'_>) -> &'static str {
    match value {
        ValueRef::Null => "NULL",
        ValueRef::Integer(_) => "an integer",
        ValueRef::Real(_) => "a real number",
        ValueRef::Text(_) => "text",
        ValueRef::Blob(_) => "bytes",
    }
}

fn wrong_type(name: &str, wanted: &str, found: ValueRef<'_>) -> String {
    format!("{name} is {}, not {wanted}", type_name(found))
}

/// The error for a row whose path was read but whose other columns are bad.
fn bad(table: &str, path: &RelPath, message: String) -> StoreError {
    StoreError::BadRow(format!("{table}: {}: {message}", path.escaped()))
}

/// The columns of `originals`, in the order [`original`] reads them.
pub(crate) const ORIGINAL_COLUMNS: &str = "path, kind, size, mtime_ns, mode, hash, target, \
     local_identity, remote_identity, cached";
pub(crate) const ORIGINAL_COUNT: usize = 10;
/// The index of `cached` in [`ORIGINAL_COLUMNS`].
pub(crate) const CACHED_COLUMN: usize = 9;

/// Decodes an `originals` row.
pub(crate) fn original(mut cols: Cols) -> Result<(RelPath, Original)> {
    let path = cols.path(0, "originals")?;
    let original = original_fields(&mut cols).map_err(|m| bad("originals", &path, m))?;
    Ok((path, original))
}

fn original_fields(cols: &mut Cols) -> std::result::Result<Original, String> {
    let kind_name = cols.str(1, "kind")?;
    let kind = Kind::from_name(kind_name).ok_or_else(|| format!("unknown kind {kind_name:?}"))?;
    let meta = Meta {
        kind,
        size: cols.number(2, "size")?,
        mtime_ns: cols.int(3, "mtime_ns")?,
        mode: cols.number(4, "mode")?,
        hash: cols.hash(5)?,
        target: cols.opt_blob(6, "target")?.map(|t| t.to_vec().into()),
    };
    Ok(Original {
        meta,
        local_identity: cols.opt_text(7, "local_identity")?,
        remote_identity: cols.opt_text(8, "remote_identity")?,
        cached: cols.flag(CACHED_COLUMN, "cached")?,
    })
}

/// The columns of `conflicts`, in the order [`conflict`] reads them.
pub(crate) const CONFLICT_COLUMNS: &str = "path, state, detected_ns, original, local, remote";
pub(crate) const CONFLICT_COUNT: usize = 6;

/// Decodes a `conflicts` row.
pub(crate) fn conflict(mut cols: Cols) -> Result<ConflictRecord> {
    let path = cols.path(0, "conflicts")?;
    conflict_fields(&mut cols, path.clone()).map_err(|m| bad("conflicts", &path, m))
}

fn conflict_fields(cols: &mut Cols, path: RelPath) -> std::result::Result<ConflictRecord, String> {
    let code: u8 = cols.number(1, "state")?;
    let state = SyncState::from_code(code).ok_or_else(|| format!("unknown state {code}"))?;
    Ok(ConflictRecord {
        path,
        state,
        detected_ns: cols.int(2, "detected_ns")?,
        original: cols.meta_json(3, "original")?,
        local: cols.meta_json(4, "local")?,
        remote: cols.meta_json(5, "remote")?,
    })
}

/// The columns of `pins`, in the order [`pin`] reads them.
pub(crate) const PIN_COLUMNS: &str = "path, source, inherit";
pub(crate) const PIN_COUNT: usize = 3;

/// Decodes a `pins` row.
pub(crate) fn pin(mut cols: Cols) -> Result<Pin> {
    let path = cols.path(0, "pins")?;
    pin_fields(&mut cols, path.clone()).map_err(|m| bad("pins", &path, m))
}

fn pin_fields(cols: &mut Cols, path: RelPath) -> std::result::Result<Pin, String> {
    let name = cols.text(1, "source")?;
    let source = PinSource::from_name(&name).ok_or_else(|| format!("unknown source {name:?}"))?;
    Ok(Pin {
        path,
        source,
        inherit: cols.flag(2, "inherit")?,
    })
}

/// The columns of `journal`, in the order [`journal`] reads them.
pub(crate) const JOURNAL_COLUMNS: &str = "path, id, operation, detail, started_ns";
pub(crate) const JOURNAL_COUNT: usize = 5;

/// Decodes a `journal` row.
pub(crate) fn journal(mut cols: Cols) -> Result<JournalEntry> {
    let path = cols.path(0, "journal")?;
    journal_fields(&mut cols, path.clone()).map_err(|m| bad("journal", &path, m))
}

fn journal_fields(cols: &mut Cols, path: RelPath) -> std::result::Result<JournalEntry, String> {
    let id = cols.int(1, "id")?;
    let code: u8 = cols.number(2, "operation")?;
    let operation =
        SyncOperation::from_code(code).ok_or_else(|| format!("unknown operation {code}"))?;
    Ok(JournalEntry {
        id,
        path,
        operation,
        detail: cols.text(3, "detail")?,
        started_ns: cols.int(4, "started_ns")?,
    })
}

/// A size as SQLite's signed integer.
pub(crate) fn size_value(path: &RelPath, size: u64) -> Result<i64> {
    i64::try_from(size).map_err(|_| {
        StoreError::BadRow(format!(
            "{}: size {size} is too large to store",
            path.escaped()
        ))
    })
}

/// Optional metadata as the JSON text stored in `conflicts`.
pub(crate) fn meta_json(path: &RelPath, meta: Option<&Meta>) -> Result<Option<String>> {
    meta.map(serde_json::to_string).transpose().map_err(|err| {
        StoreError::BadRow(format!("{}: metadata not storable: {err}", path.escaped()))
    })
}
