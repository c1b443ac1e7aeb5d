//! Share-side changes for the daemon: a change another client makes on the share
//! reaches the cache within seconds instead of at the next `sync_interval`.
//!
//! - SMB shares: the server's `CHANGE_NOTIFY` on the share's folder, whole tree,
//!   on a connection of its own; the paths it names are synced.
//! - Folder shares on a local filesystem: inotify on the share folder, as on the
//!   cache. On a network mount (cifs, NFS, FUSE, ...) inotify sees only what this
//!   machine does, never other clients: such shares are also polled, and
//!   `offline status` says so.
//! - WebDAV, SFTP, S3: a poll every `daemon.share_poll_interval` (default 60 s):
//!   the listing a no-change sync does (these servers announce nothing).
//!
//! Changes go to the cache's worker as [`Msg::ShareChanged`]; it syncs the named
//! paths (or everything) after the usual push delay.
//!
//! The same threads measure the share's round trip ([`ShareWatch::round_trip`],
//! the fastest of three requests, every [`MEASURE_EVERY`] at most) for the
//! worker's slow-link mode.

use crate::worker::Msg;
use offline_core::{is_temp_name, RelPath, SHARE_MARKER};
use offline_engine::Cache;
use offline_remote::{Location, ShareChanges, ShareOptions};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the watch waits before it connects again after losing the server.
const RECONNECT_AFTER: Duration = Duration::from_secs(15);
/// The longest a watch thread waits without looking at the stop flag.
const STEP: Duration = Duration::from_millis(500);
/// How often the round trip is measured at most.
pub const MEASURE_EVERY: Duration = Duration::from_secs(30);

/// The share's last measured round trip, shared with the worker.
type RoundTrip = Arc<std::sync::Mutex<Option<Duration>>>;

/// How the daemon learns of changes on a share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The SMB server announces them (`CHANGE_NOTIFY`).
    ServerNotify,
    /// inotify on a folder on a local filesystem.
    Inotify,
    /// inotify on a network mount (it sees only this machine's changes), plus a poll.
    NetworkMount(&'static str),
    /// A poll at the poll interval.
    Poll,
    /// Not watched (the watcher could not start); the scheduled syncs still run.
    None,
}

impl Mode {
    /// For `offline status`.
    pub fn describe(&self) -> String {
        match self {
            Mode::ServerNotify => "announced by the SMB server (change notify)".into(),
            Mode::Inotify => "seen at once (inotify on the share folder)".into(),
            Mode::NetworkMount(fs) => format!(
                "polled: the share folder is a {fs} mount, where inotify sees no changes other clients make"
            ),
            Mode::Poll => "polled (this kind of server announces nothing)".into(),
            Mode::None => "found by the scheduled syncs only (the watch could not start)".into(),
        }
    }
}

/// A running watch of one cache's share; stopped when dropped.
pub struct ShareWatch {
    mode: Mode,
    round_trip: RoundTrip,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    _inotify: Option<notify::RecommendedWatcher>,
}

impl ShareWatch {
    /// How changes are learnt.
    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// The share's round trip as last measured (`None`: a local folder, or not
    /// measured yet).
    pub fn round_trip(&self) -> Option<Duration> {
        *self.round_trip.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The fastest of three round trips to `share`, stored in `into`.
fn measure(share: &dyn offline_remote::Remote, into: &RoundTrip) {
    let best = (0..3).filter_map(|_| share.round_trip().ok()).min();
    if let Some(best) = best {
        *into.lock().unwrap_or_else(|p| p.into_inner()) = Some(best);
    }
}

impl Drop for ShareWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts watching the share of `cache`; changes are sent to its worker on `tx`.
pub fn start(cache: &Cache, tx: Sender<Msg>) -> ShareWatch {
    let stop = Arc::new(AtomicBool::new(false));
    let location = cache.share_location().to_string();
    let credentials = offline_engine::layout::credentials_file(&cache.meta_dir());
    let store_path = cache.store().path().to_path_buf();
    let round_trip: RoundTrip = Arc::default();
    let mut watch = ShareWatch {
        mode: Mode::None,
        round_trip: round_trip.clone(),
        stop: stop.clone(),
        thread: None,
        _inotify: None,
    };
    let poll_stop = stop.clone();
    let (poll_location, poll_credentials) = (location.clone(), credentials.clone());
    let poll_round_trip = round_trip.clone();
    let poll = |tx: Sender<Msg>| {
        spawn(move || {
            let share = Share {
                location: &poll_location,
                credentials: &poll_credentials,
                round_trip: &poll_round_trip,
            };
            poll_loop(&share, &store_path, &tx, &poll_stop)
        })
    };
    match Location::parse(&location) {
        Ok(Location::Dir(path)) => {
            let path = cache.root().join(path);
            watch._inotify = inotify(&path, tx.clone());
            match network_filesystem(&path) {
                Some(fs) => {
                    watch.mode = Mode::NetworkMount(fs);
                    watch.thread = poll(tx);
                }
                None if watch._inotify.is_some() => watch.mode = Mode::Inotify,
                None => {
                    watch.mode = Mode::Poll;
                    watch.thread = poll(tx);
                }
            }
        }
        Ok(Location::Smb { .. }) => {
            watch.mode = Mode::ServerNotify;
            watch.thread = spawn(move || {
                let share = Share {
                    location: &location,
                    credentials: &credentials,
                    round_trip: &round_trip,
                };
                smb_loop(&share, &tx, &stop)
            });
        }
        Ok(_) => {
            watch.mode = Mode::Poll;
            watch.thread = poll(tx);
        }
        Err(e) => tracing::warn!("the share's location cannot be read ({e}); not watched"),
    }
    watch
}

fn spawn(f: impl FnOnce() + Send + 'static) -> Option<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("share watch".into())
        .spawn(f)
        .map_err(|e| tracing::warn!("cannot start the share watch: {e}"))
        .ok()
}

/// Sleeps `total`, waking every [`STEP`] to look at `stop`; false when stopped.
fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) -> bool {
    let end = Instant::now() + total;
    while !stop.load(Ordering::SeqCst) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(STEP));
    }
    false
}

/// The poll interval as set now (read from the state database each round).
fn poll_interval(store: Option<&offline_store::Store>) -> Duration {
    let default = crate::settings::Settings::default().share_poll_interval;
    store
        .and_then(|s| {
            s.setting(crate::settings::keys::SHARE_POLL_INTERVAL)
                .ok()
                .flatten()
        })
        .and_then(|v| crate::settings::parse_duration(&v))
        .unwrap_or(default)
        .max(Duration::from_secs(1))
}

/// The share a watch thread looks at.
struct Share<'a> {
    location: &'a str,
    credentials: &'a Path,
    round_trip: &'a RoundTrip,
}

impl Share<'_> {
    fn open(&self) -> offline_remote::Result<Box<dyn offline_remote::Remote>> {
        let options = ShareOptions {
            hidden: &[SHARE_MARKER],
            credentials: Some(self.credentials),
            // The watch writes nothing on the share.
            temp_tag: None,
        };
        offline_remote::open_share(self.location, &options)
    }
}

/// Measures the round trip, then asks the worker for a full look, every poll
/// interval.
fn poll_loop(share: &Share<'_>, store_path: &Path, tx: &Sender<Msg>, stop: &AtomicBool) {
    let store = offline_store::Store::open(store_path).ok();
    let mut measured: Option<Instant> = None;
    loop {
        if measured.is_none_or(|at| at.elapsed() >= MEASURE_EVERY) {
            if let Ok(remote) = share.open() {
                measure(remote.as_ref(), share.round_trip);
            }
            measured = Some(Instant::now());
        }
        if !sleep_unless_stopped(poll_interval(store.as_ref()), stop) {
            return;
        }
        if tx.send(Msg::ShareChanged(None)).is_err() {
            return;
        }
    }
}

/// Keeps a `CHANGE_NOTIFY` watch on the SMB share, connecting again after the
/// server went away. Each time the watch is armed, the worker is asked for one
/// full look: what changed before (while connecting, or while the server was
/// away) was not announced.
fn smb_loop(share: &Share<'_>, tx: &Sender<Msg>, stop: &AtomicBool) {
    let location = share.location;
    while !stop.load(Ordering::SeqCst) {
        let armed = share.open().and_then(|share| {
            match share.watch_changes() {
                Some(Ok(mut watch)) => {
                    // The first wait arms the watch on the server.
                    let first = watch.wait(Duration::ZERO)?;
                    Ok(Some((watch, share, first)))
                }
                Some(Err(e)) => Err(e),
                None => Ok(None),
            }
        });
        let (mut watch, remote, first) = match armed {
            Ok(Some(armed)) => armed,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!("share watch: {e}");
                if !sleep_unless_stopped(RECONNECT_AFTER, stop) {
                    return;
                }
                continue;
            }
        };
        tracing::info!("share watch: the server announces changes of {location}");
        if tx.send(Msg::ShareChanged(None)).is_err() {
            return;
        }
        let mut next = Ok(first);
        let mut measured: Option<Instant> = None;
        while !stop.load(Ordering::SeqCst) {
            if measured.is_none_or(|at| at.elapsed() >= MEASURE_EVERY) {
                measure(remote.as_ref(), share.round_trip);
                measured = Some(Instant::now());
            }
            let msg = match next {
                Ok(None) => None,
                Ok(Some(ShareChanges::Paths(paths))) => Some(Msg::ShareChanged(Some(paths))),
                Ok(Some(ShareChanges::Unknown)) => Some(Msg::ShareChanged(None)),
                Err(e) => {
                    tracing::info!("share watch: lost the server ({e}); trying again");
                    break;
                }
            };
            if let Some(msg) = msg {
                if tx.send(msg).is_err() {
                    return;
                }
            }
            next = watch.wait(STEP);
        }
        drop(watch);
        drop(remote);
        if !sleep_unless_stopped(RECONNECT_AFTER, stop) {
            return;
        }
    }
}

/// inotify on the share folder, recursive; `None` (with a note) when it cannot.
fn inotify(share: &Path, tx: Sender<Msg>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let root = share.to_path_buf();
    let handler = move |event: notify::Result<notify::Event>| {
        if let Some(msg) = share_message(&root, event) {
            let _ = tx.send(msg);
        }
    };
    let mut watcher = notify::recommended_watcher(handler)
        .map_err(|e| tracing::warn!("cannot start the share folder's watcher: {e}"))
        .ok()?;
    watcher
        .watch(share, notify::RecursiveMode::Recursive)
        .map_err(|e| tracing::warn!("cannot watch the share folder {}: {e}", share.display()))
        .ok()?;
    Some(watcher)
}

/// A watcher event in the share folder as a message for the worker.
fn share_message(root: &Path, event: notify::Result<notify::Event>) -> Option<Msg> {
    use notify::event::{AccessKind, AccessMode, EventKind};
    let event = match event {
        Ok(e) => e,
        Err(_) => return Some(Msg::ShareChanged(None)),
    };
    if event.need_rescan() || event.kind == EventKind::Other {
        return Some(Msg::ShareChanged(None));
    }
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return None,
        _ => {}
    }
    let paths: Vec<RelPath> = event
        .paths
        .iter()
        .filter_map(|p| share_item(root, p))
        .collect();
    (!paths.is_empty()).then_some(Msg::ShareChanged(Some(paths)))
}

/// The item a path in the share folder is, leaving out the marker and temp files.
fn share_item(root: &Path, path: &Path) -> Option<RelPath> {
    let rel = path.strip_prefix(root).ok()?;
    let bytes = rel.as_os_str().as_bytes();
    if bytes.is_empty() || bytes == SHARE_MARKER {
        return None;
    }
    if bytes.split(|b| *b == b'/').any(is_temp_name) {
        return None;
    }
    RelPath::new(bytes.to_vec()).ok()
}

/// The kind of network filesystem `path` is on, if it is on one (inotify sees
/// no changes other clients make there).
fn network_filesystem(path: &Path) -> Option<&'static str> {
    let stat = rustix::fs::statfs(path).ok()?;
    #[allow(clippy::unnecessary_cast)]
    network_kind(stat.f_type as i64)
}

fn network_kind(magic: i64) -> Option<&'static str> {
    Some(match magic as u32 {
        0xFF53_4D42 | 0xFE53_4D42 | 0x0000_517B => "cifs/SMB",
        0x0000_6969 => "NFS",
        0x6573_5546 => "FUSE",
        0x0102_1997 => "9p",
        0x00C3_6400 => "Ceph",
        0x5346_414F => "AFS",
        0x7375_7245 => "Coda",
        0x0000_564C => "NCP",
        _ => return None,
    })
}

/// Where the share folder of a folder share is (for tests and messages).
pub fn share_folder(cache: &Cache) -> Option<PathBuf> {
    match Location::parse(cache.share_location()).ok()? {
        Location::Dir(path) => Some(cache.root().join(path)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_folder_events_name_items_but_not_the_marker_or_temp_files() {
        let root = Path::new("/srv/share");
        assert_eq!(
            share_item(root, Path::new("/srv/share/a/b.txt")),
            Some(RelPath::from_str_lossy("a/b.txt").unwrap())
        );
        assert_eq!(
            share_item(root, Path::new("/srv/share/.offline-share")),
            None
        );
        assert_eq!(
            share_item(
                root,
                Path::new("/srv/share/a/.offline-tmp-00000000000000ff-0000000000000001")
            ),
            None
        );
        // A person's file that only looks like a temp file is an item.
        assert_eq!(
            share_item(root, Path::new("/srv/share/a/.offline-tmp-notes")),
            Some(RelPath::from_str_lossy("a/.offline-tmp-notes").unwrap())
        );
        assert_eq!(share_item(root, Path::new("/srv/share")), None);
        assert_eq!(share_item(root, Path::new("/elsewhere/x")), None);
    }

    #[test]
    fn network_filesystems_are_recognized() {
        assert_eq!(network_kind(0xFF53_4D42), Some("cifs/SMB"));
        assert_eq!(network_kind(0x6969), Some("NFS"));
        assert_eq!(network_kind(0xEF53), None, "ext4 is local");
        assert!(Mode::NetworkMount("NFS")
            .describe()
            .contains("inotify sees no changes"));
    }
}
