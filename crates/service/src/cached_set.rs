//! What the daemon remembers between two looks at the state database of which items
//! have a cache copy: a compact ordered set of their paths (an FST: a few bytes a
//! path, about 1 MB at 100,000 items, where a hash map of paths took ~20 MB and
//! reading whole rows to build it twice that), built by streaming the paths from
//! the database, and the differences between two of them, also streamed.

use fst::{IntoStreamer, Set, SetBuilder, Streamer};
use offline_core::RelPath;
use offline_store::Store;

/// The paths of the cached items.
#[derive(Clone, Default)]
pub struct CachedSet(Set<Vec<u8>>);

impl CachedSet {
    /// The cached items the state database lists now; `None` when it cannot be read
    /// (then nothing is compared).
    pub fn read(store: &Store) -> Option<CachedSet> {
        let mut builder = SetBuilder::memory();
        let mut sorted = true;
        let listed = store.each_cached_path(|path| {
            // Byte order, as the database gives it; anything else is skipped.
            sorted &= builder.insert(path).is_ok();
        });
        if let Err(e) = listed {
            tracing::warn!("reading the cached items: {e}");
            return None;
        }
        if !sorted {
            tracing::warn!("the state database listed paths out of order");
        }
        Some(CachedSet(builder.into_set()))
    }

    /// How many paths.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Calls `each` with every path in `self` and not in `other`, in byte order.
    pub fn each_missing_from(&self, other: &CachedSet, mut each: impl FnMut(RelPath)) {
        let mut stream = self.0.op().add(&other.0).difference().into_stream();
        while let Some(bytes) = stream.next() {
            if let Ok(path) = RelPath::new(bytes.to_vec()) {
                each(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use offline_core::Meta;
    use offline_store::Original;

    fn original(cached: bool) -> Original {
        Original {
            meta: Meta::file(1, 1, 0o644, [0; 32]),
            local_identity: None,
            remote_identity: None,
            cached,
        }
    }

    #[test]
    fn differences_are_the_items_added_and_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(&dir.path().join("state.db")).unwrap();
        let put = |store: &mut Store, rows: &[(&str, bool)]| {
            let batch = store.transaction().unwrap();
            for (p, cached) in rows {
                batch
                    .put_original(&RelPath::from_str_lossy(p).unwrap(), &original(*cached))
                    .unwrap();
            }
            batch.commit().unwrap();
        };
        put(
            &mut store,
            &[("a", true), ("a/b", true), ("c", false), ("d", true)],
        );
        let before = CachedSet::read(&store).unwrap();
        assert_eq!(before.len(), 3);
        put(&mut store, &[("a/b", false), ("c", true), ("e/f", true)]);
        let now = CachedSet::read(&store).unwrap();
        let mut added = Vec::new();
        now.each_missing_from(&before, |p| added.push(p.to_string()));
        let mut dropped = Vec::new();
        before.each_missing_from(&now, |p| dropped.push(p.to_string()));
        assert_eq!(added, vec!["c", "e/f"]);
        assert_eq!(dropped, vec!["a/b"]);
    }
}
