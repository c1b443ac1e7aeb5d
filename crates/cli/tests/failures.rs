//! End-to-end: what goes wrong. Items that fail one by one (each error names its
//! operation, the rest syncs, exit 1), wrong arguments (exit 2), an unreachable share
//! (exit 3, nothing changed), the mass-delete guard, and a corrupt state database.
//!
//! These tests run as root, which `chmod 000` does not stop. Writes are refused with
//! `chattr +i` (immutable folders) instead, and a folder is made unreadable by
//! nesting it deeper than PATH_MAX, which stops root too. When not root, `chmod 555`
//! is used for the immutable folders.

mod common;

use common::{
    assert_code, run_offline, stderr, tree, Fixture, Side, EXIT_INCOMPLETE, EXIT_OK,
    EXIT_UNREACHABLE, EXIT_USAGE,
};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Folders nobody (root included) can create or remove entries in, until dropped.
struct Locked {
    dirs: Vec<PathBuf>,
    root: bool,
}

impl Locked {
    fn new(probe_dir: &Path) -> Locked {
        let probe = probe_dir.join("uid-probe");
        fs::write(&probe, "").expect("probe");
        let root = fs::metadata(&probe).expect("probe").uid() == 0;
        fs::remove_file(&probe).expect("probe");
        Locked {
            dirs: Vec::new(),
            root,
        }
    }

    fn lock(&mut self, dir: &Path) {
        if self.root {
            let status = Command::new("chattr")
                .arg("+i")
                .arg(dir)
                .status()
                .expect("run chattr (e2fsprogs) to make a folder immutable for root");
            assert!(
                status.success(),
                "chattr +i {} failed: running as root, this test needs a file system \
                 with the immutable flag (ext4, xfs, btrfs, tmpfs >= 6.0) and \
                 CAP_LINUX_IMMUTABLE",
                dir.display()
            );
        } else {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).expect("chmod");
        }
        self.dirs.push(dir.to_path_buf());
        // The lock must really refuse writes, or the test proves nothing.
        assert!(
            fs::write(dir.join("probe-write"), "x").is_err(),
            "{} is still writable",
            dir.display()
        );
    }

    fn unlock_all(&mut self) {
        for dir in self.dirs.drain(..) {
            if self.root {
                let _ = Command::new("chattr").arg("-i").arg(&dir).status();
            } else {
                let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o755));
            }
        }
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        self.unlock_all();
    }
}

fn assert_item_error(run: &common::JsonRun, path: &str, operation: &str) {
    let item = run.item(path);
    assert_eq!(item["result"], "error", "{path} fails: {item}");
    assert_eq!(item["operation"], operation, "{path}: {item}");
    assert_eq!(
        item["error"]["operation"], operation,
        "the error of {path} names its operation: {item}"
    );
    assert!(item["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

#[test]
fn items_that_cannot_be_written_fail_one_by_one_and_everything_else_syncs() {
    let fx = Fixture::synced_with(&[
        ("locked/file.txt", "v1"),
        ("locked/gone.txt", "to delete"),
        ("ro_dir/existing.txt", "e"),
        ("fine.txt", "f1"),
    ]);
    let mut locked = Locked::new(&fx.share);
    // Share side: the folder refuses new entries, replacements and removals.
    fx.write(Side::Cache, "locked/file.txt", "v2 from the cache");
    fx.write(
        Side::Cache,
        "locked/new.txt",
        "cannot be created on the share",
    );
    // Cache side: a folder that refuses what the share sends.
    fx.write(
        Side::Share,
        "ro_dir/in.txt",
        "cannot be created in the cache",
    );
    // And changes that must still go through.
    fx.write(Side::Cache, "fine.txt", "f2");
    fx.write(Side::Cache, "new_ok.txt", "ok");
    fx.write(Side::Share, "from_share.txt", "ok too");
    // Neither files, folders nor links: a FIFO and a socket on each side.
    for (side, suffix) in [(Side::Cache, "c"), (Side::Share, "s")] {
        let fifo = fx.path(side, format!("pipe_{suffix}"));
        let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success());
        std::os::unix::net::UnixListener::bind(fx.path(side, format!("sock_{suffix}")))
            .expect("socket");
    }
    // Removed last: a file created after it could get its inode number and be taken
    // for it renamed (inode reuse), which is not what this test is about.
    fx.remove(Side::Cache, "locked/gone.txt");
    locked.lock(&fx.path(Side::Share, "locked"));
    locked.lock(&fx.path(Side::Cache, "ro_dir"));

    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_INCOMPLETE);
    assert_item_error(&run, "locked/file.txt", "sync_to_server");
    assert_item_error(&run, "locked/new.txt", "create_copy_on_server");
    assert_item_error(&run, "locked/gone.txt", "delete_server_copy");
    assert_item_error(&run, "ro_dir/in.txt", "create_copy_on_client");
    assert_eq!(run.summary["summary"]["errors"], 4, "{}", run.summary);
    run.assert_ok("fine.txt", "sync_to_server");
    run.assert_ok("new_ok.txt", "create_copy_on_server");
    run.assert_ok("from_share.txt", "create_copy_on_client");
    assert_eq!(fx.read_str(Side::Share, "fine.txt"), "f2");
    assert_eq!(fx.read_str(Side::Share, "new_ok.txt"), "ok");
    assert_eq!(fx.read_str(Side::Cache, "from_share.txt"), "ok too");
    // The failed items are untouched, and no temp file was left behind.
    assert_eq!(fx.read_str(Side::Share, "locked/file.txt"), "v1");
    assert!(!fx.exists(Side::Share, "locked/new.txt"));
    assert_eq!(fx.read_str(Side::Share, "locked/gone.txt"), "to delete");
    assert!(!fx.exists(Side::Cache, "ro_dir/in.txt"));
    for side in [Side::Cache, Side::Share] {
        let temps: Vec<_> = tree(fx.root(side))
            .into_keys()
            .filter(|k| k.contains(".offline-tmp-"))
            .collect();
        assert!(temps.is_empty(), "temp files left on {side:?}: {temps:?}");
    }
    // The FIFOs and sockets were neither opened (no hang) nor copied, stayed what
    // they are, and were reported.
    for (side, mine, theirs) in [(Side::Cache, "c", "s"), (Side::Share, "s", "c")] {
        let t = tree(fx.root(side));
        for name in [format!("pipe_{mine}"), format!("sock_{mine}")] {
            assert!(
                matches!(t.get(&name), Some(common::Node::Other { .. })),
                "{name} on {side:?}: {:?}",
                t.get(&name)
            );
            assert!(run.for_path(&name).is_empty() || run.item(&name)["result"] != "ok");
            assert!(
                run.stderr.contains(&name),
                "{name} is reported: {}",
                run.stderr
            );
        }
        for name in [format!("pipe_{theirs}"), format!("sock_{theirs}")] {
            assert!(!fx.exists(side, &name), "{name} was copied to {side:?}");
        }
    }

    // Once the folders accept writes again, the next sync finishes the job.
    locked.unlock_all();
    for (side, suffix) in [(Side::Cache, "c"), (Side::Share, "s")] {
        fx.remove(side, format!("pipe_{suffix}"));
        fx.remove(side, format!("sock_{suffix}"));
    }
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("locked/file.txt", "sync_to_server");
    run.assert_ok("locked/new.txt", "create_copy_on_server");
    run.assert_ok("locked/gone.txt", "delete_server_copy");
    run.assert_ok("ro_dir/in.txt", "create_copy_on_client");
    fx.assert_same_trees();
    fx.assert_settled();
}

/// Creates `base/deep/L0/L1/...` with long names, so that the deepest folders lie
/// further than PATH_MAX (4096 bytes) below `base`, and a file at the bottom. Built
/// with short names first, then renamed from the bottom up, so that no call ever
/// needs a path longer than PATH_MAX.
fn make_too_deep(base: &Path) -> Vec<String> {
    const LEVELS: usize = 24;
    let mut short = base.join("deep");
    for i in 0..LEVELS {
        short.push(i.to_string());
    }
    fs::create_dir_all(&short).expect("short chain");
    fs::write(short.join("bottom.txt"), "unreachable").expect("bottom file");
    let long_name = |i: usize| format!("{i:02}{}", "n".repeat(200));
    for level in (0..LEVELS).rev() {
        let mut parent = base.join("deep");
        for i in 0..level {
            parent.push(i.to_string());
        }
        fs::rename(
            parent.join(level.to_string()),
            parent.join(long_name(level)),
        )
        .expect("rename to a long name");
    }
    (0..LEVELS).map(long_name).collect()
}

#[test]
fn a_cache_folder_too_deep_to_open_is_a_prepare_error_never_a_deletion() {
    let fx = Fixture::synced_with(&[("a.txt", "a")]);
    let names = make_too_deep(&fx.cache);
    fx.write(Side::Cache, "b.txt", "b still syncs");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_INCOMPLETE);
    let errors: Vec<_> = run
        .items
        .iter()
        .filter(|i| i["result"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{:#?}", run.items);
    let item = errors[0];
    assert_eq!(item["operation"], "prepare", "{item}");
    assert_eq!(item["error"]["operation"], "prepare", "{item}");
    let failed = item["path"].as_str().expect("path");
    assert!(
        failed.starts_with("deep/") && failed.len() + fx.cache.as_os_str().len() > 4000,
        "the error names the folder that could not be opened: {failed}"
    );
    run.assert_ok("b.txt", "create_copy_on_server");
    run.assert_ok("deep", "create_copy_on_server");
    // Only what lies above the unreadable folder went to the share.
    let mut shallow = PathBuf::from("deep");
    shallow.push(&names[0]);
    assert!(fx
        .path(Side::Share, shallow.as_os_str().as_encoded_bytes())
        .is_dir());
    assert_eq!(fx.read_str(Side::Share, "b.txt"), "b still syncs");

    // Next time: the same error, nothing deleted on either side, and still exit 1.
    let again = fx.sync_json_run(&[]);
    again.assert_code(EXIT_INCOMPLETE);
    assert!(again
        .items
        .iter()
        .all(|i| i["result"] != "ok" || i["operation"].is_null()));
    assert!(again
        .items
        .iter()
        .all(|i| !i["operation"].as_str().unwrap_or("").starts_with("delete")));
    assert_eq!(fx.read_str(Side::Cache, "a.txt"), "a");
    assert_eq!(fx.read_str(Side::Share, "a.txt"), "a");
}

#[test]
fn an_unknown_policy_is_bad_usage() {
    let fx = Fixture::synced_with(&[("a.txt", "a")]);
    let out = fx.sync(&["--policy", "nonsense"]);
    assert_code(&out, EXIT_USAGE, "--policy nonsense");
    assert!(stderr(&out).contains("nonsense"), "{}", stderr(&out));
    let out = fx.sync(&["--direction", "sideways"]);
    assert_code(&out, EXIT_USAGE, "--direction sideways");
    let out = fx.run(&["resolve", "a.txt", "--keep", "everything"]);
    assert_code(&out, EXIT_USAGE, "--keep everything");
    let out = fx.run(&["no-such-command"]);
    assert_code(&out, EXIT_USAGE, "unknown command");
}

#[test]
fn sync_outside_a_cache_is_bad_usage_and_says_to_run_init() {
    let fx = Fixture::new();
    let elsewhere = fx.dir.path().join("not-a-cache");
    fs::create_dir(&elsewhere).expect("mkdir");
    // With -C, and from the working folder.
    let out = run_offline(
        None,
        &[OsStr::new("-C"), elsewhere.as_os_str(), OsStr::new("sync")],
    );
    assert_code(&out, EXIT_USAGE, "sync outside a cache (-C)");
    assert!(stderr(&out).contains("offline init"), "{}", stderr(&out));
    let out = run_offline(Some(&elsewhere), &[OsStr::new("sync")]);
    assert_code(&out, EXIT_USAGE, "sync outside a cache (cwd)");
    assert!(stderr(&out).contains("offline init"), "{}", stderr(&out));
    for args in [&["status"][..], &["conflicts"], &["ls"]] {
        let mut all = vec![OsStr::new("-C"), elsewhere.as_os_str()];
        all.extend(args.iter().map(OsStr::new));
        let out = run_offline(None, &all);
        assert_code(&out, EXIT_USAGE, &format!("{args:?} outside a cache"));
    }
    let missing = fx.dir.path().join("missing");
    let out = run_offline(
        None,
        &[OsStr::new("-C"), missing.as_os_str(), OsStr::new("sync")],
    );
    assert_code(&out, EXIT_USAGE, "-C a missing folder");
    assert!(!missing.exists());
}

#[test]
fn resolving_a_path_not_in_conflict_is_bad_usage() {
    let fx = Fixture::synced_with(&[("a.txt", "a")]);
    fx.write(Side::Cache, "a.txt", "changed, but no conflict");
    let out = fx.run(&["resolve", "a.txt", "--keep", "remote"]);
    assert_code(&out, EXIT_USAGE, "resolve of a path not in conflict");
    assert!(stderr(&out).contains("not in conflict"), "{}", stderr(&out));
    let out = fx.run(&["resolve", "no-such-file", "--keep", "local"]);
    assert_code(&out, EXIT_USAGE, "resolve of a missing path");
    let outside = fx.dir.path().join("outside.txt");
    let out = fx.run(&[
        "resolve",
        outside.to_str().expect("utf-8"),
        "--keep",
        "local",
    ]);
    assert_code(&out, EXIT_USAGE, "resolve of a path outside the cache");
    // Nothing was synced by the refused resolve.
    assert_eq!(fx.read_str(Side::Share, "a.txt"), "a");
    assert_eq!(
        fx.read_str(Side::Cache, "a.txt"),
        "changed, but no conflict"
    );
}

#[test]
fn share_unreachable_changes_nothing_and_changes_wait_for_its_return() {
    let fx = Fixture::synced_with(&[("a.txt", "a1"), ("b.txt", "b1"), ("d/c.txt", "c1")]);
    fx.write(Side::Cache, "a.txt", "a2 written offline");
    fx.write(Side::Cache, "offline_new.txt", "created offline");
    fx.remove(Side::Cache, "b.txt");
    let cache_before = tree(&fx.cache);
    let share_before = tree(&fx.share);

    // 1. The share folder is gone (unmounted, moved away).
    let away = fx.dir.path().join("share-away");
    fs::rename(&fx.share, &away).expect("move the share away");
    for args in [&[][..], &["--json"], &["--dry-run"], &["--force"]] {
        let out = fx.sync(args);
        assert_code(
            &out,
            EXIT_UNREACHABLE,
            &format!("sync {args:?} without a share"),
        );
        assert!(stderr(&out).contains("unreachable"), "{}", stderr(&out));
        assert_eq!(tree(&fx.cache), cache_before, "the cache is untouched");
    }
    assert!(
        !fx.share.exists(),
        "nothing was created where the share was"
    );
    let status = fx.status();
    assert_eq!(status["connect_state"], "offline", "{status}");
    assert_eq!(status["offline_reason"], "connection_error", "{status}");
    assert!(status["dirty_items"].as_u64().unwrap_or(0) >= 3, "{status}");

    // 2. Back, but without its marker (an empty mount point looks like this).
    fs::rename(&away, &fx.share).expect("move the share back");
    let marker = fx.share.join(".offline-share");
    let marker_bytes = fs::read(&marker).expect("marker");
    fs::remove_file(&marker).expect("remove marker");
    let out = fx.sync(&[]);
    assert_code(&out, EXIT_UNREACHABLE, "sync without the marker");
    assert!(stderr(&out).contains(".offline-share"), "{}", stderr(&out));
    assert_eq!(tree(&fx.cache), cache_before);
    assert_eq!(tree(&fx.share), share_before);
    assert_eq!(fx.status()["connect_state"], "offline");

    // 3. Really back: what waited goes out.
    fs::write(&marker, marker_bytes).expect("restore marker");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("a.txt", "sync_to_server");
    run.assert_ok("offline_new.txt", "create_copy_on_server");
    run.assert_ok("b.txt", "delete_server_copy");
    assert_eq!(fx.read_str(Side::Share, "a.txt"), "a2 written offline");
    assert_eq!(
        fx.read_str(Side::Share, "offline_new.txt"),
        "created offline"
    );
    assert!(!fx.exists(Side::Share, "b.txt"));
    let status = fx.status();
    assert_eq!(status["connect_state"], "online", "{status}");
    assert_eq!(status["dirty_items"], 0, "{status}");
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn a_share_that_lists_empty_is_unreachable_not_everything_deleted() {
    let fx = Fixture::synced_with(&[("a.txt", "a"), ("b.txt", "b"), ("d/c.txt", "c")]);
    let cache_before = tree(&fx.cache);
    for name in ["a.txt", "b.txt"] {
        fx.remove(Side::Share, name);
    }
    fs::remove_dir_all(fx.path(Side::Share, "d")).expect("rm");
    let out = fx.sync(&[]);
    assert_code(&out, EXIT_UNREACHABLE, "sync against an empty share");
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(
        tree(&fx.cache),
        cache_before,
        "nothing deleted in the cache"
    );
    // Told so, the deletions are carried out.
    let run = fx.sync_json_run(&["--force"]);
    run.assert_code(EXIT_OK);
    run.assert_ok("a.txt", "delete_client_copy");
    assert!(tree(&fx.cache).is_empty());
    fx.assert_settled();
}

fn eight_files() -> Vec<(String, String)> {
    (0..8)
        .map(|i| (format!("f{i}.txt"), format!("content {i}")))
        .collect()
}

fn synced_eight() -> Fixture {
    let files = eight_files();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    Fixture::synced_with(&refs)
}

#[test]
fn deleting_most_cache_files_stops_unless_forced() {
    let fx = synced_eight();
    for i in 0..6 {
        fx.remove(Side::Cache, format!("f{i}.txt"));
    }
    let share_before = tree(&fx.share);
    let cache_before = tree(&fx.cache);
    for args in [&[][..], &["--dry-run"], &["--json"]] {
        let out = fx.sync(args);
        assert_code(
            &out,
            EXIT_INCOMPLETE,
            &format!("mass delete, sync {args:?}"),
        );
        assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
        assert_eq!(
            tree(&fx.share),
            share_before,
            "nothing deleted on the share"
        );
        assert_eq!(
            tree(&fx.cache),
            cache_before,
            "nothing restored in the cache"
        );
    }
    let run = fx.sync_json_run(&["--force"]);
    run.assert_code(EXIT_OK);
    for i in 0..6 {
        run.assert_ok(&format!("f{i}.txt"), "delete_server_copy");
        assert!(!fx.exists(Side::Share, format!("f{i}.txt")));
    }
    assert_eq!(tree(&fx.share).len(), 2);
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn deleting_most_share_files_stops_unless_forced() {
    let fx = synced_eight();
    for i in 0..7 {
        fx.remove(Side::Share, format!("f{i}.txt"));
    }
    let cache_before = tree(&fx.cache);
    let out = fx.sync(&[]);
    assert_code(&out, EXIT_INCOMPLETE, "mass delete from the share");
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(
        tree(&fx.cache),
        cache_before,
        "nothing deleted in the cache"
    );
    let run = fx.sync_json_run(&["--force"]);
    run.assert_code(EXIT_OK);
    run.assert_ok("f0.txt", "delete_client_copy");
    assert_eq!(tree(&fx.cache).len(), 1);
    fx.assert_same_trees();
}

#[test]
fn deleting_a_few_files_needs_no_force() {
    let fx = synced_eight();
    fx.remove(Side::Cache, "f0.txt");
    fx.remove(Side::Cache, "f1.txt");
    fx.remove(Side::Share, "f2.txt");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("f0.txt", "delete_server_copy");
    run.assert_ok("f2.txt", "delete_client_copy");
    assert_eq!(tree(&fx.share).len(), 5);
    fx.assert_same_trees();
}

/// README: a sync stops when it would delete more than half of a side's items and
/// more than 5 of them. At the edges: 5 of 6 (more than half, not more than 5) and
/// 6 of 12 (not more than half) go through; 6 of 10 and 7 of 12 stop.
#[test]
fn the_mass_delete_rule_is_more_than_half_and_more_than_five() {
    for (files, deleted, stops) in [(6, 5, false), (12, 6, false), (10, 6, true), (12, 7, true)] {
        for side in [Side::Cache, Side::Share] {
            let what = format!("{deleted} of {files} deleted in the {side:?}");
            let names: Vec<String> = (0..files).map(|i| format!("f{i:02}.txt")).collect();
            let list: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "x")).collect();
            let fx = Fixture::synced_with(&list);
            for name in names.iter().take(deleted) {
                fx.remove(side, name);
            }
            let out = fx.sync(&[]);
            if stops {
                assert_code(&out, EXIT_INCOMPLETE, &what);
                assert!(stderr(&out).contains("--force"), "{what}: {}", stderr(&out));
                let other = match side {
                    Side::Cache => Side::Share,
                    Side::Share => Side::Cache,
                };
                assert_eq!(tree(fx.root(other)).len(), files, "{what}: nothing deleted");
            } else {
                assert_code(&out, EXIT_OK, &what);
                fx.assert_same_trees();
                assert_eq!(tree(&fx.cache).len(), files - deleted, "{what}");
            }
        }
    }
}

#[test]
fn a_corrupt_state_database_is_reported_with_repair_for_every_command() {
    // (Also a database without its share setting: see the repair crash test.)
    let fx = Fixture::synced_with(&[("a.txt", "a"), ("b.txt", "b")]);
    fx.write(Side::Cache, "a.txt", "edited");
    let db = fx.meta_dir().join("state.db");
    assert!(db.is_file());
    for suffix in ["-wal", "-shm", "-journal"] {
        let _ = fs::remove_file(fx.meta_dir().join(format!("state.db{suffix}")));
    }
    let garbage: Vec<u8> = (0..16384u32).map(|i| (i * 7 + 13) as u8).collect();
    fs::write(&db, &garbage).expect("overwrite the database");
    let cache_before = tree(&fx.cache);
    let share_before = tree(&fx.share);
    let cache = fx.cache.to_str().expect("a UTF-8 temp path").to_string();
    let mountpoint = fx.dir.path().join("mnt");
    fs::create_dir(&mountpoint).expect("mountpoint");
    let mountpoint = mountpoint.to_str().expect("a UTF-8 temp path").to_string();
    // Every command that opens the cache (init makes one, repair rebuilds it, events
    // only reads the socket).
    let commands: Vec<Vec<&str>> = vec![
        vec!["sync"],
        vec!["sync", "--json"],
        vec!["sync", "--dry-run"],
        vec!["status"],
        vec!["status", "--json"],
        vec!["ls"],
        vec!["ls", "--json"],
        vec!["conflicts"],
        vec!["conflicts", "--json"],
        vec!["resolve", "a.txt", "--keep", "local"],
        vec!["pin", "b.txt"],
        vec!["unpin", "b.txt"],
        vec!["fetch", "b.txt"],
        vec!["evict", "b.txt"],
        vec!["disconnect"],
        vec!["reconnect"],
        vec!["config"],
        vec!["config", "--transfers", "2"],
        vec!["daemon", &cache],
        vec!["mount", &cache, &mountpoint],
    ];
    for args in commands {
        let out = fx.run(&args);
        assert_code(
            &out,
            EXIT_USAGE,
            &format!("{args:?} with a corrupt database"),
        );
        assert!(
            stderr(&out).contains("offline repair"),
            "{args:?} points to `offline repair`: {}",
            stderr(&out)
        );
    }
    assert_eq!(tree(&fx.cache), cache_before);
    assert_eq!(tree(&fx.share), share_before);
    assert_eq!(
        fs::read(&db).expect("db"),
        garbage,
        "the damaged file is left for repair"
    );
}

#[test]
fn keep_all_on_a_name_too_long_for_a_conflict_name_loses_nothing() {
    // 254 bytes: fine on both sides, but `NAME (conflict HOST 1).txt` exceeds
    // NAME_MAX (255), so the cache's copy cannot be renamed to keep both.
    let long = format!("{}.txt", "x".repeat(250));
    let fx = Fixture::synced_with(&[(long.as_str(), "base"), ("calm.txt", "calm")]);
    fx.write(Side::Cache, &long, "local version");
    fx.write(Side::Share, &long, "remote version!");
    fx.write(Side::Cache, "new.txt", "still syncs");
    let run = fx.sync_json_run(&["--policy", "keep-all"]);
    run.assert_ok("new.txt", "create_copy_on_server");
    // Settled under a shortened conflict name (255 bytes, NAME_MAX): both versions
    // on both sides.
    run.assert_code(EXIT_OK);
    let item = run.item(&long);
    assert_eq!(item["result"], "ok", "{item}");
    assert_eq!(item["action"], "conflict_keep_all", "{item}");
    let copy = format!(" (conflict {} 1).txt", common::host_name());
    for side in [Side::Cache, Side::Share] {
        let files = tree(fx.root(side));
        let renamed: Vec<&String> = files.keys().filter(|p| p.ends_with(&copy)).collect();
        assert_eq!(
            renamed.len(),
            1,
            "{side:?}: one conflict copy: {:?}",
            files.keys()
        );
        assert_eq!(renamed[0].len(), 255, "{side:?}: shortened to NAME_MAX");
        assert_eq!(fx.read_str(side, renamed[0]), "local version", "{side:?}");
        assert_eq!(fx.read_str(side, &long), "remote version!", "{side:?}");
        assert_eq!(
            files.len(),
            4,
            "{side:?}: calm, new, long and its copy: {:?}",
            files.keys()
        );
    }
    fx.assert_same_trees();
}
