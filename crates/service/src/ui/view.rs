//! What the page shows of each cache, read through the engine's `Cache` API (status,
//! conflicts, listings) and the daemon's status file, plus the words and numbers the
//! pages print: sizes, times and how long ago, offline reasons in words.

use super::live::{Live, Recent, Run};
use crate::status::{self, Activity, DaemonStatus};
use offline_core::{ConnectState, OfflineReason};
use offline_engine::cache::now_ns;
use offline_engine::{Cache, Status};
use offline_store::ConflictRecord;
use std::path::{Path, PathBuf};

/// One cache as the overview shows it.
pub struct CacheView {
    /// Its number on the page.
    pub index: usize,
    /// The cache folder.
    pub root: PathBuf,
    /// What the engine says, or why the cache could not be read.
    pub state: Result<CacheState, String>,
    /// What the daemon wrote about it.
    pub daemon: Option<DaemonStatus>,
    /// A sync in progress.
    pub run: Option<Run>,
    /// Recent results, newest first.
    pub recent: Vec<Recent>,
}

/// The engine's view of a cache.
pub struct CacheState {
    /// `offline status`.
    pub status: Status,
    /// `offline conflicts`.
    pub conflicts: Vec<ConflictRecord>,
}

impl CacheView {
    /// Reads cache `index` at `root` (blocking: opens the state database and scans
    /// the cache folder, as `offline status` does).
    pub fn read(index: usize, root: &Path, live: &Live) -> CacheView {
        let cache = Cache::open(root);
        let daemon = cache
            .as_ref()
            .ok()
            .and_then(|c| status::read(&c.meta_dir()))
            .filter(|f| f.running)
            .map(|f| f.status);
        let state = cache
            .and_then(|cache| {
                let status = cache.status()?;
                let conflicts = cache.store().conflicts()?;
                Ok(CacheState { status, conflicts })
            })
            .map_err(|e| e.to_string());
        CacheView {
            index,
            root: root.to_path_buf(),
            state,
            daemon,
            run: live.run(index),
            recent: live.recent(index),
        }
    }

    /// The share's connect state (`Unknown` when the cache could not be read); its
    /// name is the `data-state` of its section.
    pub fn connect_state(&self) -> ConnectState {
        match &self.state {
            Ok(s) => s.status.connect_state,
            Err(_) => ConnectState::Unknown,
        }
    }

    /// The offline reason's name while offline.
    pub fn reason_name(&self) -> Option<&'static str> {
        match &self.state {
            Ok(s) if s.status.connect_state == ConnectState::Offline => {
                Some(s.status.offline_reason.name())
            }
            _ => None,
        }
    }

    /// Conflicts waiting.
    pub fn conflict_count(&self) -> usize {
        self.state.as_ref().map(|s| s.conflicts.len()).unwrap_or(0)
    }

    /// The folder's last name, for headings.
    pub fn title(&self) -> String {
        self.root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.root.display().to_string())
    }
}

/// An offline reason in words.
pub fn reason_words(reason: OfflineReason) -> &'static str {
    match reason {
        OfflineReason::ConnectionForced => "offline on purpose: syncs wait until you reconnect",
        OfflineReason::ConnectionError => {
            "the share cannot be reached; the daemon tries it again every retry interval"
        }
        OfflineReason::ConnectionSlow => "the share is too slow",
        OfflineReason::ItemVersionConflict => "conflicts wait for you",
        OfflineReason::ItemSuspended => "suspended",
        OfflineReason::NotApplicable => "",
        OfflineReason::Unknown => "not checked yet",
    }
}

/// What the daemon is doing, in words.
pub fn activity_words(activity: Activity) -> &'static str {
    match activity {
        Activity::Idle => "idle, watching for changes",
        Activity::Syncing => "syncing",
        Activity::Offline => "waiting for the share to come back",
        Activity::Disconnected => "offline on purpose",
        Activity::Blackout => "holding syncs (blackout window)",
        Activity::Stopping => "stopping",
    }
}

/// A byte count for people: `512 B`, `1.5 KiB`, `2.0 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A span of seconds for people: `40 s`, `5 min`, `3 h`, `2 days`.
pub fn span(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..=89 => format!("{secs} s"),
        90..=5399 => format!("{} min", (secs + 30) / 60),
        5400..=172_799 => format!("{} h", (secs + 1800) / 3600),
        _ => format!("{} days", (secs + 43_200) / 86_400),
    }
}

/// How long ago `ns` was, or how far ahead (`in 5 min`).
pub fn relative(ns: i64) -> String {
    let secs = (ns - now_ns()) / 1_000_000_000;
    if secs > 0 {
        format!("in {}", span(secs))
    } else {
        format!("{} ago", span(-secs))
    }
}

/// A UTC time for people: `2026-11-29 18:39:38 UTC`.
pub fn stamp(ns: i64) -> String {
    let compact = offline_engine::conflict::utc_stamp(ns);
    let b = compact.as_bytes();
    if b.len() == 16 && b[8] == b'T' && b[15] == b'Z' {
        format!(
            "{}-{}-{} {}:{}:{} UTC",
            &compact[0..4],
            &compact[4..6],
            &compact[6..8],
            &compact[9..11],
            &compact[11..13],
            &compact[13..15]
        )
    } else {
        compact
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_spans_read_well() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
        assert_eq!(span(5), "5 s");
        assert_eq!(span(300), "5 min");
        assert_eq!(span(3 * 86_400), "3 days");
        assert!(relative(now_ns() - 120_000_000_000).ends_with("ago"));
        assert!(relative(now_ns() + 600_000_000_000).starts_with("in "));
        assert_eq!(stamp(0), "1970-01-01 00:00:00 UTC");
    }
}
