//! The engine against random edits (property test): a synced cache and in-memory
//! share, random writes, deletions and renames (of files, and of the folder `d`) on
//! both sides, then a real sync in-process (prepare and execute) under keep-all.
//! Afterwards (a) no edit is lost, (b) both sides hold the same files, (c) a second
//! prepare finds nothing to do, (d) every file's original names the identity the
//! share gives it now, and (e) a file renamed on one side only, untouched on the
//! other, was renamed there too (the same inode in the cache: not copied anew).
//!
//! `PROPTEST_CASES=N` runs more cases (default 24); `PROPTEST_RNG_SEED=N` replays.

#[path = "../../core/tests/support/seed.rs"]
mod seed;
mod support;

use offline_core::{ConflictPolicy, SyncControl};
use offline_engine::{Cache, PrepareOptions};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use support::mem::MemShare;
use support::{cache_files, cache_in, content, p, sync};

const PATHS: [&str; 5] = ["a.txt", "b.txt", "d/c.txt", "d/e.txt", "f/g/h.txt"];

/// Where renames go: a new name beside, into another folder, into a new folder.
const TARGETS: [&str; 3] = ["moved.txt", "d/moved.txt", "n/m/moved.txt"];

/// One edit on one side: write content `n` at a path, delete it, rename it to a
/// target, or rename the folder `d` to `dd`.
#[derive(Debug, Clone)]
enum Edit {
    Write(usize, u8),
    Delete(usize),
    Rename(usize, usize),
    RenameFolder,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..PATHS.len(), any::<u8>()).prop_map(|(i, n)| Edit::Write(i, n)),
        (0..PATHS.len()).prop_map(Edit::Delete),
        (0..PATHS.len(), 0..TARGETS.len()).prop_map(|(i, t)| Edit::Rename(i, t)),
        Just(Edit::RenameFolder),
    ]
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
            Edit::Rename(i, t) => local_rename(cache.root(), PATHS[i], TARGETS[t]),
            Edit::RenameFolder => local_rename(cache.root(), "d", "dd"),
        }
    }
    for e in remote {
        match *e {
            Edit::Write(i, n) => share.put_file(PATHS[i], &content("share", n)),
            Edit::Delete(i) => share.delete(PATHS[i]),
            Edit::Rename(i, t) => share.move_item(PATHS[i], TARGETS[t]),
            Edit::RenameFolder => share.move_item("d", "dd"),
        }
    }
}

/// `mv from to` in the cache, when `from` is there and `to` is not.
fn local_rename(root: &Path, from: &str, to: &str) {
    let (from, to) = (root.join(from), root.join(to));
    if fs::symlink_metadata(&from).is_err() || fs::symlink_metadata(&to).is_ok() {
        return;
    }
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).expect("folder");
    }
    fs::rename(from, to).expect("rename");
}

/// The files renamed on one side only: (old path, new path), where the content at
/// the new path is the old one's, the old path is gone on that side only, and the
/// other side still holds the old path with the base content and nothing at the
/// new one. The inode of such a file in the cache must be kept.
fn one_sided_renames(
    base: &BTreeMap<String, Vec<u8>>,
    here: &BTreeMap<String, Vec<u8>>,
    there: &BTreeMap<String, Vec<u8>>,
) -> Vec<(String, String)> {
    let gone: Vec<&String> = base
        .keys()
        .filter(|p| !here.contains_key(*p) && there.get(*p) == base.get(*p))
        .collect();
    let new: Vec<&String> = here
        .keys()
        .filter(|p| !base.contains_key(*p) && !there.contains_key(*p))
        .collect();
    let mut out = Vec::new();
    for g in &gone {
        let same: Vec<&&String> = new
            .iter()
            .filter(|n| here.get(**n) == base.get(*g))
            .collect();
        // The content names the file only when no other base file held it.
        let sources = base.values().filter(|c| Some(*c) == base.get(*g)).count();
        if let ([n], 1) = (same.as_slice(), sources) {
            out.push(((*g).clone(), (**n).clone()));
        }
    }
    out
}

fn inode(root: &Path, rel: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(root.join(rel)).ok().map(|m| m.ino())
}

fn run(base: &[u8], local: &[Edit], remote: &[Edit]) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut cache = cache_in(dir.path());
    let share = MemShare::new();
    // One file nobody edits: a share the random edits empty would be taken for an
    // unreachable one (the empty-share guard), which is not what this test is about.
    share.put_file("keep.txt", b"base keep\n");
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
    let base_files = share.files();
    let identities: BTreeMap<String, Option<String>> = base_files
        .keys()
        .map(|p| (p.clone(), share.identity_of(p)))
        .collect();
    let inodes: BTreeMap<String, Option<u64>> = base_files
        .keys()
        .map(|p| (p.clone(), inode(cache.root(), p)))
        .collect();
    apply(&cache, &share, local, remote);
    let (here, there) = (cache_files(cache.root()), share.files());
    // Renamed on the share, untouched in the cache: the cache's copy is renamed.
    // A file renamed out of a folder renamed too, into a folder the other side
    // renamed away, or into the folder renamed in the same sync (`dd`) is a
    // deletion plus a creation (the planner renames what nests only with its
    // folder): left out of (e).
    let parent = |p: &str| {
        p.rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_string())
    };
    let was_folder =
        |d: &str| d.is_empty() || base_files.keys().any(|p| p.starts_with(&format!("{d}/")));
    let in_cache = |d: &str| cache.root().join(d).is_dir();
    let on_share = |d: &str| share.exists(d);
    let mut share_renames = one_sided_renames(&base_files, &there, &here);
    share_renames.retain(|(from, to)| {
        !to.starts_with("dd/")
            && on_share(&parent(from))
            && (!was_folder(&parent(to)) || in_cache(&parent(to)))
    });
    // Renamed in the cache, untouched on the share: the share's copy is renamed.
    let mut cache_renames = one_sided_renames(&base_files, &here, &there);
    cache_renames.retain(|(from, to)| {
        !to.starts_with("dd/")
            && in_cache(&parent(from))
            && (!was_folder(&parent(to)) || on_share(&parent(to)))
    });
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
    // (e) a rename on the share only is a rename in the cache.
    for (from, to) in &share_renames {
        if inode(cache.root(), to) != inodes[from] {
            return Err(format!(
                "(e) {from} renamed to {to} on the share was copied anew"
            ));
        }
    }
    for (from, to) in &cache_renames {
        if share.identity_of(to) != identities[from] {
            return Err(format!(
                "(e) {from} renamed to {to} in the cache was copied anew"
            ));
        }
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
