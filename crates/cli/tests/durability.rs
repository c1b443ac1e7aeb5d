//! The flushes that README and docs/SAFETY.md promise, seen in the system calls of a
//! real sync (`strace`): a batch of copies is made durable (`syncfs`) before it is
//! renamed into place with `RENAME_NOREPLACE`, and again after, before the base that
//! records it is committed; a deletion flushes its folder; and the state database
//! runs with `synchronous=FULL`: the journal's commit flushes the WAL before the
//! first side is touched (under NORMAL a WAL commit is not flushed).

mod common;
mod crash_support;

use crash_support::{Side, World};
use std::process::Command;

/// One traced system call: its name and its text (fds shown with their paths).
struct Call {
    name: String,
    text: String,
}

/// The calls of `strace -f -y` output, in order.
fn calls(log: &str) -> Vec<Call> {
    log.lines()
        .filter_map(|line| {
            // `PID name(args) = result`
            let rest = line
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start();
            let name = rest.split('(').next()?.to_string();
            Some(Call {
                name,
                text: rest.to_string(),
            })
        })
        .collect()
}

fn position(calls: &[Call], what: &str, pred: impl Fn(&Call) -> bool) -> usize {
    calls
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("no {what} in the trace"))
}

fn last_position(calls: &[Call], what: &str, pred: impl Fn(&Call) -> bool) -> usize {
    calls
        .iter()
        .rposition(pred)
        .unwrap_or_else(|| panic!("no {what} in the trace"))
}

#[test]
fn a_sync_flushes_before_it_places_and_before_it_records() {
    let strace_ok = Command::new("strace")
        .args(["-qq", "-e", "trace=none", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !strace_ok {
        common::skip("strace is missing or may not trace here (.ci/run installs it)");
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("offline-durability-")
        .tempdir()
        .expect("temp dir");
    let world = World::new(&dir.path().join("w"));
    world.write(Side::Share, "base.txt", "base");
    world.write(Side::Share, "gone.txt", "to be deleted");
    world.init();
    world.sync_ok(&[]);
    for i in 1..=3 {
        world.write(Side::Cache, &format!("up{i}.txt"), format!("up {i}"));
    }
    world.write(Side::Share, "down.txt", "down");
    world.remove(Side::Cache, "gone.txt");
    let log = dir.path().join("strace.log");
    let out = Command::new("strace")
        .args(["-f", "-y", "-qq", "-o"])
        .arg(&log)
        .args([
            "-e",
            "trace=fsync,fdatasync,syncfs,rename,renameat,renameat2,unlink,unlinkat,execve",
        ])
        .arg(crash_support::bin())
        .arg("-C")
        .arg(&world.cache)
        .arg("sync")
        // A mark in the trace where the journal's commit begins (crash point 1): a
        // hook that runs `sh`, seen as its execve.
        .env("OFFLINE_HOOK_AT", "1")
        .env("OFFLINE_HOOK_CMD", "exit 0")
        .env("OFFLINE_LOG", "warn")
        .output()
        .expect("run strace");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the traced sync: {stderr}");
    assert!(
        stderr.contains("crashpoint 1 store.commit.before: ran the hook"),
        "the hook marks the journal's commit: {stderr}"
    );
    let trace = std::fs::read_to_string(&log).expect("the trace");
    let calls = calls(&trace);
    let share = world.share.display().to_string();
    let cache = world.cache.display().to_string();
    let on =
        |c: &Call, name: &str, path: &str| c.name == name && c.text.contains(&format!("<{path}>"));
    let wal = |c: &Call| c.name == "fsync" && c.text.contains("state.db-wal>");

    // synchronous=FULL: the journal's commit flushes the WAL before any side is
    // touched (under NORMAL a WAL commit is not flushed: the first flush of the WAL
    // after it would be the checkpoint at the end of the run).
    let mark = position(&calls, "the hook's execve", |c| {
        c.name == "execve" && c.text.contains("\"-c\"")
    });
    let first_side = position(&calls, "a change to a side", |c| {
        c.name.starts_with("rename") || c.name.starts_with("unlink") || c.name == "syncfs"
    });
    assert!(mark < first_side, "the journal is written first:\n{trace}");
    assert!(
        calls[mark..first_side].iter().any(wal),
        "the journal's commit flushes the WAL before a side changes:\n{trace}"
    );

    // Each new file goes in by a RENAME_NOREPLACE of a temp file, between two syncfs
    // of its side; the base is committed (WAL fsync) after the second.
    for (side, names) in [
        (&share, vec!["up1.txt", "up2.txt", "up3.txt"]),
        (&cache, vec!["down.txt"]),
    ] {
        let placed: Vec<usize> = names
            .iter()
            .map(|name| {
                position(&calls, &format!("the rename of {name}"), |c| {
                    c.name == "renameat2"
                        && c.text.contains(".offline-tmp-")
                        && c.text.contains(&format!("\"{name}\""))
                        && c.text.contains("RENAME_NOREPLACE")
                        && c.text.contains(&format!("<{side}>"))
                })
            })
            .collect();
        let (first, last) = (placed[0], *placed.iter().max().expect("placed"));
        let before = calls[..first].iter().any(|c| on(c, "syncfs", side));
        assert!(
            before,
            "{side}: staged copies are flushed before they are placed:\n{trace}"
        );
        let after = calls[last..]
            .iter()
            .position(|c| on(c, "syncfs", side))
            .map(|p| p + last)
            .unwrap_or_else(|| panic!("{side}: no syncfs after the renames:\n{trace}"));
        let recorded = last_position(&calls, "a WAL fsync", wal);
        assert!(
            after < recorded,
            "{side}: the renames are flushed before the base is committed:\n{trace}"
        );
    }

    // The deletion on the share flushes the share's folder after the unlink.
    let unlink = position(&calls, "the unlink of gone.txt", |c| {
        c.name.starts_with("unlink") && c.text.contains("\"gone.txt\"")
    });
    assert!(
        calls[unlink..].iter().any(|c| on(c, "fsync", &share)),
        "the share's folder is flushed after the deletion:\n{trace}"
    );

    println!("{} traced calls", calls.len());
}
