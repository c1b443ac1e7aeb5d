//! What the daemon tells about itself per cache: `.offline/daemon.json` (pid, what it
//! does, when the next sync is due) and `.offline/daemon.lock`, held while a daemon
//! serves the cache (both named in `offline_engine::layout`). `offline status` reads
//! both: a daemon counts as running only when its pid is alive and the lock is held.

use crate::outcome::SyncOutcome;
use anyhow::{Context, Result};
use offline_engine::layout;
use offline_engine::private::private_file;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

/// The daemon's state for one cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// The daemon's process id.
    pub pid: u32,
    /// When it started serving the cache (ns since the epoch).
    pub started_ns: i64,
    /// What it does now.
    pub activity: Activity,
    /// When the next scheduled full sync is due (ns since the epoch).
    pub next_sync_ns: Option<i64>,
    /// When the next reconnect attempt is due, while the share is unreachable.
    pub next_retry_ns: Option<i64>,
    /// When the last background sync ended.
    pub last_sync_ns: Option<i64>,
    /// How it ended.
    pub last_result: Option<SyncOutcome>,
    /// The events socket.
    pub socket: Option<String>,
    /// How changes made on the share by other clients are learnt (see
    /// `share_watch`).
    #[serde(default)]
    pub share_changes: Option<String>,
    /// The share's round trip as last measured, in milliseconds.
    #[serde(default)]
    pub round_trip_ms: Option<u64>,
    /// The round trip is over `daemon.slow_link_latency` (Windows' slow-link mode):
    /// background syncs copy large files only in `daemon.slow_link_window`.
    #[serde(default)]
    pub slow_link: bool,
    /// The Sync Center page's address (no token), when the daemon serves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui: Option<String>,
}

/// What the daemon does for a cache (`DaemonStatus::activity`, by its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// Watching for changes.
    Idle,
    /// A sync runs.
    Syncing,
    /// Waiting for the share to come back.
    Offline,
    /// Offline on purpose.
    Disconnected,
    /// Holding syncs in a blackout window.
    Blackout,
    /// Stopping.
    Stopping,
}

impl Activity {
    /// All six.
    pub const ALL: [Activity; 6] = [
        Activity::Idle,
        Activity::Syncing,
        Activity::Offline,
        Activity::Disconnected,
        Activity::Blackout,
        Activity::Stopping,
    ];

    /// The name in the status file.
    pub fn name(self) -> &'static str {
        match self {
            Activity::Idle => "idle",
            Activity::Syncing => "syncing",
            Activity::Offline => "offline",
            Activity::Disconnected => "disconnected",
            Activity::Blackout => "blackout",
            Activity::Stopping => "stopping",
        }
    }

    /// Reads a name of the status file back (`None`: not one of them).
    pub fn from_name(name: &str) -> Option<Activity> {
        Activity::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A daemon found serving a cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// What it wrote.
    pub status: DaemonStatus,
    /// Its pid is alive and it holds the lock.
    pub running: bool,
}

/// Writes the status file atomically (temp file, then rename).
pub fn write(meta_dir: &Path, status: &DaemonStatus) -> Result<()> {
    let path = layout::daemon_status(meta_dir);
    let tmp = layout::temp_beside(&path);
    private_file(&tmp, true)
        .and_then(|mut file| file.write_all(&serde_json::to_vec_pretty(status)?))
        .with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Removes the status file (the daemon stops serving the cache).
pub fn remove(meta_dir: &Path) {
    let _ = fs::remove_file(layout::daemon_status(meta_dir));
}

/// Takes the daemon lock of a cache; `None` when another daemon holds it.
pub fn lock(meta_dir: &Path) -> Result<Option<File>> {
    let path = layout::daemon_lock(meta_dir);
    let file = private_file(&path, false).with_context(|| format!("opening {}", path.display()))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(file)),
        Err(_) => Ok(None),
    }
}

fn lock_is_held(meta_dir: &Path) -> bool {
    let path = layout::daemon_lock(meta_dir);
    let Ok(file) = fs::OpenOptions::new().read(true).open(&path) else {
        return false;
    };
    // If we can take it, nobody holds it (dropping the file releases it again).
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockShared).is_err()
}

/// True when a process with this id exists.
pub fn pid_alive(pid: u32) -> bool {
    match rustix::process::Pid::from_raw(pid as i32) {
        Some(p) => match rustix::process::test_kill_process(p) {
            Ok(()) => true,
            Err(e) => e == rustix::io::Errno::PERM,
        },
        None => false,
    }
}

/// The daemon serving the cache whose `.offline/` is `meta_dir`, if one wrote there.
pub fn read(meta_dir: &Path) -> Option<Found> {
    let bytes = fs::read(layout::daemon_status(meta_dir)).ok()?;
    let status: DaemonStatus = serde_json::from_slice(&bytes).ok()?;
    let running = pid_alive(status.pid) && lock_is_held(meta_dir);
    Some(Found { status, running })
}

#[cfg(test)]
mod tests {
    use super::Activity;

    #[test]
    fn activity_names_read_back() {
        for activity in Activity::ALL {
            assert_eq!(Activity::from_name(activity.name()), Some(activity));
        }
        assert_eq!(Activity::from_name("dreaming"), None);
    }

    #[test]
    fn the_status_file_names_activity_and_result_as_their_names() {
        use super::{DaemonStatus, SyncOutcome};
        for activity in Activity::ALL {
            let json = serde_json::to_value(activity).unwrap();
            assert_eq!(json, activity.name());
        }
        let status = DaemonStatus {
            pid: 1,
            started_ns: 2,
            activity: Activity::Blackout,
            next_sync_ns: None,
            next_retry_ns: None,
            last_sync_ns: Some(3),
            last_result: Some(SyncOutcome::Refused),
            socket: None,
            share_changes: None,
            round_trip_ms: None,
            slow_link: false,
            ui: None,
        };
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["activity"], "blackout");
        assert_eq!(json["last_result"], "refused");
        let back: DaemonStatus = serde_json::from_value(json).unwrap();
        assert_eq!(back, status);
    }
}
