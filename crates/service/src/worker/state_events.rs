//! Turning changes of the state database into events: the worker remembers where
//! its last look at the engine's change log ended (`Cache::changes_since`), and
//! publishes what changed since: pins added and removed, items added to and dropped
//! from the cache, conflict records added, updated and removed. It looks when the
//! database's version moved (`Cache::state_version`: another process wrote), when
//! the watcher saw the database written, and after each of its own syncs. It never
//! copies a table to compare it.

use crate::bus::Bus;
use crate::events::{id, Event};
use crate::sink::publish_conflict_change;
use offline_core::RelPath;
use offline_engine::{Cache, Change, ChangeToken, StateVersion, Topic};
use std::path::Path;

/// Where the worker's looks at the state database ended.
pub struct StateEvents {
    /// The last look at cached items and pins.
    items: ChangeToken,
    /// The last look at conflict records (a sync's sink looks at those itself, and
    /// moves this on).
    conflicts: ChangeToken,
    /// The database's version at the last [`StateEvents::moved`].
    version: Option<StateVersion>,
}

impl StateEvents {
    /// Starts from the state the database has now (what changed before is not
    /// announced).
    pub fn start(cache: &Cache) -> StateEvents {
        let now = cache.change_token().unwrap_or_else(|e| {
            tracing::warn!("reading the state database's change log: {e}");
            ChangeToken::default()
        });
        StateEvents {
            items: now,
            conflicts: now,
            version: cache.state_version().ok(),
        }
    }

    /// True when another process (or another handle) wrote to the state database
    /// since the last call.
    pub fn moved(&mut self, cache: &Cache) -> bool {
        let Ok(now) = cache.state_version() else {
            return false;
        };
        let moved = self.version.is_some_and(|before| before != now);
        self.version = Some(now);
        moved
    }

    /// Where the look at conflict records ended, for a sync's sink to start from.
    pub fn conflicts(&self) -> ChangeToken {
        self.conflicts
    }

    /// A sync's sink announced the conflict records up to `token`.
    pub fn conflicts_announced(&mut self, token: ChangeToken) {
        self.conflicts = token;
    }

    /// Publishes what changed since the last look. Returns the items that became
    /// cached without a cache copy (a ghost removed through the FUSE view): deletions
    /// to push.
    pub fn publish(&mut self, cache: &Cache, bus: &Bus, root: &Path) -> Vec<RelPath> {
        let mut to_push = Vec::new();
        let look = cache.changes_since(self.items, Topic::Items, |change| match change {
            Change::Pin { path, source, now } => {
                let event = if now {
                    id::ITEM_PINNED
                } else {
                    id::ITEM_NOT_PINNED
                };
                bus.publish(&Event::for_item(event, root, &path).with("pinned_by", source.name()));
            }
            Change::Cached { path, now: true } => {
                if std::fs::symlink_metadata(root.join(path.as_os_str())).is_ok() {
                    bus.publish(&Event::for_item(id::ITEM_ADDED_TO_CACHE, root, &path));
                } else {
                    to_push.push(path);
                }
            }
            Change::Cached { path, now: false } => {
                bus.publish(&Event::for_item(id::ITEM_DELETED_FROM_CACHE, root, &path));
            }
            Change::Conflict { .. } => {}
        });
        match look {
            Ok(look) => {
                if !look.complete {
                    tracing::warn!(cache = %root.display(), "some changes of the state database were missed (too many at once); their events are not published");
                }
                self.items = look.token;
            }
            Err(e) => tracing::warn!(cache = %root.display(), "reading what changed: {e}"),
        }
        let look = cache.changes_since(self.conflicts, Topic::Conflicts, |change| {
            publish_conflict_change(bus, root, &change);
        });
        match look {
            Ok(look) => self.conflicts = look.token,
            Err(e) => tracing::warn!(cache = %root.display(), "reading what changed: {e}"),
        }
        to_push
    }
}
