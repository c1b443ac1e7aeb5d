//! Mounting and serving the view: checks the mount point, mounts (as root directly,
//! otherwise through fusermount3), starts the invalidation watcher, writes the
//! mount's status file for `offline status`, and unmounts on SIGTERM or SIGINT
//! (lazily, if a file is still open) or ends when unmounted from outside.

use super::view::{lock, OfflineFs};
use super::watch;
use crate::mount_status::{self, Io, MountStatus};
use anyhow::{bail, Context, Result};
use fuser::{Config, MountOption};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the view is mounted.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Serve all file content through the mount process (no FUSE passthrough).
    pub no_passthrough: bool,
}

/// Threads serving requests.
const THREADS: usize = 4;

/// Mounts the view of the cache at `cache_dir` on `mountpoint` and serves it until
/// SIGTERM or SIGINT, or until it is unmounted (`fusermount3 -u MOUNTPOINT`).
pub fn run(cache_dir: &Path, mountpoint: &Path, options: &Options) -> Result<()> {
    // Settled when the kernel connects.
    let io = Arc::new(Mutex::new(None));
    let view = OfflineFs::new(cache_dir, !options.no_passthrough, io.clone())?;
    let root = view.root.clone();
    let meta_dir = view.meta_dir.clone();
    let mountpoint = mountpoint
        .canonicalize()
        .with_context(|| format!("the mount point {} cannot be used", mountpoint.display()))?;
    if !mountpoint.is_dir() {
        bail!("the mount point {} is not a folder", mountpoint.display());
    }
    if mountpoint.starts_with(&root) {
        bail!(
            "the mount point {} must not lie inside the cache {}",
            mountpoint.display(),
            root.display()
        );
    }
    if !Path::new("/dev/fuse").exists() {
        bail!("FUSE is not available here (/dev/fuse is missing)");
    }
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName(format!("offline:{}", root.display())),
        MountOption::Subtype("offline".into()),
        MountOption::DefaultPermissions,
        MountOption::NoDev,
        MountOption::NoSuid,
    ];
    config.n_threads = Some(THREADS);
    config.clone_fd = true;
    let (watcher_view, inodes, listed) = (
        view.watcher.clone(),
        view.inodes.clone(),
        view.listed.clone(),
    );
    view.watcher.watch_database(&meta_dir);
    // As root the kernel is asked directly; otherwise fuser runs fusermount3.
    let session = fuser::spawn_mount(view, &mountpoint, &config).with_context(|| {
        format!(
            "mounting on {} (as root, or with fusermount3 from the fuse3 package)",
            mountpoint.display()
        )
    })?;
    watch::spawn(watcher_view, inodes, listed, session.notifier())
        .context("starting the mount's change watcher")?;
    eprintln!(
        "offline mount: {} on {} (stop with Ctrl-C or `fusermount3 -u {}`)",
        root.display(),
        mountpoint.display(),
        mountpoint.display()
    );
    let mut status = MountStatus {
        pid: std::process::id(),
        mountpoint: mountpoint.clone(),
        started_ns: offline_engine::cache::now_ns(),
        io: Io::Passthrough,
    };
    let mut reported = false;
    let stop = Arc::new(AtomicBool::new(false));
    let signals = crate::daemon::watch_signals(stop)?;
    let ended = loop {
        // The kernel settles the connection (and the view may fall back later).
        let settled = lock(&io).clone();
        if let Some(now) = settled.filter(|now| !reported || *now != status.io) {
            status.io = now;
            if let Err(e) = mount_status::write(&meta_dir, &status) {
                tracing::warn!("{e:#}");
            }
            reported = true;
        }
        if session.guard.is_finished() {
            // Unmounted from outside.
            break true;
        }
        if signals.recv_timeout(Duration::from_millis(200)).is_ok() {
            break false;
        }
    };
    mount_status::remove(&meta_dir, status.pid);
    if ended {
        return session
            .join()
            .context("the FUSE session ended with an error");
    }
    unmount(session, &mountpoint);
    Ok(())
}

/// Unmounts; a file still open keeps the mount busy: then detach it lazily (it goes
/// away once the last user closes it) rather than hang.
fn unmount(session: fuser::BackgroundSession, mountpoint: &Path) {
    let done = Arc::new(AtomicBool::new(false));
    let unmounting = std::thread::spawn({
        let done = done.clone();
        move || {
            let result = session.umount_and_join();
            done.store(true, Ordering::SeqCst);
            result
        }
    });
    let started = Instant::now();
    while !done.load(Ordering::SeqCst) {
        if started.elapsed() > Duration::from_secs(5) {
            detach(mountpoint);
            eprintln!(
                "offline mount: {} was busy; detached it (it goes away when its last file is closed)",
                mountpoint.display()
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    match unmounting.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::debug!("unmounting: {e}");
            detach(mountpoint);
        }
        Err(_) => detach(mountpoint),
    }
    eprintln!("offline mount: unmounted {}", mountpoint.display());
}

/// Lazily unmounts `dir` (as root), else asks fusermount3.
fn detach(dir: &Path) {
    let detached = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map(|c| {
            // SAFETY: a valid NUL-terminated path; umount2 only reads it.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) == 0 }
        })
        .unwrap_or(false);
    if !detached {
        let _ = std::process::Command::new("fusermount3")
            .arg("-u")
            .arg("-z")
            .arg(dir)
            .status();
    }
}
