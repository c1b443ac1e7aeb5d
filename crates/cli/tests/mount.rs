//! End-to-end tests of `offline mount` (the FUSE view), with the daemon where changes
//! must reach the share. Where /dev/fuse is absent each test says `SKIPPED: ...`
//! (and fails under CI=true, see `common::skip`). Every wait is bounded.

mod common;
mod crash_support;
mod service_support;

use service_support::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Linux's EHOSTDOWN ("Host is down"): a ghost opened while the share is offline.
const EHOSTDOWN: i32 = 112;

/// True (after saying so: see `common::skip`) when FUSE cannot be mounted here.
fn fuse_missing() -> bool {
    if !cfg!(feature = "fuse") {
        common::skip("`offline` was built without the `fuse` feature");
        return true;
    }
    if Path::new("/dev/fuse").exists() {
        return false;
    }
    common::skip("/dev/fuse is absent, so FUSE cannot be mounted here");
    true
}

/// A share with a pinned folder, a ghost folder and a ghost file; a cache that
/// pinned only `pinned`.
fn fixture() -> Fx {
    let fx = Fx::new();
    fx.write_share("pinned/p.txt", "pinned content\n");
    fx.write_share("pinned/sub/q.txt", "deeper\n");
    fx.write_share("ghostdir/g.txt", "ghost content\n");
    fx.write_share("big.bin", &"x".repeat(10_000));
    std::os::unix::fs::symlink("pinned/p.txt", fx.share.join("link")).unwrap();
    fx.init(&["--no-pin"]);
    fx.run_ok(&["sync"]);
    fx.run_in_cache_ok(&["pin", "pinned"]);
    fx
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn the_view_lists_the_whole_share_and_reads_pinned_files() {
    if fuse_missing() {
        return;
    }
    let fx = fixture();
    let mnt = fx.mount();
    assert_eq!(
        names(&mnt.dir),
        vec!["big.bin", "ghostdir", "link", "pinned"]
    );
    assert_eq!(names(&mnt.path("ghostdir")), vec!["g.txt"]);
    // Ghosts show their synced metadata and take no space.
    let big = fs::metadata(mnt.path("big.bin")).unwrap();
    assert!(big.is_file());
    assert_eq!(big.len(), 10_000);
    assert_eq!(big.blocks(), 0);
    let share_big = fs::metadata(fx.share.join("big.bin")).unwrap();
    assert_eq!(big.modified().unwrap(), share_big.modified().unwrap());
    assert_eq!(big.mode() & 0o777, share_big.mode() & 0o777);
    assert!(fs::metadata(mnt.path("ghostdir")).unwrap().is_dir());
    assert_eq!(
        fs::read_link(mnt.path("link")).unwrap(),
        Path::new("pinned/p.txt")
    );
    // Pinned content is read from the cache.
    assert_eq!(
        read(&mnt.path("pinned/p.txt")).as_deref(),
        Some("pinned content\n")
    );
    assert_eq!(
        read(&mnt.path("pinned/sub/q.txt")).as_deref(),
        Some("deeper\n")
    );
    // ls -l works and the cache's own folder is not shown.
    let out = run_bounded(
        Command::new("ls").arg("-la").arg(&mnt.dir),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("big.bin") && text.contains("pinned"),
        "{text}"
    );
    assert!(!text.contains(".offline"), "{text}");
    assert!(fs::metadata(mnt.path(".offline")).is_err());
    // Nothing was fetched by listing.
    assert!(!fx.cache.join("big.bin").exists());
    assert!(!fx.cache.join("ghostdir").exists());
    mnt.unmount();
}

#[test]
fn opening_a_ghost_fetches_it_and_it_becomes_auto_cached() {
    if fuse_missing() {
        return;
    }
    let fx = fixture();
    let mnt = fx.mount();
    assert_eq!(
        read(&mnt.path("ghostdir/g.txt")).as_deref(),
        Some("ghost content\n")
    );
    assert_eq!(
        read(&fx.cache.join("ghostdir/g.txt")).as_deref(),
        Some("ghost content\n")
    );
    let (_, items) = fx.json(&["ls", "--flat", "--json"]);
    let g = items
        .iter()
        .find(|i| i["path"] == "ghostdir/g.txt")
        .expect("listed");
    assert_eq!(g["ghost"], false, "{g}");
    assert_eq!(g["auto_cached"], true, "{g}");
    assert_eq!(g["pinned"], false, "{g}");
    // Its space shows now.
    assert!(fs::metadata(mnt.path("ghostdir/g.txt")).unwrap().blocks() > 0);
    mnt.unmount();
}

#[test]
fn edits_through_the_view_reach_the_share_by_the_daemon() {
    if fuse_missing() {
        return;
    }
    let fx = fixture();
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let mnt = fx.mount();
    // A plain write.
    fs::write(mnt.path("pinned/p.txt"), "edited through the view\n").unwrap();
    // An editor's save: a new file, then renamed over the old one.
    fs::write(mnt.path("pinned/.q.txt.swp"), "saved by rename\n").unwrap();
    fs::rename(mnt.path("pinned/.q.txt.swp"), mnt.path("pinned/sub/q.txt")).unwrap();
    // cp -r, then mv.
    let out = run_bounded(
        Command::new("cp")
            .arg("-r")
            .arg(mnt.path("pinned"))
            .arg(mnt.path("copy")),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "cp -r: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_bounded(
        Command::new("mv")
            .arg(mnt.path("copy"))
            .arg(mnt.path("moved")),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "mv: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // rm of a ghost: no content needed, the share copy goes.
    let out = run_bounded(
        Command::new("rm").arg(mnt.path("big.bin")),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "rm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(fs::metadata(mnt.path("big.bin")).is_err());
    // A new file inside a ghost folder.
    fs::create_dir(mnt.path("ghostdir/new")).unwrap();
    fs::write(mnt.path("ghostdir/new/n.txt"), "new in a ghost folder\n").unwrap();
    wait_until("the edits reach the share", Duration::from_secs(30), || {
        read(&fx.share.join("pinned/p.txt")).as_deref() == Some("edited through the view\n")
            && read(&fx.share.join("pinned/sub/q.txt")).as_deref() == Some("saved by rename\n")
            && read(&fx.share.join("moved/p.txt")).as_deref() == Some("edited through the view\n")
            && read(&fx.share.join("moved/sub/q.txt")).as_deref() == Some("saved by rename\n")
            && !fx.share.join("copy").exists()
            && !fx.share.join("big.bin").exists()
            && read(&fx.share.join("ghostdir/new/n.txt")).as_deref()
                == Some("new in a ghost folder\n")
    });
    // The ghost beside the new folder was not touched, and is still a ghost.
    assert_eq!(
        read(&fx.share.join("ghostdir/g.txt")).as_deref(),
        Some("ghost content\n")
    );
    assert!(!fx.cache.join("ghostdir/g.txt").exists());
    assert_eq!(names(&mnt.path("ghostdir")), vec!["g.txt", "new"]);
    // rm -r of a ghost folder through the view.
    let out = run_bounded(
        Command::new("rm").arg("-r").arg(mnt.path("ghostdir")),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "rm -r: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until(
        "the folder is removed from the share",
        Duration::from_secs(30),
        || !fx.share.join("ghostdir").exists(),
    );
    wait_until("nothing waits", Duration::from_secs(15), || {
        fx.status()["dirty_items"] == 0
    });
    mnt.unmount();
    daemon.stop();
}

#[test]
fn offline_ghosts_fail_with_ehostdown_and_cached_files_keep_working() {
    if fuse_missing() {
        return;
    }
    let fx = fixture();
    let mnt = fx.mount();
    let away = fx.dir.path().join("share-away");
    fs::rename(&fx.share, &away).unwrap();
    let out = fx.run_raw(&["sync"]);
    assert_eq!(out.status.code(), Some(3), "the share is unreachable");
    assert_eq!(fx.status()["connect_state"], "offline");
    // A ghost cannot be opened: a clear errno.
    let err = fs::read(mnt.path("ghostdir/g.txt")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(EHOSTDOWN), "{err}");
    let err = fs::read(mnt.path("big.bin")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(EHOSTDOWN), "{err}");
    // Listing and metadata still work, from the state database.
    assert_eq!(
        names(&mnt.dir),
        vec!["big.bin", "ghostdir", "link", "pinned"]
    );
    assert_eq!(fs::metadata(mnt.path("big.bin")).unwrap().len(), 10_000);
    // Cached files work: read, write, create.
    assert_eq!(
        read(&mnt.path("pinned/p.txt")).as_deref(),
        Some("pinned content\n")
    );
    fs::write(mnt.path("pinned/p.txt"), "written offline\n").unwrap();
    fs::write(mnt.path("pinned/offline-new.txt"), "created offline\n").unwrap();
    assert_eq!(
        read(&mnt.path("pinned/p.txt")).as_deref(),
        Some("written offline\n")
    );
    // A ghost replaced by new content needs no fetch, even offline.
    fs::write(mnt.path("big.bin"), "replaced offline\n").unwrap();
    assert_eq!(
        read(&mnt.path("big.bin")).as_deref(),
        Some("replaced offline\n")
    );
    // The share returns: ghosts open again, and a sync sends what was done offline.
    fs::rename(&away, &fx.share).unwrap();
    fx.run_ok(&["reconnect"]);
    assert_eq!(
        read(&mnt.path("ghostdir/g.txt")).as_deref(),
        Some("ghost content\n")
    );
    fx.run_ok(&["sync"]);
    assert_eq!(
        read(&fx.share.join("pinned/p.txt")).as_deref(),
        Some("written offline\n")
    );
    assert_eq!(
        read(&fx.share.join("pinned/offline-new.txt")).as_deref(),
        Some("created offline\n")
    );
    assert_eq!(
        read(&fx.share.join("big.bin")).as_deref(),
        Some("replaced offline\n")
    );
    // The modification time travels with the content.
    let mtime_ns = |p: &Path| {
        let m = fs::metadata(p).unwrap();
        (m.mtime(), m.mtime_nsec())
    };
    assert_eq!(
        mtime_ns(&fx.share.join("big.bin")),
        mtime_ns(&fx.cache.join("big.bin")),
        "the share's copy has the time it was written offline"
    );
    mnt.unmount();
}

#[test]
fn moving_a_folder_moves_the_ghosts_inside_it_too() {
    if fuse_missing() {
        return;
    }
    let fx = fixture();
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let mnt = fx.mount();
    // ghostdir becomes a cached folder that still holds the ghost g.txt.
    fs::write(mnt.path("ghostdir/local.txt"), "local\n").unwrap();
    let out = run_bounded(
        Command::new("mv")
            .arg(mnt.path("ghostdir"))
            .arg(mnt.path("renamed")),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "mv: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(names(&mnt.path("renamed")), vec!["g.txt", "local.txt"]);
    assert_eq!(
        read(&mnt.path("renamed/g.txt")).as_deref(),
        Some("ghost content\n")
    );
    wait_until(
        "the move reaches the share",
        Duration::from_secs(30),
        || {
            read(&fx.share.join("renamed/g.txt")).as_deref() == Some("ghost content\n")
                && read(&fx.share.join("renamed/local.txt")).as_deref() == Some("local\n")
                && !fx.share.join("ghostdir").exists()
        },
    );
    mnt.unmount();
    daemon.stop();
}

/// Waits at most `limit` for `cond`: for changes the kernel must see through the
/// invalidation (its cached entries would otherwise last a minute).
fn soon(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !cond() {
        assert!(
            started.elapsed() < limit,
            "{what}: not seen through the view within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_change_by_a_sync_is_seen_through_the_view_at_once() {
    if fuse_missing() {
        return;
    }
    let fx = fixture();
    let mnt = fx.mount();
    // The kernel learns these entries and keeps them (a minute for cached items).
    assert_eq!(
        read(&mnt.path("pinned/p.txt")).as_deref(),
        Some("pinned content\n")
    );
    assert_eq!(fs::metadata(mnt.path("pinned/p.txt")).unwrap().len(), 15);
    assert!(fs::metadata(mnt.path("pinned/sub/q.txt")).is_ok());
    assert_eq!(names(&mnt.path("pinned")), vec!["p.txt", "sub"]);
    assert_eq!(
        fs::metadata(mnt.path("ghostdir/g.txt")).unwrap().blocks(),
        0
    );
    assert_eq!(
        names(&mnt.dir),
        vec!["big.bin", "ghostdir", "link", "pinned"]
    );
    // The share changes; a sync brings it into the cache (and a new ghost: the
    // root is not pinned).
    fx.write_share("top-new.txt", "a new ghost\n");
    fx.write_share("pinned/p.txt", "changed on the share, longer than before\n");
    fs::remove_file(fx.share.join("pinned/sub/q.txt")).unwrap();
    fx.write_share("pinned/new.txt", "new\n");
    fx.run_ok(&["sync"]);
    // Well within the ghosts' one-second lifetime, so only invalidation explains it.
    let limit = Duration::from_millis(800);
    soon("the new size", limit, || {
        fs::metadata(mnt.path("pinned/p.txt")).is_ok_and(|m| m.len() == 41)
    });
    assert_eq!(
        read(&mnt.path("pinned/p.txt")).as_deref(),
        Some("changed on the share, longer than before\n")
    );
    soon("the removal", limit, || {
        fs::metadata(mnt.path("pinned/sub/q.txt")).is_err()
    });
    assert_eq!(names(&mnt.path("pinned")), vec!["new.txt", "p.txt", "sub"]);
    // A listing the kernel keeps is dropped when the state database changes.
    soon("the new ghost in the listing", limit, || {
        names(&mnt.dir).contains(&"top-new.txt".to_string())
    });
    assert!(!fx.cache.join("top-new.txt").exists(), "still a ghost");
    // A ghost gets its content (pinned): its space shows at once.
    fx.run_in_cache_ok(&["pin", "ghostdir"]);
    soon("the fetched ghost's space", limit, || {
        fs::metadata(mnt.path("ghostdir/g.txt")).is_ok_and(|m| m.blocks() > 0)
    });
    // The cache folder changed by hand is seen too.
    fs::write(fx.cache.join("pinned/p.txt"), "by hand\n").unwrap();
    soon("the edit in the cache folder", limit, || {
        fs::metadata(mnt.path("pinned/p.txt")).is_ok_and(|m| m.len() == 8)
    });
    mnt.unmount();
}

/// True when this kernel offers FUSE passthrough (Linux 6.9 or later, built in).
fn kernel_has_passthrough() -> bool {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    if (major, minor) < (6, 9) {
        return false;
    }
    // Where the kernel's configuration can be read, it must include passthrough.
    let config = Command::new("sh")
        .arg("-c")
        .arg("zcat /proc/config.gz 2>/dev/null")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    config.is_empty() || config.contains("CONFIG_FUSE_PASSTHROUGH=y")
}

/// The mount `offline status --json` reports, once the kernel connected.
fn reported_mount(fx: &Fx) -> serde_json::Value {
    let mut found = serde_json::Value::Null;
    wait_until("the mount is reported", Duration::from_secs(10), || {
        found = fx.status()["mounts"][0].clone();
        !found.is_null()
    });
    found
}

/// Runs `sh -c SCRIPT` as `uid` (None: as this process); its stdout.
fn sh_as(uid: Option<u32>, script: &str) -> String {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script);
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    let out = run_bounded(cmd, Duration::from_secs(30));
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Reading, writing and creating through the view work (as the mount's user: only
/// they may enter it), and reach the cache copy.
fn check_content(fx: &Fx, mnt: &Mount, tag: &str, uid: Option<u32>) {
    let m = mnt.dir.display();
    assert_eq!(sh_as(uid, &format!("cat {m}/pinned/sub/q.txt")), "deeper\n");
    let text = format!("written through the view ({tag})\n");
    sh_as(
        uid,
        &format!(
            "printf '{}' > {m}/pinned/p.txt",
            text.trim_end().to_owned() + "\\n"
        ),
    );
    assert_eq!(sh_as(uid, &format!("cat {m}/pinned/p.txt")), text);
    assert_eq!(
        read(&fx.cache.join("pinned/p.txt")).as_deref(),
        Some(text.as_str())
    );
    sh_as(uid, &format!("echo new > {m}/pinned/new-{tag}.txt"));
    assert_eq!(
        read(&fx.cache.join(format!("pinned/new-{tag}.txt"))).as_deref(),
        Some("new\n")
    );
}

#[test]
fn the_status_says_whether_the_kernel_passes_content_through() {
    if fuse_missing() {
        return;
    }
    let fx = fixture();
    // Asked for (the default): passthrough where the kernel and privileges allow.
    let mnt = fx.mount();
    let m = reported_mount(&fx);
    let root = crash_support::euid() == 0;
    if root && kernel_has_passthrough() {
        assert_eq!(m["io"], "passthrough", "{m}");
        assert!(m["fallback"].is_null(), "{m}");
    } else {
        assert_eq!(m["io"], "fuse", "{m}");
        let why = if root { "kernel" } else { "privilege" };
        assert_eq!(m["fallback"], why, "{m}");
    }
    let text = fx.run_ok(&["status"]);
    assert!(text.contains("mount:") && text.contains("/mnt"), "{text}");
    check_content(&fx, &mnt, "default", None);
    mnt.unmount();
    assert!(
        fx.status()["mounts"]
            .as_array()
            .is_some_and(|a| a.is_empty()),
        "an unmounted view is no longer reported"
    );

    // Turned off: everything goes through the mount process, and says so.
    let mnt = fx.mount_with(&["--no-passthrough"], None);
    let m = reported_mount(&fx);
    assert_eq!(m["io"], "fuse", "{m}");
    assert_eq!(m["fallback"], "disabled", "{m}");
    let text = fx.run_ok(&["status"]);
    assert!(text.contains("--no-passthrough"), "{text}");
    check_content(&fx, &mnt, "off", None);
    mnt.unmount();
}

#[test]
fn without_privilege_the_view_falls_back_and_says_why() {
    if fuse_missing() {
        return;
    }
    if crash_support::euid() != 0 {
        // Not root: the default mount above already ran without the privilege.
        common::skip("runs as root only, to mount as another user");
        return;
    }
    if !Path::new("/usr/bin/fusermount3").exists() && !Path::new("/bin/fusermount3").exists() {
        common::skip("fusermount3 (package fuse3) is missing: a user cannot mount");
        return;
    }
    const NOBODY: u32 = 65534;
    let fx = fixture();
    // The user owns everything, the mount point too.
    fs::create_dir_all(fx.dir.path().join("mnt")).unwrap();
    let status = Command::new("chown")
        .args(["-R", &format!("{NOBODY}:{NOBODY}")])
        .arg(fx.dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let program = crash_support::bin_for_everyone();
    let mnt = fx.mount_with(&[], Some((NOBODY, &program)));
    let m = reported_mount(&fx);
    assert_eq!(m["io"], "fuse", "{m}");
    assert_eq!(m["fallback"], "privilege", "{m}");
    let text = fx.run_ok(&["status"]);
    assert!(text.contains("CAP_SYS_ADMIN"), "{text}");
    check_content(&fx, &mnt, "user", Some(NOBODY));
    mnt.unmount();
}

#[test]
fn moving_a_ghost_or_a_folder_of_ghosts_renames_it_on_the_share_without_fetching() {
    if fuse_missing() {
        return;
    }
    let fx = fixture();
    let share_ino = |rel: &str| {
        use std::os::unix::fs::MetadataExt;
        fs::symlink_metadata(fx.share.join(rel)).unwrap().ino()
    };
    let (dir_ino, file_ino) = (share_ino("ghostdir/g.txt"), share_ino("big.bin"));
    let mnt = fx.mount();
    for (from, to) in [("ghostdir", "papers"), ("big.bin", "papers/big2.bin")] {
        let out = run_bounded(
            Command::new("mv").arg(mnt.path(from)).arg(mnt.path(to)),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "mv {from} {to}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(names(&mnt.path("papers")), vec!["big2.bin", "g.txt"]);
    // Renamed on the share at once (same inodes: no copy), still ghosts here.
    assert_eq!(share_ino("papers/g.txt"), dir_ino);
    assert_eq!(share_ino("papers/big2.bin"), file_ino);
    assert!(!fx.share.join("ghostdir").exists() && !fx.share.join("big.bin").exists());
    assert!(!fx.cache.join("papers/g.txt").exists(), "not fetched");
    assert!(!fx.cache.join("papers/big2.bin").exists(), "not fetched");
    let ghosts = fx.run_in_cache(&["ls", "--flat", "--filter", "ghost"]);
    let listed = String::from_utf8_lossy(&ghosts.stdout).to_string();
    assert!(
        listed.contains("papers/g.txt") && listed.contains("papers/big2.bin"),
        "{listed}"
    );
    // Reading through the view still works (fetched then).
    assert_eq!(
        read(&mnt.path("papers/g.txt")).as_deref(),
        Some("ghost content\n")
    );
    mnt.unmount();
    // The next sync has nothing to carry out.
    let out = fx.run_in_cache(&["sync", "--dry-run"]);
    let plan = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(plan.contains("0 items would be synced"), "{plan}");
}

/// The lines of `offline sync --json`, asserting it exits 0 with no error and no
/// conflict; the item lines and the summary.
fn sync_json(fx: &Fx) -> (Vec<serde_json::Value>, serde_json::Value) {
    let (out, mut lines) = fx.json(&["sync", "--json"]);
    assert!(
        out.status.success(),
        "sync exited {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = lines.pop().expect("a summary line");
    let summary = summary["summary"].clone();
    assert_eq!(summary["errors"], 0, "{summary}");
    assert_eq!(summary["conflicts"], 0, "{summary}");
    (lines, summary)
}

#[test]
fn rm_of_folders_holding_ghosts_through_the_view_deletes_them_at_the_next_sync() {
    if fuse_missing() {
        return;
    }
    // `docs` is a cache folder (one file fetched) holding ghosts, one in a ghost
    // subfolder; `ghostdir` (from the fixture) is a ghost folder, a ghost inside;
    // `keep` stays (and keeps the deletion under the mass-delete guard's limit).
    let fx = Fx::new();
    for (path, text) in [
        ("docs/f1", "one\n"),
        ("docs/f2", "two\n"),
        ("docs/sub/f3", "three\n"),
        ("ghostdir/g.txt", "ghost content\n"),
        ("ghostdir/deeper/h.txt", "deeper ghost\n"),
    ] {
        fx.write_share(path, text);
    }
    for i in 0..10 {
        fx.write_share(&format!("keep/k{i}"), &format!("kept {i}\n"));
    }
    fx.init(&["--no-pin"]);
    fx.run_ok(&["sync"]);
    fx.run_in_cache_ok(&["fetch", "docs/f1"]);
    assert!(fx.cache.join("docs/f1").is_file());
    assert!(!fx.cache.join("docs/f2").exists() && !fx.cache.join("ghostdir").exists());
    let mnt = fx.mount();
    for dir in ["docs", "ghostdir"] {
        let out = run_bounded(
            Command::new("rm").arg("-r").arg(mnt.path(dir)),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "rm -r {dir}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(fs::symlink_metadata(mnt.path(dir)).is_err(), "{dir} gone");
    }
    assert_eq!(names(&mnt.dir), vec!["keep"]);
    mnt.unmount();
    // Nothing fetched to delete, nothing changed on the share yet.
    assert!(!fx.cache.join("docs").exists() && !fx.cache.join("ghostdir").exists());
    assert_eq!(
        read(&fx.share.join("docs/sub/f3")).as_deref(),
        Some("three\n")
    );
    // The sync deletes both folders with everything under them, ghosts included.
    let (items, _) = sync_json(&fx);
    assert!(!items.is_empty(), "the deletions are carried out");
    for gone in ["docs", "ghostdir"] {
        assert!(
            fs::symlink_metadata(fx.share.join(gone)).is_err(),
            "{gone} is deleted on the share: {items:#?}"
        );
    }
    assert_eq!(read(&fx.share.join("keep/k3")).as_deref(), Some("kept 3\n"));
    // Nothing comes back into the cache, and the next sync has nothing to do.
    assert!(!fx.cache.join("docs").exists() && !fx.cache.join("ghostdir").exists());
    let (items, summary) = sync_json(&fx);
    assert!(items.is_empty(), "a second sync is a no-op: {items:#?}");
    assert_eq!(summary["bytes"], 0, "{summary}");
    fx.assert_nothing_waits();
    // The deleted items are no longer listed, as ghosts or otherwise.
    let (_, listed) = fx.json(&["ls", "--flat", "--json"]);
    let paths: Vec<&str> = listed.iter().filter_map(|i| i["path"].as_str()).collect();
    assert!(
        paths
            .iter()
            .all(|p| !p.starts_with("docs") && !p.starts_with("ghostdir")),
        "{paths:?}"
    );
}
