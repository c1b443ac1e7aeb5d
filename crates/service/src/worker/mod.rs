//! One cache served by the daemon: a thread that watches the cache folder
//! (`watch.rs`), pushes local changes after a short quiet time, runs the scheduled
//! full syncs (interval plus random jitter, never in the blackout window), rescans the
//! cache folder periodically (inotify queues overflow), tries an unreachable share
//! again every retry interval and goes back online by itself (`connect.rs`), and
//! publishes what happens as events (`state_events.rs` for what changed in the state
//! database). Its deadlines are `schedule.rs`'s, one background sync `sync.rs`'s, its
//! status file `report.rs`'s. This file: the loop, and what a message changes.

mod connect;
mod report;
mod schedule;
mod state_events;
mod sync;
mod watch;

pub use sync::LARGE_FILE;
pub use watch::{message_for, Msg};

use crate::bus::Bus;
use crate::events::{id, Event};
use crate::outcome::SyncOutcome;
use crate::settings::{local_minute_now, Settings};
use crate::status::{self, DaemonStatus};
use offline_core::{ConnectState, OfflineReason, RelPath};
use offline_engine::cache::now_ns;
use offline_engine::Cache;
use schedule::Timers;
use state_events::StateEvents;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// More changed paths than this in one push: sync everything instead.
const MAX_SCOPE: usize = 256;
/// Changed paths kept for item_modified events per push at most.
const MAX_MODIFIED_EVENTS: usize = 10_000;

/// The worker of one cache.
pub struct Worker {
    root: PathBuf,
    meta_dir: PathBuf,
    cache: Cache,
    /// The cache folder, for the exclusions and the rescan.
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
    timers: Timers,
    /// Changed paths not synced yet.
    unsynced: BTreeSet<RelPath>,
    /// Everything changed: the next push syncs the whole cache.
    unsynced_all: bool,
    /// Changed paths and renames not announced yet (item_modified, item_renamed).
    unannounced: BTreeSet<RelPath>,
    renames: Vec<(RelPath, RelPath)>,
    connect: (ConnectState, OfflineReason),
    /// Where the looks at the state database ended.
    state: StateEvents,
    started_ns: i64,
    last_sync_ns: Option<i64>,
    last_result: Option<SyncOutcome>,
    written_status: Option<DaemonStatus>,
    /// Changes at or below excluded paths are dropped.
    excluded: crate::excluded::ExcludeFilter,
    /// The Sync Center's address, for `daemon.json`.
    ui: Option<String>,
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
            (watch::watch(&root, tx), Some(share_watch))
        };
        let settings = Settings::load(&cache);
        let now = Instant::now();
        let local = offline_remote::DirRemote::open(&root, &[offline_core::CACHE_DIR_NAME]).ok();
        let mut timers = Timers::new(now, &settings);
        let connect = cache
            .connect_state()
            .unwrap_or((ConnectState::Unknown, OfflineReason::Unknown));
        if connect.0 == ConnectState::Offline && connect.1 != OfflineReason::ConnectionForced {
            // Offline since before the daemon started: try now.
            timers.next_retry = Some(now);
        }
        Ok(Worker {
            local,
            root,
            meta_dir,
            connect,
            state: StateEvents::start(&cache),
            cache,
            bus,
            stop,
            rx,
            _watcher: watcher,
            share_watch,
            share_push: false,
            slow_window_open: false,
            timers,
            unsynced: BTreeSet::new(),
            unsynced_all: false,
            unannounced: BTreeSet::new(),
            renames: Vec::new(),
            started_ns: now_ns(),
            last_sync_ns: None,
            last_result: None,
            written_status: None,
            excluded: Default::default(),
            ui: None,
            settings,
        })
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
            let now = Instant::now();
            if self.state.moved(&self.cache) {
                self.timers.look_at_state_soon(now);
            }
            if self.timers.state_look_due(now) {
                self.publish_state_changes();
            }
            self.act();
            self.write_status(None);
            if self.stopping() {
                break;
            }
            self.wait();
        }
        self.write_status(Some(status::Activity::Stopping));
        self.bus
            .publish(&Event::for_cache(id::SERVICE_STOPPED, &self.root));
        status::remove(&self.meta_dir);
        tracing::info!(cache = %self.root.display(), "stopped");
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn reload_settings(&mut self) {
        let now = Instant::now();
        if !self.timers.settings_due(now) {
            return;
        }
        let new = Settings::load(&self.cache);
        if new != self.settings {
            self.timers.settings_changed(&self.settings, &new, now);
            self.settings = new;
        }
    }

    /// Waits for the next message or deadline, then takes every queued message.
    fn wait(&mut self) {
        let now = Instant::now();
        let timeout = self.timers.next_wake(now).saturating_duration_since(now);
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

    /// What a message changes: paths to push (a sync's own writes left out), a look
    /// at the state database.
    fn take(&mut self, msg: Msg) {
        let now = Instant::now();
        // A push asked for by the share watch alone says so in its reason.
        let from_share = matches!(msg, Msg::ShareChanged(_));
        let only_share = !self.timers.push_pending() || self.share_push;
        match msg {
            Msg::Changed(mut paths) => {
                if let Some(local) = &self.local {
                    self.excluded.retain(&self.cache, local, &mut paths);
                }
                let mut any = false;
                for p in paths {
                    if !self.cache.is_own_write(&p) {
                        self.changed(p);
                        any = true;
                    }
                }
                if !any {
                    return;
                }
            }
            Msg::Renamed(from, to)
                if self.cache.is_own_write(&from) && self.cache.is_own_write(&to) =>
            {
                return
            }
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
                self.timers.look_at_state_soon(now);
                return;
            }
            Msg::Wake => return,
        }
        self.share_push = from_share && only_share;
        if self.unsynced.len() > MAX_SCOPE {
            self.unsynced_all = true;
        }
        let delay = self.settings.push_delay;
        self.timers
            .push_after(now, delay, (delay * 10).max(Duration::from_secs(5)));
    }

    /// The person changed `path`: push it, and announce it.
    fn changed(&mut self, path: RelPath) {
        if self.unannounced.len() < MAX_MODIFIED_EVENTS {
            self.unannounced.insert(path.clone());
        }
        self.unsynced.insert(path);
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

    /// Publishes what changed in the state database since the last look; ghosts
    /// removed through the FUSE view are deletions to push.
    fn publish_state_changes(&mut self) {
        let to_push = self.state.publish(&self.cache, &self.bus, &self.root);
        if !to_push.is_empty() {
            self.unsynced.extend(to_push);
            self.timers.push_after(
                Instant::now(),
                self.settings.push_delay,
                Duration::from_secs(5),
            );
        }
    }

    /// Does what is due.
    fn act(&mut self) {
        let now = Instant::now();
        let push_ready = self.timers.push_ready(now);
        if push_ready {
            self.announce_changes();
        }
        let (state, reason) = self.connect;
        if state == ConnectState::Offline {
            // Offline on purpose: only `offline reconnect` ends it.
            if reason != OfflineReason::ConnectionForced
                && self.timers.retry_due(now, &self.settings)
            {
                self.try_reconnect();
            }
            return;
        }
        if self.timers.probe_due(now) {
            self.probe();
            if self.connect.0 == ConnectState::Offline {
                return;
            }
        }
        if self.timers.held_back(now) || self.in_blackout() {
            return;
        }
        self.watch_slow_window();
        if now >= self.timers.next_full {
            let reason = if self.last_sync_ns.is_none() {
                sync::Reason::Startup
            } else {
                sync::Reason::Scheduled
            };
            self.sync(reason, Vec::new());
        } else if push_ready {
            if self.unsynced_all {
                self.sync(self.push_reason(), Vec::new());
            } else {
                let scope = sync::collapse(&self.unsynced);
                if scope.is_empty() {
                    self.timers.push_done();
                } else {
                    self.sync(self.push_reason(), scope);
                }
            }
        } else if self.timers.rescan_due(now, &self.settings) {
            self.rescan();
        }
    }

    /// The share's round trip when it is over `slow_link_latency` (a slow link).
    fn slow_link(&self) -> Option<Duration> {
        let round_trip = self.share_watch.as_ref()?.round_trip()?;
        (round_trip > self.settings.slow_link_latency).then_some(round_trip)
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
            self.timers.next_full = Instant::now();
        }
        self.slow_window_open = open;
    }

    /// Why a push runs: local changes, or only changes on the share.
    fn push_reason(&self) -> sync::Reason {
        if self.share_push {
            sync::Reason::ShareChange
        } else {
            sync::Reason::Push
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
}
