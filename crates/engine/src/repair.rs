//! `offline repair`: rebuilds a missing or damaged state database (safety rule 6).
//!
//! The damaged file is never deleted: it is renamed to `state.db.damaged-<UTC time>`
//! (with its `-wal` and `-shm` files). A fresh database is made, the share is found
//! again (from `.offline/share`, which `init` writes beside the database, or from
//! `--share`), and a sync runs that is planned with no base: items equal on both
//! sides are recorded, items on one side only are copied to the other, and items that
//! differ become conflicts for the person to settle. Nothing is overwritten.

use crate::cache::{now_ns, Cache};
use crate::conflict::utc_stamp;
use crate::error::{EngineError, Result};
use crate::layout::{self, STATE_DB_NAME};
use crate::prepare::PrepareOptions;
use crate::sink::{SyncSink, SyncSummary};
use offline_core::SyncControl;
use offline_store::Store;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

pub use crate::layout::SHARE_FILE_NAME;

/// Options of `offline repair`.
#[derive(Debug, Clone, Default)]
pub struct RepairOptions {
    /// The share, when `.offline/share` is missing or names the wrong place.
    pub share: Option<PathBuf>,
    /// Pin the root of the rebuilt cache (as `init` does unless `--no-pin`).
    pub pin_root: bool,
    /// Rebuild even a database that opens fine.
    pub force: bool,
}

/// What repair did.
#[derive(Debug)]
pub struct Repaired {
    /// The cache folder.
    pub root: PathBuf,
    /// Where the damaged database was moved (`None`: it was missing).
    pub moved_to: Option<PathBuf>,
    /// The share the new database points at.
    pub share: String,
    /// The sync that rebuilt the originals (`None`: the database was sound and
    /// nothing was done).
    pub summary: Option<SyncSummary>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `.offline/share` durably (temp file, fsync, rename, folder fsync).
pub(crate) fn write_share_file(meta_dir: &Path, location: &str) -> Result<()> {
    let path = layout::share_file(meta_dir);
    let temp = meta_dir.join(format!("{SHARE_FILE_NAME}.new"));
    let mut file = crate::private::private_file(&temp, true).map_err(io_err(&temp))?;
    file.write_all(location.as_bytes())
        .and_then(|_| file.write_all(b"\n"))
        .and_then(|_| file.sync_all())
        .map_err(io_err(&temp))?;
    fs::rename(&temp, &path).map_err(io_err(&path))?;
    File::open(meta_dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io_err(meta_dir))
}

/// The share named by `.offline/share`, if the file is there.
pub fn read_share_file(meta_dir: &Path) -> Option<String> {
    let text = fs::read_to_string(layout::share_file(meta_dir)).ok()?;
    let line = text.lines().next()?.trim_end();
    (!line.is_empty()).then(|| line.to_string())
}

/// The error for a folder without a state database: a cache whose database is
/// missing (its `.offline/` folder is there) points to `offline repair`.
pub(crate) fn no_database_error(start: &Path) -> EngineError {
    match layout::find_any_root(start) {
        Some(root) => EngineError::Store(offline_store::StoreError::Missing {
            path: layout::state_db(&layout::meta_dir(&root)),
        }),
        None => EngineError::NotACache {
            dir: start.to_path_buf(),
        },
    }
}

/// Renames `path` to `to`, if `path` is there; true when it was.
fn move_if_there(path: &Path, to: &Path) -> Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) => {
            fs::rename(path, to).map_err(io_err(path))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Moves the database and its companion files to `state.db.damaged-<UTC>`; the
/// new name of the database file, or `None` when there was none.
fn move_aside(meta_dir: &Path) -> Result<Option<PathBuf>> {
    let stamp = utc_stamp(now_ns());
    let mut base = format!("{STATE_DB_NAME}.damaged-{stamp}");
    let mut n = 2;
    while meta_dir.join(&base).exists() {
        base = format!("{STATE_DB_NAME}.damaged-{stamp}-{n}");
        n += 1;
    }
    let mut moved = None;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let from = meta_dir.join(format!("{STATE_DB_NAME}{suffix}"));
        let to = meta_dir.join(format!("{base}{suffix}"));
        if move_if_there(&from, &to)? && suffix.is_empty() {
            moved = Some(to);
        }
    }
    File::open(meta_dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io_err(meta_dir))?;
    Ok(moved)
}

impl Cache {
    /// Rebuilds the state database of the cache that holds `dir` by a full compare
    /// with no base, reporting the sync to `sink`. A database that opens fine is
    /// left alone unless `options.force`.
    pub fn repair(
        dir: &Path,
        options: &RepairOptions,
        sink: &mut dyn SyncSink,
    ) -> Result<Repaired> {
        let start = dir.canonicalize().map_err(io_err(dir))?;
        // The cache folder that holds `start`, whether or not its database opens.
        let root = layout::find_any_root(&start).ok_or(EngineError::NotACache { dir: start })?;
        let meta_dir = layout::meta_dir(&root);
        let db = layout::state_db(&meta_dir);
        let (moved_to, share) = {
            let _lock = layout::lock(&meta_dir, std::time::Duration::ZERO)?;
            let sound = match Store::open(&db) {
                // Sound: the cache opens (a database that a crash left half made,
                // with its tables but not yet its settings, is not).
                Ok(_) => Cache::open(&root).is_ok(),
                // A newer program's database is sound, only not readable here: it
                // is never set aside (its pins and conflicts would be lost).
                Err(err @ offline_store::StoreError::TooNew { .. }) => {
                    return Err(EngineError::Store(err))
                }
                Err(_) => false,
            };
            if sound && !options.force {
                let share = Cache::open(&root)?.share_location().to_string();
                return Ok(Repaired {
                    root,
                    moved_to: None,
                    share,
                    summary: None,
                });
            }
            let share = match &options.share {
                Some(given) => given
                    .canonicalize()
                    .map_err(|e| EngineError::Unreachable {
                        share: given.display().to_string(),
                        reason: format!("the share folder cannot be opened ({e})"),
                    })?
                    .display()
                    .to_string(),
                None => read_share_file(&meta_dir).ok_or_else(|| {
                    EngineError::Usage(format!(
                        "{} does not say where the share is; run `offline repair --share PATH`",
                        layout::share_file(&meta_dir).display()
                    ))
                })?,
            };
            let moved_to = move_aside(&meta_dir)?;
            // What the last run left is unknown: the database starts interrupted, so
            // that recovery cleans temp files on both sides before the compare.
            crate::cache::new_database(&meta_dir, &share, options.pin_root, true)?;
            (moved_to, share)
        };
        let mut cache = Cache::open(&root)?;
        let options = PrepareOptions {
            without_base: true,
            ..PrepareOptions::default()
        };
        let summary = cache.synchronize(&SyncControl::default(), &options, sink)?;
        Ok(Repaired {
            root,
            moved_to,
            share,
            summary: Some(summary),
        })
    }
}
