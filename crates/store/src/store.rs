//! Opening and creating the state database, and reading from it.

use crate::batch::{self, Batch};
use crate::error::{classify, Result, StoreError};
use crate::records::{ConflictRecord, JournalEntry, Original, Pin};
use crate::rows::{self, Cols};
use crate::schema;
use offline_core::RelPath;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Params, TransactionBehavior};
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// An open state database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Creates a new state database at `path` with an empty schema.
    ///
    /// Fails with [`StoreError::Exists`] if anything is at `path` already.
    pub fn create(path: &Path) -> Result<Store> {
        reserve(path)?;
        let made = Store::create_in_reserved(path).map_err(|err| classify(path, err));
        if made.is_err() {
            remove_files(path);
        }
        made
    }

    fn create_in_reserved(path: &Path) -> Result<Store> {
        let mut conn = Connection::open_with_flags(path, open_flags())?;
        schema::set_busy_timeout(&conn)?;
        schema::set_durability(&conn)?;
        schema::create(&mut conn)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing state database.
    ///
    /// Fails with [`StoreError::Missing`] if there is no file, [`StoreError::Corrupt`]
    /// if the file is not a state database (it is then left untouched), and
    /// [`StoreError::TooNew`] if a newer program wrote it.
    pub fn open(path: &Path) -> Result<Store> {
        check_file(path)?;
        let conn = Connection::open_with_flags(path, open_flags())
            .map_err(|err| opening_error(path, err))?;
        schema::set_busy_timeout(&conn)?;
        schema::check(&conn, path).map_err(|err| classify(path, err))?;
        schema::set_durability(&conn).map_err(|err| classify(path, err))?;
        // A database this user cannot write is still read; it has no change log
        // only if an older version made it.
        if let Err(err) = crate::changes::ensure(&conn) {
            if !is_read_only(&err) {
                return Err(classify(path, err));
            }
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The value of a setting, if it was set.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        self.run(|conn| {
            let value = conn
                .query_row(
                    "SELECT value FROM settings WHERE key = ?1",
                    params![key],
                    |row| row.get::<_, Option<String>>(0),
                )
                .optional()?;
            Ok(value.flatten())
        })
    }

    /// Sets a setting, in a transaction of its own.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.run(|conn| batch::set_setting(conn, key, value))
    }

    /// Sets several settings in one transaction (one flush instead of one each).
    pub fn set_settings(&self, pairs: &[(&str, &str)]) -> Result<()> {
        self.run(|conn| {
            let tx = conn.unchecked_transaction()?;
            for (key, value) in pairs {
                batch::set_setting(&tx, key, value)?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The original of one path, if it has one.
    pub fn original(&self, path: &RelPath) -> Result<Option<Original>> {
        let sql = format!(
            "SELECT {} FROM originals WHERE path = ?1",
            rows::ORIGINAL_COLUMNS
        );
        let found = self.run(|conn| {
            query(
                conn,
                &sql,
                params![path.as_bytes()],
                rows::ORIGINAL_COUNT,
                rows::original,
            )
        })?;
        Ok(found.into_iter().next().map(|(_, original)| original))
    }

    /// Every original, in no particular order.
    pub fn originals(&self) -> Result<Vec<(RelPath, Original)>> {
        let sql = format!("SELECT {} FROM originals", rows::ORIGINAL_COLUMNS);
        self.run(|conn| query(conn, &sql, [], rows::ORIGINAL_COUNT, rows::original))
    }

    /// The originals of the direct children of `dir` (the root: top-level items), in
    /// path-byte order. Walks the index from `dir/` and jumps over each subfolder's
    /// rows (one seek per subfolder), so a walk of the whole tree reads each row
    /// about once instead of once per level above it.
    pub fn originals_in(&self, dir: &RelPath) -> Result<Vec<(RelPath, Original)>> {
        self.children(dir, false)
    }

    /// The originals of the direct children of `dir` that have no cache copy
    /// (ghosts), in path-byte order; only those rows are decoded.
    pub fn ghosts_in(&self, dir: &RelPath) -> Result<Vec<(RelPath, Original)>> {
        self.children(dir, true)
    }

    fn children(&self, dir: &RelPath, ghosts_only: bool) -> Result<Vec<(RelPath, Original)>> {
        let mut low = dir.as_bytes().to_vec();
        if !dir.is_root() {
            low.push(b'/');
        }
        let prefix = low.len();
        // Everything below `dir` sorts before `dir` + ('/' + 1).
        let high = (!dir.is_root()).then(|| {
            let mut high = dir.as_bytes().to_vec();
            high.push(b'/' + 1);
            high
        });
        let sql = match high {
            Some(_) => format!(
                "SELECT {} FROM originals WHERE path >= ?1 AND path < ?2 ORDER BY path",
                rows::ORIGINAL_COLUMNS
            ),
            None => format!(
                "SELECT {} FROM originals WHERE path >= ?1 ORDER BY path",
                rows::ORIGINAL_COLUMNS
            ),
        };
        self.run(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut out = Vec::new();
            let mut from = low;
            loop {
                let mut rows = match &high {
                    Some(high) => stmt.query(params![from, high])?,
                    None => stmt.query(params![from])?,
                };
                let mut skip_to = None;
                while let Some(row) = rows.next()? {
                    let path = row.get_ref(0)?.as_blob().unwrap_or_default();
                    let rest = path.get(prefix..).unwrap_or_default();
                    if let Some(slash) = rest.iter().position(|&b| b == b'/') {
                        // A row inside the subfolder `rest[..slash]`: go past all of them.
                        let mut next = path[..prefix + slash].to_vec();
                        next.push(b'/' + 1);
                        skip_to = Some(next);
                        break;
                    }
                    if ghosts_only && row.get::<_, i64>(rows::CACHED_COLUMN)? != 0 {
                        continue;
                    }
                    out.push(rows::original(Cols::read(row, rows::ORIGINAL_COUNT)?)?);
                }
                match skip_to {
                    Some(next) => from = next,
                    None => return Ok(out),
                }
            }
        })
    }

    /// True when some item below `dir` (not `dir` itself) has no cache copy (a
    /// ghost). One index range probe, however big the folder.
    pub fn has_ghost_below(&self, dir: &RelPath) -> Result<bool> {
        if dir.is_root() {
            return self.run(|conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT 1 FROM originals WHERE path > ?1 AND cached = 0 LIMIT 1",
                )?;
                Ok(stmt.exists(params![Vec::<u8>::new()])?)
            });
        }
        // Descendants sort in ["dir/", "dir0"), '0' being the byte after '/'.
        let mut low = dir.as_bytes().to_vec();
        low.push(b'/');
        let mut high = dir.as_bytes().to_vec();
        high.push(b'/' + 1);
        self.run(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT 1 FROM originals WHERE path >= ?1 AND path < ?2 AND cached = 0 LIMIT 1",
            )?;
            Ok(stmt.exists(params![low, high])?)
        })
    }

    /// Calls `each` with the path of every item that has a cache copy, in byte
    /// order, one row at a time: nothing is collected, so memory does not grow with
    /// the tree.
    pub fn each_cached_path(&self, mut each: impl FnMut(&[u8])) -> Result<()> {
        self.run(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT path FROM originals WHERE cached = 1 ORDER BY path")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                if let Ok(path) = row.get_ref(0)?.as_blob() {
                    each(path);
                }
            }
            Ok(())
        })
    }

    /// How many originals there are.
    pub fn original_count(&self) -> Result<u64> {
        let count = self.run(|conn| {
            Ok(conn.query_row("SELECT COUNT(*) FROM originals", [], |row| {
                row.get::<_, i64>(0)
            })?)
        })?;
        u64::try_from(count).map_err(|_| StoreError::BadRow(format!("count {count} is negative")))
    }

    /// Every conflict, ordered by path bytes.
    pub fn conflicts(&self) -> Result<Vec<ConflictRecord>> {
        let sql = format!(
            "SELECT {} FROM conflicts ORDER BY path",
            rows::CONFLICT_COLUMNS
        );
        self.run(|conn| query(conn, &sql, [], rows::CONFLICT_COUNT, rows::conflict))
    }

    /// The conflict of one path, if it has one.
    pub fn conflict(&self, path: &RelPath) -> Result<Option<ConflictRecord>> {
        let sql = format!(
            "SELECT {} FROM conflicts WHERE path = ?1",
            rows::CONFLICT_COLUMNS
        );
        let found = self.run(|conn| {
            query(
                conn,
                &sql,
                params![path.as_bytes()],
                rows::CONFLICT_COUNT,
                rows::conflict,
            )
        })?;
        Ok(found.into_iter().next())
    }

    /// Every pin, ordered by path bytes, then source.
    pub fn pins(&self) -> Result<Vec<Pin>> {
        let sql = format!(
            "SELECT {} FROM pins ORDER BY path, source",
            rows::PIN_COLUMNS
        );
        self.run(|conn| query(conn, &sql, [], rows::PIN_COUNT, rows::pin))
    }

    /// The journal rows still pending (operations begun and not ended), by id.
    pub fn journal(&self) -> Result<Vec<JournalEntry>> {
        let sql = format!("SELECT {} FROM journal ORDER BY id", rows::JOURNAL_COLUMNS);
        self.run(|conn| query(conn, &sql, [], rows::JOURNAL_COUNT, rows::journal))
    }

    /// Starts a write transaction. It takes the write lock at once, and is rolled
    /// back unless [`Batch::commit`] is called.
    pub fn transaction(&mut self) -> Result<Batch<'_>> {
        let Store { conn, path } = self;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| classify(path, err.into()))?;
        Ok(Batch::new(tx, path))
    }

    /// Runs a call on the connection, reporting damage as [`StoreError::Corrupt`].
    pub(crate) fn run<T>(&self, call: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        call(&self.conn).map_err(|err| classify(&self.path, err))
    }
}

/// Runs a query and decodes every row, one at a time.
fn query<T, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    count: usize,
    decode: fn(Cols) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(Cols::read(row, count)?)?);
    }
    Ok(out)
}

/// True for SQLite's "attempt to write a readonly database".
fn is_read_only(err: &StoreError) -> bool {
    matches!(err, StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, _))
        if code.code == rusqlite::ErrorCode::ReadOnly)
}

/// Read-write, never create: `create` makes the file itself.
fn open_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

/// Makes the empty file for `create`, failing if anything is there already.
fn reserve(path: &Path) -> Result<()> {
    // Private to its owner (every name and hash is in it); SQLite gives its `-wal`
    // and `-shm` files the same mode.
    let made = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match made {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Err(StoreError::Exists {
            path: path.to_path_buf(),
        }),
        Err(err) => Err(cannot_open(path, &err)),
    }
}

/// Removes what a failed `create` left behind.
fn remove_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        // Best effort: the file may not exist, and the creation error is what matters.
        let _ = fs::remove_file(PathBuf::from(name));
    }
}

/// Checks what is at `path` before SQLite sees it: missing, or an empty file (which
/// SQLite would silently take for a new database).
fn check_file(path: &Path) -> Result<()> {
    match fs::metadata(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Err(StoreError::Missing {
            path: path.to_path_buf(),
        }),
        Ok(meta) if meta.is_file() && meta.len() == 0 && !has_wal(path) => {
            Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: "the file is empty".to_string(),
            })
        }
        _ => Ok(()),
    }
}

/// True when a non-empty write-ahead log lies beside the database file.
fn has_wal(path: &Path) -> bool {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    fs::metadata(PathBuf::from(name)).is_ok_and(|meta| meta.len() > 0)
}

/// The error for a failed open: missing if the file went away meanwhile.
fn opening_error(path: &Path, err: rusqlite::Error) -> StoreError {
    if !path.exists() {
        return StoreError::Missing {
            path: path.to_path_buf(),
        };
    }
    classify(path, err.into())
}

/// An I/O error while making the file, as SQLite's "cannot open".
fn cannot_open(path: &Path, err: &io::Error) -> StoreError {
    let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN);
    let message = format!("cannot create {}: {err}", path.display());
    StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, Some(message)))
}
