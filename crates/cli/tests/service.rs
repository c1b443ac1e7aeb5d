//! End-to-end tests of the service: `offline daemon` on temporary caches with short
//! intervals, and `offline events` as a subscriber. Every wait is bounded, so a hang
//! fails the test instead of blocking the suite.

mod service_support;

use serde_json::Value;
use service_support::*;
use std::fs;
use std::path::Path;
use std::time::Duration;

#[test]
fn a_local_edit_reaches_the_share_without_a_manual_sync() {
    let fx = Fx::synced(&[("a.txt", "one"), ("dir/b.txt", "two")]);
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    fs::write(fx.cache.join("a.txt"), "one, edited").unwrap();
    fs::create_dir_all(fx.cache.join("new/deeper")).unwrap();
    fs::write(fx.cache.join("new/deeper/c.txt"), "three").unwrap();
    fs::remove_file(fx.cache.join("dir/b.txt")).unwrap();
    wait_until("the edits reach the share", Duration::from_secs(20), || {
        read(&fx.share.join("a.txt")).as_deref() == Some("one, edited")
            && read(&fx.share.join("new/deeper/c.txt")).as_deref() == Some("three")
            && !fx.share.join("dir/b.txt").exists()
    });
    // Nothing waits any more.
    wait_until("the cache is clean", Duration::from_secs(10), || {
        fx.status()["dirty_items"] == 0
    });
    daemon.stop();
}

#[test]
fn a_share_change_arrives_with_the_scheduled_sync() {
    let fx = Fx::synced(&[("a.txt", "one")]);
    fx.config(&["--sync-interval", "2s"]);
    let daemon = fx.daemon();
    fs::write(fx.share.join("from-share.txt"), "hello").unwrap();
    wait_until(
        "the scheduled sync brings the share's file",
        Duration::from_secs(20),
        || read(&fx.cache.join("from-share.txt")).as_deref() == Some("hello"),
    );
    daemon.stop();
}

#[test]
fn status_shows_the_daemon_and_when_the_next_sync_is_due() {
    let fx = Fx::synced(&[("a.txt", "one")]);
    fx.config(&["--sync-interval", "1h"]);
    assert_eq!(fx.status()["daemon"]["running"], false);
    let text = fx.run_ok(&["status"]);
    assert!(text.contains("daemon:       not running"), "{text}");
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let status = fx.status();
    let d = &status["daemon"];
    assert_eq!(d["running"], true, "{status}");
    assert_eq!(d["pid"], daemon.pid());
    let next = d["next_sync_ns"].as_i64().expect("next_sync_ns");
    let in_secs = (next - now_ns()) / 1_000_000_000;
    assert!((3500..=3600).contains(&in_secs), "next sync in {in_secs} s");
    let text = fx.run_ok(&["status"]);
    assert!(
        text.contains(&format!("daemon:       running (pid {})", daemon.pid())),
        "{text}"
    );
    assert!(text.contains("next sync:"), "{text}");
    daemon.stop();
    assert_eq!(fx.status()["daemon"]["running"], false);
    assert!(!fx.cache.join(".offline/daemon.json").exists());
}

#[test]
fn a_share_removed_and_restored_goes_offline_and_back_online_by_itself() {
    let fx = Fx::synced(&[("a.txt", "one"), ("b.txt", "two")]);
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let events = fx.subscribe(&[]);
    let gone = fx.dir.path().join("share-unmounted");
    fs::rename(&fx.share, &gone).unwrap();
    // The daemon notices by itself (a probe every retry interval).
    events.expect(
        |e| id(e) == 15,
        Duration::from_secs(15),
        "item_disconnected",
    );
    let status = fx.status();
    assert_eq!(status["connect_state"], "offline", "{status}");
    assert_eq!(status["offline_reason"], "connection_error");
    // Work goes on in the cache; the change waits.
    fs::write(fx.cache.join("a.txt"), "edited offline").unwrap();
    events.expect(
        |e| id(e) == 21 && e["path"] == "a.txt",
        Duration::from_secs(10),
        "item_modified",
    );
    // Reconnect attempts are announced while it stays away; after one, the change
    // has still not gone anywhere.
    events.expect(
        |e| id(e) == 28 && e["online"] == false,
        Duration::from_secs(10),
        "a failed reconnect attempt",
    );
    assert_eq!(read(&gone.join("a.txt")).as_deref(), Some("one"));
    assert_eq!(fx.status()["daemon"]["activity"], "offline");
    // The share comes back: online again and the queued change goes out.
    fs::rename(&gone, &fx.share).unwrap();
    events.expect(|e| id(e) == 16, Duration::from_secs(15), "item_reconnected");
    wait_until(
        "the queued change is pushed",
        Duration::from_secs(15),
        || read(&fx.share.join("a.txt")).as_deref() == Some("edited offline"),
    );
    let status = fx.status();
    assert_eq!(status["connect_state"], "online", "{status}");
    assert_eq!(status["offline_reason"], "not_applicable");
    daemon.stop();
}

#[test]
fn working_offline_on_purpose_is_not_undone_by_the_daemon() {
    let fx = Fx::synced(&[("a.txt", "one")]);
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let events = fx.subscribe(&[]);
    fx.run_ok(&["disconnect"]);
    events.expect(
        |e| id(e) == 15 && e["offline_reason"] == "connection_forced",
        Duration::from_secs(10),
        "item_disconnected (forced)",
    );
    fs::write(fx.cache.join("a.txt"), "edited while disconnected").unwrap();
    // The daemon sees the edit; then three retry intervals (1 s) and ten push delays
    // (300 ms) pass without any reconnect attempt or sync starting.
    events.expect(
        |e| id(e) == 21 && e["path"] == "a.txt",
        Duration::from_secs(10),
        "item_modified",
    );
    let quiet = events.drain_for(Duration::from_secs(3));
    let acted: Vec<&Value> = quiet
        .iter()
        .filter(|e| matches!(id(e), 11 | 5 | 27))
        .collect();
    assert!(acted.is_empty(), "offline on purpose, yet: {acted:#?}");
    let status = fx.status();
    assert_eq!(status["connect_state"], "offline", "{status}");
    assert_eq!(status["offline_reason"], "connection_forced");
    assert_eq!(status["daemon"]["activity"], "disconnected");
    assert_eq!(read(&fx.share.join("a.txt")).as_deref(), Some("one"));
    // `offline reconnect`: the daemon sends what waited.
    fx.run_ok(&["reconnect"]);
    events.expect(|e| id(e) == 16, Duration::from_secs(10), "item_reconnected");
    wait_until(
        "the change is pushed after reconnect",
        Duration::from_secs(15),
        || read(&fx.share.join("a.txt")).as_deref() == Some("edited while disconnected"),
    );
    daemon.stop();
}

#[test]
fn events_arrive_in_order_with_the_right_ids() {
    let fx = Fx::synced(&[("a.txt", "one"), ("sub/b.txt", "two")]);
    // Both edits below fall in one quiet period, even on a loaded machine.
    fx.config(&["--push-delay", "1s"]);
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let all = fx.subscribe(&[]);
    let only = fx.subscribe(&["--only", "sync_begin,6,sync-end"]);
    let sub_path = fx.cache.join("sub");
    let under_sub = fx.subscribe(&[
        "--path",
        sub_path.to_str().unwrap(),
        "--match",
        "descendant",
    ]);
    fs::write(fx.cache.join("a.txt"), "one, edited").unwrap();
    fs::write(fx.cache.join("sub/b.txt"), "two, edited").unwrap();
    let got = all.collect_until(|e| id(e) == 12, Duration::from_secs(20));
    let ids: Vec<u64> = got.iter().map(id).filter(|i| *i != 26).collect();
    // item_modified for each edit first; then, in this order (a promise), the run:
    // background_sync_begin, sync_begin, a result per item, sync_end,
    // background_sync_end.
    let first_run = ids.iter().position(|i| *i != 21).unwrap_or(ids.len());
    let mut modified: Vec<&str> = got
        .iter()
        .filter(|e| id(e) == 21)
        .filter_map(|e| e["path"].as_str())
        .collect();
    modified.sort();
    modified.dedup();
    assert_eq!(modified, vec!["a.txt", "sub/b.txt"], "{got:#?}");
    assert_eq!(&ids[first_run..], &[11, 5, 6, 6, 10, 12], "{got:#?}");
    let sync_id = got.iter().find(|e| id(e) == 5).unwrap()["sync_id"].clone();
    assert!(sync_id.as_str().is_some_and(|s| s.len() == 36));
    for e in got.iter().filter(|e| matches!(id(e), 5 | 6 | 10 | 11 | 12)) {
        assert_eq!(e["sync_id"], sync_id, "one sync id per run: {e}");
    }
    for e in &got {
        assert_eq!(e["event"], event_name(id(e)), "names match ids: {e}");
    }
    let results: Vec<&Value> = got.iter().filter(|e| id(e) == 6).collect();
    let mut paths: Vec<&str> = results
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(paths, vec!["a.txt", "sub/b.txt"]);
    for e in &results {
        assert_eq!(e["operation"], "sync_to_server");
        assert_eq!(e["result"], "ok");
        assert_eq!(
            e["cache"],
            fx.cache.canonicalize().unwrap().to_str().unwrap()
        );
    }
    let end = got.iter().find(|e| id(e) == 10).unwrap();
    assert_eq!(end["result"], "ok");

    // The filtered subscribers got their part only (after the first ping, which
    // says the subscription is live).
    let got_only = only.collect_until(|e| id(e) == 10, Duration::from_secs(10));
    let ids: Vec<u64> = got_only.iter().map(id).collect();
    assert_eq!(ids, vec![5, 6, 6, 10], "{got_only:#?}");
    let got_sub = under_sub.collect_until(|e| id(e) == 10, Duration::from_secs(10));
    let item_paths: Vec<&str> = got_sub
        .iter()
        .filter_map(|e| e["path"].as_str())
        .filter(|p| !p.is_empty())
        .collect();
    assert!(!item_paths.is_empty(), "{got_sub:#?}");
    assert!(
        item_paths.iter().all(|p| p.starts_with("sub/")),
        "{got_sub:#?}"
    );
    daemon.stop();
}

#[test]
fn conflicts_pins_and_evictions_become_events() {
    let fx = Fx::new();
    fx.write_share("doc.txt", "base");
    fx.write_share("pics/p1.jpg", "jpeg");
    fx.init(&["--no-pin"]);
    fx.run_ok(&["sync"]);
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let events = fx.subscribe(&[]);
    // Pinning (another command) shows as item_pinned and item_added_to_cache.
    fx.run_in_cache_ok(&["pin", "pics"]);
    events.expect(
        |e| id(e) == 19 && e["path"] == "pics",
        Duration::from_secs(10),
        "item_pinned",
    );
    events.expect(
        |e| id(e) == 22 && e["path"] == "pics/p1.jpg",
        Duration::from_secs(10),
        "item_added_to_cache",
    );
    fx.run_in_cache_ok(&["unpin", "pics"]);
    events.expect(
        |e| id(e) == 20 && e["path"] == "pics",
        Duration::from_secs(10),
        "item_not_pinned",
    );
    fx.run_in_cache_ok(&["evict", "pics"]);
    events.expect(
        |e| id(e) == 23 && e["path"] == "pics/p1.jpg",
        Duration::from_secs(10),
        "item_deleted_from_cache",
    );
    // A conflict: both sides change doc.txt.
    fx.run_in_cache_ok(&["fetch", "doc.txt"]);
    events.expect(
        |e| id(e) == 22 && e["path"] == "doc.txt",
        Duration::from_secs(10),
        "doc.txt cached",
    );
    fs::write(fx.share.join("doc.txt"), "share side").unwrap();
    fs::write(fx.cache.join("doc.txt"), "cache side").unwrap();
    let added = events.expect(
        |e| id(e) == 7,
        Duration::from_secs(20),
        "sync_conflict_rec_added",
    );
    assert_eq!(added["path"], "doc.txt");
    events.expect(
        |e| id(e) == 10,
        Duration::from_secs(10),
        "sync_end after the conflict",
    );
    fx.run_in_cache_ok(&["resolve", "doc.txt", "--keep", "local"]);
    events.expect(
        |e| id(e) == 9 && e["path"] == "doc.txt",
        Duration::from_secs(10),
        "sync_conflict_rec_removed",
    );
    daemon.stop();
}

#[test]
fn sigterm_mid_sync_loses_nothing() {
    let fx = Fx::new();
    let count = 30;
    // Share folders with a file each (folders are carried one by one, so the run can
    // stop between them), and local files that must go out.
    let share_text = |i: usize| format!("share file {i}\n").repeat(200);
    let local_text = |i: usize| format!("local file {i}\n").repeat(200);
    for i in 0..count {
        fx.write_share(&format!("s{i:02}/file.txt"), &share_text(i));
    }
    fx.init(&[]);
    for i in 0..count {
        fs::write(fx.cache.join(format!("l{i:02}.txt")), local_text(i)).unwrap();
    }
    let events = fx.subscribe_waiting();
    let daemon = fx.daemon_with_env(&[("OFFLINE_DAEMON_ITEM_DELAY_MS", "100")]);
    // The startup sync runs; stop the daemon in the middle of it.
    events.expect(
        |e| id(e) == 6 && e["path"].as_str().is_some_and(|p| p.starts_with('s')),
        Duration::from_secs(30),
        "the first share folder of the startup sync",
    );
    let code = daemon.terminate(Duration::from_secs(30));
    assert_eq!(code, Some(0), "the daemon exits 0 on SIGTERM");
    let end = events.expect(
        |e| id(e) == 10,
        Duration::from_secs(5),
        "sync_end of the stopped run",
    );
    assert_eq!(end["result"], "cancelled", "{end}");
    assert_eq!(end["stopped"], "stopped on request", "{end}");
    // Nothing half-written anywhere, and every file either done or untouched.
    let no_temp = |dir: &Path| {
        for entry in fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                !name.starts_with(".offline-tmp-"),
                "temp file left in {}: {name}",
                dir.display()
            );
        }
    };
    no_temp(&fx.cache);
    no_temp(&fx.share);
    let mut brought = 0;
    for i in 0..count {
        let dir = fx.cache.join(format!("s{i:02}"));
        if dir.exists() {
            no_temp(&dir);
        }
        if let Some(got) = read(&dir.join("file.txt")) {
            assert_eq!(got, share_text(i), "s{i:02}/file.txt is whole");
            brought += 1;
        }
        if let Some(got) = read(&fx.share.join(format!("l{i:02}.txt"))) {
            assert_eq!(got, local_text(i), "l{i:02}.txt is whole on the share");
        }
        assert_eq!(
            read(&fx.cache.join(format!("l{i:02}.txt"))),
            Some(local_text(i))
        );
    }
    assert!(brought < count, "the run was stopped before the end");
    // The next sync finishes the work: both sides complete.
    fx.run_ok(&["sync"]);
    for i in 0..count {
        let s = format!("s{i:02}/file.txt");
        let l = format!("l{i:02}.txt");
        assert_eq!(read(&fx.cache.join(&s)), Some(share_text(i)), "{s}");
        assert_eq!(read(&fx.share.join(&s)), Some(share_text(i)), "{s}");
        assert_eq!(read(&fx.cache.join(&l)), Some(local_text(i)), "{l}");
        assert_eq!(read(&fx.share.join(&l)), Some(local_text(i)), "{l}");
    }
    fx.assert_nothing_waits();
}

#[test]
fn one_daemon_serves_many_caches_and_a_second_daemon_is_refused() {
    let a = Fx::synced(&[("a.txt", "a")]);
    let b = Fx::synced(&[("b.txt", "b")]);
    let daemon = a.daemon_for(&[&a.cache, &b.cache]);
    a.wait_daemon_idle();
    b.wait_daemon_idle();
    fs::write(a.cache.join("a.txt"), "a edited").unwrap();
    fs::write(b.cache.join("b.txt"), "b edited").unwrap();
    wait_until("both caches push", Duration::from_secs(20), || {
        read(&a.share.join("a.txt")).as_deref() == Some("a edited")
            && read(&b.share.join("b.txt")).as_deref() == Some("b edited")
    });
    // A second daemon for a cache already served is refused by the cache's lock (it
    // has a socket of its own, so nothing else can refuse it).
    let own_socket = b.dir.path().join("second.sock");
    let out = b.run_with_socket(&["daemon", b.cache.to_str().unwrap()], &own_socket);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("already serves the cache"),
        "refused for the cache: {stderr}"
    );
    // A daemon for another cache on the same events socket is refused by the socket.
    let c = Fx::synced(&[("c.txt", "c")]);
    let out = c.run_with_socket(&["daemon", c.cache.to_str().unwrap()], &a.socket);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("already publishes events"),
        "refused for the socket: {stderr}"
    );
    daemon.stop();
}

#[test]
fn the_events_command_lists_ids_and_rejects_unknown_ones() {
    let fx = Fx::new();
    let text = fx.run_plain(&["events", "--list"]);
    assert!(text.contains("  5 sync_begin"), "{text}");
    assert!(text.contains(" 26 ping"), "{text}");
    let out = fx.run_with_socket(&["events", "--only", "nonsense"], &fx.socket);
    assert_eq!(out.status.code(), Some(2));
    // No daemon: a clear message, exit 2.
    let out = fx.run_with_socket(&["events"], &fx.socket);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no offline daemon"));
}

#[test]
fn config_sets_and_shows_the_daemon_schedule() {
    let fx = Fx::synced(&[]);
    fx.config(&[
        "--sync-interval",
        "45m",
        "--sync-jitter",
        "5m",
        "--blackout",
        "22:00-06:30",
    ]);
    let (out, lines) = fx.json(&["config", "--json"]);
    assert!(out.status.success());
    let d = &lines[0]["daemon"];
    assert_eq!(d["sync_interval"], "45m");
    assert_eq!(d["sync_jitter"], "5m");
    assert_eq!(d["blackout"], "22:00-06:30");
    // Bad values are bad usage (exit 2) with a message naming them, never a panic.
    for (option, value) in [("--blackout", "late"), ("--sync-interval", "soon")] {
        let out = fx.run_raw(&["config", option, value]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{option} {value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            stderr.contains(value),
            "the message names {value:?}: {stderr}"
        );
    }
    let (_, lines) = fx.json(&["config", "--json"]);
    assert_eq!(lines[0]["daemon"]["blackout"], "22:00-06:30", "unchanged");
}

#[test]
fn a_blackout_window_holds_automatic_syncs() {
    let fx = Fx::synced(&[("a.txt", "one")]);
    // A window covering the whole day: nothing automatic happens.
    fx.config(&["--blackout", "00:00-24:00"]);
    let daemon = fx.daemon();
    wait_until(
        "the daemon is in its blackout",
        Duration::from_secs(20),
        || {
            let s = fx.status();
            s["daemon"]["running"] == true && s["daemon"]["activity"] == "blackout"
        },
    );
    let events = fx.subscribe(&[]);
    fs::write(fx.cache.join("a.txt"), "edited").unwrap();
    // The daemon sees the edit; then ten push delays (300 ms) pass without a sync.
    events.expect(
        |e| id(e) == 21 && e["path"] == "a.txt",
        Duration::from_secs(10),
        "item_modified",
    );
    let quiet = events.drain_for(Duration::from_secs(3));
    let synced: Vec<&Value> = quiet.iter().filter(|e| matches!(id(e), 11 | 5)).collect();
    assert!(synced.is_empty(), "a sync ran in the blackout: {synced:#?}");
    assert_eq!(read(&fx.share.join("a.txt")).as_deref(), Some("one"));
    assert_eq!(fx.status()["daemon"]["activity"], "blackout");
    // The window is lifted: the change goes out.
    fx.config(&["--blackout", "none"]);
    wait_until(
        "the change goes out after the blackout",
        Duration::from_secs(15),
        || read(&fx.share.join("a.txt")).as_deref() == Some("edited"),
    );
    daemon.stop();
}

#[test]
fn the_daemon_never_forces_a_mass_deletion() {
    let names: Vec<String> = (0..10).map(|i| format!("f{i}.txt")).collect();
    let files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "data")).collect();
    let fx = Fx::synced(&files);
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let events = fx.subscribe(&[]);
    for name in names.iter().take(8) {
        fs::remove_file(fx.cache.join(name)).unwrap();
    }
    let refused = events.expect(|e| id(e) == 100, Duration::from_secs(20), "sync_error");
    assert_eq!(refused["refused"], true, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("--force"),
        "{refused}"
    );
    // The refused run ends (and says so) without touching the share.
    let end = events.expect(
        |e| id(e) == 12,
        Duration::from_secs(10),
        "background_sync_end",
    );
    assert_eq!(end["result"], "refused", "{end}");
    for name in &names {
        assert!(fx.share.join(name).exists(), "{name} is still on the share");
    }
    daemon.stop();
}

#[test]
fn a_subscriber_that_never_reads_does_not_hold_syncs_up_and_gets_data_lost() {
    use std::io::{BufRead, BufReader, Write};
    let fx = Fx::synced(&[("a.txt", "one")]);
    let daemon = fx.daemon_with_env(&[("OFFLINE_EVENTS_QUEUE", "16")]);
    fx.wait_daemon_idle();
    // Subscribes, then reads nothing while a lot happens.
    let mut stalled = std::os::unix::net::UnixStream::connect(&fx.socket).unwrap();
    stalled.write_all(b"{\"subscribe\":{}}\n").unwrap();
    let count = 600;
    for i in 0..count {
        fs::write(
            fx.cache.join(format!("n{i:03}.txt")),
            format!("{i}\n").repeat(20),
        )
        .unwrap();
    }
    wait_until(
        "every file reaches the share",
        Duration::from_secs(60),
        || (0..count).all(|i| fx.share.join(format!("n{i:03}.txt")).exists()),
    );
    // Now it reads: somewhere in what it gets, the loss is reported.
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut lost = None;
    for line in BufReader::new(stalled).lines() {
        let Ok(line) = line else { break };
        let event: Value = serde_json::from_str(&line).unwrap();
        if id(&event) == 25 {
            lost = Some(event);
            break;
        }
    }
    let lost = lost.expect("a data_lost event");
    assert!(lost["dropped"].as_u64().unwrap() > 0, "{lost}");
    daemon.stop();
}

#[test]
fn a_syncs_own_writes_are_not_taken_for_local_edits() {
    let fx = Fx::synced(&[("a.txt", "one")]);
    fx.config(&["--sync-interval", "2s"]);
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let events = fx.subscribe(&[]);
    fs::write(fx.share.join("from-share.txt"), "hello").unwrap();
    fs::write(fx.share.join("a.txt"), "changed on the share").unwrap();
    // The scheduled sync brings both in...
    let got = events.collect_until(
        |e| id(e) == 12 && e["reason"] == "scheduled",
        Duration::from_secs(20),
    );
    assert!(
        got.iter()
            .any(|e| id(e) == 6 && e["path"] == "from-share.txt"),
        "{got:#?}"
    );
    // ...and what it wrote into the cache is no local edit: up to the end of the next
    // scheduled sync (2 s later), no item_modified and no push.
    let more = events.collect_until(
        |e| id(e) == 12 && e["reason"] == "scheduled",
        Duration::from_secs(20),
    );
    let noise: Vec<&Value> = more
        .iter()
        .filter(|e| id(e) == 21 || (id(e) == 11 && e["reason"] == "push"))
        .collect();
    assert!(noise.is_empty(), "{noise:#?}");
    daemon.stop();
}

#[test]
fn sigterm_stops_between_the_files_of_a_batch() {
    let fx = Fx::new();
    let count = 150;
    let text = |i: usize| format!("batched file {i}\n").repeat(50);
    for i in 0..count {
        fx.write_share(&format!("b{i:03}.txt"), &text(i));
    }
    fx.init(&[]);
    let events = fx.subscribe_waiting();
    // Plain file copies go through one batch, whose results come at its end.
    let daemon = fx.daemon_with_env(&[("OFFLINE_DAEMON_ITEM_DELAY_MS", "40")]);
    // Stopped once 10 copies are staged (their temp files in the cache), well before
    // the batch of 150 is placed.
    let staged = || {
        fs::read_dir(&fx.cache)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(".offline-tmp-"))
                    .count()
            })
            .unwrap_or(0)
    };
    wait_until("10 copies are staged", Duration::from_secs(60), || {
        staged() >= 10
    });
    let code = daemon.terminate(Duration::from_secs(30));
    assert_eq!(code, Some(0), "the daemon exits 0 on SIGTERM");
    let end = events.expect(|e| id(e) == 10, Duration::from_secs(5), "sync_end");
    assert_eq!(end["result"], "cancelled", "{end}");
    let mut brought = 0;
    for i in 0..count {
        if let Some(got) = read(&fx.cache.join(format!("b{i:03}.txt"))) {
            assert_eq!(got, text(i), "b{i:03}.txt is whole");
            brought += 1;
        }
    }
    assert!(
        brought > 0 && brought < count,
        "stopped mid-batch: {brought} of {count}"
    );
    for entry in fs::read_dir(&fx.cache).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(!name.starts_with(".offline-tmp-"), "temp file left: {name}");
    }
    fx.run_ok(&["sync"]);
    for i in 0..count {
        assert_eq!(read(&fx.cache.join(format!("b{i:03}.txt"))), Some(text(i)));
    }
    fx.assert_nothing_waits();
}

#[test]
fn the_periodic_rescan_finds_changes_the_watcher_missed() {
    let fx = Fx::synced(&[("a.txt", "one")]);
    fx.config(&["--rescan-interval", "1s"]);
    // No watcher at all: only the rescan can see the edit.
    let daemon = fx.daemon_with_env(&[("OFFLINE_DAEMON_NO_WATCH", "1")]);
    fx.wait_daemon_idle();
    let events = fx.subscribe(&[]);
    fs::write(fx.cache.join("a.txt"), "seen by the rescan").unwrap();
    fs::write(fx.cache.join("new.txt"), "new").unwrap();
    let begin = events.expect(
        |e| id(e) == 11,
        Duration::from_secs(15),
        "background_sync_begin",
    );
    assert_eq!(begin["reason"], "rescan", "{begin}");
    wait_until(
        "the rescan pushes the edits",
        Duration::from_secs(15),
        || {
            read(&fx.share.join("a.txt")).as_deref() == Some("seen by the rescan")
                && read(&fx.share.join("new.txt")).as_deref() == Some("new")
        },
    );
    daemon.stop();
}
