//! Crash injection for renames (the four Renamed states, issue 13) through the real
//! binary: a sync whose work is renames on both sides (a folder and a file renamed
//! in the cache, one of them edited too; a file and a folder renamed on the share; a
//! file edited on the share inside the folder the cache renamed; a file renamed on
//! the share and edited in the cache) is killed (SIGKILL) at every crash point it
//! passes, then `offline sync` runs to completion, and the whole world must equal
//! what the same sync gives without a crash, with every rename done as a rename.
//!
//! Renames are found by the inode the originals record, and a copied tree has new
//! inodes, so unlike `crash.rs` every run builds its world afresh (same paths, same
//! content) instead of restoring a copied template.

mod crash_support;

use crash_support::counts;
use crash_support::snapshot::{killed_at, listed_points, Snapshot};
use crash_support::{temp_files, Node, Run, Side, World};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A journal commit before every operation, a base commit after every item, one
/// copy in flight: the same crash points every run.
const ENV: &[(&str, &str)] = &[
    ("OFFLINE_TRANSFERS", "1"),
    ("OFFLINE_JOURNAL_GROUP", "1"),
    ("OFFLINE_COMMIT_EVERY", "1"),
];

const BASE: &[(&str, &str)] = &[
    ("r/a.txt", "a"),
    ("r/b.txt", "b v1"),
    ("r/sub/c.txt", "c"),
    ("f.txt", "f v1"),
    ("g.txt", "g"),
    ("e.txt", "e v1"),
    ("s/x.txt", "x"),
    ("keep.txt", "keep"),
];

/// Both sides after the sync.
const AFTER: &[(&str, &str)] = &[
    ("r2/a.txt", "a"),
    ("r2/b.txt", "b v2"),
    ("r2/sub/c.txt", "c"),
    ("f2.txt", "f v2"),
    ("g2.txt", "g"),
    ("e2.txt", "e v2"),
    ("s2/x.txt", "x"),
    ("keep.txt", "keep"),
];

/// The world before the sync: the base synced, then the renames and edits.
fn build(root: &Path) -> World {
    let world = World::new(root);
    for (path, content) in BASE {
        world.write(Side::Share, path, content);
    }
    world.init();
    world.sync_ok(&[]);
    let mv = |side: Side, from: &str, to: &str| {
        let base = world.side(side);
        std::fs::rename(base.join(from), base.join(to)).expect("rename");
    };
    mv(Side::Cache, "r", "r2");
    mv(Side::Cache, "f.txt", "f2.txt");
    world.write(Side::Cache, "f2.txt", "f v2");
    world.write(Side::Cache, "e.txt", "e v2");
    mv(Side::Share, "g.txt", "g2.txt");
    mv(Side::Share, "e.txt", "e2.txt");
    mv(Side::Share, "s", "s2");
    world.write(Side::Share, "r/b.txt", "b v2");
    world
}

/// The inode of every file of a side, by path: a rename keeps it, a copy does not.
fn inodes(root: &Path) -> BTreeMap<PathBuf, u64> {
    crash_support::tree(root)
        .into_iter()
        .filter(|(_, node)| matches!(node, Node::File { .. }))
        .map(|(path, _)| {
            let ino = std::fs::symlink_metadata(root.join(&path))
                .expect("stat")
                .ino();
            (path, ino)
        })
        .collect()
}

fn file(content: &str) -> Node {
    Node::File {
        content: content.as_bytes().to_vec(),
        mode: 0o644,
    }
}

/// Checks the result of the sync without a crash item by item.
fn check_expected(expected: &Snapshot) {
    for (side, tree) in [("cache", &expected.cache), ("share", &expected.share)] {
        let files: BTreeMap<PathBuf, Node> = tree
            .iter()
            .filter(|(_, n)| matches!(n, Node::File { .. }))
            .map(|(p, n)| (p.clone(), n.clone()))
            .collect();
        let want: BTreeMap<PathBuf, Node> = AFTER
            .iter()
            .map(|(p, c)| (PathBuf::from(p), file(c)))
            .collect();
        assert_eq!(files, want, "{side}: the files after the sync");
    }
    assert!(expected.kept.is_empty(), "{:?}", expected.kept);
    assert!(expected.conflicts.is_empty(), "{:?}", expected.conflicts);
    assert!(expected.planned.is_empty(), "{:?}", expected.planned);
}

/// The sync after a crash: it finishes the work.
fn recover(world: &World, killed: &Run, what: &str) {
    let after = world.run(&["sync"], ENV);
    assert_eq!(
        after.code,
        Some(0),
        "{what}: the sync after: {}",
        after.describe()
    );
    if killed.killed() {
        assert!(
            after.stderr.contains("the last sync was interrupted"),
            "{what}: the next sync must report the recovery: {}",
            after.describe()
        );
    }
    let temps = temp_files(&world.root);
    assert!(temps.is_empty(), "{what}: temp files left: {temps:?}");
}

#[test]
fn a_sync_of_renames_killed_at_any_crash_point_is_finished_by_the_next_one() {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("offline-crash-renames-")
        .tempdir()
        .expect("temp dir");
    let fresh = |name: &str| build(&dir.path().join(name));
    // The run without a crash, listing its crash points.
    let world = fresh("full");
    let share_before = inodes(&world.share);
    let cache_before = inodes(&world.cache);
    let mut env = ENV.to_vec();
    env.push(("OFFLINE_CRASH_LIST", "1"));
    let full = world.run(&["sync"], &env);
    assert_eq!(full.code, Some(0), "the full run: {}", full.describe());
    // Only the three edits move bytes (4 each), none of the renamed files.
    assert!(
        full.stdout.contains(", 12 bytes moved"),
        "only the edits move bytes: {}",
        full.describe()
    );
    let points = listed_points(&full);
    let expected = Snapshot::take(&world, "log");
    check_expected(&expected);
    // Every rename was a rename: the renamed files keep their inodes.
    let share_after = inodes(&world.share);
    let cache_after = inodes(&world.cache);
    for (from, to) in [("r/a.txt", "r2/a.txt"), ("r/sub/c.txt", "r2/sub/c.txt")] {
        assert_eq!(
            share_before.get(Path::new(from)),
            share_after.get(Path::new(to)),
            "share {to}"
        );
    }
    assert_eq!(
        cache_before.get(Path::new("g.txt")),
        cache_after.get(Path::new("g2.txt")),
        "the cache's g.txt was renamed"
    );
    assert_eq!(
        cache_before.get(Path::new("s/x.txt")),
        cache_after.get(Path::new("s2/x.txt")),
        "the cache's s/x.txt was renamed"
    );
    std::fs::remove_dir_all(&world.root).expect("clean up");
    let reached = points.len();
    assert!(reached > 0, "no crash point was reached");
    for (index, point) in points.iter().enumerate() {
        let n = index + 1;
        let what = format!("renames: killed at crash point {n} of {reached} ({point})");
        let world = fresh(&format!("run{n}"));
        let at = n.to_string();
        let mut env = ENV.to_vec();
        env.push(("OFFLINE_CRASH_AT", &at));
        let run = world.run(&["sync"], &env);
        assert!(run.killed(), "{what}: not killed: {}", run.describe());
        assert_eq!(killed_at(&run).as_deref(), Some(point.as_str()), "{what}");
        recover(&world, &run, &what);
        Snapshot::take(&world, "log").assert_eq(&expected, &what);
        std::fs::remove_dir_all(&world.root).expect("clean up");
    }
    println!(
        "crash points: renames: reached {reached}, killed {reached} in {:.1?}",
        started.elapsed()
    );
    assert!(
        reached >= counts::SYNC_RENAMES.1,
        "{reached} crash points reached, docs/SAFETY.md states {}",
        counts::SYNC_RENAMES.1
    );
}
