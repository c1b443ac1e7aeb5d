//! Behaviour of the state database on real files: round-trips of every record,
//! subtree deletion, transactions, and the errors for missing, damaged or newer files.

mod common;

use common::{file, new_store, original, p, raw_sql};
use offline_core::{Meta, RelPath, SyncOperation, SyncState};
use offline_store::{
    ConflictChange, ConflictRecord, JournalEntry, Original, Pin, PinSource, Store, StoreError,
    SCHEMA_VERSION,
};

#[test]
fn originals_of_every_kind_survive_reopening() {
    let (_dir, path, mut store) = new_store();
    let rows: Vec<(RelPath, Original)> = vec![
        (p(b"docs/report.txt"), file(7)),
        (p(b"docs"), original(Meta::dir(5, 0o755))),
        (
            p(b"link"),
            original(Meta::symlink(b"../caf\xe9/\xff target".to_vec(), 9)),
        ),
        (
            p(b"caf\xe9/\xfe\xff.bin"),
            Original {
                meta: Meta::file(0, -3, 0o600, [0xab; 32]),
                local_identity: None,
                remote_identity: None,
                cached: false,
            },
        ),
    ];
    let batch = store.transaction().expect("transaction");
    for (path, row) in &rows {
        batch.put_original(path, row).expect("put");
    }
    batch.commit().expect("commit");
    drop(store);

    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.path(), path.as_path());
    assert_eq!(store.original_count().expect("count"), 4);
    for (path, row) in &rows {
        assert_eq!(store.original(path).expect("read").as_ref(), Some(row));
    }
    let mut all = store.originals().expect("all");
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = rows.clone();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(all, expected);
    assert_eq!(store.original(&p(b"nothing")).expect("read"), None);
}

#[test]
fn put_original_replaces_and_delete_removes() {
    let (_dir, _path, mut store) = new_store();
    let batch = store.transaction().expect("transaction");
    batch.put_original(&p(b"a"), &file(1)).expect("put");
    batch.put_original(&p(b"a"), &file(2)).expect("put again");
    batch.put_original(&p(b"b"), &file(3)).expect("put");
    batch.delete_original(&p(b"b")).expect("delete");
    batch.delete_original(&p(b"never")).expect("delete absent");
    batch.commit().expect("commit");
    assert_eq!(store.original(&p(b"a")).expect("read"), Some(file(2)));
    assert_eq!(store.original(&p(b"b")).expect("read"), None);
    assert_eq!(store.original_count().expect("count"), 1);
}

#[test]
fn deleting_under_a_folder_spares_its_siblings_with_the_same_prefix() {
    let (_dir, _path, mut store) = new_store();
    let names: [&[u8]; 9] = [
        b"a", b"a/b", b"a/b/c", b"a/\xff", b"ab", b"a.txt", b"a-b", b"a0", b"b",
    ];
    let batch = store.transaction().expect("transaction");
    for (i, name) in names.iter().enumerate() {
        batch.put_original(&p(name), &file(i as u8)).expect("put");
    }
    assert_eq!(batch.delete_originals_under(&p(b"a")).expect("delete"), 4);
    batch.commit().expect("commit");
    let mut left: Vec<RelPath> = store
        .originals()
        .expect("all")
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    left.sort();
    assert_eq!(
        left,
        vec![p(b"a-b"), p(b"a.txt"), p(b"a0"), p(b"ab"), p(b"b")]
    );
}

#[test]
fn deleting_under_a_nested_folder_and_under_the_root() {
    let (_dir, _path, mut store) = new_store();
    let batch = store.transaction().expect("transaction");
    for (i, name) in [&b"x/y"[..], b"x/y/z", b"x/yz", b"x"].iter().enumerate() {
        batch.put_original(&p(name), &file(i as u8)).expect("put");
    }
    assert_eq!(batch.delete_originals_under(&p(b"x/y")).expect("nested"), 2);
    assert_eq!(
        batch.delete_originals_under(&p(b"nothing")).expect("none"),
        0
    );
    assert_eq!(
        batch
            .delete_originals_under(&RelPath::root())
            .expect("root"),
        2
    );
    batch.commit().expect("commit");
    assert_eq!(store.original_count().expect("count"), 0);
}

fn conflict(path: &[u8], state: SyncState, detected_ns: i64) -> ConflictRecord {
    ConflictRecord {
        path: p(path),
        state,
        detected_ns,
        original: Some(Meta::file(1, 2, 0o644, [1; 32])),
        local: Some(Meta::symlink(b"\xfftarget".to_vec(), 3)),
        remote: None,
    }
}

#[test]
fn conflicts_are_added_updated_and_deleted() {
    let (_dir, path, mut store) = new_store();
    let first = conflict(b"z\xe9", SyncState::FileChangedOnClientChangedOnServer, 10);
    let other = conflict(b"b", SyncState::FileChangedOnClientDeletedOnServer, 11);
    let again = conflict(b"z\xe9", SyncState::DirChangedOnClientDeletedOnServer, 20);

    let batch = store.transaction().expect("transaction");
    assert_eq!(
        batch.put_conflict(&first).expect("add"),
        ConflictChange::Added
    );
    assert_eq!(
        batch.put_conflict(&other).expect("add"),
        ConflictChange::Added
    );
    assert_eq!(
        batch.put_conflict(&again).expect("update"),
        ConflictChange::Updated
    );
    batch.commit().expect("commit");
    drop(store);

    let mut store = Store::open(&path).expect("reopen");
    assert_eq!(
        store.conflicts().expect("list"),
        vec![other.clone(), again.clone()]
    );
    assert_eq!(store.conflict(&p(b"z\xe9")).expect("one"), Some(again));
    assert_eq!(store.conflict(&p(b"none")).expect("one"), None);

    let batch = store.transaction().expect("transaction");
    assert!(batch.delete_conflict(&p(b"z\xe9")).expect("delete"));
    assert!(!batch.delete_conflict(&p(b"z\xe9")).expect("delete again"));
    batch.commit().expect("commit");
    assert_eq!(store.conflicts().expect("list"), vec![other]);
}

#[test]
fn pins_are_kept_per_source() {
    let (_dir, _path, mut store) = new_store();
    let user = Pin {
        path: p(b"docs"),
        source: PinSource::User,
        inherit: true,
    };
    let policy = Pin {
        path: p(b"docs"),
        source: PinSource::Policy,
        inherit: false,
    };
    let everyone = Pin {
        path: p(b"\xff"),
        source: PinSource::AllUsers,
        inherit: true,
    };
    let batch = store.transaction().expect("transaction");
    for pin in [&user, &policy, &everyone] {
        batch.put_pin(pin).expect("pin");
    }
    let user_again = Pin {
        inherit: false,
        ..user.clone()
    };
    batch.put_pin(&user_again).expect("replace pin");
    batch.commit().expect("commit");
    let mut pins = store.pins().expect("pins");
    assert_eq!(pins.len(), 3);
    assert!(pins.contains(&user_again) && pins.contains(&policy) && pins.contains(&everyone));

    let batch = store.transaction().expect("transaction");
    assert!(batch
        .delete_pin(&p(b"docs"), PinSource::User)
        .expect("unpin"));
    assert!(!batch
        .delete_pin(&p(b"docs"), PinSource::User)
        .expect("unpin again"));
    assert!(!batch
        .delete_pin(&p(b"\xff"), PinSource::Policy)
        .expect("other source"));
    batch.commit().expect("commit");
    pins = store.pins().expect("pins");
    assert_eq!(pins, vec![policy, everyone]);
}

#[test]
fn pin_source_names_round_trip() {
    for source in PinSource::ALL {
        assert_eq!(PinSource::from_name(source.name()), Some(source));
    }
    assert_eq!(PinSource::AllUsers.name(), "all_users");
    assert_eq!(PinSource::from_name("everyone"), None);
}

#[test]
fn journal_rows_live_from_begin_to_end() {
    let (_dir, path, mut store) = new_store();
    let entry = |name: &[u8], operation| JournalEntry {
        id: -1,
        path: p(name),
        operation,
        detail: r#"{"temp": ".offline-tmp-1"}"#.to_string(),
        started_ns: 42,
    };
    let batch = store.transaction().expect("transaction");
    let first = batch
        .journal_begin(&entry(b"a\xff", SyncOperation::SyncToServer))
        .expect("begin");
    let second = batch
        .journal_begin(&entry(b"b", SyncOperation::DeleteClientCopy))
        .expect("begin");
    batch.commit().expect("commit");
    assert!(second > first);
    drop(store);

    let mut store = Store::open(&path).expect("reopen");
    let pending = store.journal().expect("journal");
    let ids: Vec<i64> = pending.iter().map(|row| row.id).collect();
    assert_eq!(ids, vec![first, second]);
    assert_eq!(
        pending[0],
        JournalEntry {
            id: first,
            ..entry(b"a\xff", SyncOperation::SyncToServer)
        }
    );

    let batch = store.transaction().expect("transaction");
    batch.journal_end(first).expect("end");
    batch.journal_end(first).expect("end twice does nothing");
    batch.commit().expect("commit");
    let left = store.journal().expect("journal");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, second);
    assert_eq!(left[0].operation, SyncOperation::DeleteClientCopy);
}

#[test]
fn settings_are_set_read_and_replaced() {
    let (_dir, path, mut store) = new_store();
    assert_eq!(store.setting("share").expect("read"), None);
    store.set_setting("share", "/mnt/share").expect("set");
    let batch = store.transaction().expect("transaction");
    batch.set_setting("connect", "offline").expect("set");
    batch.set_setting("share", "/mnt/other").expect("replace");
    batch.commit().expect("commit");
    drop(store);
    let store = Store::open(&path).expect("reopen");
    assert_eq!(
        store.setting("share").expect("read").as_deref(),
        Some("/mnt/other")
    );
    assert_eq!(
        store.setting("connect").expect("read").as_deref(),
        Some("offline")
    );
}

#[test]
fn a_batch_dropped_without_commit_leaves_nothing() {
    let (_dir, _path, mut store) = new_store();
    {
        let batch = store.transaction().expect("transaction");
        batch.put_original(&p(b"a"), &file(1)).expect("put");
        batch
            .put_conflict(&conflict(
                b"a",
                SyncState::FileChangedOnClientChangedOnServer,
                1,
            ))
            .expect("conflict");
        batch
            .put_pin(&Pin {
                path: p(b"a"),
                source: PinSource::User,
                inherit: false,
            })
            .expect("pin");
        batch.set_setting("k", "v").expect("setting");
        batch
            .journal_begin(&JournalEntry {
                id: 0,
                path: p(b"a"),
                operation: SyncOperation::Pin,
                detail: String::new(),
                started_ns: 0,
            })
            .expect("journal");
    }
    assert_eq!(store.original_count().expect("count"), 0);
    assert!(store.conflicts().expect("conflicts").is_empty());
    assert!(store.pins().expect("pins").is_empty());
    assert!(store.journal().expect("journal").is_empty());
    assert_eq!(store.setting("k").expect("setting"), None);
}

#[test]
fn create_refuses_an_existing_file_and_leaves_it_alone() {
    let (_dir, path, store) = new_store();
    drop(store);
    assert!(matches!(
        Store::create(&path),
        Err(StoreError::Exists { .. })
    ));
    let other = path.with_file_name("notes.txt");
    std::fs::write(&other, b"keep me").expect("write");
    assert!(matches!(
        Store::create(&other),
        Err(StoreError::Exists { .. })
    ));
    assert_eq!(std::fs::read(&other).expect("read"), b"keep me");
    Store::open(&path).expect("the first database still opens");
}

#[test]
fn opening_a_missing_file_says_missing_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.db");
    let err = Store::open(&path).expect_err("must fail");
    assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains("offline repair"));
    assert!(!path.exists());
}

fn assert_corrupt_and_untouched(bytes: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.db");
    std::fs::write(&path, bytes).expect("write");
    let err = Store::open(&path).expect_err("must fail");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("offline repair"));
    assert_eq!(std::fs::read(&path).expect("read back"), bytes);
}

#[test]
fn opening_garbage_says_corrupt_and_keeps_the_bytes() {
    // A deterministic pseudo-random 4 KiB (xorshift), then a text file.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    assert_corrupt_and_untouched(&random);
    assert_corrupt_and_untouched(b"share = /mnt/share\nthis is not a database\n");
}

#[test]
fn opening_an_empty_file_says_corrupt_and_writes_nothing() {
    assert_corrupt_and_untouched(b"");
}

#[test]
fn opening_a_foreign_sqlite_database_says_corrupt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.db");
    raw_sql(&path, "CREATE TABLE other (x INTEGER);");
    let err = Store::open(&path).expect_err("must fail");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
}

#[test]
fn a_missing_table_or_bad_version_row_says_corrupt() {
    let cases = [
        "DROP TABLE journal;",
        "DELETE FROM meta;",
        "UPDATE meta SET value = 'one' WHERE key = 'schema_version';",
        "UPDATE meta SET value = 0 WHERE key = 'schema_version';",
    ];
    for sql in cases {
        let (_dir, path, store) = new_store();
        drop(store);
        raw_sql(&path, sql);
        let err = Store::open(&path).expect_err(sql);
        assert!(matches!(err, StoreError::Corrupt { .. }), "{sql}: {err:?}");
    }
}

#[test]
fn a_newer_schema_says_too_new() {
    let (_dir, path, store) = new_store();
    drop(store);
    raw_sql(
        &path,
        "UPDATE meta SET value = 2 WHERE key = 'schema_version'; DROP TABLE pins;",
    );
    match Store::open(&path) {
        Err(StoreError::TooNew {
            found, supported, ..
        }) => {
            assert_eq!(found, 2);
            assert_eq!(supported, SCHEMA_VERSION);
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
}

/// Writes a bad row by raw SQL and expects `BadRow` (naming the path) from `read`.
fn assert_bad_row(sql: &str, read: impl Fn(&Store) -> Result<(), StoreError>) {
    let (_dir, path, store) = new_store();
    drop(store);
    raw_sql(&path, sql);
    let store = Store::open(&path).expect("reopen");
    match read(&store) {
        Err(StoreError::BadRow(message)) => assert!(message.contains("bad"), "{message}"),
        other => panic!("{sql}: expected BadRow, got {other:?}"),
    }
}

#[test]
fn invalid_stored_rows_are_errors_not_panics() {
    let originals = |store: &Store| store.originals().map(drop);
    let one = |store: &Store| store.original(&p(b"bad")).map(drop);
    let insert = "INSERT INTO originals (path, kind, size, mtime_ns, mode, hash, target, \
                  local_identity, remote_identity, cached) VALUES ";
    for values in [
        "(x'626164', 'fifo', 0, 0, 420, NULL, NULL, NULL, NULL, 1)",
        "(x'626164', 'file', 3, 0, 420, x'0102', NULL, NULL, NULL, 1)",
        "(x'626164', 'file', -1, 0, 420, NULL, NULL, NULL, NULL, 1)",
        "(x'626164', 'file', 0, 0, 420, NULL, NULL, NULL, NULL, 7)",
        "(x'626164', 'file', 'big', 0, 420, NULL, NULL, NULL, NULL, 1)",
    ] {
        assert_bad_row(&format!("{insert}{values};"), originals);
        assert_bad_row(&format!("{insert}{values};"), one);
    }
    for path in ["x'2f626164'", "x'62616400'", "'bad'", "x'62612f2e2e2f64'"] {
        let values = format!("({path}, 'dir', 0, 0, 493, NULL, NULL, NULL, NULL, 1)");
        let err = originals_error(&format!("{insert}{values};"));
        assert!(matches!(err, StoreError::BadRow(_)), "{path}: {err:?}");
    }
    assert_bad_row(
        "INSERT INTO conflicts VALUES (x'626164', 99, 0, NULL, NULL, NULL);",
        |store| store.conflicts().map(drop),
    );
    assert_bad_row(
        "INSERT INTO conflicts VALUES (x'626164', 12, 0, '{\"kind\": 1}', NULL, NULL);",
        |store| store.conflict(&p(b"bad")).map(drop),
    );
    assert_bad_row("INSERT INTO pins VALUES (x'626164', 'root', 1);", |store| {
        store.pins().map(drop)
    });
    assert_bad_row(
        "INSERT INTO journal (path, operation, detail, started_ns) VALUES (x'626164', 8, '', 0);",
        |store| store.journal().map(drop),
    );
}

fn originals_error(sql: &str) -> StoreError {
    let (_dir, path, store) = new_store();
    drop(store);
    raw_sql(&path, sql);
    let store = Store::open(&path).expect("reopen");
    store.originals().expect_err("bad path must fail")
}

#[test]
fn a_new_database_is_durable_before_it_is_closed() {
    let (_dir, path, store) = new_store();
    // The header is on disk (not only in the write-ahead log), so the file is never
    // the empty file that `open` refuses.
    assert!(std::fs::metadata(&path).expect("stat").len() > 0);
    let second = Store::open(&path).expect("a second connection opens it");
    assert_eq!(second.original_count().expect("count"), 0);
    drop(store);
}

#[test]
fn a_damaged_page_says_corrupt_and_keeps_the_bytes() {
    let (_dir, path, mut store) = new_store();
    let batch = store.transaction().expect("transaction");
    batch.put_original(&p(b"a"), &file(1)).expect("put");
    batch.commit().expect("commit");
    drop(store);
    // Overwrite the first page after its 100-byte file header: the table of tables.
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[100..1024].fill(0xff);
    std::fs::write(&path, &bytes).expect("write");
    let err = Store::open(&path).expect_err("must fail");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).expect("read back"), bytes);
}

#[test]
fn originals_in_lists_direct_children_only() {
    let (_dir, _path, mut store) = new_store();
    let names: [&[u8]; 9] = [
        b"a", b"a/b", b"a/b/c", b"a/x.txt", b"a-b", b"a.txt", b"ab/c", b"top", b"a/\xff",
    ];
    let batch = store.transaction().expect("transaction");
    for name in names {
        batch.put_original(&p(name), &file(1)).expect("put");
    }
    batch.commit().expect("commit");
    let children = |dir: &[u8]| {
        let dir = if dir.is_empty() {
            RelPath::root()
        } else {
            p(dir)
        };
        let mut got: Vec<Vec<u8>> = store
            .originals_in(&dir)
            .expect("children")
            .into_iter()
            .map(|(path, _)| path.as_bytes().to_vec())
            .collect();
        got.sort();
        got
    };
    assert_eq!(
        children(b""),
        vec![
            b"a".to_vec(),
            b"a-b".to_vec(),
            b"a.txt".to_vec(),
            b"top".to_vec()
        ]
    );
    assert_eq!(
        children(b"a"),
        vec![b"a/b".to_vec(), b"a/x.txt".to_vec(), b"a/\xff".to_vec()]
    );
    assert_eq!(children(b"a/b"), vec![b"a/b/c".to_vec()]);
    assert_eq!(children(b"ab"), vec![b"ab/c".to_vec()]);
    assert!(children(b"top").is_empty());
}

#[test]
fn has_ghost_below_looks_inside_the_folder_only() {
    let (_dir, _path, mut store) = new_store();
    let ghost = |size| Original {
        cached: false,
        ..file(size)
    };
    let batch = store.transaction().expect("transaction");
    batch.put_original(&p(b"a"), &file(1)).expect("put");
    batch.put_original(&p(b"a/b"), &file(1)).expect("put");
    batch.put_original(&p(b"a/b/g"), &ghost(1)).expect("put");
    batch.put_original(&p(b"a-b"), &ghost(1)).expect("put");
    batch.put_original(&p(b"c"), &ghost(1)).expect("put");
    batch.put_original(&p(b"d"), &file(1)).expect("put");
    batch.put_original(&p(b"d/\xff"), &file(1)).expect("put");
    batch.commit().expect("commit");
    assert!(store.has_ghost_below(&p(b"a")).unwrap());
    assert!(store.has_ghost_below(&p(b"a/b")).unwrap());
    assert!(!store.has_ghost_below(&p(b"a/b/g")).unwrap());
    assert!(
        !store.has_ghost_below(&p(b"d")).unwrap(),
        "a-b and c lie beside, not below"
    );
    assert!(
        !store.has_ghost_below(&p(b"c")).unwrap(),
        "the folder itself does not count"
    );
    assert!(store.has_ghost_below(&RelPath::root()).unwrap());
}

#[test]
fn ghosts_in_lists_the_children_without_a_cache_copy() {
    let (_dir, _path, mut store) = new_store();
    let ghost = Original {
        cached: false,
        ..file(2)
    };
    let batch = store.transaction().expect("transaction");
    batch.put_original(&p(b"a"), &file(1)).expect("put");
    batch.put_original(&p(b"a/x"), &ghost).expect("put");
    batch.put_original(&p(b"a/x/deep"), &ghost).expect("put");
    batch.put_original(&p(b"a/y"), &file(1)).expect("put");
    batch.put_original(&p(b"a/z"), &ghost).expect("put");
    batch.put_original(&p(b"g"), &ghost).expect("put");
    batch.commit().expect("commit");
    let names = |dir: RelPath| -> Vec<Vec<u8>> {
        store
            .ghosts_in(&dir)
            .expect("ghosts")
            .into_iter()
            .map(|(path, o)| {
                assert!(!o.cached);
                path.as_bytes().to_vec()
            })
            .collect()
    };
    assert_eq!(names(p(b"a")), vec![b"a/x".to_vec(), b"a/z".to_vec()]);
    assert_eq!(names(RelPath::root()), vec![b"g".to_vec()]);
}
