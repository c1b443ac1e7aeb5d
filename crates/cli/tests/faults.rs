//! Faults handled per item (issue 4): the share disappearing mid-sync, permission
//! denied on read and on write, no space left on either side, a file changed while it
//! is copied, symlink loops, names and paths too long; and a missing or damaged state
//! database with `offline repair`. Each fault must give an error naming the item's
//! operation while the other items still sync, and lose nothing.

mod common;
mod crash_support;

use crash_support::{
    count_crash_points, euid, make_writable, reports, temp_files, tree, tree_diff, Node, Run, Side,
    World,
};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// The user the permission tests run the binary as when the tests run as root
/// (root reads and writes everything regardless of permission bits).
const NOBODY: u32 = 65534;

fn temp_root(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir");
    // Other users (the permission tests' NOBODY) must be able to reach it.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// The report of `path` in a `--json` run, which must be there.
fn report<'a>(reports: &'a std::collections::BTreeMap<String, Value>, path: &str) -> &'a Value {
    reports
        .get(path)
        .unwrap_or_else(|| panic!("no report for {path}: {reports:#?}"))
}

fn assert_ok(reports: &std::collections::BTreeMap<String, Value>, path: &str) {
    let r = report(reports, path);
    assert_eq!(r["result"], "ok", "{path}: {r:#}");
}

/// Asserts `path` failed in operation `operation` with an error of kind `kind`.
fn assert_error(
    reports: &std::collections::BTreeMap<String, Value>,
    path: &str,
    operation: &str,
    kind: &str,
) {
    let r = report(reports, path);
    assert_eq!(r["result"], "error", "{path}: {r:#}");
    assert_eq!(r["operation"], operation, "{path}: {r:#}");
    assert_eq!(r["error"]["operation"], operation, "{path}: {r:#}");
    assert_eq!(r["error"]["kind"], kind, "{path}: {r:#}");
}

fn sync_json(world: &World, env: &[(&str, &str)]) -> Run {
    world.run(&["sync", "--json"], env)
}

fn assert_code(run: &Run, code: i32, what: &str) {
    assert_eq!(run.code, Some(code), "{what}: {}", run.describe());
}

/// The hit number of the first crash point whose name ends with `name` in a run of
/// `args` on a copy of `world` (the world itself is left as it was).
fn first_hit(world: &World, args: &[&str], name: &str) -> u64 {
    let template = world.root.with_extension("template");
    world.save_template(&template);
    let (_, run) = count_crash_points(world, args, &[]);
    world.restore(&template);
    fs::remove_dir_all(&template).expect("remove the template");
    run.stderr
        .lines()
        .filter_map(|l| l.strip_prefix("crashpoint "))
        .find_map(|l| {
            let (n, point) = l.split_once(' ')?;
            point.ends_with(name).then(|| n.parse().ok()).flatten()
        })
        .unwrap_or_else(|| panic!("no crash point {name} in {}", run.describe()))
}

fn assert_no_temp_files(world: &World) {
    let temps = temp_files(&world.root);
    assert!(temps.is_empty(), "temp files left: {temps:?}");
}

fn assert_settled(world: &World) {
    assert_no_temp_files(world);
    let diff = tree_diff(&tree(&world.cache), &tree(&world.share));
    assert!(diff.is_empty(), "the sides differ:\n{}", diff.join("\n"));
    let planned = world.planned("log");
    assert!(planned.is_empty(), "a further sync still plans {planned:?}");
}

#[test]
fn the_share_disappearing_mid_sync_stops_the_run_cleanly() {
    let dir = temp_root("offline-fault-gone-");
    let world = World::new(&dir.path().join("w"));
    world.write(Side::Share, "base.txt", "base");
    world.init();
    // One copy in flight: the same crash points, in the same order, every run.
    world.set_transfers(1);
    world.sync_ok(&[]);
    for i in 0..6 {
        world.write(Side::Cache, &format!("f{i}.txt"), format!("new {i}"));
    }
    // Unmount the share (here: move it away) right after the first file is in place.
    let at = first_hit(&world, &["sync"], ".after_rename");
    let away = dir.path().join("share-away");
    let hook = format!("mv '{}' '{}'", world.share.display(), away.display());
    let run = sync_json(
        &world,
        &[
            ("OFFLINE_HOOK_AT", &at.to_string()),
            ("OFFLINE_HOOK_CMD", &hook),
        ],
    );
    assert_code(&run, 3, "the run that lost its share");
    // The six files were staged and made durable as one batch; the first was renamed
    // into place when the share went. The renames could not be made durable, so every
    // item of the batch is an error naming its operation (the next sync records f0,
    // which both sides then hold).
    let all = reports(&run);
    assert_eq!(all.len(), 6, "{all:#?}");
    for i in 0..6 {
        assert_error(
            &all,
            &format!("f{i}.txt"),
            "create_copy_on_server",
            "Unreachable",
        );
    }
    let summary = run
        .json()
        .into_iter()
        .find_map(|v| v.get("summary").cloned());
    let stopped = summary.as_ref().map(|s| s["stopped"].clone());
    assert!(
        stopped.as_ref().is_some_and(|s| s.is_string()),
        "the summary says why it stopped: {summary:?}"
    );
    // What was done stays (f0.txt was in place when the share went); the share is
    // offline with reason connection_error.
    assert_eq!(
        fs::read(away.join("f0.txt")).expect("f0 on the share"),
        b"new 0"
    );
    let status = world.run(&["status", "--json"], &[]);
    assert_code(&status, 0, "status");
    let status: Value = serde_json::from_str(status.stdout.trim()).expect("status JSON");
    assert_eq!(status["connect_state"], "offline", "{status:#}");
    assert_eq!(status["offline_reason"], "connection_error", "{status:#}");
    // A sync while it is gone changes nothing and says so.
    let gone = world.run(&["sync"], &[]);
    assert_code(&gone, 3, "a sync while the share is gone");
    // The share comes back: the next sync finishes the work.
    fs::rename(&away, &world.share).expect("bring the share back");
    world.sync_ok(&[]);
    for i in 0..6 {
        assert_eq!(
            world.read(Side::Share, &format!("f{i}.txt")).as_deref(),
            Some(format!("new {i}").as_bytes())
        );
    }
    assert_settled(&world);
}

#[test]
fn a_file_changed_while_it_is_copied_is_skipped_and_sent_next_time() {
    let dir = temp_root("offline-fault-changed-");
    let world = World::new(&dir.path().join("w"));
    world.init();
    world.sync_ok(&[]);
    world.write(Side::Cache, "a.txt", "first");
    world.write(Side::Cache, "b.txt", "other");
    // Right after the journal row of a.txt is durable, before its copy starts.
    let at = first_hit(&world, &["sync"], "store.commit.after");
    let hook = format!(
        "printf 'changed during the copy' > '{}'",
        world.cache.join("a.txt").display()
    );
    let run = sync_json(
        &world,
        &[
            ("OFFLINE_HOOK_AT", &at.to_string()),
            ("OFFLINE_HOOK_CMD", &hook),
        ],
    );
    assert_code(&run, 1, "the run that saw a.txt change");
    let all = reports(&run);
    assert_error(&all, "a.txt", "create_copy_on_server", "Changed");
    assert_ok(&all, "b.txt");
    assert_eq!(
        world.read(Side::Share, "a.txt"),
        None,
        "no half or stale copy"
    );
    assert_eq!(
        world.read(Side::Cache, "a.txt").as_deref(),
        Some(&b"changed during the copy"[..])
    );
    assert_no_temp_files(&world);
    world.sync_ok(&[]);
    assert_eq!(
        world.read(Side::Share, "a.txt").as_deref(),
        Some(&b"changed during the copy"[..])
    );
    assert_settled(&world);
}

/// A world whose binary runs as NOBODY when the tests run as root; the world's files
/// belong to that user.
fn world_for_permissions(dir: &Path) -> World {
    let mut world = World::new(&dir.join("w"));
    if euid() == 0 {
        world.uid = Some(NOBODY);
        let status = Command::new("chown")
            .args(["-R", &format!("{NOBODY}:{NOBODY}")])
            .arg(&world.root)
            .status()
            .expect("chown");
        assert!(status.success());
        eprintln!("permission tests: running as root, so the binary runs as uid {NOBODY}");
    }
    world
}

/// Makes files written by this (root) test process belong to the world's user.
fn hand_over(world: &World) {
    if let Some(uid) = world.uid {
        let status = Command::new("chown")
            .args(["-R", &format!("{uid}:{uid}")])
            .arg(&world.root)
            .status()
            .expect("chown");
        assert!(status.success());
    }
}

#[test]
fn permission_denied_on_read_is_an_item_error_and_nothing_is_taken_as_deleted() {
    let dir = temp_root("offline-fault-read-");
    let world = world_for_permissions(dir.path());
    world.write(Side::Share, "locked/kept.txt", "kept");
    world.write(Side::Share, "open.txt", "open");
    hand_over(&world);
    world.init();
    world.sync_ok(&[]);
    world.write(Side::Cache, "secret.txt", "secret");
    world.write(Side::Cache, "fine.txt", "fine");
    world.write(Side::Share, "open.txt", "open v2");
    hand_over(&world);
    chmod(&world.cache.join("secret.txt"), 0o000);
    chmod(&world.share.join("locked"), 0o000);
    let run = sync_json(&world, &[]);
    assert_code(&run, 1, "a sync with unreadable items");
    let all = reports(&run);
    // A new file is first read when it is copied (prepare hashes only what it must
    // compare), so the error names the copy.
    assert_error(
        &all,
        "secret.txt",
        "create_copy_on_server",
        "PermissionDenied",
    );
    assert_error(&all, "locked", "prepare", "PermissionDenied");
    assert_ok(&all, "fine.txt");
    assert_ok(&all, "open.txt");
    // An unreadable share folder is not a deleted one: the cache keeps its copy.
    assert_eq!(
        world.read(Side::Cache, "locked/kept.txt").as_deref(),
        Some(&b"kept"[..])
    );
    assert_eq!(
        world.read(Side::Share, "fine.txt").as_deref(),
        Some(&b"fine"[..])
    );
    assert_eq!(
        world.read(Side::Cache, "open.txt").as_deref(),
        Some(&b"open v2"[..])
    );
    chmod(&world.cache.join("secret.txt"), 0o644);
    chmod(&world.share.join("locked"), 0o755);
    world.sync_ok(&[]);
    assert_eq!(
        world.read(Side::Share, "secret.txt").as_deref(),
        Some(&b"secret"[..])
    );
    assert_settled(&world);
    make_writable(dir.path());
}

#[test]
fn permission_denied_on_write_on_either_side_is_an_item_error() {
    let dir = temp_root("offline-fault-write-");
    let world = world_for_permissions(dir.path());
    world.write(Side::Share, "ro_share/old.txt", "old");
    world.write(Side::Share, "ro_cache/old.txt", "old");
    hand_over(&world);
    world.init();
    world.sync_ok(&[]);
    world.write(Side::Cache, "ro_share/new.txt", "from the cache");
    world.write(Side::Share, "ro_cache/new.txt", "from the share");
    world.write(Side::Cache, "elsewhere.txt", "fine");
    hand_over(&world);
    chmod(&world.share.join("ro_share"), 0o555);
    chmod(&world.cache.join("ro_cache"), 0o555);
    let run = sync_json(&world, &[]);
    assert_code(&run, 1, "a sync with read-only folders");
    let all = reports(&run);
    assert_error(
        &all,
        "ro_share/new.txt",
        "create_copy_on_server",
        "PermissionDenied",
    );
    assert_error(
        &all,
        "ro_cache/new.txt",
        "create_copy_on_client",
        "PermissionDenied",
    );
    assert_ok(&all, "elsewhere.txt");
    assert_eq!(
        world.read(Side::Cache, "ro_share/new.txt").as_deref(),
        Some(&b"from the cache"[..])
    );
    assert_eq!(
        world.read(Side::Share, "ro_cache/new.txt").as_deref(),
        Some(&b"from the share"[..])
    );
    assert_no_temp_files(&world);
    chmod(&world.share.join("ro_share"), 0o755);
    chmod(&world.cache.join("ro_cache"), 0o755);
    world.sync_ok(&[]);
    assert_settled(&world);
    make_writable(dir.path());
}

/// A small tmpfs mounted on a folder, unmounted when dropped.
struct SmallDisk {
    at: std::path::PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (e.g. "1m") on `at`; `Err` says why it could not.
    fn mount(at: &Path, size: &str) -> Result<SmallDisk, String> {
        fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(SmallDisk {
            at: at.to_path_buf(),
        })
    }

    fn grow(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.at)
            .status()
            .expect("remount");
        assert!(status.success(), "remount {}", self.at.display());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).status();
    }
}

/// No space left on `full` (the share or the cache): the big file fails with
/// NoSpace naming its operation, the small ones sync, nothing is lost.
fn no_space_on(full: Side) {
    let dir = temp_root("offline-fault-nospace-");
    let root = dir.path().join("w");
    let world = World::new(&root);
    let big = vec![b'x'; 3 * 1024 * 1024];
    let (from, operation) = match full {
        Side::Share => (Side::Cache, "create_copy_on_server"),
        Side::Cache => (Side::Share, "create_copy_on_client"),
    };
    let disk = SmallDisk::mount(world.side(full), "1m");
    let mut env: Vec<(&str, &str)> = Vec::new();
    match &disk {
        Ok(_) => eprintln!("no-space test ({full:?}): a 1 MiB tmpfs"),
        Err(why) => {
            common::skip(&format!(
                "no-space test ({full:?}): cannot mount a tmpfs ({why}); checking with ENOSPC injected at the write of the copy instead"
            ));
            env.push(("OFFLINE_FAIL", "dir.write_file.write:28"));
        }
    }
    world.init();
    // One copy at a time, so the small files are copied after the big one failed and
    // its temp file was removed. With several copies in flight they may be written
    // while the big one fills the disk, and fail too (then the next sync copies them).
    let config = world.run(&["config", "--transfers", "1"], &[]);
    assert_eq!(config.code, Some(0), "config: {}", config.describe());
    world.sync_ok(&[]);
    world.write(from, "big.bin", &big);
    world.write(from, "small1.txt", "one");
    world.write(from, "small2.txt", "two");
    let run = sync_json(&world, &env);
    assert_code(&run, 1, "a sync onto a full disk");
    let all = reports(&run);
    assert_error(&all, "big.bin", operation, "NoSpace");
    if disk.is_ok() {
        assert_ok(&all, "small1.txt");
        assert_ok(&all, "small2.txt");
    }
    assert_eq!(
        world.read(from, "big.bin").as_deref(),
        Some(&big[..]),
        "the source"
    );
    assert_eq!(world.read(full, "big.bin"), None, "no partial copy");
    assert_no_temp_files(&world);
    match &disk {
        Ok(disk) => disk.grow("16m"),
        Err(_) => env.clear(),
    }
    let again = sync_json(&world, &env);
    assert_code(&again, 0, "the sync after space was freed");
    assert_eq!(world.read(full, "big.bin").as_deref(), Some(&big[..]));
    assert_settled(&world);
    drop(world);
    drop(disk);
}

#[test]
fn no_space_left_on_the_share_is_an_item_error() {
    no_space_on(Side::Share);
}

#[test]
fn no_space_left_in_the_cache_is_an_item_error() {
    no_space_on(Side::Cache);
}

#[test]
fn symlink_loops_are_synced_as_links_never_followed() {
    let dir = temp_root("offline-fault-loop-");
    let world = World::new(&dir.path().join("w"));
    world.init();
    world.sync_ok(&[]);
    let link = |target: &str, name: &str| {
        std::os::unix::fs::symlink(target, world.cache.join(name)).expect("symlink")
    };
    world.write(Side::Cache, "d/file.txt", "file");
    link("b", "a");
    link("a", "b");
    link(".", "d/self");
    link("..", "d/up");
    link("loop", "loop");
    let run = sync_json(&world, &[]);
    assert_code(&run, 0, "a sync with symlink loops");
    let share = tree(&world.share);
    for (name, target) in [
        ("a", "b"),
        ("b", "a"),
        ("d/self", "."),
        ("d/up", ".."),
        ("loop", "loop"),
    ] {
        assert_eq!(
            share.get(Path::new(name)),
            Some(&Node::Symlink {
                target: target.as_bytes().to_vec()
            }),
            "{name}"
        );
    }
    assert_settled(&world);
}

#[test]
fn names_and_paths_too_long_are_item_errors() {
    let dir = temp_root("offline-fault-long-");
    let world = World::new(&dir.path().join("w"));
    // A 250-byte name: fine on both sides, but its keep-all conflict name is not.
    let long = format!("{}.txt", "n".repeat(246));
    world.write(Side::Share, &long, "base");
    world.init();
    world.sync_ok(&[]);
    world.write(Side::Cache, &long, "cache version");
    world.write(Side::Share, &long, "share version");
    world.write(Side::Cache, "other.txt", "other");
    // A path longer than PATH_MAX (4096 bytes) in the cache, made one folder at a
    // time (no single call may name it whole).
    let part = "p".repeat(200);
    let script = format!(
        "cd '{}' && for i in $(seq 1 22); do mkdir {part} && cd {part}; done && echo deep > deep.txt",
        world.cache.display()
    );
    // bash falls back to a relative chdir where the whole path is too long.
    let made = Command::new("bash")
        .args(["-c", &script])
        .status()
        .expect("bash");
    assert!(made.success(), "make the deep tree");
    let run = world.run(&["sync", "--json", "--policy", "keep-all"], &[]);
    assert_code(&run, 1, "a sync with a path too long");
    let all = reports(&run);
    // The long name's conflict copy gets a name short enough for the file system.
    assert_ok(&all, &long);
    let kept: Vec<String> = fs::read_dir(&world.share)
        .expect("list the share")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("(conflict "))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].len() <= 255, "{kept:?}");
    assert_eq!(
        world.read(Side::Share, &kept[0]).as_deref(),
        Some(&b"cache version"[..])
    );
    assert_eq!(
        world.read(Side::Share, &long).as_deref(),
        Some(&b"share version"[..])
    );
    assert_ok(&all, "other.txt");
    assert_eq!(
        world.read(Side::Share, "other.txt").as_deref(),
        Some(&b"other"[..])
    );
    let too_deep: Vec<&Value> = all
        .values()
        .filter(|v| v["result"] == "error" && v["error"]["kind"] == "NameNotAllowed")
        .filter(|v| v["operation"] == "prepare")
        .filter(|v| v["path"].as_str().is_some_and(|p| p.len() > 4000))
        .collect();
    assert_eq!(
        too_deep.len(),
        1,
        "the too-long path must be one item error naming prepare: {all:#?}"
    );
    let deep_file = Command::new("bash")
        .args([
            "-c",
            &format!(
                "cd '{}' && for i in $(seq 1 22); do cd {part}; done && cat deep.txt",
                world.cache.display()
            ),
        ])
        .output()
        .expect("bash");
    assert_eq!(
        deep_file.stdout, b"deep\n",
        "the deep file is still in the cache"
    );
    assert_no_temp_files(&world);
}

// ---- the state database -------------------------------------------------------

fn synced_world(dir: &Path) -> World {
    let world = World::new(&dir.join("w"));
    world.write(Side::Share, "same.txt", "same");
    world.write(Side::Share, "differs.txt", "base");
    world.init();
    world.sync_ok(&[]);
    world
}

#[test]
fn a_damaged_or_missing_state_database_exits_2_naming_repair() {
    let dir = temp_root("offline-fault-db-");
    let world = synced_world(dir.path());
    let db = world.meta_dir().join("state.db");
    for (what, damage) in [("damaged", true), ("missing", false)] {
        for ext in ["", "-wal", "-shm"] {
            let _ = fs::remove_file(format!("{}{ext}", db.display()));
        }
        if damage {
            fs::write(&db, b"this is not a database, it was overwritten").expect("damage");
        }
        for args in [&["status"][..], &["sync"][..], &["ls"][..]] {
            let run = world.run(args, &[]);
            assert_code(&run, 2, &format!("{args:?} with a {what} database"));
            assert!(
                run.stderr.contains("offline repair"),
                "{what}: the message must name `offline repair`: {}",
                run.describe()
            );
            assert!(!run.stderr.contains("panicked"), "{}", run.describe());
        }
        let repaired = world.run(&["repair"], &[]);
        assert_code(&repaired, 0, &format!("repair of a {what} database"));
        let kept: Vec<_> = fs::read_dir(world.meta_dir())
            .expect("list .offline")
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("state.db.damaged-")
            })
            .collect();
        if damage {
            assert!(!kept.is_empty(), "the damaged file must be kept");
        }
        assert_settled(&world);
    }
}

#[test]
fn repair_compares_without_a_base_and_never_overwrites() {
    let dir = temp_root("offline-fault-repair-");
    let world = synced_world(dir.path());
    world.write(Side::Cache, "differs.txt", "cache version");
    world.write(Side::Share, "differs.txt", "share version");
    world.write(Side::Cache, "only_cache.txt", "c");
    world.write(Side::Share, "only_share.txt", "s");
    world.remove(Side::Cache, "same.txt");
    world.write(Side::Cache, "same.txt", "same");
    fs::write(world.meta_dir().join("state.db"), b"garbage").expect("damage");
    let run = world.run(&["repair", "--json"], &[]);
    assert_code(&run, 1, "repair with a differing item");
    let all = reports(&run);
    assert_eq!(
        report(&all, "differs.txt")["result"],
        "conflict",
        "{all:#?}"
    );
    assert_ok(&all, "only_cache.txt");
    assert_ok(&all, "only_share.txt");
    assert_eq!(
        world.read(Side::Cache, "differs.txt").as_deref(),
        Some(&b"cache version"[..])
    );
    assert_eq!(
        world.read(Side::Share, "differs.txt").as_deref(),
        Some(&b"share version"[..])
    );
    assert_eq!(
        world.read(Side::Share, "only_cache.txt").as_deref(),
        Some(&b"c"[..])
    );
    assert_eq!(
        world.read(Side::Cache, "only_share.txt").as_deref(),
        Some(&b"s"[..])
    );
    let conflicts = world.run(&["conflicts", "--json"], &[]);
    assert_code(&conflicts, 0, "conflicts");
    assert!(
        conflicts.stdout.contains("differs.txt"),
        "{}",
        conflicts.describe()
    );
    // Only the conflict is left to do; settling it finishes the repair.
    let planned = world.planned("log");
    assert_eq!(planned.len(), 1, "{planned:?}");
    let resolved = world.run(&["resolve", "differs.txt", "--keep", "all"], &[]);
    assert_code(&resolved, 0, "resolve");
    assert_settled(&world);
}

#[test]
fn repair_finds_the_share_without_the_database_or_is_told_it() {
    let dir = temp_root("offline-fault-repair-share-");
    let world = synced_world(dir.path());
    assert_eq!(
        fs::read_to_string(world.meta_dir().join("share")).expect(".offline/share"),
        format!("{}\n", world.share.canonicalize().expect("share").display())
    );
    fs::remove_file(world.meta_dir().join("share")).expect("remove .offline/share");
    fs::write(world.meta_dir().join("state.db"), b"garbage").expect("damage");
    let lost = world.run(&["repair"], &[]);
    assert_code(&lost, 2, "repair that cannot tell where the share is");
    assert!(lost.stderr.contains("--share"), "{}", lost.describe());
    let share = world.share.display().to_string();
    let run = world.run(&["repair", "--share", &share], &[]);
    assert_code(&run, 0, "repair with --share");
    assert!(world.meta_dir().join("share").is_file(), "written again");
    // A sound database is left alone.
    let sound = world.run(&["repair"], &[]);
    assert_code(&sound, 0, "repair of a sound database");
    assert!(
        sound.stderr.contains("nothing to repair"),
        "{}",
        sound.describe()
    );
    assert_settled(&world);
}
