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
/// so that damage found at any time points the person to `offline repair`.
pub(crate) fn classify(path: &Path, error: StoreError) -> StoreError {
    match error {
        StoreError::Sqlite(inner) if is_damage(&inner) => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: inner.to_string(),
        },
        other => other,
    }
}

/// True for the SQLite errors that mean the file itself is bad.
fn is_damage(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt)
    )
}
