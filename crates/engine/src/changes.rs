//! What the daemon and the FUSE view ask of the cache between syncs: did anyone write
//! to the state database (`PRAGMA data_version`), what changed since a look (the
//! store's change log: items cached or not, pins, conflict records), was a change
//! seen in the cache folder a sync's own write, and claiming a ghost that the person
//! removed or replaced. They never read or write `Original` rows themselves.

use crate::cache::Cache;
use crate::error::Result;
use offline_core::{Original, RelPath};
use offline_remote::Remote;
use offline_store::Store;

pub use offline_store::{Change, ConflictMark, Topic};

/// A point in the change log: a look from it sees only the changes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeToken(i64);

/// What one look at the change log found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// Where the next look starts.
    pub token: ChangeToken,
    /// False when some changes were missed (the log dropped them: more than
    /// [`offline_store::CHANGE_LOG_KEEP`] since the last look, or the database was
    /// rebuilt); what is reported is then only part of what changed.
    pub complete: bool,
}

/// A version of the state database as one connection sees it: two versions differ
/// when another connection committed in between (never for the connection's own
/// writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateVersion(i64);

/// [`Cache::changes_since`] on a second handle on the cache's state database.
pub fn changes_since(
    store: &Store,
    token: ChangeToken,
    topic: Topic,
    each: impl FnMut(Change),
) -> Result<Look> {
    let read = store.changes_since(token.0, topic, each)?;
    Ok(Look {
        token: ChangeToken(read.seq),
        complete: read.complete,
    })
}

impl Cache {
    /// The change log's point now: the start of the next look.
    pub fn change_token(&self) -> Result<ChangeToken> {
        Ok(ChangeToken(self.store.change_seq()?))
    }

    /// Calls `each` with every item of `topic` whose recorded state differs from the
    /// state it had at `token` (a change undone meanwhile is none): pins before
    /// cached items, what is there now before what went, then in path order.
    pub fn changes_since(
        &self,
        token: ChangeToken,
        topic: Topic,
        each: impl FnMut(Change),
    ) -> Result<Look> {
        changes_since(&self.store, token, topic, each)
    }

    /// The state database's version as this cache's connection sees it: it moves
    /// when another process (or another handle) writes, so a reader only looks at
    /// the change log when it did.
    pub fn state_version(&self) -> Result<StateVersion> {
        Ok(StateVersion(self.store.data_version()?))
    }

    /// True when the cache copy of `path` is what the state database recorded (the
    /// same stat identity), or neither exists: a change seen there was a sync's own
    /// write (the daemon's, a fetch through the FUSE view), not a person's edit.
    /// Anything that cannot be read counts as the person's.
    pub fn is_own_write(&self, path: &RelPath) -> bool {
        let Ok(original) = self.store.original(path) else {
            return false;
        };
        let Ok(now) = self.local.stat(path) else {
            return false;
        };
        match (original, now) {
            (None, None) => true,
            (Some(o), Some(s)) => {
                o.cached && o.local_identity.as_deref() == Some(s.identity.as_str())
            }
            _ => false,
        }
    }

    /// The person removed or replaced the ghost `path` (through the FUSE view): it is
    /// marked as cached with no cache copy, which the next sync takes as a deletion
    /// in the cache. Takes the cache's lock. False when `path` was no ghost (nothing
    /// recorded, or cached already): nothing was written.
    pub fn claim_ghost(&mut self, path: &RelPath) -> Result<bool> {
        let _held = self.lock()?;
        let original = match self.store.original(path)? {
            Some(o) if !o.cached => o,
            _ => return Ok(false),
        };
        let claimed = Original {
            cached: true,
            local_identity: None,
            ..original
        };
        let batch = self.store.transaction()?;
        batch.put_original(path, &claimed)?;
        batch.commit()?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::InitOptions;
    use crate::{NullSink, PrepareOptions};
    use offline_core::{SyncControl, SyncState};
    use offline_store::{ConflictRecord, Pin, PinSource};
    use std::path::Path;

    fn rel(p: &str) -> RelPath {
        RelPath::from_str_lossy(p).unwrap()
    }

    /// A cache of a folder share holding `files`, synced once (no root pin: only
    /// what `cached` names is fetched, the rest stays ghosts).
    fn synced_cache(tmp: &Path, files: &[&str], cached: &[&str]) -> Cache {
        let share = tmp.join("share");
        std::fs::create_dir_all(&share).unwrap();
        for f in files {
            std::fs::write(share.join(f), f.as_bytes()).unwrap();
        }
        let mut cache = Cache::init(
            share.as_os_str(),
            &tmp.join("cache"),
            InitOptions { pin_root: false },
        )
        .unwrap();
        sync(&mut cache);
        let paths: Vec<RelPath> = cached.iter().map(|p| rel(p)).collect();
        if !paths.is_empty() {
            cache.fetch(&paths, &mut NullSink).unwrap();
        }
        cache
    }

    /// One sync of `cache` with the default control and options.
    fn sync(cache: &mut Cache) {
        cache
            .synchronize(
                &SyncControl::default(),
                &PrepareOptions::default(),
                &mut NullSink,
            )
            .unwrap();
    }

    fn look(cache: &Cache, token: ChangeToken, topic: Topic) -> (Vec<Change>, Look) {
        let mut seen = Vec::new();
        let look = cache.changes_since(token, topic, |c| seen.push(c)).unwrap();
        (seen, look)
    }

    fn second_handle(cache: &Cache) -> Store {
        Store::open(cache.store().path()).unwrap()
    }

    #[test]
    fn a_look_reports_what_became_cached_and_what_stopped_being_cached() {
        let tmp = tempfile::tempdir().unwrap();
        let mut cache = synced_cache(tmp.path(), &["a", "b", "c"], &[]);
        let start = cache.change_token().unwrap();
        let (seen, first) = look(&cache, start, Topic::Items);
        assert!(seen.is_empty(), "nothing since the token: {seen:?}");
        assert_eq!(first.token, start);
        assert!(first.complete);

        cache.fetch(&[rel("a"), rel("b")], &mut NullSink).unwrap();
        std::fs::remove_file(cache.root().join("b")).unwrap();
        std::fs::remove_file(tmp.path().join("share/b")).unwrap();
        sync(&mut cache);
        // `b` was cached and then deleted: no change since the token; `a` is new.
        let (seen, later) = look(&cache, start, Topic::Items);
        assert_eq!(
            seen,
            vec![Change::Cached {
                path: rel("a"),
                now: true
            }]
        );
        assert!(later.token != start && later.complete);

        // From the later token, a deleted cached item is reported gone.
        std::fs::remove_file(cache.root().join("a")).unwrap();
        std::fs::remove_file(tmp.path().join("share/a")).unwrap();
        sync(&mut cache);
        let (seen, _) = look(&cache, later.token, Topic::Items);
        assert_eq!(
            seen,
            vec![Change::Cached {
                path: rel("a"),
                now: false
            }]
        );
    }

    #[test]
    fn pins_and_conflicts_come_and_go_in_the_look_of_their_topic() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = synced_cache(tmp.path(), &["a", "b"], &[]);
        let start = cache.change_token().unwrap();
        let mut other = second_handle(&cache);
        {
            let batch = other.transaction().unwrap();
            batch
                .put_pin(&Pin {
                    path: rel("a"),
                    source: PinSource::User,
                    inherit: false,
                })
                .unwrap();
            batch
                .put_conflict(&ConflictRecord {
                    path: rel("b"),
                    state: SyncState::ALL[1],
                    detected_ns: 7,
                    original: None,
                    local: None,
                    remote: None,
                })
                .unwrap();
            batch.commit().unwrap();
        }
        let (items, _) = look(&cache, start, Topic::Items);
        assert_eq!(
            items,
            vec![Change::Pin {
                path: rel("a"),
                source: PinSource::User,
                now: true
            }]
        );
        let (conflicts, at) = look(&cache, start, Topic::Conflicts);
        assert_eq!(
            conflicts,
            vec![Change::Conflict {
                path: rel("b"),
                before: None,
                now: Some((SyncState::ALL[1], 7))
            }]
        );
        // Replaced by another record, then the pin removed.
        {
            let batch = other.transaction().unwrap();
            batch
                .put_conflict(&ConflictRecord {
                    path: rel("b"),
                    state: SyncState::ALL[2],
                    detected_ns: 9,
                    original: None,
                    local: None,
                    remote: None,
                })
                .unwrap();
            assert!(batch.delete_pin(&rel("a"), PinSource::User).unwrap());
            batch.commit().unwrap();
        }
        let (conflicts, _) = look(&cache, at.token, Topic::Conflicts);
        assert_eq!(
            conflicts,
            vec![Change::Conflict {
                path: rel("b"),
                before: Some((SyncState::ALL[1], 7)),
                now: Some((SyncState::ALL[2], 9))
            }]
        );
        let (items, _) = look(&cache, at.token, Topic::Items);
        assert_eq!(
            items,
            vec![Change::Pin {
                path: rel("a"),
                source: PinSource::User,
                now: false
            }]
        );
        // From the start, the pin came and went: nothing.
        let (items, _) = look(&cache, start, Topic::Items);
        assert!(items.is_empty(), "{items:?}");
    }

    #[test]
    fn a_look_gives_pins_first_then_what_is_there_before_what_went() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = synced_cache(tmp.path(), &["a", "c"], &["a"]);
        let start = cache.change_token().unwrap();
        let mut other = second_handle(&cache);
        {
            let ghost = other.original(&rel("c")).unwrap().unwrap();
            let batch = other.transaction().unwrap();
            batch.delete_original(&rel("a")).unwrap();
            batch
                .put_original(
                    &rel("c"),
                    &Original {
                        cached: true,
                        ..ghost
                    },
                )
                .unwrap();
            batch
                .put_pin(&Pin {
                    path: rel("z"),
                    source: PinSource::User,
                    inherit: true,
                })
                .unwrap();
            batch.commit().unwrap();
        }
        let (seen, _) = look(&cache, start, Topic::Items);
        assert_eq!(
            seen,
            vec![
                Change::Pin {
                    path: rel("z"),
                    source: PinSource::User,
                    now: true
                },
                Change::Cached {
                    path: rel("c"),
                    now: true
                },
                Change::Cached {
                    path: rel("a"),
                    now: false
                },
            ]
        );
    }

    #[test]
    fn the_version_moves_for_another_connection_s_writes_only() {
        let tmp = tempfile::tempdir().unwrap();
        let mut cache = synced_cache(tmp.path(), &["a"], &[]);
        let before = cache.state_version().unwrap();
        assert!(cache.claim_ghost(&rel("a")).unwrap());
        assert_eq!(
            cache.state_version().unwrap(),
            before,
            "its own write does not move it"
        );
        let other = second_handle(&cache);
        other.set_setting("x", "1").unwrap();
        assert_ne!(cache.state_version().unwrap(), before);
    }

    #[test]
    fn a_claimed_ghost_is_cached_without_a_copy_and_is_claimed_once() {
        let tmp = tempfile::tempdir().unwrap();
        let mut cache = synced_cache(tmp.path(), &["ghost", "kept"], &["kept"]);
        let start = cache.change_token().unwrap();
        assert!(cache.claim_ghost(&rel("ghost")).unwrap());
        let claimed = cache.store().original(&rel("ghost")).unwrap().unwrap();
        assert!(claimed.cached);
        assert_eq!(claimed.local_identity, None);
        assert!(!cache.claim_ghost(&rel("ghost")).unwrap(), "claimed once");
        assert!(!cache.claim_ghost(&rel("kept")).unwrap(), "no ghost");
        assert!(
            !cache.claim_ghost(&rel("unknown")).unwrap(),
            "nothing known"
        );
        let (seen, _) = look(&cache, start, Topic::Items);
        assert_eq!(
            seen,
            vec![Change::Cached {
                path: rel("ghost"),
                now: true
            }]
        );
        // The cache's lock is taken: a claim while another holds it is refused.
        let held = crate::layout::lock(&cache.meta_dir(), std::time::Duration::ZERO);
        let other = Cache::open(cache.root()).unwrap();
        let mut other = other;
        assert!(matches!(
            other.claim_ghost(&rel("ghost")),
            Err(crate::EngineError::Busy { .. })
        ));
        drop(held);
    }

    #[test]
    fn a_write_is_ours_when_the_cache_copy_is_what_was_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = synced_cache(tmp.path(), &["a", "g"], &["a"]);
        assert!(cache.is_own_write(&rel("a")), "as the sync left it");
        assert!(cache.is_own_write(&rel("nothing")), "neither exists");
        assert!(
            !cache.is_own_write(&rel("g")),
            "a ghost: no copy, not cached"
        );
        std::fs::write(cache.root().join("new"), "x").unwrap();
        assert!(!cache.is_own_write(&rel("new")), "made by the person");
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(cache.root().join("a"), "edited by the person").unwrap();
        assert!(!cache.is_own_write(&rel("a")), "edited since the sync");
    }

    #[test]
    fn a_look_after_a_rebuilt_database_says_it_is_incomplete() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = synced_cache(tmp.path(), &["a", "b"], &["a", "b"]);
        let token = cache.change_token().unwrap();
        assert_ne!(token, ChangeToken::default(), "the first sync was logged");
        let db = cache.store().path().to_path_buf();
        drop(cache);
        for suffix in ["", "-wal", "-shm"] {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(std::path::PathBuf::from(name));
        }
        let fresh = Store::create(&db).unwrap();
        let look = changes_since(&fresh, token, Topic::Items, |_| {}).unwrap();
        assert!(!look.complete);
        assert_eq!(look.token, ChangeToken::default());
    }
}
