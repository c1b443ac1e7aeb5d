//! End-to-end tests of `offline mount` (the FUSE view), with the daemon where changes
//! must reach the share. Where /dev/fuse is absent each test says `SKIPPED: ...`
//! (and fails under CI=true, see `common::skip`). Every wait is bounded.

mod common;
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
