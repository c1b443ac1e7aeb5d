//! Pinning, ghosts, fetch, evict, space limits, offline mode and the guards, driven
//! through the real `offline` binary on temporary folders.

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A run may never take longer than this (a hang is a failure, not a stuck suite).
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// A share folder and a cache folder in one temp dir.
struct Setup {
    _tmp: tempfile::TempDir,
    share: PathBuf,
    cache: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().expect("tempdir");
        let share = tmp.path().join("share");
        let cache = tmp.path().join("cache");
        fs::create_dir_all(&share).expect("share dir");
        Setup {
            _tmp: tmp,
            share,
            cache,
        }
    }

    fn put(&self, root: &Path, rel: &str, content: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, content).expect("write");
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let out = Command::cargo_bin("offline")
            .expect("binary")
            .current_dir(&self.cache)
            .args(args)
            .timeout(RUN_TIMEOUT)
            .output()
            .expect("run offline");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked"),
            "offline {args:?} panicked: {stderr}"
        );
        out
    }

    fn init(&self, extra: &[&str]) {
        let mut args = vec!["init".to_string()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(self.share.display().to_string());
        args.push(self.cache.display().to_string());
        let out = Command::cargo_bin("offline")
            .expect("binary")
            .args(&args)
            .timeout(RUN_TIMEOUT)
            .output()
            .expect("run init");
        assert!(out.status.success(), "init failed: {out:?}");
    }

    fn code(&self, args: &[&str]) -> i32 {
        self.run(args).status.code().expect("exit code")
    }

    /// The JSON lines of a command that must exit 0.
    fn json_lines(&self, args: &[&str]) -> Vec<Value> {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "offline {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect()
    }

    fn ls(&self, path: &str) -> Vec<Value> {
        self.json_lines(&["ls", path, "--flat", "--json"])
    }

    fn status(&self) -> Value {
        self.json_lines(&["status", "--json"])
            .pop()
            .expect("status json")
    }
}

fn item<'a>(items: &'a [Value], path: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["path"] == path)
        .unwrap_or_else(|| panic!("{path} not listed in {items:?}"))
}

fn operations(lines: &[Value]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter(|l| l.get("path").is_some())
        .map(|l| {
            (
                l["path"].as_str().unwrap_or("").to_string(),
                l["operation"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn no_pin_keeps_ghosts_and_pinning_a_folder_fills_it_with_the_pin_operation() {
    let s = Setup::new();
    s.put(&s.share, "docs/a.txt", "alpha");
    s.put(&s.share, "docs/sub/b.txt", "beta");
    s.put(&s.share, "other/c.txt", "gamma");
    s.init(&["--no-pin"]);
    assert_eq!(s.code(&["sync"]), 0);
    assert!(
        !s.cache.join("docs/a.txt").exists(),
        "unpinned items stay ghosts"
    );
    let listed = s.ls(".");
    assert_eq!(item(&listed, "docs/a.txt")["ghost"], true);
    assert_eq!(item(&listed, "other/c.txt")["ghost"], true);

    let lines = s.json_lines(&["pin", "docs", "--json"]);
    let ops = operations(&lines);
    assert!(
        ops.contains(&("docs/a.txt".into(), "pin".into())),
        "{ops:?}"
    );
    assert!(
        ops.contains(&("docs/sub/b.txt".into(), "pin".into())),
        "{ops:?}"
    );
    assert_eq!(
        fs::read_to_string(s.cache.join("docs/sub/b.txt")).expect("filled"),
        "beta"
    );
    assert!(
        !s.cache.join("other/c.txt").exists(),
        "only the pinned folder is filled"
    );
    let listed = s.ls(".");
    assert_eq!(item(&listed, "docs/a.txt")["pinned"], true);
    assert_eq!(item(&listed, "docs/a.txt")["pinned_by"][0], "user");
    assert_eq!(item(&listed, "other/c.txt")["pinned"], false);

    // Items created later inside the pinned folder arrive with the next sync.
    s.put(&s.share, "docs/later.txt", "later");
    s.put(&s.share, "other/later.txt", "not pinned");
    assert_eq!(s.code(&["sync"]), 0);
    assert_eq!(
        fs::read_to_string(s.cache.join("docs/later.txt")).expect("arrived"),
        "later"
    );
    assert!(!s.cache.join("other/later.txt").exists());
    assert_eq!(item(&s.ls("."), "other/later.txt")["ghost"], true);
}

#[test]
fn pin_without_fill_waits_for_the_next_sync_and_shows_as_sparse() {
    let s = Setup::new();
    s.put(&s.share, "docs/a.txt", "alpha");
    s.init(&["--no-pin"]);
    assert_eq!(s.code(&["sync"]), 0);
    assert_eq!(s.code(&["pin", "--no-fill", "docs"]), 0);
    assert!(!s.cache.join("docs/a.txt").exists());
    let sparse = s.json_lines(&["ls", ".", "--flat", "--json", "--filter", "sparse"]);
    assert!(
        sparse.iter().any(|i| i["path"] == "docs/a.txt"),
        "{sparse:?}"
    );
    assert_eq!(s.status()["sparse_items"], 2);
    let ops = operations(&s.json_lines(&["sync", "--json"]));
    assert!(
        ops.contains(&("docs/a.txt".into(), "pin".into())),
        "{ops:?}"
    );
    assert_eq!(
        fs::read_to_string(s.cache.join("docs/a.txt")).expect("filled"),
        "alpha"
    );
}

#[test]
fn fetch_caches_without_pinning_and_evict_and_unpin_behave() {
    let s = Setup::new();
    s.put(&s.share, "pics/p1.bin", "one");
    s.put(&s.share, "pics/p2.bin", "two");
    s.put(&s.share, "docs/d.txt", "doc");
    s.init(&["--no-pin"]);
    assert_eq!(s.code(&["sync"]), 0);

    assert_eq!(s.code(&["fetch", "pics/p1.bin"]), 0);
    assert_eq!(
        fs::read_to_string(s.cache.join("pics/p1.bin")).expect("fetched"),
        "one"
    );
    let listed = s.ls(".");
    assert_eq!(item(&listed, "pics/p1.bin")["auto_cached"], true);
    assert_eq!(item(&listed, "pics/p1.bin")["pinned"], false);
    assert_eq!(item(&listed, "pics/p2.bin")["ghost"], true);

    // Evict: a clean copy goes, a changed one stays (exit 1) unless discarded.
    assert_eq!(s.code(&["evict", "pics/p1.bin"]), 0);
    assert!(!s.cache.join("pics/p1.bin").exists());
    assert_eq!(item(&s.ls("."), "pics/p1.bin")["ghost"], true);
    assert_eq!(
        fs::read_to_string(s.share.join("pics/p1.bin")).expect("share keeps it"),
        "one"
    );

    assert_eq!(s.code(&["fetch", "pics/p2.bin"]), 0);
    fs::write(s.cache.join("pics/p2.bin"), "two, edited offline").expect("edit");
    assert_eq!(s.code(&["evict", "pics/p2.bin"]), 1);
    assert_eq!(
        fs::read_to_string(s.cache.join("pics/p2.bin")).expect("kept"),
        "two, edited offline"
    );
    let out = s.json_lines(&["evict", "pics/p2.bin", "--discard-changes", "--json"]);
    let kept_in = out[0]["discarded"][0]["kept_in"]
        .as_str()
        .expect("kept_in")
        .to_string();
    assert_eq!(
        fs::read_to_string(kept_in).expect("discarded bytes kept"),
        "two, edited offline"
    );
    assert!(!s.cache.join("pics/p2.bin").exists());

    // Unpin: the pin goes, the content stays as auto-cached.
    assert_eq!(s.code(&["pin", "docs"]), 0);
    assert_eq!(item(&s.ls("."), "docs/d.txt")["pinned"], true);
    assert_eq!(s.code(&["unpin", "docs"]), 0);
    let listed = s.ls(".");
    assert_eq!(item(&listed, "docs/d.txt")["pinned"], false);
    assert_eq!(item(&listed, "docs/d.txt")["auto_cached"], true);
    assert!(s.cache.join("docs/d.txt").exists());
    assert_eq!(s.code(&["unpin", "docs"]), 1, "nothing left to unpin");
}

#[test]
fn the_auto_cache_limit_evicts_least_recently_used_clean_items_only() {
    let s = Setup::new();
    for name in ["a", "b", "c", "d"] {
        s.put(&s.share, &format!("pool/{name}.bin"), &name.repeat(1000));
    }
    s.put(&s.share, "keep/pinned.bin", &"p".repeat(1000));
    s.init(&["--no-pin"]);
    assert_eq!(s.code(&["sync"]), 0);
    assert_eq!(s.code(&["pin", "keep"]), 0);
    assert_eq!(
        s.code(&["fetch", "pool/a.bin", "pool/b.bin", "pool/c.bin"]),
        0
    );
    // a is the oldest used; b holds a change; c was used recently.
    let old = filetime::FileTime::from_unix_time(1_600_000_000, 0);
    let recent = filetime::FileTime::now();
    filetime::set_file_atime(s.cache.join("pool/a.bin"), old).expect("atime a");
    filetime::set_file_atime(s.cache.join("pool/c.bin"), recent).expect("atime c");
    fs::write(s.cache.join("pool/b.bin"), "changed in the cache").expect("edit b");
    filetime::set_file_atime(s.cache.join("pool/b.bin"), old).expect("atime b");

    // Room for three 1000-byte auto-cached files: fetching d must push out a (LRU,
    // clean), never b (dirty, older still) nor the pinned file.
    assert_eq!(s.code(&["config", "--auto-cache-limit", "3100"]), 0);
    assert_eq!(s.code(&["fetch", "pool/d.bin"]), 0);
    assert!(
        !s.cache.join("pool/a.bin").exists(),
        "the least recently used clean copy goes"
    );
    assert_eq!(
        fs::read_to_string(s.cache.join("pool/b.bin")).expect("dirty stays"),
        "changed in the cache"
    );
    assert!(
        s.cache.join("pool/c.bin").exists(),
        "recently used copies stay"
    );
    assert!(s.cache.join("pool/d.bin").exists());
    assert!(
        s.cache.join("keep/pinned.bin").exists(),
        "pinned items are never evicted"
    );
    let listed = s.ls(".");
    assert_eq!(item(&listed, "pool/a.bin")["ghost"], true);

    // A total limit below the pinned content still never evicts pinned or dirty items.
    assert_eq!(s.code(&["config", "--limit", "1"]), 0);
    assert_eq!(s.code(&["fetch", "pool/a.bin"]), 0);
    assert!(s.cache.join("keep/pinned.bin").exists());
    assert!(s.cache.join("pool/b.bin").exists());
    // Every clean auto-cached copy goes, the one just fetched too: the limit cannot be
    // met, and nothing else may be evicted.
    for gone in ["pool/a.bin", "pool/c.bin", "pool/d.bin"] {
        assert!(!s.cache.join(gone).exists(), "{gone} is evicted");
    }
    assert_eq!(
        fs::read_to_string(s.cache.join("pool/b.bin")).expect("dirty stays"),
        "changed in the cache"
    );
}

#[test]
fn a_share_that_goes_away_is_unreachable_never_deleted_and_offline_work_is_pushed_later() {
    let s = Setup::new();
    s.put(&s.share, "a.txt", "alpha");
    s.put(&s.share, "b.txt", "beta");
    s.put(&s.share, "dir/c.txt", "gamma");
    s.init(&[]);
    assert_eq!(s.code(&["sync"]), 0);

    // Moved away: exit 3, cache intact, status offline/connection_error.
    let moved = s.share.with_file_name("share-away");
    fs::rename(&s.share, &moved).expect("move share");
    fs::write(s.cache.join("a.txt"), "alpha, edited offline").expect("edit offline");
    assert_eq!(s.code(&["sync"]), 3);
    assert_eq!(
        fs::read_to_string(s.cache.join("b.txt")).expect("cache intact"),
        "beta"
    );
    let st = s.status();
    assert_eq!(st["connect_state"], "offline");
    assert_eq!(st["offline_reason"], "connection_error");
    assert_eq!(st["dirty_items"], 1);

    // An empty folder in its place (an unmounted mount point): refused, cache intact.
    fs::create_dir(&s.share).expect("empty mount point");
    assert_eq!(s.code(&["sync"]), 3);
    assert!(s.cache.join("dir/c.txt").exists());
    fs::remove_dir(&s.share).expect("remove empty");

    // The marker gone but items there: still refused.
    fs::rename(&moved, &s.share).expect("share back");
    fs::rename(s.share.join(".offline-share"), s.share.join("marker-away")).expect("hide marker");
    assert_eq!(s.code(&["sync"]), 3);
    fs::rename(s.share.join("marker-away"), s.share.join(".offline-share")).expect("marker back");

    // Back: online by itself, the offline edit is pushed.
    assert_eq!(s.code(&["sync"]), 0);
    assert_eq!(
        fs::read_to_string(s.share.join("a.txt")).expect("pushed"),
        "alpha, edited offline"
    );
    let st = s.status();
    assert_eq!(st["connect_state"], "online");
    assert_eq!(st["dirty_items"], 0);
}

#[test]
fn a_share_emptied_behind_its_marker_is_refused_unless_forced() {
    let s = Setup::new();
    s.put(&s.share, "a.txt", "alpha");
    s.put(&s.share, "b.txt", "beta");
    s.init(&[]);
    assert_eq!(s.code(&["sync"]), 0);
    fs::remove_file(s.share.join("a.txt")).expect("rm");
    fs::remove_file(s.share.join("b.txt")).expect("rm");
    assert_eq!(
        s.code(&["sync"]),
        3,
        "an empty share is taken as unreachable"
    );
    assert!(s.cache.join("a.txt").exists());
    assert_eq!(s.code(&["sync", "--force"]), 0);
    assert!(
        !s.cache.join("a.txt").exists(),
        "with --force the deletions go through"
    );
}

#[test]
fn disconnect_holds_syncs_until_reconnect() {
    let s = Setup::new();
    s.put(&s.share, "a.txt", "alpha");
    s.init(&[]);
    assert_eq!(s.code(&["sync"]), 0);
    assert_eq!(s.code(&["disconnect"]), 0);
    let st = s.status();
    assert_eq!(st["connect_state"], "offline");
    assert_eq!(st["offline_reason"], "connection_forced");
    fs::write(s.cache.join("new.txt"), "made offline").expect("write");
    assert_eq!(s.code(&["sync"]), 3);
    assert!(
        !s.share.join("new.txt").exists(),
        "nothing goes out while disconnected"
    );
    assert_eq!(s.status()["dirty_items"], 1);
    assert_eq!(s.code(&["reconnect"]), 0);
    assert_eq!(s.status()["connect_state"], "online");
    assert_eq!(s.code(&["sync"]), 0);
    assert_eq!(
        fs::read_to_string(s.share.join("new.txt")).expect("pushed"),
        "made offline"
    );
}

#[test]
fn a_mass_deletion_stops_unless_forced() {
    let s = Setup::new();
    for i in 0..10 {
        s.put(&s.share, &format!("f{i}.txt"), "x");
    }
    s.init(&[]);
    assert_eq!(s.code(&["sync"]), 0);
    for i in 0..8 {
        fs::remove_file(s.cache.join(format!("f{i}.txt"))).expect("rm");
    }
    let out = s.run(&["sync"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(
        fs::read_dir(&s.share).expect("ls").count(),
        11,
        "nothing deleted"
    );
    assert_eq!(s.code(&["sync", "--max-delete", "90"]), 0);
    assert_eq!(
        fs::read_dir(&s.share).expect("ls").count(),
        3,
        "marker and two files"
    );
}

#[test]
fn forcing_past_the_mass_delete_guard_works() {
    let s = Setup::new();
    for i in 0..10 {
        s.put(&s.share, &format!("f{i}.txt"), "x");
    }
    s.init(&[]);
    assert_eq!(s.code(&["sync"]), 0);
    for i in 0..10 {
        fs::remove_file(s.share.join(format!("f{i}.txt"))).expect("rm");
    }
    s.put(&s.share, "survivor.txt", "y");
    assert_eq!(s.code(&["sync"]), 1);
    assert!(s.cache.join("f0.txt").exists());
    assert_eq!(s.code(&["sync", "--force"]), 0);
    assert!(!s.cache.join("f0.txt").exists());
    assert!(s.cache.join("survivor.txt").exists());
}
