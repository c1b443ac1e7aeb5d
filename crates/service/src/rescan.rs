//! The daemon's periodic look for changes inotify missed (its queue overflows, or
//! it was not watching): walks the cache folder one folder at a time against that
//! folder's rows of the state database, and keeps only the paths that changed.
//! Memory follows one folder and the changes found, not the tree (the cache's
//! whole listing, with every row of the database, took over 100 MB at 100,000
//! items). A path is reported when its stat fingerprint moved; the push sync that
//! follows decides from content whether anything is to be done.

use offline_core::{is_temp_name, Kind, RelPath, CACHE_DIR_NAME};
use offline_remote::{DirRemote, Entry, Remote};
use offline_store::{Original, Store};
use std::collections::BTreeMap;

/// What a rescan found.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// These paths changed (created, changed or removed in the cache folder).
    Paths(Vec<RelPath>),
    /// More than the limit: sync everything.
    Many,
}

/// True when the cache copy `entry` differs from its last synced state `original`.
fn changed(entry: &Entry, original: &Original) -> bool {
    if !original.cached {
        // A cache copy where only a ghost was known.
        return true;
    }
    let (now, then) = (&entry.stat.meta, &original.meta);
    if now.kind != then.kind {
        return true;
    }
    match now.kind {
        // A folder's own fingerprint moves with its children; they are looked at.
        Kind::Dir => now.mode != then.mode,
        Kind::Symlink => now.target != then.target,
        Kind::File => original.local_identity.as_deref() != Some(entry.stat.identity.as_str()),
    }
}

/// The paths of the cache folder that changed since they were synced, at most
/// `limit` of them.
pub fn changed_paths(local: &DirRemote, store: &Store, limit: usize) -> Result<Found, String> {
    let mut found = Vec::new();
    let mut pending = vec![RelPath::root()];
    while let Some(dir) = pending.pop() {
        let entries = match local.list(&dir) {
            Ok(entries) => entries,
            // Removed meanwhile: its parent's look reports it.
            Err(e) if dir.is_root() => return Err(e.to_string()),
            Err(_) => continue,
        };
        let mut originals: BTreeMap<Vec<u8>, Original> = store
            .originals_in(&dir)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(p, o)| (p.file_name().to_vec(), o))
            .collect();
        for entry in entries {
            if is_temp_name(&entry.name) || (dir.is_root() && entry.name == CACHE_DIR_NAME) {
                continue;
            }
            let Ok(path) = dir.join(&entry.name) else {
                continue;
            };
            match originals.remove(&entry.name) {
                None => found.push(path),
                Some(o) if changed(&entry, &o) => found.push(path),
                Some(_) if entry.stat.meta.kind == Kind::Dir => pending.push(path),
                Some(_) => {}
            }
        }
        // Synced items with no cache copy now: removed in the cache (ghosts are not).
        for (name, o) in originals {
            if o.cached {
                if let Ok(path) = dir.join(&name) {
                    found.push(path);
                }
            }
        }
        if found.len() > limit {
            return Ok(Found::Many);
        }
    }
    Ok(Found::Paths(found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use offline_core::Meta;
    use std::fs;

    fn rel(p: &str) -> RelPath {
        RelPath::from_str_lossy(p).unwrap()
    }

    #[test]
    fn only_what_changed_since_the_sync_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache");
        fs::create_dir_all(root.join(".offline")).unwrap();
        fs::create_dir_all(root.join("sub")).unwrap();
        for (p, text) in [("a", "a"), ("b", "b"), ("sub/c", "c")] {
            fs::write(root.join(p), text).unwrap();
        }
        let local = DirRemote::open(&root, &[CACHE_DIR_NAME]).unwrap();
        let mut store = Store::create(&root.join(".offline/state.db")).unwrap();
        let batch = store.transaction().unwrap();
        for p in ["a", "b", "sub", "sub/c"] {
            let stat = local.stat(&rel(p)).unwrap().unwrap();
            let original = Original {
                meta: stat.meta,
                local_identity: Some(stat.identity),
                remote_identity: None,
                cached: true,
            };
            batch.put_original(&rel(p), &original).unwrap();
        }
        let file = |cached| Original {
            meta: Meta::file(1, 1, 0o644, [0; 32]),
            local_identity: None,
            remote_identity: None,
            cached,
        };
        batch.put_original(&rel("ghost"), &file(false)).unwrap();
        batch.put_original(&rel("sub/gone"), &file(true)).unwrap();
        batch.commit().unwrap();
        assert_eq!(
            changed_paths(&local, &store, 10).unwrap(),
            Found::Paths(vec![rel("sub/gone")]),
            "unchanged items and ghosts are not reported"
        );
        fs::write(root.join("b"), "changed").unwrap();
        fs::write(root.join("sub/new"), "new").unwrap();
        fs::write(root.join(".offline/x"), "ours").unwrap();
        let Found::Paths(mut found) = changed_paths(&local, &store, 10).unwrap() else {
            panic!("few changes");
        };
        found.sort();
        assert_eq!(found, vec![rel("b"), rel("sub/gone"), rel("sub/new")]);
        assert_eq!(changed_paths(&local, &store, 2).unwrap(), Found::Many);
    }
}
