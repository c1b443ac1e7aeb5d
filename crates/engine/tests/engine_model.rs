//! The engine against random edits (property test): a synced cache and in-memory
//! share, random writes and deletions on both sides, then a real sync in-process
//! (prepare and execute) under keep-all. Afterwards (a) no edit is lost, (b) both
//! sides hold the same files, (c) a second prepare finds nothing to do, and (d) every
//! file's original names the identity the share gives it now.
//!
//! `PROPTEST_CASES=N` runs more cases (default 24); `PROPTEST_RNG_SEED=N` replays.

#[path = "../../core/tests/support/seed.rs"]
mod seed;
mod support;

use offline_core::{ConflictPolicy, SyncControl};
use offline_engine::{Cache, NullSink, PrepareOptions};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use support::mem::MemShare;
use support::{cache_in, p};

const PATHS: [&str; 5] = ["a.txt", "b.txt", "d/c.txt", "d/e.txt", "f/g/h.txt"];

/// One edit on one side: write content `n` at a path, or delete it.
#[derive(Debug, Clone)]
enum Edit {
    Write(usize, u8),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..PATHS.len(), any::<u8>()).prop_map(|(i, n)| Edit::Write(i, n)),
        (0..PATHS.len()).prop_map(Edit::Delete),
    ]
}

fn content(side: &str, n: u8) -> Vec<u8> {
    format!("{side} {n}\n").into_bytes()
}

/// The cache's files (not its own `.offline`), by path.
fn cache_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("read the cache") {
            let entry = entry.expect("entry");
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == ".offline") {
                continue;
            }
            if entry.file_type().expect("type").is_dir() {
                pending.push(path);
            } else {
                let rel = path.strip_prefix(root).expect("inside").to_string_lossy();
                out.insert(rel.into_owned(), fs::read(&path).expect("read"));
            }
        }
    }
    out
}

fn sync(cache: &mut Cache, share: &MemShare, control: &SyncControl) -> Result<(), String> {
    let prepared = cache
        .prepare(share, control, &PrepareOptions::default())
        .map_err(|e| format!("prepare: {e}"))?;
    let summary = cache
        .execute(share, &prepared, &mut NullSink)
        .map_err(|e| format!("execute: {e}"))?;
    if summary.errors > 0 || summary.stopped.is_some() {
        return Err(format!("the sync failed: {summary:?}"));
    }
    Ok(())
}

fn apply(cache: &Cache, share: &MemShare, local: &[Edit], remote: &[Edit]) {
    for e in local {
        let full = |i: usize| cache.root().join(PATHS[i]);
        match *e {
            Edit::Write(i, n) => {
                fs::create_dir_all(full(i).parent().expect("a folder")).expect("folder");
                fs::write(full(i), content("cache", n)).expect("write");
            }
            Edit::Delete(i) => {
                let _ = fs::remove_file(full(i));
            }
        }
    }
    for e in remote {
        match *e {
            Edit::Write(i, n) => share.put_file(PATHS[i], &content("share", n)),
            Edit::Delete(i) => share.delete(PATHS[i]),
        }
    }
}

fn run(base: &[u8], local: &[Edit], remote: &[Edit]) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut cache = cache_in(dir.path());
    let share = MemShare::new();
    for (i, n) in base.iter().enumerate().take(PATHS.len()) {
        if n % 3 != 0 {
            share.put_file(PATHS[i], &content("base", *n));
        }
    }
    let keep_all = SyncControl {
        policy: ConflictPolicy::KeepAll,
        ..SyncControl::default()
    };
    sync(&mut cache, &share, &keep_all)?;
    apply(&cache, &share, local, remote);
    let edited: BTreeSet<Vec<u8>> = cache_files(cache.root())
        .into_values()
        .chain(share.files().into_values())
        .filter(|c| !c.starts_with(b"base"))
        .collect();
    sync(&mut cache, &share, &keep_all)?;
    let (mine, theirs) = (cache_files(cache.root()), share.files());
    // (b) the same files on both sides.
    if mine != theirs {
        return Err(format!(
            "(b) the sides differ:\ncache {mine:?}\nshare {theirs:?}"
        ));
    }
    // (a) every edit's content is still somewhere.
    let after: BTreeSet<&Vec<u8>> = mine.values().collect();
    if let Some(lost) = edited.iter().find(|c| !after.contains(c)) {
        return Err(format!("(a) {:?} is lost", String::from_utf8_lossy(lost)));
    }
    // (c) nothing left to do.
    let again = cache
        .prepare(&share, &keep_all, &PrepareOptions::default())
        .map_err(|e| format!("prepare again: {e}"))?;
    if !again.plan.is_empty() {
        return Err(format!("(c) a second plan: {:?}", again.plan.items));
    }
    // (d) the base names the share's identity of each file.
    for path in theirs.keys() {
        let original = cache
            .store()
            .original(&p(path))
            .map_err(|e| e.to_string())?
            .ok_or(format!("(d) {path} has no original"))?;
        if original.remote_identity != share.identity_of(path) {
            return Err(format!("(d) {path}: {original:?}"));
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(seed::config(cases()))]

    #[test]
    fn random_edits_on_both_sides_converge_and_lose_nothing(
        base in prop::collection::vec(any::<u8>(), PATHS.len()),
        local in prop::collection::vec(edit(), 0..5),
        remote in prop::collection::vec(edit(), 0..5),
    ) {
        if let Err(e) = run(&base, &local, &remote) {
            prop_assert!(false, "{}", e);
        }
    }
}
