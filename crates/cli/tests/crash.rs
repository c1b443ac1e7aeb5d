//! Crash injection through the real binary: a sync with work on both sides is killed
//! (SIGKILL) at every crash point it passes (every write, rename, fsync and database
//! commit, `OFFLINE_CRASH_AT=N`), then `offline sync` runs to completion, and the
//! whole world (both sides, the kept losing copies, the logged conflicts, a further
//! dry run's plan) must equal what the same sync gives without a crash. The
//! enumerations run with one copy in flight and commits by count, so every run passes
//! the same crash points: each one must be killed. Separately, syncs with copies in
//! flight are killed at seeded random points and at random times.

mod crash_support;

use crash_support::counts;
use crash_support::enumerate::{Count, Enumeration};
use crash_support::snapshot::{killed_point, Snapshot};
use crash_support::{temp_files, tree, Node, Rng, Run, Side, World};
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Files of the synced base: (path, content).
const BASE: &[(&str, &str)] = &[
    ("keep.txt", "keep"),
    ("edit_local.txt", "edit-local v1"),
    ("edit_remote.txt", "edit-remote v1"),
    ("del_local.txt", "del-local"),
    ("del_remote.txt", "del-remote"),
    ("dir/a.txt", "a"),
    ("dir/b.txt", "b v1"),
    ("dir/sub/c.txt", "c"),
    ("kind", "kind as a file"),
    ("gone/x.txt", "x"),
    ("gone/y.txt", "y"),
    ("conflict.txt", "conflict base"),
    ("mode.sh", "#!/bin/sh\n"),
];

/// Files both sides must hold after the sync, whatever the policy.
const AFTER: &[(&str, &str)] = &[
    ("keep.txt", "keep"),
    ("edit_local.txt", "edit-local v2"),
    ("edit_remote.txt", "edit-remote v2"),
    ("dir/a.txt", "a"),
    ("dir/b.txt", "b v2"),
    ("dir/sub/c.txt", "c"),
    ("kind/inner.txt", "inner"),
    ("mode.sh", "#!/bin/sh\n"),
    ("new_local/n1.txt", "n1"),
    ("new_local/n2.txt", "n2"),
    ("new_remote.txt", "nr"),
    ("newdir_remote/deep/f.txt", "deep"),
];

/// Folders both sides must hold after the sync.
const AFTER_DIRS: &[&str] = &[
    "dir",
    "dir/sub",
    "kind",
    "new_local",
    "new_empty",
    "newdir_remote",
    "newdir_remote/deep",
];

/// A world whose base is synced and that then has work on both sides: creates,
/// edits, deletes (a file each side, a folder on the share), a file that became a
/// folder, a changed symlink, a mode change, and a conflict. One copy in flight.
fn build(root: &Path) -> World {
    let world = World::new(root);
    for (path, content) in BASE {
        world.write(Side::Share, path, content);
    }
    std::os::unix::fs::symlink("keep.txt", world.share.join("link")).expect("symlink");
    world.init();
    world.set_transfers(1);
    world.sync_ok(&[]);
    // The cache's work.
    world.write(Side::Cache, "edit_local.txt", "edit-local v2");
    world.remove(Side::Cache, "del_local.txt");
    world.remove(Side::Cache, "kind");
    world.write(Side::Cache, "kind/inner.txt", "inner");
    world.write(Side::Cache, "new_local/n1.txt", "n1");
    world.write(Side::Cache, "new_local/n2.txt", "n2");
    world.write(Side::Cache, "conflict.txt", "conflict local");
    let script = world.cache.join("mode.sh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    world.remove(Side::Cache, "link");
    std::os::unix::fs::symlink("dir", world.cache.join("link")).expect("symlink");
    // The share's work.
    world.write(Side::Share, "edit_remote.txt", "edit-remote v2");
    world.remove(Side::Share, "del_remote.txt");
    world.write(Side::Share, "dir/b.txt", "b v2");
    world.remove(Side::Share, "gone");
    world.write(Side::Share, "new_remote.txt", "nr");
    std::fs::create_dir(world.share.join("new_empty")).expect("mkdir");
    world.write(Side::Share, "newdir_remote/deep/f.txt", "deep");
    world.write(Side::Share, "conflict.txt", "conflict remote");
    world
}

fn file(content: &str) -> Node {
    Node::File {
        content: content.as_bytes().to_vec(),
        mode: 0o644,
    }
}

/// Checks, item by item, what a finished sync of [`build`]'s world must show, so that
/// the snapshot every crashed run is compared with is itself right.
fn check_expected(world: &World, policy: &str, expected: &Snapshot) {
    let what = format!("{policy}: the run without a crash");
    let temps = temp_files(&world.root);
    assert!(temps.is_empty(), "{what}: temp files left: {temps:?}");
    let (cache, share) = (&expected.cache, &expected.share);
    let mut paths: BTreeSet<PathBuf> = AFTER.iter().map(|(p, _)| PathBuf::from(p)).collect();
    paths.extend(AFTER_DIRS.iter().map(PathBuf::from));
    paths.insert(PathBuf::from("link"));
    paths.insert(PathBuf::from("conflict.txt"));
    let conflict_copies: Vec<&PathBuf> = cache
        .keys()
        .filter(|p| p.to_string_lossy().starts_with("conflict (conflict "))
        .collect();
    if policy == "keep-all" {
        assert_eq!(conflict_copies.len(), 1, "{what}: {conflict_copies:?}");
        assert!(
            conflict_copies[0].to_string_lossy().ends_with(" 1).txt"),
            "{what}: {conflict_copies:?}"
        );
        paths.insert(conflict_copies[0].clone());
    }
    let found: BTreeSet<PathBuf> = cache.keys().cloned().collect();
    assert_eq!(found, paths, "{what}: the cache holds other paths");
    for (path, content) in AFTER {
        let node = cache.get(Path::new(path));
        assert!(
            matches!(node, Some(Node::File { content: c, .. }) if c == content.as_bytes()),
            "{what}: {path} should hold {content:?}, found {node:?}"
        );
    }
    for dir in AFTER_DIRS {
        assert!(
            matches!(cache.get(Path::new(dir)), Some(Node::Dir { .. })),
            "{what}: {dir} should be a folder"
        );
    }
    assert_eq!(
        cache.get(Path::new("link")),
        Some(&Node::Symlink {
            target: b"dir".to_vec()
        })
    );
    assert!(matches!(
        cache.get(Path::new("mode.sh")),
        Some(Node::File { mode: 0o755, .. })
    ));
    let conflict = Path::new("conflict.txt");
    let mut share_expected = cache.clone();
    match policy {
        "keep-all" => {
            assert_eq!(
                cache.get(conflict),
                Some(&file("conflict remote")),
                "{what}"
            );
            assert_eq!(cache.get(conflict_copies[0]), Some(&file("conflict local")));
            assert!(expected.kept.is_empty(), "{what}: {:?}", expected.kept);
            assert!(expected.conflicts.is_empty(), "{what}");
            assert!(
                expected.planned.is_empty(),
                "{what}: {:?}",
                expected.planned
            );
        }
        "keep-local" => {
            assert_eq!(cache.get(conflict), Some(&file("conflict local")), "{what}");
            let kept: Vec<(&PathBuf, &BTreeSet<Node>)> = expected.kept.iter().collect();
            assert_eq!(
                kept,
                vec![(
                    &PathBuf::from("conflicts/share/conflict.txt"),
                    &BTreeSet::from([file("conflict remote")])
                )],
                "{what}: the share's losing copy is kept, and nothing else"
            );
            assert!(expected.conflicts.is_empty(), "{what}");
            assert!(
                expected.planned.is_empty(),
                "{what}: {:?}",
                expected.planned
            );
        }
        "log" => {
            assert_eq!(cache.get(conflict), Some(&file("conflict local")), "{what}");
            share_expected.insert(conflict.to_path_buf(), file("conflict remote"));
            assert!(expected.kept.is_empty(), "{what}: {:?}", expected.kept);
            assert_eq!(
                expected.conflicts,
                vec!["conflict.txt".to_string()],
                "{what}"
            );
            assert_eq!(
                expected.planned,
                vec![(
                    "conflict.txt".to_string(),
                    "null".to_string(),
                    "conflict".to_string()
                )],
                "{what}: only the conflict is planned again"
            );
        }
        other => panic!("no checks for policy {other}"),
    }
    assert_eq!(share, &share_expected, "{what}: the share");
}

/// The exit status of a sync that ends with the world of `policy`.
fn exit_of(policy: &str) -> Option<i32> {
    Some(if policy == "log" { 1 } else { 0 })
}

/// The sync a person runs after a crash: it must report the recovery when the run
/// before it was killed (unless at a point of `unreported`: a sync killed right after
/// its own recovery committed left nothing in flight), and end as a sync without a
/// crash does.
fn recovering_sync<'a>(
    policy: &'a str,
    env: &'a [(&'a str, &'a str)],
    unreported: &'a [usize],
) -> impl Fn(&World, &Run, &str) + 'a {
    move |world: &World, killed: &Run, what: &str| {
        let after = world.run(&["sync", "--policy", policy], env);
        assert_eq!(
            after.code,
            exit_of(policy),
            "{what}: the sync after: {}",
            after.describe()
        );
        let exempt = killed_point(killed).is_some_and(|(n, _)| unreported.contains(&n));
        if killed.killed() && !exempt {
            assert!(
                after.stderr.contains("the last sync was interrupted"),
                "{what}: the next sync must report the recovery: {}",
                after.describe()
            );
        }
        let temps = temp_files(&world.root);
        assert!(temps.is_empty(), "{what}: temp files left: {temps:?}");
    }
}

/// One enumeration of the sync of [`build`]'s world: `policy` with `env` (the commit
/// and journal settings). Returns the count.
fn enumerate_sync(base: &Path, policy: &str, env: &[(&str, &str)]) -> Count {
    let world = build(&base.join("world"));
    let template = base.join("template");
    world.save_template(&template);
    let args = ["sync", "--policy", policy];
    let enumeration = Enumeration {
        name: policy,
        world: &world,
        template: &template,
        args: &args,
        env,
    };
    let (full, _) = enumeration.full_run();
    assert_eq!(full.code, exit_of(policy), "full run: {}", full.describe());
    let expected = Snapshot::take(&world, policy);
    check_expected(&world, policy, &expected);
    enumeration.kill_everywhere(recovering_sync(policy, env, &[]), |world, what| {
        Snapshot::take(world, policy).assert_eq(&expected, what)
    })
}

/// Runs the enumeration of `policy` with `env` and checks its count against
/// `documented` (docs/SAFETY.md states it).
fn enumerate_and_count(policy: &str, env: &[(&str, &str)], documented: usize) {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("offline-crash-")
        .tempdir()
        .expect("temp dir");
    let count = enumerate_sync(dir.path(), policy, env);
    println!(
        "crash points: {policy}: reached {}, killed {} in {:.1?}",
        count.reached,
        count.killed,
        started.elapsed()
    );
    assert_eq!(count.killed, count.reached, "{policy}");
    assert!(
        count.reached >= documented,
        "{policy}: {} crash points reached, docs/SAFETY.md states {documented}",
        count.reached
    );
}

/// keep-all, the default journal group, commits at the end only (as a fast machine's
/// timed policy does).
#[test]
fn a_keep_all_sync_killed_at_any_crash_point_is_finished_by_the_next_one() {
    let env = [("OFFLINE_COMMIT_EVERY", "100000")];
    enumerate_and_count("keep-all", &env, counts::SYNC_KEEP_ALL.1);
}

/// keep-local, a journal commit before every operation and a base commit after
/// every item.
#[test]
fn a_keep_local_sync_killed_at_any_crash_point_is_finished_by_the_next_one() {
    let env = [
        ("OFFLINE_JOURNAL_GROUP", "1"),
        ("OFFLINE_COMMIT_EVERY", "1"),
    ];
    enumerate_and_count("keep-local", &env, counts::SYNC_KEEP_LOCAL.1);
}

/// The default policy `log`, a base commit every 3 items.
#[test]
fn a_log_sync_killed_at_any_crash_point_is_finished_by_the_next_one() {
    let env = [("OFFLINE_COMMIT_EVERY", "3")];
    enumerate_and_count("log", &env, counts::SYNC_LOG.1);
}

/// A crash during the sync that recovers from a crash: the keep-local sync is killed
/// halfway through its crash points, and from there the recovering sync is killed at
/// each of its own; a third sync must finish it, with the world a sync without any
/// crash gives.
#[test]
fn a_recovering_sync_killed_at_any_crash_point_is_finished_by_the_next_one() {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("offline-crash-recovering-")
        .tempdir()
        .expect("temp dir");
    let policy = "keep-local";
    let env = [
        ("OFFLINE_JOURNAL_GROUP", "1"),
        ("OFFLINE_COMMIT_EVERY", "1"),
    ];
    let world = build(&dir.path().join("world"));
    let template = dir.path().join("template");
    world.save_template(&template);
    let args = ["sync", "--policy", policy];
    let first = Enumeration {
        name: "keep-local",
        world: &world,
        template: &template,
        args: &args,
        env: &env,
    };
    let (full, points) = first.full_run();
    assert_eq!(full.code, Some(0), "full run: {}", full.describe());
    recovering_sync(policy, &env, &[])(&world, &full, "the run without a crash");
    let expected = Snapshot::take(&world, policy);
    check_expected(&world, policy, &expected);
    let half = points.len() / 2;
    let killed = first.run_killed_at(half);
    assert!(killed.killed(), "killed halfway: {}", killed.describe());
    let interrupted = dir.path().join("interrupted");
    world.save_template(&interrupted);
    let name = format!(
        "the sync recovering from crash point {half} ({})",
        points[half - 1]
    );
    let second = Enumeration {
        name: &name,
        world: &world,
        template: &interrupted,
        args: &args,
        env: &env,
    };
    // Points 1 and 2 are the recovery's own commit (journal rows cleared, the run
    // no longer marked as interrupted): killed after it, there is nothing to report.
    let count = second.kill_everywhere(recovering_sync(policy, &env, &[2]), |world, what| {
        Snapshot::take(world, policy).assert_eq(&expected, what)
    });
    println!(
        "crash points: {name}: reached {}, killed {} in {:.1?}",
        count.reached,
        count.killed,
        started.elapsed()
    );
    assert_eq!(count.killed, count.reached);
    assert!(
        count.reached >= counts::RECOVERING_SYNC.1,
        "{} crash points reached, docs/SAFETY.md states {}",
        count.reached,
        counts::RECOVERING_SYNC.1
    );
}

/// A larger world: 150 new files on each side and 60 edited on each side.
fn build_large(root: &Path, transfers: usize) -> World {
    let world = World::new(root);
    for i in 0..120 {
        world.write(
            Side::Share,
            &format!("base/d{}/f{i}.txt", i % 7),
            format!("base {i}"),
        );
    }
    world.init();
    world.set_transfers(transfers);
    world.sync_ok(&[]);
    for i in 0..150 {
        world.write(
            Side::Cache,
            &format!("up/d{}/c{i}.txt", i % 5),
            format!("cache new {i}"),
        );
        world.write(
            Side::Share,
            &format!("down/d{}/s{i}.txt", i % 5),
            format!("share new {i}"),
        );
    }
    for i in 0..60 {
        let side = if i % 2 == 0 { Side::Cache } else { Side::Share };
        world.write(
            side,
            &format!("base/d{}/f{i}.txt", i % 7),
            format!("edited {i}"),
        );
    }
    world
}

/// The whole world a finished sync of [`build_large`]'s world must show.
fn large_expected(world: &World) -> Snapshot {
    let mut cache = tree(&world.cache);
    cache.retain(|_, n| matches!(n, Node::Dir { .. }));
    let mut add = |path: String, content: String| {
        cache.insert(PathBuf::from(path), file(&content));
    };
    for i in 0..120 {
        let content = if i < 60 {
            format!("edited {i}")
        } else {
            format!("base {i}")
        };
        add(format!("base/d{}/f{i}.txt", i % 7), content);
    }
    for i in 0..150 {
        add(format!("up/d{}/c{i}.txt", i % 5), format!("cache new {i}"));
        add(
            format!("down/d{}/s{i}.txt", i % 5),
            format!("share new {i}"),
        );
    }
    Snapshot {
        share: cache.clone(),
        cache,
        kept: Default::default(),
        conflicts: Vec::new(),
        planned: Vec::new(),
    }
}

/// The sync after a kill of the large world: exit 0, then the whole world.
fn finish_large(world: &World, expected: &Snapshot, what: &str) {
    let after = world.run(&["sync"], &[]);
    assert_eq!(
        after.code,
        Some(0),
        "{what}: the sync after: {}",
        after.describe()
    );
    let temps = temp_files(&world.root);
    assert!(temps.is_empty(), "{what}: temp files left: {temps:?}");
    Snapshot::take(world, "log").assert_eq(expected, what);
}

/// The parallel path: 4 copies in flight and the default (timed) commits, killed at
/// seeded random crash points. A run may pass fewer points than the listing run
/// (threads interleave differently), so a run that is not killed is allowed here and
/// counted; the world must be whole after each.
#[test]
fn a_sync_with_copies_in_flight_killed_at_random_crash_points_is_finished_by_the_next_one() {
    let dir = tempfile::Builder::new()
        .prefix("offline-crash-parallel-")
        .tempdir()
        .expect("temp dir");
    let world = build_large(&dir.path().join("world"), 4);
    let template = dir.path().join("template");
    world.save_template(&template);
    let args = ["sync"];
    let enumeration = Enumeration {
        name: "4 in flight",
        world: &world,
        template: &template,
        args: &args,
        env: &[],
    };
    let (full, points) = enumeration.full_run();
    assert_eq!(full.code, Some(0), "full run: {}", full.describe());
    let expected = large_expected(&world);
    Snapshot::take(&world, "log").assert_eq(&expected, "the run without a crash");
    let mut rng = Rng::new(0x5eed_0018);
    let rounds = 12;
    let mut killed = 0;
    for round in 0..rounds {
        let n = 1 + rng.below(points.len() as u64) as usize;
        let what = format!("round {round}: crash point {n} of about {}", points.len());
        let run = enumeration.run_killed_at(n);
        if run.killed() {
            killed += 1;
        } else {
            assert_eq!(run.code, Some(0), "{what}: {}", run.describe());
        }
        finish_large(&world, &expected, &what);
    }
    println!("4 in flight: {killed} of {rounds} runs killed at a random crash point");
    assert!(
        killed * 2 >= rounds,
        "fewer than half the runs were killed: {killed}"
    );
}

#[test]
fn a_sync_killed_at_random_times_is_finished_by_the_next_one() {
    let dir = tempfile::Builder::new()
        .prefix("offline-crash-random-")
        .tempdir()
        .expect("temp dir");
    let world = build_large(&dir.path().join("world"), 4);
    let template = dir.path().join("template");
    world.save_template(&template);
    let started = Instant::now();
    let full = world.run(&["sync"], &[]);
    let full_time = started.elapsed();
    assert_eq!(full.code, Some(0), "full run: {}", full.describe());
    let expected = large_expected(&world);
    Snapshot::take(&world, "log").assert_eq(&expected, "the run without a kill");
    let mut rng = Rng::new(0x5eed_0004);
    let mut killed = 0;
    let rounds = 8;
    for round in 0..rounds {
        world.restore(&template);
        // Within the first half of a run: later kills often find it already ended.
        let delay = Duration::from_micros(rng.below((full_time.as_micros() / 2).max(1) as u64));
        let what = format!("round {round}, killed after {delay:?} of about {full_time:?}");
        let child =
            crash_support::spawn_bin(Some(&world.cache), &[std::ffi::OsStr::new("sync")], &[]);
        std::thread::sleep(delay);
        // SIGKILL, as `kill -9` or a power cut would end it.
        let _ = std::process::Command::new("kill")
            .args(["-9", &child.id().to_string()])
            .status();
        let run = crash_support::wait_with_timeout(child, crash_support::RUN_TIMEOUT);
        if run.killed() {
            killed += 1;
        } else {
            assert_eq!(run.code, Some(0), "{what}: {}", run.describe());
        }
        finish_large(&world, &expected, &what);
    }
    println!("random-time kills: {killed} of {rounds} runs were killed mid-sync");
    assert!(
        killed >= 1,
        "no run was killed before it ended ({full_time:?} a run)"
    );
}

/// docs/SAFETY.md states the crash points each enumeration asserts, and the total.
#[test]
fn safety_md_states_the_crash_point_counts_the_tests_assert() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/SAFETY.md");
    let text = std::fs::read_to_string(&path).expect("read docs/SAFETY.md");
    for (label, points) in counts::ALL {
        let row = format!("| {label} | {points} |");
        assert!(text.contains(&row), "docs/SAFETY.md lacks the row {row:?}");
    }
    let total: usize = counts::ALL.iter().map(|(_, n)| n).sum();
    let line = format!("{total} crash points in all");
    assert!(text.contains(&line), "docs/SAFETY.md lacks {line:?}");
}
