//! Crash injection for a folder renamed on S3 (issue 13) through the real binary,
//! against SeaweedFS on loopback: S3 has no rename, so a folder renamed in the cache
//! is renamed on the share as one server-side copy per key, then the deletions. The
//! sync is killed (SIGKILL) between two copies, leaving the files under both names
//! on the share, part of them under the new one; the next `offline sync` must finish
//! the work: every file once under the new name with its content, nothing under the
//! old one, the cache as it was (its pin following the folder), and another cache
//! syncing from the share renames its copy to the same. A copy someone else replaced
//! in the meantime is never overwritten by that recovery.

mod servers;

use servers::{output_within, sync_expect, text, Backend, Server, RUN_LIMIT};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output};
use tempfile::TempDir;

/// Files in the renamed folder (one in a subfolder).
const FILES: usize = 5;
/// The crash point of each key copied by an S3 folder rename.
const COPY_POINT: &str = "s3.rename_folder.copy";
/// The crash point of each old key deleted after the copies (the files first).
const DELETE_POINT: &str = "s3.rename_folder.delete";

fn content(i: usize) -> String {
    format!("file {i} of the folder\n").repeat(10 + i)
}

/// Path inside the folder of file `i`.
fn name(i: usize) -> String {
    if i == 0 {
        "sub/f0.txt".to_string()
    } else {
        format!("f{i}.txt")
    }
}

/// Every file of a cache (its own `.offline` left out): content and inode, by path.
fn files(root: &Path) -> BTreeMap<String, (Vec<u8>, u64)> {
    let mut out = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".offline") {
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                pending.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy();
                out.insert(rel.to_string(), (fs::read(&path).unwrap(), meta.ino()));
            }
        }
    }
    out
}

/// Content by path, inodes left out.
fn contents(root: &Path) -> BTreeMap<String, Vec<u8>> {
    files(root).into_iter().map(|(p, (c, _))| (p, c)).collect()
}

/// `offline ARGS` with the server's credentials (no `-C`).
fn offline(server: &Server, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_offline"));
    cmd.env_remove("OFFLINE_LOG")
        .envs(server.env.iter().map(|(k, v)| (k, v)))
        .envs(env.iter().copied())
        .args(args);
    output_within(&mut cmd, RUN_LIMIT)
}

/// The files the share holds, as a `--no-pin` cache lists them after a sync (its
/// ghosts: the share's listing, nothing downloaded).
fn share_files(server: &Server, lister: &Path) -> Vec<String> {
    let cache = lister.to_str().unwrap();
    let out = offline(server, &["-C", cache, "sync"], &[]);
    assert_eq!(out.status.code(), Some(0), "lister sync: {}", text(&out));
    let out = offline(server, &["-C", cache, "ls", "--flat", "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "ls: {}", text(&out));
    let mut listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == "file")
        .filter_map(|v| v["path"].as_str().map(str::to_string))
        .collect();
    listed.sort();
    listed
}

/// `offline init --no-pin URL CACHE`.
fn init_no_pin(server: &Server, cache: &Path) {
    let cache = cache.to_str().unwrap();
    let out = offline(server, &["init", "--no-pin", &server.url, cache], &[]);
    assert_eq!(out.status.code(), Some(0), "init: {}", text(&out));
}

/// The items a pin of the user's covers, as `offline ls` lists them.
fn pinned(server: &Server, cache: &Path) -> Vec<String> {
    let cache = cache.to_str().unwrap();
    let out = offline(server, &["-C", cache, "ls", "--flat", "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "ls: {}", text(&out));
    let mut pins: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| {
            v["pinned_by"]
                .as_array()
                .is_some_and(|by| by.iter().any(|b| b == "user"))
        })
        .filter_map(|v| v["path"].as_str().map(str::to_string))
        .collect();
    pins.sort();
    pins
}

/// The folder, its subfolder and its files.
fn folder_items(folder: &str) -> Vec<String> {
    let mut want: Vec<String> = (0..FILES)
        .map(|i| format!("{folder}/{}", name(i)))
        .chain([folder.to_string(), format!("{folder}/sub")])
        .collect();
    want.sort();
    want
}

fn expected_share(folder: &str) -> Vec<String> {
    let mut want: Vec<String> = (0..FILES)
        .map(|i| format!("{folder}/{}", name(i)))
        .chain(["keep.txt".to_string()])
        .collect();
    want.sort();
    want
}

/// An S3 share with `big/` (pinned in cache `a`) and `keep.txt`, a second full
/// cache `b` and a `--no-pin` cache `lister` that shows what the share holds.
struct World {
    server: Server,
    a: TempDir,
    b: TempDir,
    lister: TempDir,
}

impl World {
    fn new() -> World {
        let server = Server::start(Backend::S3);
        let (a, b, lister) = (
            TempDir::new().unwrap(),
            TempDir::new().unwrap(),
            TempDir::new().unwrap(),
        );
        init_no_pin(&server, a.path());
        for i in 0..FILES {
            let path = a.path().join("big").join(name(i));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content(i)).unwrap();
        }
        fs::write(a.path().join("keep.txt"), "kept\n").unwrap();
        sync_expect(&server, a.path(), &[], 0);
        // The folder is pinned (the rest is not): the pin must follow the rename.
        let out = offline(
            &server,
            &["-C", a.path().to_str().unwrap(), "pin", "big"],
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "pin: {}", text(&out));
        assert_eq!(pinned(&server, a.path()), folder_items("big"));
        server.init(b.path());
        sync_expect(&server, b.path(), &[], 0);
        init_no_pin(&server, lister.path());
        assert_eq!(share_files(&server, lister.path()), expected_share("big"));
        World {
            server,
            a,
            b,
            lister,
        }
    }

    /// Renames `big` to `big2` in cache `a`, then kills its sync at the `kill_at`-th
    /// hit of `point`.
    fn rename_and_kill(&self, point: &str, kill_at: usize) {
        fs::rename(self.a.path().join("big"), self.a.path().join("big2")).unwrap();
        let at = format!("{point}:{kill_at}");
        let cache = self.a.path().to_str().unwrap();
        let killed = offline(
            &self.server,
            &["-C", cache, "sync"],
            &[("OFFLINE_CRASH_AT", &at), ("OFFLINE_TRANSFERS", "1")],
        );
        assert_eq!(killed.status.signal(), Some(9), "killed: {}", text(&killed));
        let stderr = String::from_utf8_lossy(&killed.stderr);
        assert!(
            stderr.contains(&format!("{point}: killing the process")),
            "killed at {point}: {}",
            text(&killed)
        );
    }
}

/// Kills the sync of the rename at the `kill_at`-th hit of `point`, when
/// `old_left` files are still under the old name and `new_made` under the new.
fn killed_part_way(point: &str, kill_at: usize, old_left: usize, new_made: usize) {
    let world = World::new();
    let (server, a, b, lister) = (&world.server, &world.a, &world.b, &world.lister);
    let b_before = files(b.path());
    let mut cache_before = files(a.path());
    cache_before = cache_before
        .into_iter()
        .map(|(p, f)| (p.replacen("big/", "big2/", 1), f))
        .collect();
    world.rename_and_kill(point, kill_at);
    // Part-way: the files under both names, as many as the point says.
    let partial = share_files(server, lister.path());
    let count = |prefix: &str| partial.iter().filter(|p| p.starts_with(prefix)).count();
    assert_eq!(count("big/"), old_left, "under the old name: {partial:?}");
    assert_eq!(count("big2/"), new_made, "under the new name: {partial:?}");

    // The next sync finishes the work.
    let out = sync_expect(server, a.path(), &["--json"], 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the last sync was interrupted"),
        "the recovery is reported: {}",
        text(&out)
    );
    let summary: serde_json::Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v.get("summary").is_some())
        .expect("a summary line");
    assert_eq!(summary["summary"]["errors"], 0, "{}", text(&out));
    assert_eq!(summary["summary"]["conflicts"], 0, "{}", text(&out));
    assert_eq!(
        files(a.path()),
        cache_before,
        "the cache is unchanged (same content, same inodes)"
    );
    assert_eq!(
        pinned(server, a.path()),
        folder_items("big2"),
        "the pin followed the folder"
    );
    assert_eq!(
        share_files(server, lister.path()),
        expected_share("big2"),
        "every file once under the new name, none under the old"
    );
    let again = sync_expect(server, a.path(), &["--dry-run"], 0);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 items would be synced"),
        "nothing left to do: {}",
        text(&again)
    );
    // Another cache sees the same, content and all, and renames its copy (the
    // files keep their inodes: not written again).
    sync_expect(server, b.path(), &[], 0);
    assert_eq!(contents(b.path()), contents(a.path()), "the second cache");
    let renamed: BTreeMap<String, (Vec<u8>, u64)> = b_before
        .into_iter()
        .map(|(p, f)| (p.replacen("big/", "big2/", 1), f))
        .collect();
    assert_eq!(
        files(b.path()),
        renamed,
        "the second cache renamed its copy"
    );
    for i in 0..FILES {
        assert_eq!(
            fs::read_to_string(b.path().join("big2").join(name(i))).unwrap(),
            content(i)
        );
    }
}

#[test]
fn an_s3_folder_rename_killed_between_two_copies_is_finished_by_the_next_sync() {
    let k = FILES / 2 + 1;
    killed_part_way(COPY_POINT, k, FILES, k - 1);
}

#[test]
fn an_s3_folder_rename_killed_between_two_deletions_is_finished_by_the_next_sync() {
    let k = FILES / 2 + 1;
    killed_part_way(DELETE_POINT, k, FILES - (k - 1), FILES);
}

#[test]
fn a_file_someone_else_put_under_the_new_name_is_never_overwritten_by_the_recovery() {
    let world = World::new();
    let (server, a, lister) = (&world.server, &world.a, &world.lister);
    world.rename_and_kill(COPY_POINT, FILES / 2 + 1);
    // Someone else replaces one of the copies made before the kill.
    let partial = share_files(server, lister.path());
    let copied = partial
        .iter()
        .find(|p| p.starts_with("big2/"))
        .expect("a copy was made")
        .clone();
    let theirs = "written by someone else under the new name\n";
    let cache = lister.path().to_str().unwrap();
    let out = offline(server, &["-C", cache, "fetch", &copied], &[]);
    assert_eq!(out.status.code(), Some(0), "their fetch: {}", text(&out));
    fs::write(lister.path().join(&copied), theirs).unwrap();
    let out = offline(server, &["-C", cache, "sync"], &[]);
    assert_eq!(out.status.code(), Some(0), "their sync: {}", text(&out));

    // Recovery cannot finish the rename (that copy is not the rename's): the sync
    // plans the folder like any other change, their file and the cache's meet as a
    // conflict (left as it is under `log`), and neither is overwritten.
    let out = offline(server, &["-C", a.path().to_str().unwrap(), "sync"], &[]);
    assert_eq!(out.status.code(), Some(1), "a conflict: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let conflict = stdout
        .lines()
        .find(|l| l.starts_with("conflict"))
        .unwrap_or_default();
    assert!(conflict.contains(&copied), "{}", text(&out));
    let i: usize = (0..FILES)
        .find(|&i| copied == format!("big2/{}", name(i)))
        .expect("one of the files");
    assert_eq!(
        fs::read_to_string(a.path().join(&copied)).unwrap(),
        content(i),
        "the cache's copy is kept"
    );
    assert_eq!(
        share_files(server, lister.path()),
        expected_share("big2"),
        "the rest converged: every file once under the new name"
    );
    // Their copy is what the share holds: another cache gets it.
    let b = world.b.path();
    sync_expect(server, b, &[], 0);
    assert_eq!(fs::read_to_string(b.join(&copied)).unwrap(), theirs);
    for j in (0..FILES).filter(|&j| j != i) {
        assert_eq!(
            fs::read_to_string(b.join("big2").join(name(j))).unwrap(),
            content(j)
        );
    }
}
