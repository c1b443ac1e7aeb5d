//! One cache served by the daemon: a thread that watches the cache folder (inotify
//! through `notify`), pushes local changes after a short quiet time, runs the
//! scheduled full syncs (interval plus random jitter, never in the blackout window),
//! rescans the cache folder periodically (inotify queues overflow), tries an
//! unreachable share again every retry interval and goes back online by itself, and
//! publishes what happens as events.

use crate::bus::Bus;
use crate::cached_set::CachedSet;
use crate::events::{id, Event};
use crate::outcome::SyncOutcome;
use crate::rescan;
use crate::settings::{local_minute_now, Settings};
use crate::sink::{conflict_set, new_sync_id, publish_conflict_changes, ConflictSet, EventSink};
use crate::status::{self, DaemonStatus};
use offline_core::{ConnectState, OfflineReason, RelPath, SyncControl};
use offline_engine::cache::now_ns;
use offline_engine::{Cache, EngineError, PrepareOptions};
use offline_store::Store;
use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// More changed paths than this in one push: sync everything instead.
const MAX_SCOPE: usize = 256;
/// Changed paths kept for item_modified events per push at most.
const MAX_MODIFIED_EVENTS: usize = 10_000;
/// How long a busy cache (another `offline` command holds its lock) waits.
const BUSY_RETRY: Duration = Duration::from_secs(2);
/// After a failed background sync, wait this long before pushing again.
const ERROR_BACKOFF: Duration = Duration::from_secs(30);
/// The longest the loop sleeps without looking at the clock and the settings.
const TICK: Duration = Duration::from_millis(500);
/// On a slow link, background syncs copy files larger than this only in the
/// slow-link window.
pub const LARGE_FILE: u64 = 1024 * 1024;

/// What the watcher and the daemon tell a worker.
#[derive(Debug)]
pub enum Msg {
    /// Items of the cache changed (created, written, removed).
    Changed(Vec<RelPath>),
    /// An item was renamed inside the cache.
    Renamed(RelPath, RelPath),
    /// The state database changed (another `offline` command, the FUSE view).
    StateChanged,
    /// The watcher lost events: rescan.
    Overflow,
    /// Items of the share changed (`None`: it is not known which), as the share
    /// watch saw (see `share_watch`).
    ShareChanged(Option<Vec<RelPath>>),
    /// Look at the stop flag now.
    Wake,
}

/// Why a background sync runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Startup,
    Scheduled,
    Push,
    Rescan,
    Reconnect,
    ShareChange,
}

impl Reason {
    fn name(self) -> &'static str {
        match self {
            Reason::Startup => "startup",
            Reason::Scheduled => "scheduled",
            Reason::Push => "push",
            Reason::Rescan => "rescan",
            Reason::Reconnect => "reconnect",
            Reason::ShareChange => "share_change",
        }
    }
}

/// What the daemon knows of a cache's items, to tell what changed between looks.
#[derive(Default)]
struct Snapshot {
    pins: BTreeSet<(RelPath, &'static str)>,
    cached: CachedSet,
    conflicts: ConflictSet,
}

/// Turns a watcher event into a message for the worker of `root`.
pub fn message_for(root: &Path, event: notify::Result<notify::Event>) -> Option<Msg> {
    use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
    let event = match event {
        Ok(e) => e,
        Err(_) => return Some(Msg::Overflow),
    };
    if event.need_rescan() {
        return Some(Msg::Overflow);
    }
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return None,
        EventKind::Other => return Some(Msg::Overflow),
        _ => {}
    }
    let mut state_changed = false;
    let mut paths = Vec::new();
    for p in &event.paths {
        match classify(root, p) {
            Classified::Item(rel) => paths.push(rel),
            Classified::StateDb => state_changed = true,
            Classified::Ignored => {}
        }
    }
    if let EventKind::Modify(ModifyKind::Name(RenameMode::Both)) = event.kind {
        if paths.len() == 2 {
            let to = paths.pop()?;
            let from = paths.pop()?;
            return Some(Msg::Renamed(from, to));
        }
    }
    if !paths.is_empty() {
        Some(Msg::Changed(paths))
    } else if state_changed {
        Some(Msg::StateChanged)
    } else {
        None
    }
}

enum Classified {
    Item(RelPath),
    StateDb,
    Ignored,
}

fn classify(root: &Path, path: &Path) -> Classified {
    let Ok(rel) = path.strip_prefix(root) else {
        return Classified::Ignored;
    };
    let bytes = rel.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Classified::Ignored;
    }
    let mut parts = bytes.split(|b| *b == b'/');
    if parts.next() == Some(offline_core::CACHE_DIR_NAME) {
        let name = rel.file_name().map(|n| n.as_bytes()).unwrap_or(b"");
        return if name.starts_with(b"state.db") && rel.components().count() == 2 {
            Classified::StateDb
        } else {
            Classified::Ignored
        };
    }
    if bytes.split(|b| *b == b'/').any(offline_core::is_temp_name) {
        return Classified::Ignored;
    }
    match RelPath::new(bytes.to_vec()) {
        Ok(rel) => Classified::Item(rel),
        Err(_) => Classified::Ignored,
    }
}

/// Keeps only the top-most paths (a folder covers what is inside it).
fn collapse(paths: &BTreeSet<RelPath>) -> Vec<RelPath> {
    let mut out: Vec<RelPath> = Vec::new();
    for p in paths {
        if out.iter().any(|top| top.contains(p)) {
            continue;
        }
        out.retain(|top| !p.contains(top));
        out.push(p.clone());
    }
    out
}

/// The worker of one cache.
pub struct Worker {
    root: PathBuf,
    meta_dir: PathBuf,
    cache: Cache,
    /// The cache folder, to tell a sync's own writes from a person's.
    local: Option<offline_remote::DirRemote>,
    bus: Bus,
    stop: Arc<AtomicBool>,
    rx: Receiver<Msg>,
    _watcher: Option<notify::RecommendedWatcher>,
    /// Changes on the share side (see `share_watch`).
    share_watch: Option<crate::share_watch::ShareWatch>,
    /// The pending push was asked for by the share watch only.
    share_push: bool,
    /// The slow-link window was open at the last look (its opening starts a sync).
    slow_window_open: bool,
    settings: Settings,
    settings_read: Instant,
    /// When the next scheduled full sync is due.
    next_full: Instant,
    /// A push waits until then (debounce), and at most until `push_deadline`.
    push_due: Option<Instant>,
    push_deadline: Option<Instant>,
    /// Changed paths not synced yet.
    unsynced: BTreeSet<RelPath>,
    /// Everything changed: the next push syncs the whole cache.
    unsynced_all: bool,
    /// Changed paths and renames not announced yet (item_modified, item_renamed).
    unannounced: BTreeSet<RelPath>,
    renames: Vec<(RelPath, RelPath)>,
    next_rescan: Instant,
    next_retry: Option<Instant>,
    /// When to check next that an online share is still there.
    next_probe: Instant,
    backoff_until: Option<Instant>,
    connect: (ConnectState, OfflineReason),
    snapshot: Snapshot,
    state_changed: Option<Instant>,
    started_ns: i64,
    last_sync_ns: Option<i64>,
    last_result: Option<SyncOutcome>,
    written_status: Option<DaemonStatus>,
    /// Changes at or below excluded paths are dropped.
    excluded: crate::excluded::ExcludeFilter,
    /// The Sync Center's address, for `daemon.json`.
    ui: Option<String>,
}

fn instant_to_ns(at: Instant) -> i64 {
    let now = Instant::now();
    if at >= now {
        now_ns() + (at - now).as_nanos() as i64
    } else {
        now_ns() - (now - at).as_nanos() as i64
    }
}

fn jittered(interval: Duration, jitter: Duration) -> Duration {
    let extra = if jitter.is_zero() {
        0
    } else {
        fastrand::u64(0..=jitter.as_millis() as u64)
    };
    interval + Duration::from_millis(extra)
}

impl Worker {
    /// Opens the cache at `root` and starts watching it. `tx` is the sender of this
    /// worker's own channel (the watcher sends through it).
    pub fn new(
        root: &Path,
        bus: Bus,
        stop: Arc<AtomicBool>,
        tx: Sender<Msg>,
        rx: Receiver<Msg>,
    ) -> anyhow::Result<Worker> {
        let cache = Cache::open(root)?;
        let root = cache.root().to_path_buf();
        let meta_dir = cache.meta_dir();
        // A test hook: no watcher, so only the periodic rescan finds local changes
        // (as after an inotify queue overflow).
        let (watcher, share_watch) = if std::env::var_os("OFFLINE_DAEMON_NO_WATCH").is_some() {
            (None, None)
        } else {
            let share_watch = crate::share_watch::start(&cache, tx.clone());
            (watch(&root, tx), Some(share_watch))
        };
        let settings = Settings::load(&cache);
        let now = Instant::now();
        let local = offline_remote::DirRemote::open(&root, &[offline_core::CACHE_DIR_NAME]).ok();
        let mut worker = Worker {
            local,
            root,
            meta_dir,
            connect: cache
                .connect_state()
                .unwrap_or((ConnectState::Unknown, OfflineReason::Unknown)),
            cache,
            bus,
            stop,
            rx,
            _watcher: watcher,
            share_watch,
            share_push: false,
            slow_window_open: false,
            next_full: now,
            push_due: None,
            push_deadline: None,
            unsynced: BTreeSet::new(),
            unsynced_all: false,
            unannounced: BTreeSet::new(),
            renames: Vec::new(),
            next_rescan: now + settings.rescan_interval,
            next_retry: None,
            next_probe: now + settings.retry_interval,
            backoff_until: None,
            snapshot: Snapshot::default(),
            state_changed: None,
            started_ns: now_ns(),
            last_sync_ns: None,
            last_result: None,
            written_status: None,
            excluded: Default::default(),
            ui: None,
            settings,
            settings_read: now,
        };
        worker.snapshot = worker.take_snapshot();
        if worker.connect.0 == ConnectState::Offline
            && worker.connect.1 != OfflineReason::ConnectionForced
        {
            // Offline since before the daemon started: try now.
            worker.next_retry = Some(now);
        }
        Ok(worker)
    }

    /// Records the Sync Center's address in `daemon.json`.
    pub fn with_ui(mut self, url: Option<String>) -> Worker {
        self.ui = url;
        self
    }

    /// The cache folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Serves the cache until the stop flag is set.
    pub fn run(mut self) {
        tracing::info!(cache = %self.root.display(), "serving");
        self.bus.publish(
            &Event::for_cache(id::SERVICE_STARTED, &self.root)
                .with("pid", std::process::id())
                .with("share", self.cache.share_location()),
        );
        while !self.stopping() {
            self.reload_settings();
            self.check_connect_state();
            if let Some(at) = self.state_changed {
                if Instant::now() >= at {
                    self.state_changed = None;
                    self.diff_state();
                }
            }
            self.act();
            self.write_status(None);
            if self.stopping() {
                break;
            }
            self.wait();
        }
        self.write_status(Some("stopping"));
        self.bus
            .publish(&Event::for_cache(id::SERVICE_STOPPED, &self.root));
        status::remove(&self.meta_dir);
        tracing::info!(cache = %self.root.display(), "stopped");
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn reload_settings(&mut self) {
        if self.settings_read.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.settings_read = Instant::now();
        let new = Settings::load(&self.cache);
        if new != self.settings {
            let now = Instant::now();
            if new.sync_interval != self.settings.sync_interval
                || new.sync_jitter != self.settings.sync_jitter
            {
                self.next_full = now + jittered(new.sync_interval, new.sync_jitter);
            }
            if new.rescan_interval != self.settings.rescan_interval {
                self.next_rescan = now + new.rescan_interval;
            }
            if new.retry_interval != self.settings.retry_interval {
                if let Some(at) = self.next_retry {
                    self.next_retry = Some(at.min(now + new.retry_interval));
                }
            }
            self.settings = new;
        }
    }

    /// Waits for the next message or deadline, then takes every queued message.
    fn wait(&mut self) {
        let now = Instant::now();
        let mut deadline = now + TICK;
        for at in [
            Some(self.next_full),
            self.push_due,
            Some(self.next_rescan),
            self.next_retry,
            Some(self.next_probe),
            self.state_changed,
        ]
        .into_iter()
        .flatten()
        {
            deadline = deadline.min(at);
        }
        let timeout = deadline.saturating_duration_since(now);
        match self.rx.recv_timeout(timeout) {
            Ok(msg) => self.take(msg),
            Err(RecvTimeoutError::Timeout) => return,
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(timeout);
                return;
            }
        }
        while let Ok(msg) = self.rx.try_recv() {
            self.take(msg);
        }
    }

    fn take(&mut self, msg: Msg) {
        let now = Instant::now();
        // A push asked for by the share watch alone says so in its reason.
        let from_share = matches!(msg, Msg::ShareChanged(_));
        let only_share = self.push_due.is_none() || self.share_push;
        let changed = |w: &mut Worker, p: RelPath| {
            if w.unannounced.len() < MAX_MODIFIED_EVENTS {
                w.unannounced.insert(p.clone());
            }
            w.unsynced.insert(p);
        };
        match msg {
            Msg::Changed(mut paths) => {
                if let Some(local) = &self.local {
                    self.excluded.retain(&self.cache, local, &mut paths);
                }
                let mut any = false;
                for p in paths {
                    if !self.is_echo(&p) {
                        changed(self, p);
                        any = true;
                    }
                }
                if !any {
                    return;
                }
            }
            Msg::Renamed(from, to) if self.is_echo(&from) && self.is_echo(&to) => return,
            Msg::Renamed(from, to) if self.all_excluded(&[&from, &to]) => return,
            Msg::Renamed(from, to) => {
                self.unsynced.insert(from.clone());
                self.unsynced.insert(to.clone());
                self.renames.push((from, to));
            }
            Msg::Overflow => {
                self.unsynced_all = true;
            }
            Msg::ShareChanged(Some(paths)) => self.unsynced.extend(paths),
            Msg::ShareChanged(None) => self.unsynced_all = true,
            Msg::StateChanged => {
                if self.state_changed.is_none() {
                    self.state_changed = Some(now + Duration::from_millis(300));
                }
                return;
            }
            Msg::Wake => return,
        }
        self.share_push = from_share && only_share;
        if self.unsynced.len() > MAX_SCOPE {
            self.unsynced_all = true;
        }
        self.push_due = Some(now + self.settings.push_delay);
        if self.push_deadline.is_none() {
            let cap = (self.settings.push_delay * 10).max(Duration::from_secs(5));
            self.push_deadline = Some(now + cap);
        }
    }

    /// True when the cache copy of `path` is exactly what the state database
    /// recorded (same stat fingerprint), or neither exists: the change seen was a
    /// sync's own write (this daemon's, a fetch through the FUSE view...), not a
    /// person's edit.
    fn is_echo(&self, path: &RelPath) -> bool {
        use offline_remote::Remote;
        let Some(local) = &self.local else {
            return false;
        };
        let original = match self.cache.store().original(path) {
            Ok(o) => o,
            Err(_) => return false,
        };
        let now = match local.stat(path) {
            Ok(s) => s,
            Err(_) => return false,
        };
        match (original, now) {
            (None, None) => true,
            (Some(o), Some(s)) => {
                o.cached && o.local_identity.as_deref() == Some(s.identity.as_str())
            }
            _ => false,
        }
    }

    fn all_excluded(&mut self, paths: &[&RelPath]) -> bool {
        let Some(local) = &self.local else {
            return false;
        };
        self.excluded.all_excluded(&self.cache, local, paths)
    }

    fn in_blackout(&self) -> bool {
        self.settings
            .blackout
            .is_some_and(|b| b.contains(local_minute_now()))
    }

    /// Does what is due.
    fn act(&mut self) {
        let now = Instant::now();
        let push_ready = match (self.push_due, self.push_deadline) {
            (Some(due), deadline) => now >= due || deadline.is_some_and(|d| now >= d),
            (None, _) => false,
        };
        if push_ready {
            self.announce_changes();
        }
        let (state, reason) = self.connect;
        if state == ConnectState::Offline {
            if reason == OfflineReason::ConnectionForced {
                // Offline on purpose: only `offline reconnect` ends it.
                return;
            }
            if self.next_retry.is_none() {
                self.next_retry = Some(now + self.settings.retry_interval);
            }
            if self.next_retry.is_some_and(|at| now >= at) {
                self.try_reconnect();
            }
            return;
        }
        if now >= self.next_probe {
            self.probe();
            if self.connect.0 == ConnectState::Offline {
                return;
            }
        }
        if self.backoff_until.is_some_and(|at| now < at) {
            return;
        }
        if self.in_blackout() {
            return;
        }
        self.watch_slow_window();
        if now >= self.next_full {
            let reason = if self.last_sync_ns.is_none() {
                Reason::Startup
            } else {
                Reason::Scheduled
            };
            self.sync(reason, Vec::new());
        } else if push_ready {
            if self.unsynced_all {
                self.sync(self.push_reason(), Vec::new());
            } else {
                let scope = collapse(&self.unsynced);
                if scope.is_empty() {
                    self.push_due = None;
                    self.push_deadline = None;
                } else {
                    self.sync(self.push_reason(), scope);
                }
            }
        } else if now >= self.next_rescan {
            self.next_rescan = now + self.settings.rescan_interval;
            self.rescan();
        }
    }

    /// The share's round trip when it is over `slow_link_latency` (a slow link).
    fn slow_link(&self) -> Option<Duration> {
        let round_trip = self.share_watch.as_ref()?.round_trip()?;
        (round_trip > self.settings.slow_link_latency).then_some(round_trip)
    }

    /// The size over which copies wait for the slow-link window, while they must.
    fn defer_limit(&self) -> Option<u64> {
        let window = self.settings.slow_link_window?;
        (self.slow_link().is_some() && !window.contains(local_minute_now())).then_some(LARGE_FILE)
    }

    /// When the slow-link window opens on a slow link, what waited goes now.
    fn watch_slow_window(&mut self) {
        let open = self.slow_link().is_some()
            && self
                .settings
                .slow_link_window
                .is_some_and(|w| w.contains(local_minute_now()));
        if open && !self.slow_window_open {
            tracing::info!(cache = %self.root.display(), "slow-link window open: large files go now");
            self.next_full = Instant::now();
        }
        self.slow_window_open = open;
    }

    /// Why a push runs: local changes, or only changes on the share.
    fn push_reason(&self) -> Reason {
        if self.share_push {
            Reason::ShareChange
        } else {
            Reason::Push
        }
    }

    /// item_modified and item_renamed for what changed since the last announcement.
    fn announce_changes(&mut self) {
        for path in std::mem::take(&mut self.unannounced) {
            let exists = std::fs::symlink_metadata(self.root.join(path.as_os_str())).is_ok();
            self.bus.publish(
                &Event::for_item(id::ITEM_MODIFIED, &self.root, &path)
                    .with("data_changed", true)
                    .with("exists", exists),
            );
        }
        for (from, to) in std::mem::take(&mut self.renames) {
            self.bus.publish(
                &Event::for_item(id::ITEM_RENAMED, &self.root, &to)
                    .with("old_path", from.escaped()),
            );
        }
    }

    /// Looks for changes the watcher missed: pushes dirty items.
    fn rescan(&mut self) {
        let Some(local) = &self.local else {
            return;
        };
        let dirty: BTreeSet<RelPath> =
            match rescan::changed_paths(local, self.cache.store(), MAX_SCOPE) {
                Ok(rescan::Found::Paths(paths)) => paths.into_iter().collect(),
                Ok(rescan::Found::Many) => {
                    tracing::info!(cache = %self.root.display(), "rescan found many changes");
                    self.unsynced_all = true;
                    self.sync(Reason::Rescan, Vec::new());
                    return;
                }
                Err(e) => {
                    tracing::warn!(cache = %self.root.display(), "rescan failed: {e}");
                    return;
                }
            };
        if dirty.is_empty() {
            return;
        }
        tracing::info!(cache = %self.root.display(), items = dirty.len(), "rescan found changes");
        let scope = collapse(&dirty);
        self.unsynced.extend(dirty);
        self.sync(Reason::Rescan, scope);
    }

    /// Checks that the share is still there while nothing else looks (a cheap look
    /// at its root marker), so it goes offline soon after it disappears.
    fn probe(&mut self) {
        self.next_probe = Instant::now() + self.settings.retry_interval;
        if let Err(EngineError::Unreachable { reason, .. }) = self.cache.connect_share() {
            tracing::info!(cache = %self.root.display(), "share unreachable: {reason}");
            if let Err(e) = self
                .cache
                .set_connect_state(ConnectState::Offline, OfflineReason::ConnectionError)
            {
                tracing::warn!("recording the connect state: {e}");
            }
            self.check_connect_state();
        }
    }

    /// Tries the share again; back online by itself when it answers.
    fn try_reconnect(&mut self) {
        let now = Instant::now();
        self.next_retry = Some(now + self.settings.retry_interval);
        self.bus
            .publish(&Event::for_cache(id::ITEM_RECONNECT_BEGIN, &self.root));
        let reached = self.cache.connect_share().is_ok();
        self.bus
            .publish(&Event::for_cache(id::ITEM_RECONNECT_END, &self.root).with("online", reached));
        if !reached {
            tracing::debug!(cache = %self.root.display(), "share still unreachable");
            return;
        }
        // Someone may have put the share offline on purpose meanwhile.
        if let Ok((ConnectState::Offline, OfflineReason::ConnectionForced)) =
            self.cache.connect_state()
        {
            self.check_connect_state();
            return;
        }
        if let Err(e) = self
            .cache
            .set_connect_state(ConnectState::Online, OfflineReason::NotApplicable)
        {
            tracing::warn!("recording the connect state: {e}");
            return;
        }
        tracing::info!(cache = %self.root.display(), "share reachable again: back online");
        self.check_connect_state();
        self.next_retry = None;
        if !self.stopping() && !self.in_blackout() {
            self.sync(Reason::Reconnect, Vec::new());
        }
    }

    /// Publishes item_disconnected / item_reconnected when the connect state changed.
    fn check_connect_state(&mut self) {
        let Ok(now) = self.cache.connect_state() else {
            return;
        };
        if now == self.connect {
            return;
        }
        let before = self.connect;
        self.connect = now;
        let was_offline = before.0 == ConnectState::Offline;
        let is_offline = now.0 == ConnectState::Offline;
        if is_offline && (!was_offline || before.1 != now.1) {
            tracing::info!(cache = %self.root.display(), reason = now.1.name(), "share offline");
            self.bus.publish(
                &Event::for_item(id::ITEM_DISCONNECTED, &self.root, &RelPath::root())
                    .with("share", self.cache.share_location())
                    .with("offline_reason", now.1.name())
                    .with("item_type", "share"),
            );
            self.next_retry = (now.1 != OfflineReason::ConnectionForced)
                .then(|| Instant::now() + self.settings.retry_interval);
        } else if was_offline && !is_offline {
            self.bus.publish(
                &Event::for_item(id::ITEM_RECONNECTED, &self.root, &RelPath::root())
                    .with("share", self.cache.share_location())
                    .with("item_type", "share"),
            );
            self.next_retry = None;
            if before.1 == OfflineReason::ConnectionForced {
                // `offline reconnect`: send what waited.
                self.next_full = Instant::now();
            }
        }
    }

    fn take_snapshot(&self) -> Snapshot {
        let store = self.cache.store();
        let pins = store
            .pins()
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.path, p.source.name()))
            .collect();
        let cached = CachedSet::read(store).unwrap_or_else(|| {
            // Unreadable now: keep the last look, so nothing seems to change.
            self.snapshot.cached.clone()
        });
        Snapshot {
            pins,
            cached,
            conflicts: conflict_set(store),
        }
    }

    /// Compares the state database with the last look and publishes what changed:
    /// pins, items added to or dropped from the cache, conflict records. Items that
    /// became cached without a cache copy (a ghost removed through the FUSE view) are
    /// deletions to push.
    fn diff_state(&mut self) {
        let now = self.take_snapshot();
        let before = std::mem::replace(&mut self.snapshot, now);
        let now = &self.snapshot;
        for (path, source) in now.pins.difference(&before.pins) {
            self.bus.publish(
                &Event::for_item(id::ITEM_PINNED, &self.root, path).with("pinned_by", *source),
            );
        }
        for (path, source) in before.pins.difference(&now.pins) {
            self.bus.publish(
                &Event::for_item(id::ITEM_NOT_PINNED, &self.root, path).with("pinned_by", *source),
            );
        }
        let mut to_push = Vec::new();
        now.cached.each_missing_from(&before.cached, |path| {
            let present = std::fs::symlink_metadata(self.root.join(path.as_os_str())).is_ok();
            if present {
                self.bus
                    .publish(&Event::for_item(id::ITEM_ADDED_TO_CACHE, &self.root, &path));
            } else {
                to_push.push(path);
            }
        });
        before.cached.each_missing_from(&now.cached, |path| {
            self.bus.publish(&Event::for_item(
                id::ITEM_DELETED_FROM_CACHE,
                &self.root,
                &path,
            ));
        });
        publish_conflict_changes(&self.bus, &self.root, &before.conflicts, &now.conflicts);
        if !to_push.is_empty() {
            for p in to_push {
                self.unsynced.insert(p);
            }
            let now = Instant::now();
            self.push_due = Some(now + self.settings.push_delay);
            self.push_deadline
                .get_or_insert(now + Duration::from_secs(5));
        }
    }

    /// One background sync of `scope` (empty: everything), both ways, conflicts
    /// logged for the person.
    fn sync(&mut self, reason: Reason, scope: Vec<RelPath>) {
        let now = Instant::now();
        let whole = scope.is_empty();
        // What this run covers; changes that arrive meanwhile wait for the next push.
        let covered = if whole {
            self.unsynced_all = false;
            std::mem::take(&mut self.unsynced)
        } else {
            let mut covered = BTreeSet::new();
            self.unsynced.retain(|p| {
                if scope.iter().any(|s| s.contains(p)) {
                    covered.insert(p.clone());
                    false
                } else {
                    true
                }
            });
            covered
        };
        self.push_due = None;
        self.push_deadline = None;
        self.share_push = false;
        if whole {
            self.next_full = now + jittered(self.settings.sync_interval, self.settings.sync_jitter);
            self.next_rescan = now + self.settings.rescan_interval;
        }
        let control = SyncControl::default();
        let options = PrepareOptions {
            scope: scope.clone(),
            defer_larger_than: self.defer_limit(),
            ..PrepareOptions::default()
        };
        let sync_id = new_sync_id();
        self.write_status(Some("syncing"));
        self.bus.publish(
            &Event::for_cache(id::BACKGROUND_SYNC_BEGIN, &self.root)
                .with("sync_id", sync_id.as_str())
                .with("reason", reason.name())
                .with("sync_in", control.sync_in)
                .with("sync_out", control.sync_out)
                .with("policy", control.policy.name())
                .with(
                    "scope",
                    scope.iter().map(|p| p.escaped()).collect::<Vec<_>>(),
                ),
        );
        let reader = Store::open(self.cache.store().path()).ok();
        let mut sink = EventSink::new(
            self.bus.clone(),
            self.stop.clone(),
            self.root.clone(),
            sync_id.clone(),
            reader,
            self.snapshot.conflicts.clone(),
        );
        let started = Instant::now();
        let outcome = self.cache.synchronize(&control, &options, &mut sink);
        self.next_probe = Instant::now() + self.settings.retry_interval;
        let result = match &outcome {
            Ok(summary) => {
                if let Some(recovery) = &summary.recovered {
                    tracing::info!(cache = %self.root.display(), "{}", recovery.describe());
                }
                tracing::info!(
                    cache = %self.root.display(),
                    reason = reason.name(),
                    items = sink.items,
                    errors = summary.errors,
                    conflicts = summary.conflicts,
                    ms = started.elapsed().as_millis() as u64,
                    "background sync"
                );
                let result = SyncOutcome::of(summary);
                if summary.stopped.is_some() {
                    // Stopped between two items: what is left waits for next time.
                    self.unsynced.extend(covered);
                }
                result
            }
            Err(err) => {
                self.unsynced.extend(covered);
                let text = err.to_string();
                sink.end_with_error(&text);
                match err {
                    EngineError::Unreachable { .. } => {
                        tracing::info!(cache = %self.root.display(), "share unreachable: {text}");
                        SyncOutcome::Unreachable
                    }
                    EngineError::Disconnected { .. } => SyncOutcome::Disconnected,
                    EngineError::MassDelete { .. } => {
                        // Only a person can allow that (`offline sync --force`): say so
                        // once, and wait for the next scheduled sync or a new change.
                        tracing::warn!(cache = %self.root.display(), "background sync refused: {text}");
                        self.bus.publish(
                            &Event::for_cache(id::SYNC_ERROR, &self.root)
                                .with("sync_id", sync_id.as_str())
                                .with("error", text.as_str())
                                .with("refused", true),
                        );
                        self.push_due = None;
                        self.push_deadline = None;
                        SyncOutcome::Refused
                    }
                    EngineError::Busy { .. } => {
                        // Another command works on the cache: try again shortly.
                        self.backoff_until = Some(Instant::now() + BUSY_RETRY);
                        self.push_due = Some(Instant::now() + BUSY_RETRY);
                        if whole {
                            self.next_full = Instant::now() + BUSY_RETRY;
                        }
                        SyncOutcome::Busy
                    }
                    _ => {
                        tracing::warn!(cache = %self.root.display(), "background sync failed: {text}");
                        self.bus.publish(
                            &Event::for_cache(id::SYNC_ERROR, &self.root)
                                .with("sync_id", sync_id.as_str())
                                .with("error", text.as_str()),
                        );
                        self.backoff_until = Some(Instant::now() + ERROR_BACKOFF);
                        if !self.unsynced.is_empty() {
                            self.push_due = Some(Instant::now() + ERROR_BACKOFF);
                        }
                        SyncOutcome::Error
                    }
                }
            }
        };
        if outcome.is_ok() {
            if let Err(e) = self.cache.enforce_limits() {
                tracing::warn!("enforcing the cache limits: {e}");
            }
        }
        self.bus.publish(
            &Event::for_cache(id::BACKGROUND_SYNC_END, &self.root)
                .with("sync_id", sync_id.as_str())
                .with("reason", reason.name())
                .with("result", result.name()),
        );
        if let Some(after) = sink.conflicts_after.take() {
            // Already announced by the sink.
            self.snapshot.conflicts = after;
        }
        if result != SyncOutcome::Busy {
            self.last_sync_ns = Some(now_ns());
            self.last_result = Some(result);
        }
        self.diff_state();
        self.check_connect_state();
        self.write_status(None);
    }

    fn activity(&self) -> &'static str {
        match self.connect {
            (ConnectState::Offline, OfflineReason::ConnectionForced) => "disconnected",
            (ConnectState::Offline, _) => "offline",
            _ if self.in_blackout() => "blackout",
            _ => "idle",
        }
    }

    fn write_status(&mut self, activity: Option<&str>) {
        let offline = self.connect.0 == ConnectState::Offline;
        let status = DaemonStatus {
            pid: std::process::id(),
            started_ns: self.started_ns,
            activity: activity.unwrap_or(self.activity()).to_string(),
            next_sync_ns: (!offline).then(|| instant_to_ns(self.next_full)),
            next_retry_ns: if offline {
                self.next_retry.map(instant_to_ns)
            } else {
                None
            },
            last_sync_ns: self.last_sync_ns,
            last_result: self.last_result.map(|r| r.name().to_string()),
            socket: self.bus.socket().map(|s| s.display().to_string()),
            share_changes: self.share_watch.as_ref().map(|w| w.mode().describe()),
            round_trip_ms: self
                .share_watch
                .as_ref()
                .and_then(|w| w.round_trip())
                .map(|d| d.as_millis() as u64),
            slow_link: self.slow_link().is_some(),
            ui: self.ui.clone(),
        };
        // Rewrite only when something other than the clock's rounding moved.
        let same = self.written_status.as_ref().is_some_and(|w| {
            let close = |a: Option<i64>, b: Option<i64>| match (a, b) {
                (Some(a), Some(b)) => (a - b).abs() < 50_000_000,
                (None, None) => true,
                _ => false,
            };
            w.activity == status.activity
                && close(w.next_sync_ns, status.next_sync_ns)
                && close(w.next_retry_ns, status.next_retry_ns)
                && w.last_sync_ns == status.last_sync_ns
                && w.last_result == status.last_result
                && w.slow_link == status.slow_link
                && w.round_trip_ms.map(|m| m / 10) == status.round_trip_ms.map(|m| m / 10)
        });
        if same {
            return;
        }
        if let Err(e) = status::write(&self.meta_dir, &status) {
            tracing::warn!("{e:#}");
        }
        self.written_status = Some(status);
    }
}

/// Starts watching the cache folder recursively; `None` (with a warning) when the
/// watcher cannot start: the periodic rescan still finds changes.
fn watch(root: &Path, tx: Sender<Msg>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let watch_root = root.to_path_buf();
    let handler = move |event: notify::Result<notify::Event>| {
        if let Some(msg) = message_for(&watch_root, event) {
            let _ = tx.send(msg);
        }
    };
    match notify::recommended_watcher(handler) {
        Ok(mut watcher) => match watcher.watch(root, notify::RecursiveMode::Recursive) {
            Ok(()) => Some(watcher),
            Err(e) => {
                tracing::warn!(cache = %root.display(), "cannot watch the cache folder ({e}); changes are found by the periodic rescan");
                None
            }
        },
        Err(e) => {
            tracing::warn!(
                "cannot start the file watcher ({e}); changes are found by the periodic rescan"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(p: &str) -> RelPath {
        RelPath::from_str_lossy(p).unwrap()
    }

    #[test]
    fn collapse_keeps_top_most_paths() {
        let set: BTreeSet<RelPath> = ["a", "a/b", "a/b/c", "b/x", "b/y", "c"]
            .into_iter()
            .map(rel)
            .collect();
        assert_eq!(
            collapse(&set),
            vec![rel("a"), rel("b/x"), rel("b/y"), rel("c")]
        );
    }

    #[test]
    fn watcher_paths_are_classified() {
        let root = Path::new("/c");
        assert!(matches!(
            classify(root, Path::new("/c/.offline/state.db-wal")),
            Classified::StateDb
        ));
        assert!(matches!(
            classify(root, Path::new("/c/.offline/daemon.json")),
            Classified::Ignored
        ));
        assert!(matches!(
            classify(root, Path::new("/c/.offline/conflicts/state.db")),
            Classified::Ignored
        ));
        assert!(matches!(
            classify(
                root,
                Path::new("/c/a/.offline-tmp-0123456789abcdef-0123456789abcdef")
            ),
            Classified::Ignored
        ));
        // A person's file named like a temp file is an ordinary item.
        assert!(!matches!(
            classify(root, Path::new("/c/a/.offline-tmp-123")),
            Classified::Ignored
        ));
        assert!(matches!(
            classify(root, Path::new("/c")),
            Classified::Ignored
        ));
        assert!(matches!(
            classify(root, Path::new("/elsewhere/x")),
            Classified::Ignored
        ));
        match classify(root, Path::new("/c/a/b.txt")) {
            Classified::Item(p) => assert_eq!(p, rel("a/b.txt")),
            _ => panic!("an item"),
        }
    }
}
