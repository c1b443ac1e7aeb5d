//! The daemon's filter of watcher events: a change at or below an excluded path is
//! dropped before it becomes a push (no push, no rescan work). The cache's patterns
//! are read again when they change, and the ignore files read so far are forgotten
//! when an `.offlineignore` changes.

use offline_core::RelPath;
use offline_engine::exclude::{Checker, ExcludeSettings, IGNORE_FILE};
use offline_engine::Cache;
use offline_remote::{DirRemote, Remote};
use std::time::{Duration, Instant};

/// How often the cache's exclusion settings are read again.
const SETTINGS_EVERY: Duration = Duration::from_secs(1);

/// Tells excluded paths from the rest, for one cache.
#[derive(Debug, Default)]
pub struct ExcludeFilter {
    checker: Option<Checker>,
    settings: Option<ExcludeSettings>,
    read: Option<Instant>,
}

impl ExcludeFilter {
    /// Keeps the `paths` that are not excluded.
    pub fn retain(&mut self, cache: &Cache, local: &DirRemote, paths: &mut Vec<RelPath>) {
        self.refresh(cache, paths);
        let Some(checker) = self.checker.as_mut() else {
            return;
        };
        paths.retain(|path| {
            let is_dir = matches!(local.stat(path), Ok(Some(s)) if s.meta.is_dir());
            !checker.excludes(local, path, is_dir)
        });
    }

    /// True when every one of `paths` is excluded.
    pub fn all_excluded(&mut self, cache: &Cache, local: &DirRemote, paths: &[&RelPath]) -> bool {
        let mut kept: Vec<RelPath> = paths.iter().map(|p| (*p).clone()).collect();
        self.retain(cache, local, &mut kept);
        kept.is_empty()
    }

    fn refresh(&mut self, cache: &Cache, paths: &[RelPath]) {
        let due = self.read.is_none_or(|at| at.elapsed() >= SETTINGS_EVERY);
        if due {
            self.read = Some(Instant::now());
            match cache.exclude_settings() {
                Ok(settings) if self.settings.as_ref() != Some(&settings) => {
                    self.checker = cache.exclusion_checker().ok();
                    self.settings = Some(settings);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("reading the exclusions: {e}"),
            }
        }
        if paths.iter().any(|p| p.file_name() == IGNORE_FILE) {
            if let Some(checker) = self.checker.as_mut() {
                checker.forget_files();
            }
        }
    }
}
