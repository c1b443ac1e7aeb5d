//! What the page knows from the events bus, live: per cache, the running sync's
//! progress (items and bytes) and the recent results (syncs ended, items that failed
//! with their error and hint, syncs that could not run, the page's own actions). A
//! thread reads one bus subscription, keeps this up to date and tells the page's
//! open event streams what moved: progress (at most five times a second per cache)
//! or a change that calls for a fresh look.

use crate::bus::{Bus, Subscriber};
use crate::events::{id, Filter};
use crate::outcome::SyncOutcome;
use offline_engine::ResultKind;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Recent results kept per cache.
const RECENT: usize = 12;
/// Progress is sent at most this often per cache.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// What the page's event streams are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// The progress of cache N moved.
    Progress(usize),
    /// Something on cache N changed (the event's name): the page looks again.
    Changed(usize, &'static str),
}

/// A sync in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    /// Its sync id.
    pub sync_id: String,
    /// Why the daemon runs it (`startup`, `scheduled`, `push`...); `None` for the
    /// page's own actions and other commands.
    pub reason: Option<String>,
    /// Items planned, once known (planning done).
    pub total: Option<u64>,
    /// Items done so far.
    pub done: u64,
    /// Bytes moved so far.
    pub bytes: u64,
    /// Items that failed so far.
    pub errors: u64,
    /// When it began (ns since the epoch).
    pub started_ns: i64,
}

/// What a recent result was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecentKind {
    /// A sync ended.
    Synced {
        /// How it ended.
        result: SyncOutcome,
        /// Items reported.
        items: u64,
        /// Bytes moved.
        bytes: u64,
        /// Items that failed.
        errors: u64,
        /// Conflicts left.
        conflicts: u64,
    },
    /// One item failed.
    ItemFailed {
        /// The item (escaped like `--json` paths).
        path: String,
        /// The operation that failed.
        operation: String,
        /// What happened.
        error: String,
        /// What the person can do.
        hint: Option<String>,
    },
    /// A sync could not run (or a page action failed).
    Failed {
        /// Why.
        error: String,
    },
    /// A page action that worked.
    Done {
        /// What it did.
        text: String,
    },
}

/// One recent result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recent {
    /// When (ns since the epoch).
    pub time_ns: i64,
    /// What.
    pub kind: RecentKind,
}

#[derive(Default)]
struct CacheLive {
    /// Syncs in progress (the daemon's and the page's may overlap for a moment: one
    /// of them waits for the cache's lock, or gives up).
    runs: Vec<Run>,
    recent: VecDeque<Recent>,
    progress_sent: Option<Instant>,
    progress_pending: bool,
}

/// The live state of every cache the page shows.
pub struct Live {
    /// The page stopped: the bus thread ends.
    stopped: std::sync::atomic::AtomicBool,
    roots: Vec<PathBuf>,
    caches: Mutex<Vec<CacheLive>>,
    tx: broadcast::Sender<Signal>,
}

impl Live {
    /// Live state for the caches at `roots` (the page's cache numbers are indexes).
    pub fn new(roots: Vec<PathBuf>) -> Arc<Live> {
        let (tx, _) = broadcast::channel(256);
        let caches = roots.iter().map(|_| CacheLive::default()).collect();
        Arc::new(Live {
            stopped: std::sync::atomic::AtomicBool::new(false),
            roots,
            caches: Mutex::new(caches),
            tx,
        })
    }

    /// Subscribes to `bus` and keeps this up to date on a thread of its own.
    pub fn follow(self: &Arc<Live>, bus: &Bus) -> std::io::Result<()> {
        let sub = Arc::new(Subscriber::new(
            Filter::default(),
            crate::bus::DEFAULT_QUEUE,
        ));
        bus.add(sub.clone());
        let live = self.clone();
        std::thread::Builder::new()
            .name("ui-live".into())
            .spawn(move || {
                while !live.stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    let asked = Instant::now();
                    match sub.pop(PROGRESS_EVERY) {
                        Some(line) => {
                            if let Ok(event) = serde_json::from_str::<Value>(&line) {
                                live.apply(&event);
                            }
                        }
                        // The bus closed (the daemon stops): no busy loop meanwhile.
                        None if asked.elapsed() < PROGRESS_EVERY / 2 => {
                            std::thread::sleep(PROGRESS_EVERY)
                        }
                        None => {}
                    }
                    live.flush_progress(false);
                }
            })?;
        Ok(())
    }

    /// Ends the bus thread (the page stops).
    pub fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// A receiver of the signals (one per open event stream).
    pub fn signals(&self) -> broadcast::Receiver<Signal> {
        self.tx.subscribe()
    }

    /// The cache number of an event's `cache` field.
    fn index_of(&self, event: &Value) -> Option<usize> {
        let cache = event.get("cache")?.as_str()?;
        self.roots
            .iter()
            .position(|r| r.as_os_str().to_str() == Some(cache))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<CacheLive>> {
        self.caches.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The running sync of cache `index` worth showing: one that has planned work
    /// (the latest such), else the latest that is still planning.
    pub fn run(&self, index: usize) -> Option<Run> {
        let caches = self.lock();
        let runs = &caches.get(index)?.runs;
        runs.iter()
            .rev()
            .find(|r| r.total.is_some_and(|t| t > 0))
            .or_else(|| runs.iter().rev().find(|r| r.total.is_none()))
            .cloned()
    }

    /// The recent results of cache `index`, newest first.
    pub fn recent(&self, index: usize) -> Vec<Recent> {
        self.lock()
            .get(index)
            .map(|c| c.recent.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    /// The progress of cache `index` as the page's script reads it.
    pub fn progress_json(&self, index: usize) -> Value {
        match self.run(index) {
            Some(run) => json!({
                "cache": index,
                "running": true,
                "phase": if run.total.is_some() { "copying" } else { "preparing" },
                "done": run.done,
                "total": run.total,
                "bytes": run.bytes,
                "errors": run.errors,
                "reason": run.reason,
            }),
            None => json!({"cache": index, "running": false}),
        }
    }

    /// Records the outcome of one of the page's own actions.
    pub fn record(&self, index: usize, kind: RecentKind) {
        {
            let mut caches = self.lock();
            if let Some(c) = caches.get_mut(index) {
                push_recent(c, kind);
            }
        }
        let _ = self.tx.send(Signal::Changed(index, "action"));
    }

    /// Takes one event from the bus.
    pub fn apply(&self, event: &Value) {
        let Some(index) = self.index_of(event) else {
            return;
        };
        let name: &'static str = crate::events::event_name(
            event.get("id").and_then(Value::as_u64).unwrap_or(u64::MAX) as u32,
        );
        let text = |key: &str| event.get(key).and_then(Value::as_str).map(str::to_string);
        let number = |key: &str| event.get(key).and_then(Value::as_u64).unwrap_or(0);
        let time_ns = event.get("time_ns").and_then(Value::as_i64).unwrap_or(0);
        let sync_id = text("sync_id").unwrap_or_default();
        let mut signal = None;
        {
            let mut caches = self.lock();
            let Some(c) = caches.get_mut(index) else {
                return;
            };
            match event.get("id").and_then(Value::as_u64).map(|n| n as u32) {
                Some(id::BACKGROUND_SYNC_BEGIN) => {
                    c.runs.retain(|r| r.sync_id != sync_id);
                    c.runs.push(Run {
                        sync_id,
                        reason: text("reason"),
                        started_ns: time_ns,
                        ..Run::default()
                    });
                    signal = Some(Signal::Progress(index));
                }
                Some(id::SYNC_BEGIN) => {
                    let total = Some(number("items"));
                    match c.runs.iter_mut().find(|r| r.sync_id == sync_id) {
                        Some(run) => run.total = total,
                        None => c.runs.push(Run {
                            sync_id,
                            total,
                            started_ns: time_ns,
                            ..Run::default()
                        }),
                    }
                    signal = Some(Signal::Progress(index));
                }
                Some(id::SYNC_FILE_RESULT) => {
                    let failed = text("result").and_then(|r| ResultKind::from_name(&r))
                        == Some(ResultKind::Error);
                    if let Some(run) = c.runs.iter_mut().find(|r| r.sync_id == sync_id) {
                        run.done += 1;
                        run.bytes += number("bytes");
                        run.errors += u64::from(failed);
                        c.progress_pending = true;
                    }
                    if failed {
                        push_recent(
                            c,
                            RecentKind::ItemFailed {
                                path: text("path").unwrap_or_default(),
                                operation: text("operation").unwrap_or_default(),
                                error: text("error").unwrap_or_default(),
                                hint: text("hint").filter(|h| !h.is_empty()),
                            },
                        );
                        signal = Some(Signal::Changed(index, name));
                    }
                }
                Some(id::SYNC_END) => {
                    let done = c
                        .runs
                        .iter()
                        .find(|r| r.sync_id == sync_id)
                        .map(|r| r.done)
                        .unwrap_or(0);
                    c.runs.retain(|r| r.sync_id != sync_id);
                    // A result this page does not know is no success.
                    let result = outcome(text("result"));
                    let quiet = result == SyncOutcome::Ok && done == 0;
                    let kind = match text("error") {
                        Some(error) if result == SyncOutcome::Error => {
                            Some(RecentKind::Failed { error })
                        }
                        // A sync that found nothing to do is no news.
                        _ if quiet => None,
                        _ => Some(RecentKind::Synced {
                            result,
                            items: done,
                            bytes: number("bytes"),
                            errors: number("errors"),
                            conflicts: number("conflicts"),
                        }),
                    };
                    if let Some(kind) = kind {
                        push_recent(c, kind);
                    }
                    signal = Some(Signal::Changed(index, name));
                }
                Some(id::BACKGROUND_SYNC_END) => {
                    // A run that never planned (share unreachable, cache busy) ends here.
                    c.runs.retain(|r| r.sync_id != sync_id);
                    let result = outcome(text("result"));
                    if matches!(result, SyncOutcome::Unreachable | SyncOutcome::Disconnected) {
                        push_recent(
                            c,
                            RecentKind::Failed {
                                error: format!("background sync: the share is {result}"),
                            },
                        );
                    }
                    signal = Some(Signal::Changed(index, name));
                }
                Some(id::SYNC_ERROR) => {
                    push_recent(
                        c,
                        RecentKind::Failed {
                            error: text("error").unwrap_or_default(),
                        },
                    );
                    signal = Some(Signal::Changed(index, name));
                }
                Some(
                    id::ITEM_DISCONNECTED
                    | id::ITEM_RECONNECTED
                    | id::SYNC_CONFLICT_REC_ADDED
                    | id::SYNC_CONFLICT_REC_UPDATED
                    | id::SYNC_CONFLICT_REC_REMOVED
                    | id::ITEM_PINNED
                    | id::ITEM_NOT_PINNED
                    | id::ITEM_ADDED_TO_CACHE
                    | id::ITEM_DELETED_FROM_CACHE
                    | id::ITEM_MODIFIED
                    | id::ITEM_RENAMED
                    | id::SERVICE_STARTED
                    | id::SERVICE_STOPPED,
                ) => signal = Some(Signal::Changed(index, name)),
                _ => {}
            }
        }
        if let Some(signal) = signal {
            if matches!(signal, Signal::Progress(_)) {
                self.mark_sent(index);
            }
            let _ = self.tx.send(signal);
        }
    }

    fn mark_sent(&self, index: usize) {
        if let Some(c) = self.lock().get_mut(index) {
            c.progress_sent = Some(Instant::now());
            c.progress_pending = false;
        }
    }

    /// Sends the progress that moved and was not sent for a while (`all`: any that
    /// moved).
    pub fn flush_progress(&self, all: bool) {
        let due: Vec<usize> = {
            let mut caches = self.lock();
            caches
                .iter_mut()
                .enumerate()
                .filter(|(_, c)| {
                    c.progress_pending
                        && (all
                            || c.progress_sent
                                .is_none_or(|at| at.elapsed() >= PROGRESS_EVERY))
                })
                .map(|(i, c)| {
                    c.progress_pending = false;
                    c.progress_sent = Some(Instant::now());
                    i
                })
                .collect()
        };
        for index in due {
            let _ = self.tx.send(Signal::Progress(index));
        }
    }
}

/// The outcome named by an event's `result` (an unknown or missing one reads as an
/// error).
fn outcome(name: Option<String>) -> SyncOutcome {
    name.and_then(|n| SyncOutcome::from_name(&n))
        .unwrap_or(SyncOutcome::Error)
}

fn push_recent(c: &mut CacheLive, kind: RecentKind) {
    if c.recent.len() >= RECENT {
        c.recent.pop_front();
    }
    c.recent.push_back(Recent {
        time_ns: offline_engine::cache::now_ns(),
        kind,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Event;
    use offline_core::RelPath;
    use std::path::Path;

    fn feed(live: &Live, event: Event) {
        live.apply(&event.to_json());
    }

    #[test]
    fn a_sync_is_followed_from_begin_to_end() {
        let root = Path::new("/c");
        let live = Live::new(vec![PathBuf::from("/other"), root.to_path_buf()]);
        let mut rx = live.signals();
        feed(
            &live,
            Event::for_cache(id::BACKGROUND_SYNC_BEGIN, root)
                .with("sync_id", "s1")
                .with("reason", "scheduled"),
        );
        assert_eq!(rx.try_recv().unwrap(), Signal::Progress(1));
        assert_eq!(live.progress_json(1)["phase"], "preparing");
        feed(
            &live,
            Event::for_cache(id::SYNC_BEGIN, root)
                .with("sync_id", "s1")
                .with("items", 3u64),
        );
        let item = |p: &str, result: &str| {
            Event::for_item(
                id::SYNC_FILE_RESULT,
                root,
                &RelPath::from_str_lossy(p).unwrap(),
            )
            .with("sync_id", "s1")
            .with("result", result)
            .with("bytes", 10u64)
        };
        // A background push that finds the cache busy does not hide the running sync.
        feed(
            &live,
            Event::for_cache(id::BACKGROUND_SYNC_BEGIN, root).with("sync_id", "busy"),
        );
        feed(&live, item("a", "ok"));
        feed(
            &live,
            Event::for_cache(id::BACKGROUND_SYNC_END, root)
                .with("sync_id", "busy")
                .with("result", "busy"),
        );
        feed(
            &live,
            item("b", "error")
                .with("error", "permission denied")
                .with("hint", "check the share's permissions")
                .with("operation", "sync_to_server"),
        );
        let run = live.run(1).unwrap();
        assert_eq!(
            (run.done, run.total, run.bytes, run.errors),
            (2, Some(3), 20, 1)
        );
        assert_eq!(live.progress_json(0)["running"], false);
        feed(
            &live,
            Event::for_cache(id::SYNC_END, root)
                .with("sync_id", "s1")
                .with("result", "incomplete")
                .with("errors", 1u64)
                .with("bytes", 20u64),
        );
        assert!(live.run(1).is_none());
        let recent = live.recent(1);
        assert!(matches!(
            &recent[0].kind,
            RecentKind::Synced {
                result: SyncOutcome::Incomplete,
                ..
            }
        ));
        assert!(
            matches!(&recent[1].kind, RecentKind::ItemFailed { hint: Some(h), .. } if h.contains("permissions"))
        );
        assert!(live.recent(0).is_empty());
    }
}
