//! `offline daemon`: serves many caches at once (a worker thread each), publishes
//! events on the user's socket, and stops cleanly on SIGTERM or SIGINT: every worker
//! ends its current item (the sink answers `Abort` between two items), so nothing is
//! lost, then the process exits 0.

use crate::bus::Bus;
use crate::status;
use crate::worker::{Msg, Worker};
use anyhow::{bail, Context, Result};
use offline_engine::Cache;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The caches to serve (any folder inside each).
    pub caches: Vec<PathBuf>,
    /// The events socket.
    pub socket: PathBuf,
    /// How often subscribers get a ping.
    pub ping_every: Duration,
    /// Whether and where the Sync Center page is served.
    pub ui: crate::ui::Listen,
}

/// The file that lists the caches `offline daemon` serves when given none:
/// `$XDG_CONFIG_HOME/offline-files/caches` (else `~/.config/...`), one folder a line,
/// `#` comments.
pub fn caches_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("offline-files").join("caches"))
}

/// The caches listed in [`caches_file`].
pub fn listed_caches() -> Vec<PathBuf> {
    let Some(file) = caches_file() else {
        return Vec::new();
    };
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(PathBuf::from)
        .collect()
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(options: DaemonOptions) -> Result<()> {
    if options.caches.is_empty() {
        bail!(
            "no cache to serve: name one or more cache folders, or list them in {}",
            caches_file()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "$XDG_CONFIG_HOME/offline-files/caches".into())
        );
    }
    // Open every cache first, and take each one's daemon lock: a bad argument or a
    // cache another daemon serves stops us before anything runs.
    let mut roots: Vec<(PathBuf, std::fs::File)> = Vec::new();
    for dir in &options.caches {
        let cache = Cache::open(dir)?;
        let root = cache.root().to_path_buf();
        if roots.iter().any(|(r, _)| r == &root) {
            continue;
        }
        let Some(lock) = status::lock(&cache.meta_dir())? else {
            let pid = status::read(&cache.meta_dir())
                .map(|f| format!(" (pid {})", f.status.pid))
                .unwrap_or_default();
            bail!(
                "another offline daemon already serves the cache {}{pid}",
                root.display()
            );
        };
        roots.push((root, lock));
    }
    // The handlers come first: a SIGTERM sent as soon as the socket answers (a
    // service manager, a test) must find them in place.
    let stop = Arc::new(AtomicBool::new(false));
    let signals = watch_signals(stop.clone())?;
    let bus = Bus::listen(&options.socket, options.ping_every)?;
    let ui = crate::ui::bind(options.ui)?;
    let ui_url = ui.as_ref().map(|u| u.url());
    let served: Vec<PathBuf> = roots.iter().map(|(r, _)| r.clone()).collect();

    let mut handles = Vec::new();
    let mut wakers: Vec<mpsc::Sender<Msg>> = Vec::new();
    for (root, lock) in roots {
        let (tx, rx) = mpsc::channel();
        wakers.push(tx.clone());
        let worker = Worker::new(&root, bus.clone(), stop.clone(), tx, rx)
            .with_context(|| format!("serving {}", root.display()))?
            .with_ui(ui_url.clone());
        let handle = std::thread::Builder::new()
            .name(format!("cache {}", root.display()))
            .spawn(move || {
                let _lock = lock;
                worker.run();
            })?;
        handles.push(handle);
    }
    let ui_server = match ui {
        Some(bound) => Some(bound.serve(served, &bus, stop.clone())?),
        None => None,
    };
    eprintln!(
        "offline daemon: serving {} cache(s); events on {}{}",
        handles.len(),
        options.socket.display(),
        ui_url
            .map(|u| format!("; Sync Center on {u} (`offline ui` gives its login address)"))
            .unwrap_or_default()
    );
    // Wait for a signal, then wake every worker so it stops at once.
    let _ = signals.recv();
    stop.store(true, Ordering::SeqCst);
    for waker in &wakers {
        let _ = waker.send(Msg::Wake);
    }
    let mut panicked = false;
    for handle in handles {
        panicked |= handle.join().is_err();
    }
    if let Some(server) = ui_server {
        server.stop();
    }
    bus.close();
    if panicked {
        bail!("a cache worker failed; see the messages above");
    }
    eprintln!("offline daemon: stopped");
    Ok(())
}

/// A channel that receives once SIGTERM or SIGINT arrives. A second signal while
/// stopping ends the process at once (safe by the crash-safety rules).
pub fn watch_signals(stop: Arc<AtomicBool>) -> Result<mpsc::Receiver<()>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])
        .context("installing the signal handlers")?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if stop.swap(true, Ordering::SeqCst) {
                    eprintln!("offline: stopping now (second signal)");
                    std::process::exit(128 + signal);
                }
                let _ = tx.send(());
            }
        })?;
    Ok(rx)
}

/// The cache folder of `dir` (for messages).
pub fn cache_root(dir: &Path) -> Result<PathBuf> {
    Ok(Cache::open(dir)?.root().to_path_buf())
}
