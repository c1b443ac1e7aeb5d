//! Renames and the service (issue 13): the daemon pushes a folder renamed in the
//! cache (inotify's moved-from/moved-to pair) within its push delay, as one rename
//! on the share, and announces it (`item_renamed` with the old path, the sync's
//! result with `old_path`); a rename on the share reaches the cache with the
//! scheduled sync, announced the same way.

mod service_support;

use service_support::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

fn ino(path: &std::path::Path) -> u64 {
    fs::symlink_metadata(path).unwrap().ino()
}

#[test]
fn a_folder_renamed_in_the_cache_is_pushed_as_one_rename_and_announced() {
    let files: Vec<(String, String)> = (0..20)
        .map(|i| (format!("big/f{i}.txt"), format!("file {i}")))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let fx = Fx::synced(&refs);
    let share_ino = ino(&fx.share.join("big/f3.txt"));
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let events = fx.subscribe(&[]);
    fs::rename(fx.cache.join("big"), fx.cache.join("big2")).unwrap();
    let renamed = events.expect(|e| id(e) == 24, Duration::from_secs(10), "item_renamed");
    assert_eq!(renamed["path"], "big2", "{renamed}");
    assert_eq!(renamed["old_path"], "big", "{renamed}");
    let result = events.expect(|e| id(e) == 6, Duration::from_secs(20), "sync_file_result");
    assert_eq!(
        result["path"], "big2",
        "one result for the rename: {result}"
    );
    assert_eq!(result["old_path"], "big", "{result}");
    assert_eq!(result["result"], "ok", "{result}");
    let end = events.expect(|e| id(e) == 10, Duration::from_secs(20), "sync_end");
    assert_eq!(end["errors"], 0, "{end}");
    assert_eq!(end["bytes"], 0, "{end}");
    assert!(!fx.share.join("big").exists());
    assert_eq!(
        ino(&fx.share.join("big2/f3.txt")),
        share_ino,
        "renamed on the share"
    );
    daemon.stop();
}

#[test]
fn a_rename_on_the_share_arrives_as_a_rename_in_the_cache_and_is_announced() {
    let fx = Fx::synced(&[("docs/a.txt", "a"), ("docs/b.txt", "b")]);
    let cache_ino = ino(&fx.cache.join("docs/a.txt"));
    fx.config(&["--sync-interval", "2s"]);
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let events = fx.subscribe(&[]);
    fs::rename(fx.share.join("docs"), fx.share.join("papers")).unwrap();
    let renamed = events.expect(|e| id(e) == 24, Duration::from_secs(20), "item_renamed");
    assert_eq!(renamed["path"], "papers", "{renamed}");
    assert_eq!(renamed["old_path"], "docs", "{renamed}");
    assert!(
        renamed["sync_id"].is_string(),
        "announced by the sync: {renamed}"
    );
    assert_eq!(
        ino(&fx.cache.join("papers/a.txt")),
        cache_ino,
        "renamed in the cache"
    );
    assert!(!fx.cache.join("docs").exists());
    daemon.stop();
}
