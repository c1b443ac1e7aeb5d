//! The cache on disk: finding and creating it, the lock that keeps two processes
//! apart, and the share it belongs to. Its folder layout is `layout.rs`'s.

use crate::error::{EngineError, Result};
use crate::layout;
use crate::private;
use crate::settings::{self, Setting};
use offline_core::{
    is_reserved_root_name, ConnectState, Kind, OfflineReason, RelPath, TempTag, CACHE_DIR_NAME,
    SHARE_MARKER,
};
use offline_remote::{DirRemote, Expect, Location, Remote, ShareOptions};
use offline_store::{Pin, PinSource, Store};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::layout::{CONFLICTS_DIR_NAME, STATE_DB_NAME};

pub use crate::settings::keys;

/// Options of `offline init`.
#[derive(Debug, Clone, Copy)]
pub struct InitOptions {
    /// Pin the root (a full mirror). Off: items stay ghosts until pinned or fetched.
    pub pin_root: bool,
}

/// An open cache: its folder, its state database and its share.
pub struct Cache {
    pub(crate) root: PathBuf,
    pub(crate) store: Store,
    pub(crate) local: DirRemote,
    pub(crate) share_location: String,
    /// The tag in the names of the temp files this cache makes, on both sides.
    pub(crate) temp: TempTag,
}

/// Holds the cache's lock until dropped.
pub struct CacheLock {
    _file: File,
}

/// How long [`Cache::lock`] waits for a lock another process holds (0: not at all).
static LOCK_WAIT_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Makes [`Cache::lock`] wait up to `wait` for a lock another process holds (the
/// background daemon's sync, say) instead of failing at once. For the whole process.
pub fn set_lock_wait(wait: std::time::Duration) {
    LOCK_WAIT_MS.store(
        wait.as_millis() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Cache {
    /// Makes `cache_dir` a new cache of the share `share`: a folder, or the URL of a
    /// network share (`webdav://`, `webdavs://`, `sftp://`, `s3://`), which is stored
    /// as given. Copies nothing: the first sync does. Writes the share marker if the
    /// share has none (through the share's backend, never through a symlink).
    ///
    /// Everything is checked before anything is made: a refused init (a bad URL, a
    /// cache inside the share, an unreachable share) leaves no folder behind.
    pub fn init(share: &OsStr, cache_dir: &Path, options: InitOptions) -> Result<Cache> {
        let url = share.to_str().filter(|s| offline_remote::is_url(s));
        let location = match url {
            Some(url) => {
                // A URL with a password is bad usage; the error never repeats the URL.
                Location::parse(url).map_err(|e| EngineError::Usage(e.message))?;
                url.to_string()
            }
            None => folder_share(Path::new(share))?.display().to_string(),
        };
        let root = planned_path(cache_dir)?;
        if url.is_none() {
            let share_root = Path::new(&location);
            if root.starts_with(share_root) || share_root.starts_with(&root) {
                return Err(EngineError::Usage(format!(
                    "the cache {} and the share {} must not lie inside each other",
                    root.display(),
                    share_root.display()
                )));
            }
        }
        let meta_dir = layout::meta_dir(&root);
        if layout::state_db(&meta_dir).exists() {
            return Err(EngineError::AlreadyACache { dir: root });
        }
        let fresh = offline_remote::fresh_temp_tag();
        ensure_share_marker(&location, &meta_dir, &fresh)?;
        fs::create_dir_all(cache_dir).map_err(io_err(cache_dir))?;
        let root = cache_dir.canonicalize().map_err(io_err(cache_dir))?;
        let meta_dir = layout::meta_dir(&root);
        private::make_private_dir(&meta_dir).map_err(io_err(&meta_dir))?;
        let conflicts = layout::conflicts_dir(&meta_dir);
        private::make_private_dirs(&conflicts).map_err(io_err(&conflicts))?;
        let temp = private::temp_tag(&meta_dir, || fresh.clone()).map_err(io_err(&meta_dir))?;
        let store = new_database(&meta_dir, &location, options.pin_root, false)?;
        let local = DirRemote::open(&root, &[CACHE_DIR_NAME])?.with_temp_tag(&temp);
        Ok(Cache {
            root,
            store,
            local,
            share_location: location,
            temp,
        })
    }

    /// Opens the cache that holds `dir` (searching upward, like git).
    pub fn open(dir: &Path) -> Result<Cache> {
        let start = dir.canonicalize().map_err(io_err(dir))?;
        let root =
            layout::find_root(&start).ok_or_else(|| crate::repair::no_database_error(&start))?;
        let db = layout::state_db(&layout::meta_dir(&root));
        let store = Store::open(&db)?;
        // A database without its share (a crash while repair made it) is damaged:
        // the message names `offline repair`, which rebuilds it.
        let share_location = store.setting(keys::SHARE)?.ok_or_else(|| {
            EngineError::Store(offline_store::StoreError::Corrupt {
                path: db.clone(),
                detail: "it does not say where the share is".to_string(),
            })
        })?;
        let temp = own_files(&layout::meta_dir(&root));
        let local = DirRemote::open(&root, &[CACHE_DIR_NAME])?.with_temp_tag(&temp);
        Ok(Cache {
            root,
            store,
            local,
            share_location,
            temp,
        })
    }

    /// The cache folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the share is.
    pub fn share_location(&self) -> &str {
        &self.share_location
    }

    /// The state database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// How many file copies a sync runs at once (`offline config --transfers`).
    /// An unreadable setting falls back to the default.
    pub fn transfers(&self) -> Result<usize> {
        let set = self.store.setting(keys::TRANSFERS)?;
        Ok(set
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| (1..=crate::MAX_TRANSFERS).contains(n))
            .unwrap_or(crate::DEFAULT_TRANSFERS))
    }

    /// Sets how many file copies a sync runs at once (1 to [`crate::MAX_TRANSFERS`]).
    pub fn set_transfers(&self, transfers: usize) -> Result<()> {
        if !(1..=crate::MAX_TRANSFERS).contains(&transfers) {
            return Err(EngineError::Usage(format!(
                "--transfers must be between 1 and {} (it was {transfers})",
                crate::MAX_TRANSFERS
            )));
        }
        settings::write(&self.store, &[Setting::Transfers(transfers)])
    }

    /// The cache's own folder (`.offline/`).
    pub fn meta_dir(&self) -> PathBuf {
        layout::meta_dir(&self.root)
    }

    /// Takes the cache's lock, failing if another process holds it (at once, or
    /// after the wait set by [`set_lock_wait`]).
    pub fn lock(&self) -> Result<CacheLock> {
        let wait = std::time::Duration::from_millis(
            LOCK_WAIT_MS.load(std::sync::atomic::Ordering::Relaxed),
        );
        let file = layout::lock(&self.meta_dir(), wait)?;
        Ok(CacheLock { _file: file })
    }

    /// Opens the share, checking that it is there and is the share this cache
    /// belongs to (its root holds the marker). An unmounted share is unreachable,
    /// never "everything deleted".
    pub fn connect_share(&self) -> Result<Box<dyn Remote>> {
        let unreachable = |reason: String| EngineError::Unreachable {
            share: self.share_location.clone(),
            reason,
        };
        let credentials = layout::credentials_file(&self.meta_dir());
        let options = ShareOptions {
            hidden: &[SHARE_MARKER],
            credentials: Some(&credentials),
            temp_tag: Some(&self.temp),
        };
        let share = offline_remote::open_share(&self.share_location, &options)
            .map_err(|e| unreachable(e.to_string()))?;
        let marker = RelPath::new(SHARE_MARKER.to_vec()).map_err(|e| unreachable(e.to_string()))?;
        match share.stat(&marker) {
            Ok(Some(_)) => Ok(share),
            Ok(None) => Err(unreachable(format!(
                "its root has no {} marker (is the share mounted?)",
                String::from_utf8_lossy(SHARE_MARKER)
            ))),
            Err(e) => Err(unreachable(e.to_string())),
        }
    }

    /// The share's connect state and offline reason, as last recorded.
    pub fn connect_state(&self) -> Result<(ConnectState, OfflineReason)> {
        let state = self
            .store
            .setting(keys::CONNECT_STATE)?
            .and_then(|s| ConnectState::from_name(&s))
            .unwrap_or(ConnectState::Unknown);
        let reason = self
            .store
            .setting(keys::OFFLINE_REASON)?
            .and_then(|s| OfflineReason::from_name(&s))
            .unwrap_or(OfflineReason::Unknown);
        Ok((state, reason))
    }

    /// Records the share's connect state.
    pub fn set_connect_state(&self, state: ConnectState, reason: OfflineReason) -> Result<()> {
        settings::write(
            &self.store,
            &[Setting::ConnectState(state), Setting::OfflineReason(reason)],
        )
    }

    /// Turns a path given by the person (absolute, or relative to the working folder)
    /// into an item path of this cache.
    pub fn item_path(&self, given: &Path) -> Result<RelPath> {
        let cwd = std::env::current_dir().map_err(io_err(Path::new(".")))?;
        let absolute = normalize(&cwd.join(given));
        let resolved = canonicalize_existing_prefix(&absolute);
        let rel = resolved.strip_prefix(&self.root).map_err(|_| {
            EngineError::Usage(format!(
                "{} is outside the cache {}",
                given.display(),
                self.root.display()
            ))
        })?;
        let bytes = rel.as_os_str().as_bytes().to_vec();
        let path = RelPath::new(bytes).map_err(|e| {
            EngineError::Usage(format!("{} is not a valid item path: {e}", given.display()))
        })?;
        if is_reserved_root_name(path.first_component()) {
            return Err(EngineError::Usage(format!(
                "{} is one of the cache's own files (.offline, .offline-share), which are never synced",
                given.display()
            )));
        }
        Ok(path)
    }
}

/// A folder share's real path; a missing folder is unreachable, a file bad usage.
fn folder_share(share: &Path) -> Result<PathBuf> {
    let root = share.canonicalize().map_err(|e| EngineError::Unreachable {
        share: share.display().to_string(),
        reason: format!("the share folder cannot be opened ({e})"),
    })?;
    if !root.is_dir() {
        return Err(EngineError::Usage(format!(
            "the share {} is not a folder",
            root.display()
        )));
    }
    Ok(root)
}

/// Where `dir` is, absolute with symlinks resolved as far as it exists, without
/// creating anything.
fn planned_path(dir: &Path) -> Result<PathBuf> {
    let cwd = std::env::current_dir().map_err(io_err(Path::new(".")))?;
    Ok(canonicalize_existing_prefix(&normalize(&cwd.join(dir))))
}

/// Writes the share marker through the share's backend if it has none: a temp file
/// renamed into place only where nothing is (never through a symlink), or a `PUT`
/// that the server makes only where nothing is. A marker that is no file (a folder,
/// a symlink) is refused. Credentials of a network share are read from
/// `<cache>/.offline/credentials` if present.
fn ensure_share_marker(location: &str, meta_dir: &Path, temp: &TempTag) -> Result<()> {
    let unreachable = |reason: String| EngineError::Unreachable {
        share: location.to_string(),
        reason,
    };
    let credentials = layout::credentials_file(meta_dir);
    let options = ShareOptions {
        hidden: &[],
        credentials: Some(&credentials),
        temp_tag: Some(temp),
    };
    let share =
        offline_remote::open_share(location, &options).map_err(|e| unreachable(e.to_string()))?;
    let marker = RelPath::new(SHARE_MARKER.to_vec()).map_err(|e| unreachable(e.to_string()))?;
    let refused = || {
        EngineError::Usage(format!(
            "the share's root holds a {} that is not a file (a folder or a symlink); remove it and run init again",
            String::from_utf8_lossy(SHARE_MARKER)
        ))
    };
    match share
        .stat(&marker)
        .map_err(|e| unreachable(e.to_string()))?
    {
        Some(found) if found.meta.kind == Kind::File => return Ok(()),
        Some(_) => return Err(refused()),
        None => {}
    }
    let mut text: &[u8] = MARKER_TEXT;
    match share.write_file(&marker, &mut text, 0o644, now_ns(), None, &Expect::Absent) {
        Ok(_) => Ok(()),
        Err(e) if e.kind == offline_remote::ErrorKind::Changed => Err(refused()),
        Err(e) if e.kind == offline_remote::ErrorKind::Unreachable => {
            Err(unreachable(e.to_string()))
        }
        Err(e) => Err(EngineError::Remote(e)),
    }
}

const MARKER_TEXT: &[u8] = b"This folder is a share of offline-files. Do not delete this file: without it, caches take the share as unreachable.\n";

/// Makes the state database of a new cache (or a rebuilt one) in `meta_dir`: the
/// initial settings of a cache of `share`, the root pinned if `pin_root`, the
/// running mark set if `interrupted` (what the last run left is unknown: recovery
/// cleans up before the first sync); then `.offline/share` names the share.
pub(crate) fn new_database(
    meta_dir: &Path,
    share: &str,
    pin_root: bool,
    interrupted: bool,
) -> Result<Store> {
    let mut store = Store::create(&layout::state_db(meta_dir))?;
    {
        let batch = store.transaction()?;
        settings::write_in(&batch, &settings::initial(share))?;
        if interrupted {
            settings::write_in(&batch, &[Setting::SyncRunning(true)])?;
        }
        if pin_root {
            batch.put_pin(&Pin {
                path: RelPath::root(),
                source: PinSource::User,
                inherit: true,
            })?;
        }
        batch.commit()?;
    }
    crate::repair::write_share_file(meta_dir, share)?;
    Ok(store)
}

/// Makes the cache's own folder private (a cache of an older version gets its
/// modes narrowed) and returns its temp tag. Neither stops a command: a folder that
/// cannot be changed (another user's cache, read-only) keeps working with a tag for
/// this run only.
fn own_files(meta_dir: &Path) -> TempTag {
    if let Err(e) = private::tighten(meta_dir) {
        tracing::warn!(
            "cannot make {} private (mode 0700): {e}",
            meta_dir.display()
        );
    }
    private::temp_tag(meta_dir, offline_remote::fresh_temp_tag).unwrap_or_else(|e| {
        tracing::warn!("cannot keep the temp tag in {}: {e}", meta_dir.display());
        offline_remote::fresh_temp_tag()
    })
}

/// Removes `.` and resolves `..` lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Canonicalizes the longest prefix that exists and appends the rest.
fn canonicalize_existing_prefix(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut cur = path.to_path_buf();
    loop {
        if let Ok(real) = cur.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (cur.file_name().map(|n| n.to_os_string()), cur.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                cur = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}
