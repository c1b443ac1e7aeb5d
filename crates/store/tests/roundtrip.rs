//! Property test: any set of originals written in one batch reads back equal,
//! including paths and targets that are not UTF-8.

mod common;
#[path = "../../core/tests/support/seed.rs"]
mod seed;

use offline_core::{Kind, Meta, RelPath};
use offline_store::{Original, Store};
use proptest::prelude::*;
use std::collections::HashMap;

/// Path components from a small alphabet with non-UTF-8 bytes, so that prefixes and
/// collisions are frequent.
fn rel_path() -> impl Strategy<Value = RelPath> {
    let byte = prop::sample::select(vec![b'a', b'b', b'.', b'-', 0xe9, 0xff, b'\\']);
    let component = prop::collection::vec(byte, 1..4);
    prop::collection::vec(component, 1..4).prop_filter_map("not a valid path", |parts| {
        RelPath::new(parts.join(&b'/')).ok()
    })
}

fn meta() -> impl Strategy<Value = Meta> {
    let kind = prop::sample::select(vec![Kind::File, Kind::Dir, Kind::Symlink]);
    (
        kind,
        0..=i64::MAX as u64,
        any::<i64>(),
        0u32..0o10000,
        prop::option::of(any::<[u8; 32]>()),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..8)),
    )
        .prop_map(|(kind, size, mtime_ns, mode, hash, target)| Meta {
            kind,
            size,
            mtime_ns,
            mode,
            hash,
            target: target.map(Vec::into_boxed_slice),
        })
}

fn original() -> impl Strategy<Value = Original> {
    let identity = prop::option::of("[a-z0-9:=\u{e9}]{0,12}");
    (meta(), identity.clone(), identity, any::<bool>()).prop_map(
        |(meta, local_identity, remote_identity, cached)| Original {
            meta,
            local_identity,
            remote_identity,
            cached,
        },
    )
}

proptest! {
    #![proptest_config(seed::config(64))]

    #[test]
    fn originals_read_back_as_written(rows in prop::collection::vec((rel_path(), original()), 0..40)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.db");
        let mut store = Store::create(&path).expect("create");
        let batch = store.transaction().expect("transaction");
        let mut expected = HashMap::new();
        for (path, row) in rows {
            batch.put_original(&path, &row).expect("put");
            expected.insert(path, row);
        }
        batch.commit().expect("commit");
        drop(store);

        let store = Store::open(&path).expect("reopen");
        let read: HashMap<RelPath, Original> = store.originals().expect("read").into_iter().collect();
        prop_assert_eq!(store.original_count().expect("count"), expected.len() as u64);
        prop_assert_eq!(read, expected);
    }
}
