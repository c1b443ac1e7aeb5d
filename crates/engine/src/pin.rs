//! Pinning and the cache's content: pin, unpin, fetch (content without a pin), evict
//! (drop clean copies, leaving ghosts), the space limits that evict least recently
//! used auto-cached items, and working offline on purpose.

use crate::cache::{now_ns, Cache};
use crate::conflict::utc_stamp;
use crate::error::{EngineError, Result};
use crate::prepare::PrepareOptions;
use crate::sink::{SyncSink, SyncSummary};
use offline_core::plan::Change;
use offline_core::{ConnectState, Kind, OfflineReason, RelPath, SyncControl, SyncOperation};
use offline_remote::{Expect, Remote};
use offline_store::{Original, Pin, PinSource};
use std::fs;
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

/// Settings keys of the space limits (bytes; absent or 0: no limit).
pub mod limit_keys {
    /// All cached content.
    pub const TOTAL: &str = "cache_limit_bytes";
    /// Auto-cached (fetched, not pinned) content.
    pub const AUTO: &str = "auto_cache_limit_bytes";
}

/// How `unpin` went for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnpinOutcome {
    /// The pin was removed; the content stays, auto-cached, until evicted.
    Unpinned,
    /// There was no pin of that source on the path.
    NotPinned,
    /// The path stays pinned through a pin on a folder above it.
    PinnedAbove(RelPath),
}

/// What `evict` (or the space limits) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvictReport {
    /// Items whose cache copy was dropped (now ghosts).
    pub evicted: Vec<RelPath>,
    /// Bytes freed.
    pub bytes: u64,
    /// Items kept because they hold changes not synced yet.
    pub kept_dirty: Vec<RelPath>,
    /// Changed copies dropped on request, and where their bytes were kept.
    pub discarded: Vec<(RelPath, PathBuf)>,
    /// Items that could not be dropped, and why.
    pub failed: Vec<(RelPath, String)>,
}

/// Cache space use (`offline status`, the limits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpaceUse {
    /// Bytes of all cached files.
    pub used: u64,
    /// Bytes of cached files that are not pinned.
    pub auto_used: u64,
    /// The total limit (0: none).
    pub limit: u64,
    /// The auto-cache limit (0: none).
    pub auto_limit: u64,
}

/// True when `pin` covers `path`: the pin is on it, or on a folder above it and
/// inherited.
pub(crate) fn pin_covers(pin: &Pin, path: &RelPath) -> bool {
    &pin.path == path || (pin.inherit && pin.path.is_ancestor_of(path))
}

fn pinned_by(pins: &[Pin], path: &RelPath) -> bool {
    pins.iter().any(|p| pin_covers(p, path))
}

impl Cache {
    /// Pins `paths` for `source` (deep: later items inside are pinned too). With
    /// `fill`, their content is fetched now and reported under the `pin` operation;
    /// otherwise the next sync fills them.
    pub fn pin(
        &mut self,
        paths: &[RelPath],
        source: PinSource,
        fill: bool,
        sink: &mut dyn SyncSink,
    ) -> Result<Option<SyncSummary>> {
        self.refuse_excluded(paths, "pinned")?;
        {
            let batch = self.store.transaction()?;
            for path in paths {
                batch.put_pin(&Pin {
                    path: path.clone(),
                    source,
                    inherit: true,
                })?;
            }
            batch.commit()?;
        }
        if !fill {
            return Ok(None);
        }
        let options = PrepareOptions {
            scope: paths.to_vec(),
            fill_operation: Some(SyncOperation::Pin),
            ..PrepareOptions::default()
        };
        Ok(Some(self.synchronize(
            &SyncControl::default(),
            &options,
            sink,
        )?))
    }

    /// Removes `source`'s pin from each path. Content stays (auto-cached) until evicted.
    pub fn unpin(&mut self, paths: &[RelPath], source: PinSource) -> Result<Vec<UnpinOutcome>> {
        let pins = self.store.pins()?;
        let batch = self.store.transaction()?;
        let mut out = Vec::new();
        for path in paths {
            if batch.delete_pin(path, source)? {
                out.push(UnpinOutcome::Unpinned);
                continue;
            }
            let above = pins
                .iter()
                .find(|p| p.inherit && p.path.is_ancestor_of(path))
                .map(|p| p.path.clone());
            out.push(match above {
                Some(a) => UnpinOutcome::PinnedAbove(a),
                None => UnpinOutcome::NotPinned,
            });
        }
        batch.commit()?;
        Ok(out)
    }

    /// Brings the content of `paths` into the cache without pinning it (auto-cached).
    pub fn fetch(&mut self, paths: &[RelPath], sink: &mut dyn SyncSink) -> Result<SyncSummary> {
        self.refuse_excluded(paths, "fetched")?;
        let options = PrepareOptions {
            scope: paths.to_vec(),
            also_pinned: paths.to_vec(),
            fill_operation: Some(SyncOperation::CreateCopyOnClient),
            ..PrepareOptions::default()
        };
        self.synchronize(&SyncControl::default(), &options, sink)
    }

    /// Drops the clean cache copies of `paths` and everything under them; they become
    /// ghosts. Items with changes not synced yet are kept, unless `discard_changes`:
    /// then their bytes are first moved to `.offline/discarded/`.
    pub fn evict(&mut self, paths: &[RelPath], discard_changes: bool) -> Result<EvictReport> {
        let _lock = self.lock()?;
        // A ghost with a cache copy is an eviction a crash interrupted (its ghost
        // was recorded, the copy not removed yet): it is finished now.
        let mut originals: Vec<(RelPath, Original)> = self
            .store
            .originals()?
            .into_iter()
            .filter(|(p, _)| paths.iter().any(|s| s.contains(p)))
            .filter(|(p, o)| o.cached || matches!(self.local.stat(p), Ok(Some(_))))
            .collect();
        // Deepest first, so folders are empty when their turn comes.
        originals.sort_by(|a, b| b.0.cmp(&a.0));
        let mut report = EvictReport::default();
        for (path, original) in originals {
            self.evict_one(&path, original, discard_changes, &mut report)?;
        }
        Ok(report)
    }

    fn evict_one(
        &mut self,
        path: &RelPath,
        original: Original,
        discard_changes: bool,
        report: &mut EvictReport,
    ) -> Result<()> {
        let stat = match self.local.stat(path) {
            Ok(s) => s,
            Err(e) => {
                report.failed.push((path.clone(), e.to_string()));
                return Ok(());
            }
        };
        let Some(stat) = stat else {
            // Deleted in the cache: that is a change waiting for the next sync.
            report.kept_dirty.push(path.clone());
            return Ok(());
        };
        let clean = self.is_clean(path, &stat, &original);
        if !clean && !discard_changes {
            report.kept_dirty.push(path.clone());
            return Ok(());
        }
        // The ghost is recorded before the copy goes: a crash in between leaves a
        // ghost with its copy (the next evict finishes it, a sync records it as
        // cached again), never a cached original without its copy, which the next
        // sync would take for a deletion and carry out on the share.
        if original.cached {
            let ghost = Original {
                local_identity: None,
                cached: false,
                ..original.clone()
            };
            self.put_original(path, &ghost)?;
        }
        let result = if clean {
            self.local
                .remove(path, &Expect::Identity(stat.identity.clone()))
        } else {
            let dest = self.discard_destination(path);
            self.move_aside(path, &dest).map(|_| {
                report.discarded.push((path.clone(), dest));
            })
        };
        match result {
            Ok(()) => {
                if stat.meta.kind == Kind::File {
                    report.bytes += stat.meta.size;
                }
                report.evicted.push(path.clone());
            }
            Err(e) => {
                // The copy stays: so does its original.
                if original.cached {
                    self.put_original(path, &original)?;
                }
                // A folder that still holds something (a kept change, a new file)
                // stays without being a failure.
                if stat.meta.kind != Kind::Dir || e.kind != offline_remote::ErrorKind::NotEmpty {
                    report.failed.push((path.clone(), e.to_string()));
                }
            }
        }
        Ok(())
    }

    fn put_original(&mut self, path: &RelPath, original: &Original) -> Result<()> {
        let batch = self.store.transaction()?;
        batch.put_original(path, original)?;
        batch.commit()?;
        Ok(())
    }

    /// True when the cache copy holds exactly the original: same fingerprint, or
    /// (after a touch, say) the same kind, mode and content. A ghost's copy (an
    /// eviction a crash interrupted) is measured as if it were still cached.
    fn is_clean(&self, path: &RelPath, stat: &offline_remote::Stat, original: &Original) -> bool {
        if original.local_identity.as_deref() == Some(stat.identity.as_str()) {
            return true;
        }
        let mut now = stat.meta.clone();
        if now.kind == Kind::File {
            match self.local.hash_file(path) {
                Ok((hash, _)) => now.hash = Some(hash),
                Err(_) => return false,
            }
        }
        !Change::of_cache(Some(&original.meta), true, Some(&now)).is_dirty()
    }

    fn discard_destination(&self, path: &RelPath) -> PathBuf {
        crate::layout::discarded_dir(&self.meta_dir())
            .join(utc_stamp(now_ns()))
            .join(path.as_os_str())
    }

    /// Moves a changed cache copy out of the tree (same file system: a rename), and
    /// makes the move durable (both folders flushed).
    fn move_aside(&self, path: &RelPath, dest: &PathBuf) -> offline_remote::Result<()> {
        let io = |e: std::io::Error| offline_remote::RemoteError::io(path, e);
        let from = self.local.full_path(path);
        let sync_dir = |dir: Option<&std::path::Path>| match dir {
            Some(dir) => fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io),
            None => Ok(()),
        };
        if let Some(parent) = dest.parent() {
            // Private folders; the moved file keeps its own mode.
            crate::private::make_private_dirs(parent).map_err(io)?;
        }
        crashpoint::hit("engine.discard.before_rename");
        fs::rename(&from, dest).map_err(io)?;
        crashpoint::hit("engine.discard.after_rename");
        sync_dir(dest.parent())?;
        sync_dir(from.parent())
    }

    /// Space used by cached content, and the limits.
    pub fn space_use(&self) -> Result<SpaceUse> {
        let pins = self.store.pins()?;
        let mut space = SpaceUse {
            limit: self.limit(limit_keys::TOTAL)?,
            auto_limit: self.limit(limit_keys::AUTO)?,
            ..SpaceUse::default()
        };
        for (path, o) in self.store.originals()? {
            if !o.cached || o.meta.kind != Kind::File {
                continue;
            }
            space.used += o.meta.size;
            if !pinned_by(&pins, &path) {
                space.auto_used += o.meta.size;
            }
        }
        Ok(space)
    }

    fn limit(&self, key: &str) -> Result<u64> {
        Ok(self
            .store
            .setting(key)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Sets the space limits (bytes; 0 removes a limit).
    pub fn set_limits(&self, total: Option<u64>, auto: Option<u64>) -> Result<()> {
        if let Some(total) = total {
            self.store
                .set_setting(limit_keys::TOTAL, &total.to_string())?;
        }
        if let Some(auto) = auto {
            self.store
                .set_setting(limit_keys::AUTO, &auto.to_string())?;
        }
        Ok(())
    }

    /// Evicts clean auto-cached files, least recently used first, until the cache is
    /// within its limits. Pinned and changed items are never evicted.
    pub fn enforce_limits(&mut self) -> Result<EvictReport> {
        if self.limit(limit_keys::TOTAL)? == 0 && self.limit(limit_keys::AUTO)? == 0 {
            // No limits: nothing to measure (measuring reads every original).
            return Ok(EvictReport::default());
        }
        let space = self.space_use()?;
        let over_total = excess(space.used, space.limit);
        let over_auto = excess(space.auto_used, space.auto_limit);
        let mut need = over_total.max(over_auto);
        let mut report = EvictReport::default();
        if need == 0 {
            return Ok(report);
        }
        let pins = self.store.pins()?;
        let mut candidates: Vec<(i64, RelPath, Original)> = self
            .store
            .originals()?
            .into_iter()
            .filter(|(p, o)| o.cached && o.meta.kind == Kind::File && !pinned_by(&pins, p))
            .map(|(p, o)| (self.last_used_ns(&p), p, o))
            .collect();
        candidates.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        for (_, path, original) in candidates {
            if need == 0 {
                break;
            }
            let size = original.meta.size;
            let before = report.evicted.len();
            self.evict_one(&path, original, false, &mut report)?;
            if report.evicted.len() > before {
                need = need.saturating_sub(size);
            }
        }
        Ok(report)
    }

    /// When the cache copy was last used: its access time. (Copies keep the share's
    /// modification time, so that says nothing about use; the access time is set when
    /// the copy is made and, with relatime, at least daily when it is read.)
    fn last_used_ns(&self, path: &RelPath) -> i64 {
        fs::symlink_metadata(self.local.full_path(path))
            .and_then(|m| m.accessed())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0)
    }

    /// Works offline on purpose: syncs refuse (exit 3) until [`Cache::reconnect`].
    pub fn disconnect(&self) -> Result<()> {
        self.set_connect_state(ConnectState::Offline, OfflineReason::ConnectionForced)
    }

    /// Ends working offline on purpose; the next sync checks the share.
    pub fn reconnect(&self) -> Result<()> {
        let (_, reason) = self.connect_state()?;
        if reason == OfflineReason::ConnectionForced {
            self.set_connect_state(ConnectState::Unknown, OfflineReason::Unknown)?;
        }
        match self.connect_share() {
            Ok(_) => self.set_connect_state(ConnectState::Online, OfflineReason::NotApplicable),
            Err(EngineError::Unreachable { .. }) => {
                self.set_connect_state(ConnectState::Offline, OfflineReason::ConnectionError)
            }
            Err(e) => Err(e),
        }
    }
}

fn excess(used: u64, limit: u64) -> u64 {
    if limit == 0 {
        0
    } else {
        used.saturating_sub(limit)
    }
}
