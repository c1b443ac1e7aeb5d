//! The errors of the state database, each telling the person what to do next.

use std::path::{Path, PathBuf};

/// What went wrong with the state database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file is not there.
    #[error("the state database {path} does not exist; run `offline init` or `offline repair`")]
    Missing {
        /// The database file.
        path: PathBuf,
    },
    /// The file is not a database of ours, or SQLite found it damaged.
    #[error("the state database {path} is damaged ({detail}); run `offline repair` to rebuild it")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What was found wrong.
        detail: String,
    },
    /// The file was written by a newer program with a schema we do not know.
    #[error("the state database {path} has schema version {found}, newer than this program's {supported}; use a newer `offline`")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The version in the file.
        found: i64,
        /// The version this program knows ([`crate::SCHEMA_VERSION`]).
        supported: i64,
    },
    /// The disk that holds the database is full (or the quota is used up): the write
    /// was refused as a whole, so nothing written before is lost.
    #[error("the disk holding the state database {path} is full. Nothing was lost: what was done before is recorded, the rest waits for the next run; free some space on that disk, then run the command again")]
    DiskFull {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// `create` was asked for a file that is already there.
    #[error("the state database {path} already exists")]
    Exists {
        /// The database file.
        path: PathBuf,
    },
    /// Any other SQLite error (busy, I/O, full disk...).
    #[error("state database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A row holds a value this program cannot read back.
    #[error("a stored row is invalid: {0}")]
    BadRow(String),
}

/// The result of a state database call.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Turns SQLite's "not a database" and "corrupt" errors into [`StoreError::Corrupt`],
/// so that damage found at any time points the person to `offline repair`, and a
/// write refused for want of space (SQLite's "full", or an I/O error on a disk with
/// no space left) into [`StoreError::DiskFull`].
pub(crate) fn classify(path: &Path, error: StoreError) -> StoreError {
    match error {
        StoreError::Sqlite(inner) if is_damage(&inner) => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: inner.to_string(),
        },
        StoreError::Sqlite(inner) if is_full(&inner, path) => StoreError::DiskFull {
            path: path.to_path_buf(),
            detail: short_detail(&inner),
        },
        other => other,
    }
}

/// SQLite's own "database or disk is full", or an I/O error where the disk under
/// the database has no room left (growing the `-shm` or `-wal` file fails that way).
fn is_full(error: &rusqlite::Error, path: &Path) -> bool {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => true,
        Some(rusqlite::ErrorCode::SystemIoFailure) => no_space_under(path),
        _ => false,
    }
}

/// True when the file system holding `path` has (almost) no space or inodes left
/// for this user.
fn no_space_under(path: &Path) -> bool {
    let dir = path.parent().unwrap_or(path);
    match rustix::fs::statvfs(dir) {
        Ok(fs) => {
            let free = fs.f_bavail.saturating_mul(fs.f_frsize);
            free < 64 * 1024 || (fs.f_files > 0 && fs.f_favail == 0)
        }
        Err(_) => false,
    }
}

/// SQLite's message without its numeric codes.
fn short_detail(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
        rusqlite::Error::SqliteFailure(code, None) => format!("{:?}", code.code),
        other => other.to_string(),
    }
}

/// True for the SQLite errors that mean the file itself is bad.
fn is_damage(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_said_in_words() {
        let path = Path::new("/somewhere/.offline/state.db");
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        );
        let err = classify(path, StoreError::Sqlite(full));
        assert!(matches!(err, StoreError::DiskFull { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("/somewhere/.offline/state.db is full"),
            "{text}"
        );
        assert!(text.contains("Nothing was lost"), "{text}");
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert!(matches!(
            classify(path, StoreError::Sqlite(busy)),
            StoreError::Sqlite(_)
        ));
    }
}
