//! The cache's layout on disk, owned here only: the folder `.offline/` at the cache
//! root and what lies in it (the state database, the lock, the file naming the share,
//! the kept losing copies of conflicts, the discarded changes, the share's
//! credentials, and the files of the daemon and of the FUSE view that say what they
//! do), how a cache folder is found from a folder inside it, and the lock that keeps
//! two processes apart.

use crate::error::{EngineError, Result};
use offline_core::CACHE_DIR_NAME;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The state database inside `.offline/`.
pub const STATE_DB_NAME: &str = "state.db";
/// The folder inside `.offline/` where losing copies of conflicts are kept.
pub const CONFLICTS_DIR_NAME: &str = "conflicts";
/// The file in `.offline/` that names the share, so that repair can find it without
/// the state database.
pub const SHARE_FILE_NAME: &str = "share";
/// The folder inside `.offline/` where `evict --discard-changes` moves changed copies.
pub const DISCARDED_DIR_NAME: &str = "discarded";
/// The lock file inside `.offline/`.
const LOCK_NAME: &str = "lock";
/// The daemon's status file inside `.offline/` (what it does, when it syncs next).
pub const DAEMON_STATUS_NAME: &str = "daemon.json";
/// The lock a daemon holds inside `.offline/` while it serves the cache.
pub const DAEMON_LOCK_NAME: &str = "daemon.lock";
/// A running `offline mount`'s status file inside `.offline/` is
/// `mount-<pid>.json`.
const MOUNT_STATUS_PREFIX: &str = "mount-";
const MOUNT_STATUS_SUFFIX: &str = ".json";

/// The cache's own folder (`.offline/`) of the cache at `root`.
pub fn meta_dir(root: &Path) -> PathBuf {
    root.join(OsStr::from_bytes(CACHE_DIR_NAME))
}

/// The state database of the cache whose own folder is `meta_dir`.
pub fn state_db(meta_dir: &Path) -> PathBuf {
    meta_dir.join(STATE_DB_NAME)
}

/// The file naming the share.
pub fn share_file(meta_dir: &Path) -> PathBuf {
    meta_dir.join(SHARE_FILE_NAME)
}

/// The folder of the kept losing copies of conflicts.
pub fn conflicts_dir(meta_dir: &Path) -> PathBuf {
    meta_dir.join(CONFLICTS_DIR_NAME)
}

/// The folder of the discarded changes.
pub fn discarded_dir(meta_dir: &Path) -> PathBuf {
    meta_dir.join(DISCARDED_DIR_NAME)
}

/// The share's credentials (`offline_remote::CREDENTIALS_FILE`).
pub fn credentials_file(meta_dir: &Path) -> PathBuf {
    meta_dir.join(offline_remote::CREDENTIALS_FILE)
}

/// True when `name` (a file name inside `.offline/`) is the state database or its
/// write-ahead log and shared memory files.
pub fn is_state_db_name(name: &[u8]) -> bool {
    name.starts_with(STATE_DB_NAME.as_bytes())
}

/// The daemon's status file.
pub fn daemon_status(meta_dir: &Path) -> PathBuf {
    meta_dir.join(DAEMON_STATUS_NAME)
}

/// The daemon's lock file.
pub fn daemon_lock(meta_dir: &Path) -> PathBuf {
    meta_dir.join(DAEMON_LOCK_NAME)
}

/// The status file of the mount process `pid`.
pub fn mount_status(meta_dir: &Path, pid: u32) -> PathBuf {
    meta_dir.join(format!("{MOUNT_STATUS_PREFIX}{pid}{MOUNT_STATUS_SUFFIX}"))
}

/// True when `name` (a file name inside `.offline/`) is a mount's status file.
pub fn is_mount_status_name(name: &str) -> bool {
    name.strip_prefix(MOUNT_STATUS_PREFIX)
        .and_then(|rest| rest.strip_suffix(MOUNT_STATUS_SUFFIX))
        .is_some_and(|pid| pid.parse::<u32>().is_ok())
}

/// The temp file beside `file` that this process writes before renaming it over
/// `file` (`daemon.json.<pid>.tmp`): private to the writer, never read.
pub fn temp_beside(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(format!(".{}.tmp", std::process::id()));
    PathBuf::from(name)
}

/// The nearest folder at or above `start` whose `.offline/` holds a state database.
pub(crate) fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| state_db(&meta_dir(dir)).exists())
        .map(Path::to_path_buf)
}

/// The nearest folder at or above `start` with a `.offline/` folder, whether or not
/// its database is there (or can be opened).
pub(crate) fn find_any_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| meta_dir(dir).is_dir())
        .map(Path::to_path_buf)
}

/// Takes the lock of the cache whose own folder is `meta_dir`, waiting up to `wait`
/// for another process that holds it (zero: not at all); held until the file is
/// dropped.
pub(crate) fn lock(meta_dir: &Path, wait: Duration) -> Result<File> {
    let path = meta_dir.join(LOCK_NAME);
    let file = crate::private::private_file(&path, false).map_err(|source| EngineError::Io {
        path: path.clone(),
        source,
    })?;
    let started = Instant::now();
    while rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        if started.elapsed() >= wait {
            return Err(EngineError::Busy { lock: path });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_found_from_inside_and_the_lock_is_exclusive() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let inner = root.join("a/b");
        std::fs::create_dir_all(&inner).unwrap();
        assert_eq!(find_any_root(&inner), None);
        let meta = meta_dir(root);
        std::fs::create_dir(&meta).unwrap();
        assert_eq!(find_any_root(&inner).as_deref(), Some(root));
        assert_eq!(find_root(&inner), None, "no database yet");
        std::fs::write(state_db(&meta), b"").unwrap();
        assert_eq!(find_root(&inner).as_deref(), Some(root));
        let held = lock(&meta, Duration::ZERO).unwrap();
        assert!(matches!(
            lock(&meta, Duration::ZERO),
            Err(EngineError::Busy { .. })
        ));
        drop(held);
        assert!(lock(&meta, Duration::ZERO).is_ok());
    }

    #[test]
    fn the_files_of_the_daemon_and_the_mounts_are_named_here() {
        let meta = Path::new("/c/.offline");
        assert_eq!(daemon_status(meta), Path::new("/c/.offline/daemon.json"));
        assert_eq!(daemon_lock(meta), Path::new("/c/.offline/daemon.lock"));
        assert_eq!(
            mount_status(meta, 42),
            Path::new("/c/.offline/mount-42.json")
        );
        assert!(is_mount_status_name("mount-42.json"));
        assert!(!is_mount_status_name("mount-42.json.tmp"));
        assert!(!is_mount_status_name("mount-x.json"));
        assert!(is_state_db_name(b"state.db-wal"));
        assert!(!is_state_db_name(b"daemon.json"));
        let tmp = temp_beside(&daemon_status(meta));
        assert!(tmp.starts_with(meta));
        assert!(tmp.to_string_lossy().ends_with(".tmp"));
    }
}
