//! Crash injection for the commands other than a plain sync that change a side or
//! the state database: `resolve`, `evict --discard-changes`, `pin`, `fetch` and
//! `repair`. Each is killed (SIGKILL) at every crash point it passes, with one copy
//! in flight and a commit after every item so the points are the same every run;
//! then the person runs the same command again (and a sync where the command leaves
//! work for one), and the whole world must equal what the command gives without a
//! crash: both sides, the kept copies, the logged conflicts, the next plan.

mod crash_support;

use crash_support::counts;
use crash_support::enumerate::{Count, Enumeration};
use crash_support::snapshot::Snapshot;
use crash_support::{temp_files, Node, Run, Side, World};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every run: one copy in flight (also for repair's new database, which has no
/// settings), a journal commit before every operation, a base commit after every item.
const ENV: &[(&str, &str)] = &[
    ("OFFLINE_TRANSFERS", "1"),
    ("OFFLINE_JOURNAL_GROUP", "1"),
    ("OFFLINE_COMMIT_EVERY", "1"),
];

fn file(content: &str) -> Node {
    Node::File {
        content: content.as_bytes().to_vec(),
        mode: 0o644,
    }
}

fn temp_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir")
}

/// Runs `args` (with [`ENV`]) and asserts its exit status.
fn run_ok(world: &World, args: &[&str], code: i32, what: &str) -> Run {
    let run = world.run(args, ENV);
    assert_eq!(
        run.code,
        Some(code),
        "{what}: offline {args:?}: {}",
        run.describe()
    );
    run
}

fn no_temp_files(world: &World, what: &str) {
    let temps = temp_files(&world.root);
    assert!(temps.is_empty(), "{what}: temp files left: {temps:?}");
}

/// Enumerates `args` from the world saved in `template`: `finish` completes the
/// work after a kill, and the world must then equal the full run's (after `finish`
/// too), which `check_expected` checks item by item first.
fn enumerate(
    name: &str,
    world: &World,
    template: &Path,
    args: &[&str],
    finish: impl Fn(&World, &str),
    check_expected: impl Fn(&Snapshot),
    documented: usize,
) -> Count {
    let enumeration = Enumeration {
        name,
        world,
        template,
        args,
        env: ENV,
    };
    let (full, _) = enumeration.full_run();
    assert!(
        matches!(full.code, Some(0 | 1)),
        "{name}: the full run: {}",
        full.describe()
    );
    finish(world, &format!("{name}: after the full run"));
    no_temp_files(world, name);
    let expected = Snapshot::take(world, "log");
    check_expected(&expected);
    let count = enumeration.kill_everywhere(
        |world, _killed, what| {
            finish(world, what);
            no_temp_files(world, what);
        },
        |world, what| Snapshot::take(world, "log").assert_eq(&expected, what),
    );
    println!(
        "crash points: {name}: reached {}, killed {}",
        count.reached, count.killed
    );
    assert_eq!(count.killed, count.reached, "{name}");
    assert!(
        count.reached >= documented,
        "{name}: {} crash points reached, docs/SAFETY.md states {documented}",
        count.reached
    );
    count
}

/// A synced world with a logged conflict on `conflict.txt`.
fn conflicted(root: &Path) -> World {
    let world = World::new(root);
    world.write(Side::Share, "a.txt", "a");
    world.write(Side::Share, "dir/b.txt", "b");
    world.write(Side::Share, "conflict.txt", "conflict base");
    world.init();
    world.set_transfers(1);
    world.sync_ok(&[]);
    world.write(Side::Cache, "conflict.txt", "conflict local");
    world.write(Side::Share, "conflict.txt", "conflict remote");
    let run = world.run(&["sync"], &[]);
    assert_eq!(
        run.code,
        Some(1),
        "the conflict is logged: {}",
        run.describe()
    );
    world
}

/// `offline resolve conflict.txt --keep KEEP`, again while `offline conflicts` still
/// lists it, then the next sync (a resolve covers its path only: a conflict copy
/// that a killed `--keep all` made in the cache reaches the share with the sync).
fn resolve_again(keep: &'static str) -> impl Fn(&World, &str) {
    move |world: &World, what: &str| {
        let listed = world.run(&["conflicts", "--json"], &[]);
        if listed.stdout.contains("conflict.txt") {
            run_ok(world, &["resolve", "conflict.txt", "--keep", keep], 0, what);
        }
        run_ok(world, &["sync"], 0, what);
    }
}

#[test]
fn resolve_killed_at_any_crash_point_is_finished_by_resolving_again() {
    let dir = temp_dir("offline-crash-resolve-");
    let world = conflicted(&dir.path().join("world"));
    let template = dir.path().join("template");
    world.save_template(&template);
    let same_sides = |e: &Snapshot| assert_eq!(e.cache, e.share, "the sides are equal");
    enumerate(
        "resolve --keep local",
        &world,
        &template,
        &["resolve", "conflict.txt", "--keep", "local"],
        resolve_again("local"),
        |e| {
            same_sides(e);
            assert_eq!(
                e.cache.get(Path::new("conflict.txt")),
                Some(&file("conflict local"))
            );
            let kept: Vec<_> = e.kept.iter().collect();
            assert_eq!(
                kept,
                vec![(
                    &PathBuf::from("conflicts/share/conflict.txt"),
                    &BTreeSet::from([file("conflict remote")])
                )]
            );
            assert!(e.conflicts.is_empty() && e.planned.is_empty(), "{e:?}");
        },
        counts::RESOLVE_LOCAL.1,
    );
    enumerate(
        "resolve --keep all",
        &world,
        &template,
        &["resolve", "conflict.txt", "--keep", "all"],
        resolve_again("all"),
        |e| {
            same_sides(e);
            assert_eq!(
                e.cache.get(Path::new("conflict.txt")),
                Some(&file("conflict remote"))
            );
            let copies: Vec<_> = e
                .cache
                .iter()
                .filter(|(p, _)| p.to_string_lossy().starts_with("conflict (conflict "))
                .collect();
            assert_eq!(copies.len(), 1, "{copies:?}");
            assert_eq!(copies[0].1, &file("conflict local"));
            assert_eq!(
                e.cache.len(),
                5,
                "a.txt, dir, dir/b.txt and the two copies: {e:?}"
            );
            assert!(
                e.kept.is_empty() && e.conflicts.is_empty() && e.planned.is_empty(),
                "{e:?}"
            );
        },
        counts::RESOLVE_ALL.1,
    );
}

/// A world without pins whose share holds `d/` (three files and a subfolder); the
/// cache knows them as ghosts.
fn ghosts(root: &Path) -> World {
    let world = World::new(root);
    world.write(Side::Share, "d/a.txt", "a");
    world.write(Side::Share, "d/b.txt", "b");
    world.write(Side::Share, "d/sub/c.txt", "c");
    world.write(Side::Share, "other.txt", "other");
    world.init_with(&["--no-pin"]);
    world.set_transfers(1);
    world.sync_ok(&[]);
    assert!(!world.cache.join("d").exists(), "ghosts have no content");
    world
}

/// The share of [`ghosts`], as it must stay.
fn ghost_share(world: &World) -> std::collections::BTreeMap<PathBuf, Node> {
    crash_support::tree(&world.share)
}

#[test]
fn pin_and_fetch_killed_at_any_crash_point_are_finished_by_running_them_again() {
    let dir = temp_dir("offline-crash-pin-");
    let world = ghosts(&dir.path().join("world"));
    let share = ghost_share(&world);
    let template = dir.path().join("template");
    world.save_template(&template);
    for (name, args, documented) in [
        ("pin", ["pin", "d"], counts::PIN.1),
        ("fetch", ["fetch", "d"], counts::FETCH.1),
    ] {
        enumerate(
            name,
            &world,
            &template,
            &args,
            |world, what| {
                run_ok(world, &args, 0, what);
            },
            |e| {
                assert_eq!(e.share, share, "{name}: the share is unchanged");
                let mut cache = share.clone();
                cache.remove(Path::new("other.txt"));
                assert_eq!(e.cache, cache, "{name}: d/ is in the cache, other.txt not");
                assert!(e.kept.is_empty() && e.conflicts.is_empty(), "{e:?}");
                // The restored share has new inodes: the ghost outside the command's
                // scope is recorded again by the next sync, nothing more.
                let ghost = ("other.txt".into(), "null".into(), "record_ghost".into());
                assert!(e.planned.iter().all(|p| p == &ghost), "{e:?}");
            },
            documented,
        );
    }
}

#[test]
fn evict_discarding_changes_killed_at_any_crash_point_loses_nothing() {
    let dir = temp_dir("offline-crash-evict-");
    let world = ghosts(&dir.path().join("world"));
    let share = ghost_share(&world);
    run_ok(&world, &["fetch", "d"], 0, "fetch d");
    world.write(Side::Cache, "d/b.txt", "b changed in the cache");
    let template = dir.path().join("template");
    world.save_template(&template);
    let args = ["evict", "d", "--discard-changes"];
    enumerate(
        "evict --discard-changes",
        &world,
        &template,
        &args,
        |world, what| {
            run_ok(world, &args, 0, what);
            run_ok(world, &["sync"], 0, what);
        },
        |e| {
            assert_eq!(
                e.share, share,
                "the share is unchanged: nothing is deleted there"
            );
            assert!(
                e.cache
                    .keys()
                    .all(|p| !p.starts_with("d") || p == Path::new("d")),
                "d/ is evicted: {:?}",
                e.cache
            );
            let kept: Vec<_> = e.kept.iter().collect();
            assert_eq!(
                kept,
                vec![(
                    &PathBuf::from("discarded/d/b.txt"),
                    &BTreeSet::from([file("b changed in the cache")])
                )],
                "the discarded change is kept"
            );
            assert!(e.conflicts.is_empty() && e.planned.is_empty(), "{e:?}");
        },
        counts::EVICT.1,
    );
}

/// The damaged state database's bytes.
const GARBAGE: &[u8] = b"this is not an SQLite database";

/// A synced world whose state database is damaged, with changes on both sides made
/// since: one new file on each side, one file changed alike on both, one changed
/// differently (a conflict for repair).
fn damaged(root: &Path) -> World {
    let world = World::new(root);
    for name in ["a", "same", "both"] {
        world.write(Side::Share, &format!("{name}.txt"), name);
    }
    world.init();
    world.set_transfers(1);
    world.sync_ok(&[]);
    world.write(Side::Cache, "new_local.txt", "new local");
    world.write(Side::Share, "new_remote.txt", "new remote");
    world.write(Side::Cache, "same.txt", "same change");
    world.write(Side::Share, "same.txt", "same change");
    world.write(Side::Cache, "both.txt", "both local");
    world.write(Side::Share, "both.txt", "both remote");
    let meta = world.meta_dir();
    for extra in ["state.db-wal", "state.db-shm"] {
        let _ = std::fs::remove_file(meta.join(extra));
    }
    std::fs::write(meta.join("state.db"), GARBAGE).expect("damage the database");
    world
}

/// The damaged database is kept, never deleted: one `state.db.damaged-*` holds it.
fn damaged_copy_kept(world: &World, what: &str) {
    let kept = std::fs::read_dir(world.meta_dir())
        .expect("list .offline")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("state.db.damaged-")
        })
        .filter(|e| std::fs::read(e.path()).is_ok_and(|b| b == GARBAGE))
        .count();
    assert!(kept >= 1, "{what}: the damaged database was not kept");
}

#[test]
fn repair_killed_at_any_crash_point_is_finished_by_repairing_again() {
    let dir = temp_dir("offline-crash-repair-");
    let world = damaged(&dir.path().join("world"));
    let template = dir.path().join("template");
    world.save_template(&template);
    enumerate(
        "repair",
        &world,
        &template,
        &["repair"],
        |world, what| {
            let again = world.run(&["repair"], ENV);
            assert!(
                matches!(again.code, Some(0 | 1)),
                "{what}: repair again: {}",
                again.describe()
            );
            run_ok(world, &["sync"], 1, what);
            damaged_copy_kept(world, what);
        },
        |e| {
            let mut share = e.cache.clone();
            share.insert(PathBuf::from("both.txt"), file("both remote"));
            assert_eq!(e.share, share, "the sides differ in both.txt only");
            let files: Vec<(&str, &str)> = vec![
                ("a.txt", "a"),
                ("both.txt", "both local"),
                ("new_local.txt", "new local"),
                ("new_remote.txt", "new remote"),
                ("same.txt", "same change"),
            ];
            let expected: std::collections::BTreeMap<PathBuf, Node> = files
                .into_iter()
                .map(|(p, c)| (PathBuf::from(p), file(c)))
                .collect();
            assert_eq!(e.cache, expected, "the cache");
            assert!(e.kept.is_empty(), "{:?}", e.kept);
            assert_eq!(e.conflicts, vec!["both.txt".to_string()]);
            assert_eq!(
                e.planned.len(),
                1,
                "only the conflict is planned: {:?}",
                e.planned
            );
        },
        counts::REPAIR.1,
    ); // Killed before its first commit, repair leaves a database with its tables and
       // no settings: every command reports it damaged and names `offline repair`.
    let enumeration = Enumeration {
        name: "repair",
        world: &world,
        template: &template,
        args: &["repair"],
        env: ENV,
    };
    let killed = enumeration.run_killed_at(1);
    assert!(killed.killed(), "{}", killed.describe());
    for args in [&["status"][..], &["sync"], &["ls"]] {
        let run = world.run(args, &[]);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.describe());
        assert!(
            run.stderr.contains("offline repair"),
            "{args:?} names repair: {}",
            run.describe()
        );
    }
}
