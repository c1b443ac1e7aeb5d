//! The contract between the plan and the executor, run in-process against an
//! in-memory share (`support/mem.rs`): each item's precondition (`Expect`) and base
//! update as the executor carries them out, the executor refusing an item whose
//! target moved since prepare, the copy pool honouring the sink's retries, a run
//! stopped by a lost share or a failing sink, and the recovery after it.

mod support;

use offline_core::{Action, Expect, Side, SyncControl, SyncOperation};
use offline_engine::{
    Cache, EngineError, ItemResult, NullSink, PrepareOptions, Prepared, StopReason, SyncSummary,
};
use offline_remote::ErrorKind;
use std::fs;
use support::mem::MemShare;
use support::{cache_in, p, Answer, Recorder};

fn prepare(cache: &Cache, share: &MemShare) -> Prepared {
    cache
        .prepare(share, &SyncControl::default(), &PrepareOptions::default())
        .expect("prepare")
}

fn sync(cache: &mut Cache, share: &MemShare, sink: &mut Recorder) -> SyncSummary {
    let prepared = prepare(cache, share);
    cache.execute(share, &prepared, sink).expect("execute")
}

fn item<'a>(prepared: &'a Prepared, path: &str) -> &'a offline_core::PlanItem {
    let path = p(path);
    prepared
        .plan
        .items
        .iter()
        .find(|i| i.path == path)
        .unwrap_or_else(|| panic!("{path} is planned: {:?}", prepared.plan))
}

fn write(cache: &Cache, path: &str, content: &str) {
    let full = cache.root().join(path);
    if let Some(parent) = full.parent() {
        fs::create_dir_all(parent).expect("folder");
    }
    fs::write(full, content).expect("write");
}

/// A cache and a share holding `names` with the same content, synced.
fn synced(root: &std::path::Path, names: &[&str]) -> (Cache, MemShare) {
    let mut cache = cache_in(root);
    let share = MemShare::new();
    for name in names {
        share.put_file(name, format!("{name} v1\n").as_bytes());
    }
    let summary = sync(&mut cache, &share, &mut Recorder::new(Answer::Continue));
    assert!(summary.is_clean(), "{summary:?}");
    (cache, share)
}

#[test]
fn each_item_expects_what_prepare_saw_and_records_both_identities() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = cache_in(dir.path());
    let share = MemShare::new();
    share.put_file("docs/down.txt", b"from the share\n");
    write(&cache, "up.txt", "from the cache\n");
    let prepared = prepare(&cache, &share);
    let down = item(&prepared, "docs/down.txt");
    assert_eq!(down.action, Action::Run(SyncOperation::CreateCopyOnClient));
    assert_eq!(down.expect(Side::Cache), Expect::Absent);
    assert_eq!(
        down.expect(Side::Share),
        Expect::Identity(share.identity_of("docs/down.txt").expect("there"))
    );
    let up = item(&prepared, "up.txt");
    assert_eq!(up.action, Action::Run(SyncOperation::CreateCopyOnServer));
    assert_eq!(up.expect(Side::Share), Expect::Absent);

    let summary = cache
        .execute(&share, &prepared, &mut NullSink)
        .expect("execute");
    assert!(summary.is_clean(), "{summary:?}");
    assert_eq!(
        share.content("up.txt").as_deref(),
        Some(&b"from the cache\n"[..])
    );
    // The base update: the source's metadata, the identity each side has now.
    for path in ["docs/down.txt", "up.txt"] {
        let original = cache
            .store()
            .original(&p(path))
            .expect("store")
            .unwrap_or_else(|| panic!("{path} has an original"));
        assert_eq!(
            original.remote_identity,
            share.identity_of(path),
            "{path}: the share's identity after the copy"
        );
        assert!(original.local_identity.is_some(), "{path}");
        assert!(original.cached);
        assert!(
            original.meta.hash.is_some(),
            "{path}: content hash recorded"
        );
    }
    assert!(
        prepare(&cache, &share).plan.is_empty(),
        "nothing left to do"
    );
}

#[test]
fn the_executor_refuses_a_replace_whose_target_moved_since_prepare() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut cache, share) = synced(dir.path(), &["a.txt"]);
    let before = cache.store().original(&p("a.txt")).expect("store");
    write(&cache, "a.txt", "edited in the cache\n");
    let prepared = prepare(&cache, &share);
    let up = item(&prepared, "a.txt");
    assert_eq!(up.action, Action::Run(SyncOperation::SyncToServer));
    // Someone edits the share copy between prepare and execute.
    share.put_file("a.txt", b"edited on the share\n");
    let mut sink = Recorder::new(Answer::Continue);
    let summary = cache
        .execute(&share, &prepared, &mut sink)
        .expect("execute");
    assert_eq!(summary.errors, 1, "{summary:?}");
    let reports = sink.of("a.txt");
    let ItemResult::Error(err) = &reports[0].result else {
        panic!("a.txt failed: {reports:?}");
    };
    assert_eq!(err.kind, ErrorKind::Changed, "{err:?}");
    assert_eq!(
        share.content("a.txt").as_deref(),
        Some(&b"edited on the share\n"[..]),
        "the share's edit is kept"
    );
    assert_eq!(
        cache.store().original(&p("a.txt")).expect("store"),
        before,
        "no base update for a refused item"
    );
    // Next time both edits are seen: a conflict, nothing lost.
    let again = prepare(&cache, &share);
    assert_eq!(item(&again, "a.txt").action, Action::LogConflict);
}

#[test]
fn the_executor_refuses_a_deletion_whose_target_moved_since_prepare() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut cache, share) = synced(dir.path(), &["gone.txt", "kept.txt"]);
    fs::remove_file(cache.root().join("gone.txt")).expect("delete in the cache");
    let prepared = prepare(&cache, &share);
    assert_eq!(
        item(&prepared, "gone.txt").action,
        Action::Run(SyncOperation::DeleteServerCopy)
    );
    share.put_file("gone.txt", b"changed on the share meanwhile\n");
    let summary = cache
        .execute(&share, &prepared, &mut NullSink)
        .expect("execute");
    assert_eq!(summary.errors, 1, "{summary:?}");
    assert_eq!(
        share.content("gone.txt").as_deref(),
        Some(&b"changed on the share meanwhile\n"[..]),
        "a deletion never removes a change it did not see"
    );
    // The change is then copied back to the cache (a deletion never wins over it).
    let again = prepare(&cache, &share);
    assert_eq!(
        item(&again, "gone.txt").action,
        Action::Run(SyncOperation::CreateCopyOnClient)
    );
}

#[test]
fn bookkeeping_items_record_their_base_update_without_touching_a_side() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = cache_in(dir.path());
    let share = MemShare::new();
    share.put_file("same.txt", b"same bytes\n");
    write(&cache, "same.txt", "same bytes\n");
    let prepared = prepare(&cache, &share);
    assert_eq!(item(&prepared, "same.txt").action, Action::RecordOriginal);
    let writes = share.writes.load(std::sync::atomic::Ordering::SeqCst);
    let summary = cache
        .execute(&share, &prepared, &mut NullSink)
        .expect("execute");
    assert!(summary.is_clean(), "{summary:?}");
    assert_eq!(
        share.writes.load(std::sync::atomic::Ordering::SeqCst),
        writes,
        "nothing was written"
    );
    let original = cache
        .store()
        .original(&p("same.txt"))
        .expect("store")
        .expect("recorded");
    assert_eq!(original.remote_identity, share.identity_of("same.txt"));
    assert!(original.local_identity.is_some());
}

#[test]
fn the_copy_pool_retries_a_failed_copy_when_the_sink_asks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = cache_in(dir.path());
    let share = MemShare::new();
    for n in 0..4 {
        write(&cache, &format!("up{n}.txt"), &format!("up {n}\n"));
    }
    // The share cannot stage: its copies go through the pool one call each.
    share.fail_next_write("up2.txt");
    let mut sink = Recorder::new(Answer::RetryFailures);
    let summary = sync(&mut cache, &share, &mut sink);
    assert!(summary.is_clean(), "{summary:?}");
    let reports = sink.of("up2.txt");
    assert_eq!(reports.len(), 2, "an error, then the retry: {reports:?}");
    assert!(matches!(reports[0].result, ItemResult::Error(_)));
    assert_eq!(reports[1].result, ItemResult::Ok);
    assert_eq!(share.content("up2.txt").as_deref(), Some(&b"up 2\n"[..]));
    assert_eq!(
        sink.begun.iter().filter(|b| **b == p("up2.txt")).count(),
        2,
        "begun again for the retry"
    );
}

#[test]
fn without_a_retry_the_failed_copy_waits_for_the_next_sync() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = cache_in(dir.path());
    let share = MemShare::new();
    write(&cache, "up.txt", "up\n");
    share.fail_next_write("up.txt");
    let summary = sync(&mut cache, &share, &mut Recorder::new(Answer::Continue));
    assert_eq!(summary.errors, 1, "{summary:?}");
    assert!(cache
        .store()
        .original(&p("up.txt"))
        .expect("store")
        .is_none());
    let summary = sync(&mut cache, &share, &mut Recorder::new(Answer::Continue));
    assert!(summary.is_clean(), "{summary:?}");
    assert_eq!(share.content("up.txt").as_deref(), Some(&b"up\n"[..]));
}

#[test]
fn a_share_lost_mid_run_stops_it_and_the_next_sync_recovers_and_finishes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = cache_in(dir.path());
    cache.set_transfers(1).expect("one copy at a time");
    let share = MemShare::new();
    for n in 0..6 {
        write(&cache, &format!("f{n}.txt"), &format!("file {n}\n"));
    }
    share.vanish_after(2);
    let summary = sync(&mut cache, &share, &mut Recorder::new(Answer::Continue));
    assert_eq!(summary.stopped, Some(StopReason::ShareLost), "{summary:?}");
    let (state, reason) = cache.connect_state().expect("state");
    assert_eq!(
        (state.name(), reason.name()),
        ("offline", "connection_error"),
        "marked offline from the stop reason"
    );
    let recorded = (0..6)
        .filter(|n| {
            cache
                .store()
                .original(&p(&format!("f{n}.txt")))
                .expect("store")
                .is_some()
        })
        .count();
    assert_eq!(recorded, 2, "what was done stays recorded");

    share.set_reachable(true);
    let recovery = cache.recover(&share).expect("recover");
    assert!(recovery.interrupted, "{recovery:?}");
    assert!(!cache.recover(&share).expect("again").happened(), "once");
    let summary = sync(&mut cache, &share, &mut Recorder::new(Answer::Continue));
    assert!(summary.is_clean(), "{summary:?}");
    for n in 0..6 {
        assert_eq!(
            share.content(&format!("f{n}.txt")),
            Some(format!("file {n}\n").into_bytes())
        );
    }
    assert!(prepare(&cache, &share).plan.is_empty());
}

#[test]
fn a_failing_sink_stops_the_run_and_keeps_what_is_done() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = cache_in(dir.path());
    cache.set_transfers(1).expect("one copy at a time");
    let share = MemShare::new();
    for n in 0..6 {
        write(&cache, &format!("u{n}.txt"), &format!("up {n}\n"));
    }
    let mut sink = Recorder::new(Answer::FailAfter(2));
    let summary = sync(&mut cache, &share, &mut sink);
    assert!(
        matches!(summary.stopped, Some(StopReason::SinkFailed(_))),
        "{summary:?}"
    );
    // Whatever was copied is recorded, reported or not; the run did not go on
    // after the output failed.
    let copied: Vec<usize> = (0..6)
        .filter(|n| share.content(&format!("u{n}.txt")).is_some())
        .collect();
    for n in &copied {
        let path = p(&format!("u{n}.txt"));
        assert!(
            cache.store().original(&path).expect("store").is_some(),
            "{path} is recorded"
        );
    }
    assert!(
        (2..6).contains(&copied.len()),
        "the run stopped early: {copied:?}"
    );
    let summary = sync(&mut cache, &share, &mut Recorder::new(Answer::Continue));
    assert!(summary.is_clean(), "{summary:?}");
    assert!(prepare(&cache, &share).plan.is_empty());
}

#[test]
fn the_mass_delete_guard_names_the_side() {
    let dir = tempfile::tempdir().expect("temp dir");
    let names: Vec<String> = (0..8).map(|n| format!("f{n}.txt")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (cache, share) = synced(dir.path(), &refs);
    for name in &refs[..7] {
        share.delete(name);
    }
    let err = cache
        .prepare(&share, &SyncControl::default(), &PrepareOptions::default())
        .err()
        .expect("refused");
    match err {
        EngineError::MassDelete {
            side, count, total, ..
        } => assert_eq!((side, count, total), (Side::Cache, 7, 8)),
        other => panic!("{other}"),
    }
}
