//! Crash injection through the real binary: a sync with work on both sides is killed
//! (SIGKILL) at every crash point it passes (every write, rename, fsync and database
//! commit, `OFFLINE_CRASH_AT=N`) and at random times, then `offline sync` runs to
//! completion. After each, every original and new file's content must be on both
//! sides (a keep-local loser in `.offline/conflicts`), no temp file may be left, the
//! sides must be equal, and a further dry run must plan nothing.

mod crash_support;

use crash_support::{
    count_crash_points, kept_losers, temp_files, tree, tree_diff, Node, Rng, Side, World,
};
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

/// Paths both sides must not hold after the sync.
const GONE: &[&str] = &["del_local.txt", "del_remote.txt", "gone"];

/// A world whose base is synced and that then has work on both sides: creates,
/// edits, deletes (a file each side, a folder on the share), a file that became a
/// folder, a changed symlink, a mode change, and a conflict.
fn build(root: &Path) -> World {
    let world = World::new(root);
    for (path, content) in BASE {
        world.write(Side::Share, path, content);
    }
    std::os::unix::fs::symlink("keep.txt", world.share.join("link")).expect("symlink");
    world.init();
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

/// Everything a finished sync of [`build`]'s world must show; `what` names the run.
fn check_finished(world: &World, policy: &str, what: &str) {
    let temps = temp_files(&world.root);
    assert!(temps.is_empty(), "{what}: temp files left: {temps:?}");
    let cache = tree(&world.cache);
    let share = tree(&world.share);
    let diff = tree_diff(&cache, &share);
    assert!(
        diff.is_empty(),
        "{what}: the sides differ:\n{}",
        diff.join("\n")
    );
    for (path, content) in AFTER {
        match cache.get(Path::new(path)) {
            Some(Node::File { content: found, .. }) => assert_eq!(
                found,
                content.as_bytes(),
                "{what}: {path} holds {:?}",
                String::from_utf8_lossy(found)
            ),
            other => panic!("{what}: {path} should be a file holding {content:?}, found {other:?}"),
        }
    }
    for path in GONE {
        assert!(
            !cache.contains_key(Path::new(path)),
            "{what}: {path} should be deleted"
        );
    }
    assert_eq!(
        cache.get(Path::new("link")),
        Some(&Node::Link(b"dir".to_vec())),
        "{what}: the changed symlink"
    );
    assert!(
        matches!(cache.get(Path::new("new_empty")), Some(Node::Dir { .. })),
        "{what}: the new empty folder"
    );
    assert!(
        matches!(
            cache.get(Path::new("mode.sh")),
            Some(Node::File { mode: 0o755, .. })
        ),
        "{what}: the mode change"
    );
    let conflict_copies: Vec<(&PathBuf, &Node)> = cache
        .iter()
        .filter(|(p, _)| p.to_string_lossy().starts_with("conflict (conflict "))
        .collect();
    let file = |content: &str| Node::File {
        content: content.as_bytes().to_vec(),
        mode: 0o644,
    };
    match policy {
        "keep-all" => {
            assert_eq!(
                cache.get(Path::new("conflict.txt")),
                Some(&file("conflict remote")),
                "{what}: keep-all keeps the share's copy under the name"
            );
            assert_eq!(
                conflict_copies.len(),
                1,
                "{what}: exactly one conflict copy: {conflict_copies:?}"
            );
            assert_eq!(conflict_copies[0].1, &file("conflict local"), "{what}");
        }
        "keep-local" => {
            assert_eq!(
                cache.get(Path::new("conflict.txt")),
                Some(&file("conflict local")),
                "{what}: keep-local keeps the cache's copy"
            );
            assert!(conflict_copies.is_empty(), "{what}: {conflict_copies:?}");
            let losers = kept_losers(world, "share", "conflict.txt");
            assert!(
                losers.iter().any(|l| l == b"conflict remote"),
                "{what}: the share's losing copy must be kept in .offline/conflicts, found {losers:?}"
            );
        }
        other => panic!("no checks for policy {other}"),
    }
    let planned = world.planned(policy);
    assert!(
        planned.is_empty(),
        "{what}: a further sync still plans {planned:?}"
    );
}

/// Kills a sync of the template's world at every crash point, recovers and checks;
/// `env` is given to every run. Returns (crash points of a full run, runs killed).
fn crash_at_every_point(base: &Path, policy: &str, env: &[(&str, &str)]) -> (usize, usize) {
    let world = build(&base.join("world"));
    let template = base.join("template");
    world.save_template(&template);
    let args = ["sync", "--policy", policy];
    let (points, run) = count_crash_points(&world, &args, env);
    assert_eq!(run.code, Some(0), "full run: {}", run.describe());
    check_finished(
        &world,
        policy,
        &format!("{policy}: the run without a crash"),
    );
    assert!(points > 20, "{policy}: only {points} crash points were hit");
    let mut killed = 0;
    for n in 1..=points {
        world.restore(&template);
        let what = format!("{policy}, killed at crash point {n} of {points}");
        let at = n.to_string();
        let mut crash_env = env.to_vec();
        crash_env.push(("OFFLINE_CRASH_AT", &at));
        let run = world.run(&args, &crash_env);
        if run.killed() {
            killed += 1;
        } else {
            // Commits every 2 s are timed: a slow machine may pass fewer points.
            assert_eq!(run.code, Some(0), "{what}: {}", run.describe());
        }
        let after = world.run(&args, env);
        assert_eq!(
            after.code,
            Some(0),
            "{what}: the sync after: {}",
            after.describe()
        );
        if run.killed() {
            assert!(
                after.stderr.contains("the last sync was interrupted"),
                "{what}: the next sync must report the recovery: {}",
                after.describe()
            );
        }
        check_finished(&world, policy, &what);
    }
    (points, killed)
}

#[test]
fn a_sync_killed_at_any_crash_point_is_finished_by_the_next_one() {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("offline-crash-")
        .tempdir()
        .expect("temp dir");
    let mut total_points = 0;
    let mut total_killed = 0;
    // keep-local also with a journal commit before every single operation (the
    // default writes the rows of 64 operations at once).
    for (policy, group) in [("keep-all", None), ("keep-local", Some("1"))] {
        let base = dir.path().join(policy);
        let env: Vec<(&str, &str)> = group
            .map(|g| ("OFFLINE_JOURNAL_GROUP", g))
            .into_iter()
            .collect();
        let (points, killed) = crash_at_every_point(&base, policy, &env);
        eprintln!(
            "crash test: {policy} (journal group {}): {points} crash points, {killed} runs killed",
            group.unwrap_or("default")
        );
        total_points += points;
        total_killed += killed;
    }
    let message = format!(
        "crash test: {total_killed} crash points killed and recovered ({total_points} points in full runs) in {:.1?}",
        started.elapsed()
    );
    eprintln!("{message}");
    println!("{message}");
    assert!(
        total_killed >= 100,
        "fewer than 100 crash points were exercised: {message}"
    );
}

/// A larger world: 150 new files on each side and 60 edited on each side.
fn build_large(root: &Path) -> World {
    let world = World::new(root);
    for i in 0..120 {
        world.write(
            Side::Share,
            &format!("base/d{}/f{i}.txt", i % 7),
            format!("base {i}"),
        );
    }
    world.init();
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

fn check_large(world: &World, what: &str) {
    let temps = temp_files(&world.root);
    assert!(temps.is_empty(), "{what}: temp files left: {temps:?}");
    let cache = tree(&world.cache);
    let diff = tree_diff(&cache, &tree(&world.share));
    assert!(
        diff.is_empty(),
        "{what}: the sides differ:\n{}",
        diff.join("\n")
    );
    let holds = |path: String, content: String| {
        assert_eq!(
            world.read(Side::Cache, &path).as_deref(),
            Some(content.as_bytes()),
            "{what}: {path}"
        );
    };
    for i in 0..120 {
        let content = if i < 60 {
            format!("edited {i}")
        } else {
            format!("base {i}")
        };
        holds(format!("base/d{}/f{i}.txt", i % 7), content);
    }
    for i in 0..150 {
        holds(format!("up/d{}/c{i}.txt", i % 5), format!("cache new {i}"));
        holds(
            format!("down/d{}/s{i}.txt", i % 5),
            format!("share new {i}"),
        );
    }
    let planned = world.planned("log");
    assert!(
        planned.is_empty(),
        "{what}: a further sync still plans {planned:?}"
    );
}

#[test]
fn a_sync_killed_at_random_times_is_finished_by_the_next_one() {
    let dir = tempfile::Builder::new()
        .prefix("offline-crash-random-")
        .tempdir()
        .expect("temp dir");
    let world = build_large(&dir.path().join("world"));
    let template = dir.path().join("template");
    world.save_template(&template);
    let started = Instant::now();
    let full = world.run(&["sync"], &[]);
    let full_time = started.elapsed();
    assert_eq!(full.code, Some(0), "full run: {}", full.describe());
    check_large(&world, "the run without a kill");
    let mut rng = Rng::new(0x5eed_0004);
    let mut killed = 0;
    let rounds = 10;
    for round in 0..rounds {
        world.restore(&template);
        // Within the first half of a run: later kills often find it already ended.
        let delay = Duration::from_micros(rng.below((full_time.as_micros() / 2).max(1) as u64));
        let what = format!("round {round}, killed after {delay:?} of about {full_time:?}");
        let child =
            crash_support::spawn_bin(Some(&world.cache), &[std::ffi::OsStr::new("sync")], &[]);
        std::thread::sleep(delay);
        let pid = child.id();
        // SIGKILL, as `kill -9` or a power cut would end it.
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
        let run = crash_support::wait_with_timeout(child, crash_support::RUN_TIMEOUT);
        if run.killed() {
            killed += 1;
        } else {
            assert_eq!(run.code, Some(0), "{what}: {}", run.describe());
        }
        let after = world.run(&["sync"], &[]);
        assert_eq!(
            after.code,
            Some(0),
            "{what}: the sync after: {}",
            after.describe()
        );
        check_large(&world, &what);
    }
    eprintln!("random-time kills: {killed} of {rounds} runs were killed mid-sync");
    assert!(
        killed >= 1,
        "no run was killed before it ended ({full_time:?} a run)"
    );
}
