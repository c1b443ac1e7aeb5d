//! Concurrent file copies: a sync runs at most `transfers` copies at once, and with
//! more than one it really runs them side by side. The share is a real folder,
//! opened as the engine opens it, seen through a wrapper that counts the copies in
//! progress (and holds each one until as many as the limit run at once, with a bound,
//! so that they overlap whenever the pool lets them, on any machine).

use offline_core::{Hash, RelPath, SyncControl};
use offline_engine::{Cache, InitOptions, NullSink, PrepareOptions};
use offline_remote::{Capabilities, Entry, Expect, Remote, Result, Stat, Written};
use std::fs;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long each counted copy stays in progress at least.
const HOLD: Duration = Duration::from_millis(40);
/// How long a copy waits at the gate for the others at most.
const GATE_WAIT: Duration = Duration::from_secs(20);

/// Copies in progress now, the most seen at once, and how many there were. With a
/// gate of N, each copy waits (at most [`GATE_WAIT`]) until N were in progress at
/// once: so N copies overlap whenever the pool lets them, however slow the machine.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    most: AtomicUsize,
    total: AtomicUsize,
    gate: Option<usize>,
    lock: Mutex<()>,
    opened: Condvar,
}

impl Gauge {
    fn gated(n: usize) -> Gauge {
        Gauge {
            gate: Some(n),
            ..Gauge::default()
        }
    }

    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        self.total.fetch_add(1, Ordering::SeqCst);
        if let Some(n) = self.gate {
            let guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            self.opened.notify_all();
            let _ = self
                .opened
                .wait_timeout_while(guard, GATE_WAIT, |_| self.most.load(Ordering::SeqCst) < n);
        }
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The real share, with uploads (`write_file`) and downloads (readers of
/// `open_read`, from opening until dropped) counted.
struct Counted {
    inner: Box<dyn Remote>,
    uploads: Arc<Gauge>,
    downloads: Arc<Gauge>,
}

/// A reader counted as one download in progress while it lives.
struct CountedReader {
    inner: Box<dyn Read + Send>,
    gauge: Arc<Gauge>,
}

impl Read for CountedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Drop for CountedReader {
    fn drop(&mut self) {
        self.gauge.leave();
    }
}

impl Remote for Counted {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn stat(&self, path: &RelPath) -> Result<Option<Stat>> {
        self.inner.stat(path)
    }
    fn list(&self, dir: &RelPath) -> Result<Vec<Entry>> {
        self.inner.list(dir)
    }
    fn open_read(&self, path: &RelPath) -> Result<Box<dyn Read + Send>> {
        let inner = self.inner.open_read(path)?;
        self.downloads.enter();
        std::thread::sleep(HOLD);
        Ok(Box::new(CountedReader {
            inner,
            gauge: Arc::clone(&self.downloads),
        }))
    }
    fn write_file(
        &self,
        path: &RelPath,
        content: &mut dyn Read,
        mode: u32,
        mtime_ns: i64,
        expected_hash: Option<Hash>,
        expect: &Expect,
    ) -> Result<Written> {
        self.uploads.enter();
        std::thread::sleep(HOLD);
        let written = self
            .inner
            .write_file(path, content, mode, mtime_ns, expected_hash, expect);
        self.uploads.leave();
        written
    }
    fn make_dir(&self, path: &RelPath, mode: u32, mtime: Option<i64>, e: &Expect) -> Result<Stat> {
        self.inner.make_dir(path, mode, mtime, e)
    }
    fn make_symlink(
        &self,
        path: &RelPath,
        target: &[u8],
        mtime: Option<i64>,
        e: &Expect,
    ) -> Result<Stat> {
        self.inner.make_symlink(path, target, mtime, e)
    }
    fn remove(&self, path: &RelPath, expect: &Expect) -> Result<()> {
        self.inner.remove(path, expect)
    }
    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        self.inner.rename(from, to)
    }
    fn set_attrs(
        &self,
        path: &RelPath,
        mode: Option<u32>,
        mtime: Option<i64>,
        e: &Expect,
    ) -> Result<Stat> {
        self.inner.set_attrs(path, mode, mtime, e)
    }
    fn remove_temp_files(&self) -> Result<usize> {
        self.inner.remove_temp_files()
    }
    // No staging: the share takes each file in one call, as network shares do.
}

const FILES: usize = 24;

fn write_files(root: &Path, prefix: &str) {
    for n in 0..FILES {
        let dir = root.join(format!("d{}", n % 3));
        fs::create_dir_all(&dir).expect("create folder");
        fs::write(
            dir.join(format!("{prefix}{n}.txt")),
            format!("{prefix} {n}\n"),
        )
        .expect("write");
    }
}

/// Syncs `cache` once through the counting share (gated at `gate` copies, if any);
/// returns the share's gauges.
fn sync_counted(cache: &mut Cache, gate: Option<usize>) -> (Arc<Gauge>, Arc<Gauge>) {
    let gauge = || Arc::new(gate.map(Gauge::gated).unwrap_or_default());
    let (uploads, downloads) = (gauge(), gauge());
    let share = Counted {
        inner: cache.connect_share().expect("open the share"),
        uploads: Arc::clone(&uploads),
        downloads: Arc::clone(&downloads),
    };
    let control = SyncControl::default();
    let prepared = cache
        .prepare(&share, &control, &PrepareOptions::default())
        .expect("prepare");
    let summary = cache
        .execute(&share, &prepared, &mut NullSink)
        .expect("execute");
    assert_eq!(summary.errors, 0, "{summary:?}");
    assert!(summary.stopped.is_none(), "{summary:?}");
    let again = cache
        .prepare(&share, &control, &PrepareOptions::default())
        .expect("prepare again");
    assert!(
        again.plan.is_empty(),
        "nothing is left to do: {:?}",
        again.plan
    );
    (uploads, downloads)
}

/// A cache of a fresh share, set to `transfers` copies at once, with `FILES` new
/// files in the cache and `FILES` new files on the share.
fn world(root: &Path, transfers: usize) -> Cache {
    let share = root.join("share");
    fs::create_dir_all(&share).expect("share");
    let cache_dir = root.join("cache");
    let cache = Cache::init(
        share.as_os_str(),
        &cache_dir,
        InitOptions { pin_root: true },
    )
    .expect("init");
    cache.set_transfers(transfers).expect("set transfers");
    assert_eq!(cache.transfers().expect("transfers"), transfers);
    write_files(&cache_dir, "up");
    write_files(&share, "down");
    cache
}

fn same_file(a: &Path, b: &Path) {
    assert_eq!(
        fs::read(a).unwrap_or_else(|e| panic!("{}: {e}", a.display())),
        fs::read(b).unwrap_or_else(|e| panic!("{}: {e}", b.display())),
        "{} and {}",
        a.display(),
        b.display()
    );
}

fn assert_synced(root: &Path) {
    for n in 0..FILES {
        for prefix in ["up", "down"] {
            let rel = format!("d{}/{prefix}{n}.txt", n % 3);
            same_file(
                &root.join("cache").join(&rel),
                &root.join("share").join(&rel),
            );
        }
    }
}

#[test]
fn copies_run_side_by_side_up_to_the_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = world(dir.path(), 3);
    let (uploads, downloads) = sync_counted(&mut cache, Some(3));
    assert_eq!(
        uploads.total.load(Ordering::SeqCst),
        FILES,
        "every upload ran"
    );
    assert_eq!(
        uploads.most.load(Ordering::SeqCst),
        3,
        "uploads in flight at most (and at least once that many)"
    );
    assert_eq!(downloads.total.load(Ordering::SeqCst), FILES);
    assert_eq!(
        downloads.most.load(Ordering::SeqCst),
        3,
        "downloads in flight"
    );
    assert_synced(dir.path());
}

#[test]
fn one_transfer_copies_one_file_at_a_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = world(dir.path(), 1);
    let (uploads, downloads) = sync_counted(&mut cache, None);
    assert_eq!(uploads.total.load(Ordering::SeqCst), FILES);
    assert_eq!(uploads.most.load(Ordering::SeqCst), 1);
    assert_eq!(downloads.total.load(Ordering::SeqCst), FILES);
    assert_eq!(downloads.most.load(Ordering::SeqCst), 1);
    assert_synced(dir.path());
}

#[test]
fn transfers_out_of_range_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = world(dir.path(), 2);
    for bad in [0, offline_engine::MAX_TRANSFERS + 1] {
        let err = cache.set_transfers(bad).expect_err("out of range");
        assert!(err.to_string().contains("--transfers"), "{err}");
    }
    assert_eq!(cache.transfers().expect("transfers"), 2, "unchanged");
}
