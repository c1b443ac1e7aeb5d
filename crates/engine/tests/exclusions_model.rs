//! Exclusions against random edits (property test, in process): a synced cache and
//! in-memory share, then a pattern of the cache's own that excludes some paths,
//! random writes and deletions on both sides, and a real sync (prepare and execute)
//! under keep-all. Afterwards (a) every excluded path holds exactly what it held on
//! each side before the sync and has no original, (b) every other path is the same on
//! both sides, (c) a second prepare finds nothing to do (but to forget a conflict
//! copy's original, when its new name is excluded). Then the pattern is removed
//! and the next sync (d) loses no edit, excluded ones included, and leaves both sides
//! the same with nothing left to do.
//!
//! `PROPTEST_CASES=N` runs more cases (default 24); `PROPTEST_RNG_SEED=N` replays.

#[path = "../../core/tests/support/seed.rs"]
mod seed;
mod support;

use offline_core::{Action, ConflictPolicy, SyncControl};
use offline_engine::{Cache, PrepareOptions};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use support::mem::MemShare;
use support::{cache_files, cache_in, content, p, sync};

const PATHS: [&str; 5] = ["a.txt", "b.txt", "d/c.txt", "d/e.txt", "f/g/h.txt"];

/// Patterns, and which of `PATHS` each excludes (the test's oracle).
const PATTERNS: [(&str, &[usize]); 5] = [
    ("b.txt", &[1]),
    ("d/", &[2, 3]),
    ("/d/c.txt", &[2]),
    ("g/", &[4]),
    ("*.txt\n!a.txt", &[1, 2, 3, 4]),
];

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

fn keep_all() -> SyncControl {
    SyncControl {
        policy: ConflictPolicy::KeepAll,
        ..SyncControl::default()
    }
}

/// A second prepare finds nothing to do, but to forget the original of a conflict
/// copy whose new name a pattern excludes (keep-all names `a (conflict HOST 1).txt`
/// after `a.txt`; `*.txt` excludes it from the next sync on).
fn nothing_left(cache: &Cache, share: &MemShare, what: &str) -> Result<(), String> {
    let again = cache
        .prepare(share, &keep_all(), &PrepareOptions::default())
        .map_err(|e| format!("prepare again: {e}"))?;
    let left: Vec<_> = again
        .plan
        .items
        .iter()
        .filter(|i| {
            !(i.action == Action::ForgetExcluded && i.path.to_string().contains(" (conflict "))
        })
        .collect();
    if !left.is_empty() {
        return Err(format!("({what}) a second plan: {left:?}"));
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

fn run(base: &[u8], pattern: usize, local: &[Edit], remote: &[Edit]) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut cache = cache_in(dir.path());
    let share = MemShare::new();
    // A file no edit touches: a share that comes to list nothing at all is refused by
    // the empty-share guard (as an unmounted share would be), which is not under test.
    share.put_file("kept", b"kept\n");
    for (i, n) in base.iter().enumerate().take(PATHS.len()) {
        if n % 3 != 0 {
            share.put_file(PATHS[i], &content("base", *n));
        }
    }
    sync(&mut cache, &share, &keep_all())?;
    let (lines, excluded_at) = PATTERNS[pattern];
    for line in lines.split('\n') {
        cache.add_exclude(line).map_err(|e| e.to_string())?;
    }
    let excluded: BTreeSet<&str> = excluded_at.iter().map(|&i| PATHS[i]).collect();
    apply(&cache, &share, local, remote);
    let (mine_before, theirs_before) = (cache_files(cache.root()), share.files());
    sync(&mut cache, &share, &keep_all())?;
    let (mine, theirs) = (cache_files(cache.root()), share.files());
    // (a) excluded paths: untouched on both sides, their originals gone.
    for path in &excluded {
        let key = path.to_string();
        if mine.get(&key) != mine_before.get(&key) || theirs.get(&key) != theirs_before.get(&key) {
            return Err(format!("(a) the excluded {path} was touched"));
        }
        let original = cache
            .store()
            .original(&p(path))
            .map_err(|e| e.to_string())?;
        if original.is_some() {
            return Err(format!("(a) the excluded {path} still has an original"));
        }
    }
    // (b) the rest converges.
    let outside = |files: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
        files
            .iter()
            .filter(|(k, _)| !excluded.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    if outside(&mine) != outside(&theirs) {
        return Err(format!(
            "(b) the sides differ:\ncache {mine:?}\nshare {theirs:?}"
        ));
    }
    nothing_left(&cache, &share, "c")?;
    // (d) included again: no edit lost, the sides the same.
    let edited: BTreeSet<Vec<u8>> = mine
        .into_values()
        .chain(theirs.into_values())
        .filter(|c| !c.starts_with(b"base"))
        .collect();
    for line in lines.split('\n') {
        cache.remove_exclude(line).map_err(|e| e.to_string())?;
    }
    sync(&mut cache, &share, &keep_all())?;
    let (mine, theirs) = (cache_files(cache.root()), share.files());
    if mine != theirs {
        return Err(format!(
            "(d) the sides differ:\ncache {mine:?}\nshare {theirs:?}"
        ));
    }
    let after: BTreeSet<&Vec<u8>> = mine.values().collect();
    if let Some(lost) = edited.iter().find(|c| !after.contains(c)) {
        return Err(format!("(d) {:?} is lost", String::from_utf8_lossy(lost)));
    }
    nothing_left(&cache, &share, "d")
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
    fn excluded_paths_are_left_alone_and_come_back_as_new_items(
        base in prop::collection::vec(any::<u8>(), PATHS.len()),
        pattern in 0..PATTERNS.len(),
        local in prop::collection::vec(edit(), 0..5),
        remote in prop::collection::vec(edit(), 0..5),
    ) {
        if let Err(e) = run(&base, pattern, &local, &remote) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// A case the random run found: the share's every item but the untouched one deleted
/// while a pattern excludes a folder that does not exist. The sync must carry the
/// deletions to the cache, not stop as if the share had come back empty.
#[test]
fn deleting_all_but_one_item_on_the_share_under_a_pattern_converges() {
    let remote = [Edit::Delete(0), Edit::Delete(1)];
    if let Err(e) = run(&[13, 103, 0, 114, 54], 1, &[], &remote) {
        panic!("{e}");
    }
}
