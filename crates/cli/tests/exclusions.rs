//! Exclusions end to end (issue 17), driving the real binary on real folders:
//! `.offlineignore` files (nested, with `!` re-includes), the cache's own patterns,
//! the built-in list, what an excluded path is (never copied, deleted nor compared;
//! its base forgotten; a new item when included again), what it costs (an excluded
//! folder is never listed: counted with strace), how it is seen (`check-ignore`,
//! `ls --filter excluded`, `status`, dry runs), and the safety rules (patterns that
//! exclude everything, the mass-delete guard, an ignore file from the share).

mod common;
mod service_support;

use common::*;
use serde_json::Value;
use std::fs;
use std::process::Command;
use std::time::Duration;

fn run_ok(fx: &Fixture, args: &[&str]) -> String {
    let out = fx.run(args);
    assert_code(&out, EXIT_OK, &format!("offline {args:?}"));
    stdout(&out)
}

fn sync_ok(fx: &Fixture) -> JsonRun {
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run
}

/// The paths a `sync --json` run reported, with their operations.
fn reported(run: &JsonRun) -> Vec<String> {
    run.items
        .iter()
        .filter(|i| i["result"] != "skipped")
        .map(|i| i["path"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// The reason of the skipped report about `path`.
fn skipped_reason(run: &JsonRun, path: &str) -> String {
    let notes: Vec<&Value> = run
        .for_path(path)
        .into_iter()
        .filter(|i| i["result"] == "skipped")
        .collect();
    assert_eq!(
        notes.len(),
        1,
        "one skipped report for {path}: {:#?}",
        run.items
    );
    notes[0]["reason"].as_str().unwrap_or("").to_string()
}

#[test]
fn nested_ignore_files_apply_below_their_folder_and_a_bang_includes_again() {
    let fx = Fixture::new();
    fx.write(
        Side::Share,
        ".offlineignore",
        "# build output\n*.log\nbuild/\n",
    );
    fx.write(Side::Share, "sub/.offlineignore", "!keep.log\n");
    for path in [
        "a.log",
        "notes.txt",
        "sub/keep.log",
        "sub/other.log",
        "build/out.o",
        "sub/build/x.o",
    ] {
        fx.write(Side::Share, path, path);
    }
    fx.init();
    sync_ok(&fx);
    for here in [
        ".offlineignore",
        "sub/.offlineignore",
        "notes.txt",
        "sub/keep.log",
    ] {
        assert!(fx.exists(Side::Cache, here), "{here} syncs");
    }
    for gone in ["a.log", "sub/other.log", "build", "sub/build"] {
        assert!(!fx.exists(Side::Cache, gone), "{gone} is excluded");
    }
    // The same rules hold the other way, and the ignore files sync like any file:
    // an edit of one in the cache reaches the share (the team shares them).
    fx.write(Side::Cache, "c.log", "local log");
    fx.write(Side::Cache, "sub/keep2.log", "kept?");
    fx.write(Side::Cache, "sub/.offlineignore", "!keep.log\n!keep2.log\n");
    let run = sync_ok(&fx);
    assert!(!fx.exists(Side::Share, "c.log"), "c.log stays in the cache");
    assert_eq!(fx.read_str(Side::Share, "sub/keep2.log"), "kept?");
    assert_eq!(
        fx.read_str(Side::Share, "sub/.offlineignore"),
        "!keep.log\n!keep2.log\n"
    );
    assert!(!reported(&run).iter().any(|p| p.ends_with("c.log")));
    assert_eq!(fx.read_str(Side::Cache, "c.log"), "local log");
}

#[test]
fn a_caches_own_pattern_stays_local_and_is_listed_by_config() {
    let fx = Fixture::synced_with(&[("small.txt", "s")]);
    run_ok(&fx, &["config", "--exclude", "big/", "--exclude", "*.iso"]);
    let (_, lines) = fx.json_lines(&["config", "--json"]);
    assert_eq!(
        lines[0]["exclude"]["patterns"],
        serde_json::json!(["big/", "*.iso"])
    );
    assert!(run_ok(&fx, &["config"]).contains("excludes:          big/  *.iso"));
    fx.write(Side::Share, "big/huge.bin", "lots");
    fx.write(Side::Share, "disc.iso", "iso");
    fx.write(Side::Cache, "mine.iso", "mine");
    sync_ok(&fx);
    assert!(!fx.exists(Side::Cache, "big"));
    assert!(!fx.exists(Side::Cache, "disc.iso"));
    assert!(!fx.exists(Side::Share, "mine.iso"));
    // The pattern is the cache's alone: nothing of it reaches the share.
    assert!(!fx.exists(Side::Share, ".offlineignore"));
    // Removed, the next sync brings what it held back.
    run_ok(&fx, &["config", "--no-exclude", "big/"]);
    sync_ok(&fx);
    assert_eq!(fx.read_str(Side::Cache, "big/huge.bin"), "lots");
    assert!(!fx.exists(Side::Cache, "disc.iso"), "*.iso still holds");
    let out = fx.run(&["config", "--no-exclude", "never-set"]);
    assert_code(&out, EXIT_USAGE, "removing a pattern that is not there");
}

#[test]
fn patterns_that_exclude_everything_are_refused() {
    let fx = Fixture::synced_with(&[("a.txt", "a")]);
    for pattern in ["*", "/", "**", "/*"] {
        let out = fx.run(&["config", "--exclude", pattern]);
        assert_code(&out, EXIT_USAGE, &format!("--exclude {pattern}"));
        assert!(
            stderr(&out).contains("would exclude everything"),
            "{pattern}: {}",
            stderr(&out)
        );
    }
    let (_, lines) = fx.json_lines(&["config", "--json"]);
    assert_eq!(lines[0]["exclude"]["patterns"], serde_json::json!([]));
    // In the root's ignore file such a line is left out and reported; the rest of
    // the file holds.
    fx.write(Side::Cache, ".offlineignore", "*\n*.tmp\n");
    fx.write(Side::Cache, "b.txt", "b");
    fx.write(Side::Cache, "c.tmp", "c");
    let run = sync_ok(&fx);
    let note = skipped_reason(&run, ".offlineignore");
    assert!(note.contains("line 1 (`*`)"), "{note}");
    assert_eq!(fx.read_str(Side::Share, "b.txt"), "b");
    assert!(!fx.exists(Side::Share, "c.tmp"));
}

#[test]
fn the_built_in_list_keeps_swap_lock_files_and_os_litter_out() {
    let fx = Fixture::synced_with(&[("report.md", "v1")]);
    let litter = [
        ".report.md.swp",
        "~$budget.xlsx",
        ".~lock.budget.ods#",
        ".DS_Store",
        "report.md~",
    ];
    for name in litter {
        fx.write(Side::Cache, name, "litter");
    }
    fx.write(Side::Share, "Thumbs.db", "thumbs");
    fx.write(Side::Cache, "report.md", "v2");
    sync_ok(&fx);
    assert_eq!(fx.read_str(Side::Share, "report.md"), "v2");
    for name in litter {
        assert!(!fx.exists(Side::Share, name), "{name} stays in the cache");
    }
    assert!(!fx.exists(Side::Cache, "Thumbs.db"));
    let listed = run_ok(&fx, &["config"]);
    assert!(
        listed.contains(".DS_Store") && listed.contains("~$*"),
        "{listed}"
    );
    // Switched off, they are ordinary files; back on, they are left alone again.
    run_ok(&fx, &["config", "--no-default-excludes"]);
    sync_ok(&fx);
    assert_eq!(fx.read_str(Side::Share, ".DS_Store"), "litter");
    assert_eq!(fx.read_str(Side::Cache, "Thumbs.db"), "thumbs");
    run_ok(&fx, &["config", "--default-excludes"]);
    fx.remove(Side::Cache, ".DS_Store");
    sync_ok(&fx);
    assert!(
        fx.exists(Side::Share, ".DS_Store"),
        "an excluded path is not deleted"
    );
}

/// `strace -f` of one `offline sync`: the syscall lines.
fn traced_sync(fx: &Fixture) -> Vec<String> {
    let log = fx.dir.path().join("strace.log");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat,openat2,getdents64", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_offline"))
        .arg("-C")
        .arg(&fx.cache)
        .arg("sync")
        .output()
        .expect("strace must be installed (apt-get install strace; .ci/run does)");
    assert!(out.status.success(), "traced sync: {out:?}");
    let text = fs::read_to_string(&log).expect("the strace log");
    text.lines().map(str::to_string).collect()
}

#[test]
fn an_excluded_folder_of_ten_thousand_files_is_never_listed() {
    let fx = Fixture::synced_with(&[("src/main.c", "int main;"), ("src/lib/a.c", "a")]);
    fx.write(Side::Cache, ".offlineignore", "node_modules/\n");
    for side in [Side::Cache, Side::Share] {
        for d in 0..100 {
            let dir = fx.path(side, format!("node_modules/p{d}"));
            fs::create_dir_all(&dir).unwrap();
            for f in 0..50 {
                fs::write(dir.join(format!("f{f}.js")), "x").unwrap();
            }
        }
    }
    sync_ok(&fx);
    assert!(fx.exists(Side::Share, ".offlineignore"));
    let with_folder = traced_sync(&fx);
    let touching: Vec<&String> = with_folder
        .iter()
        .filter(|l| l.contains("node_modules/") || l.contains("\"node_modules\""))
        .collect();
    assert!(
        touching.is_empty(),
        "the excluded folder was opened: {touching:#?}"
    );
    let listings = |lines: &[String]| lines.iter().filter(|l| l.contains("getdents64(")).count();
    // Without the folder the same sync reads the same number of listings.
    for side in [Side::Cache, Side::Share] {
        fs::remove_dir_all(fx.path(side, "node_modules")).unwrap();
    }
    let without = traced_sync(&fx);
    assert!(listings(&with_folder) > 0);
    assert_eq!(
        listings(&with_folder),
        listings(&without),
        "10,000 excluded files cost no listing"
    );
}

#[test]
fn a_path_excluded_then_included_again_is_never_overwritten() {
    let fx = Fixture::synced_with(&[("doc.txt", "base"), ("same.txt", "same"), ("gone.txt", "g")]);
    let known = |fx: &Fixture| fx.status()["known_items"].as_u64().unwrap_or(0);
    let before = known(&fx);
    for name in ["doc.txt", "same.txt", "gone.txt"] {
        run_ok(&fx, &["config", "--exclude", name]);
    }
    let run = sync_ok(&fx);
    assert!(
        run.items.is_empty(),
        "excluding reports nothing: {:?}",
        run.items
    );
    assert_eq!(known(&fx), before - 3, "their originals are forgotten");
    // Changed on both sides, deleted on one: nothing is compared, copied or deleted.
    fx.write(Side::Cache, "doc.txt", "cache edit");
    fx.write(Side::Share, "doc.txt", "share edit");
    fx.remove(Side::Share, "gone.txt");
    let run = sync_ok(&fx);
    assert!(run.items.is_empty(), "{:?}", run.items);
    assert_eq!(fx.read_str(Side::Cache, "doc.txt"), "cache edit");
    assert_eq!(fx.read_str(Side::Share, "doc.txt"), "share edit");
    assert_eq!(fx.read_str(Side::Cache, "gone.txt"), "g");
    // Included again: new items with no base. Equal copies are recorded, differing
    // ones are a conflict (both kept), a one-sided one is copied: never overwritten.
    for name in ["doc.txt", "same.txt", "gone.txt"] {
        run_ok(&fx, &["config", "--no-exclude", name]);
    }
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_INCOMPLETE);
    assert_eq!(run.item("doc.txt")["result"], "conflict");
    assert_eq!(fx.read_str(Side::Cache, "doc.txt"), "cache edit");
    assert_eq!(fx.read_str(Side::Share, "doc.txt"), "share edit");
    assert_eq!(
        fx.read_str(Side::Share, "gone.txt"),
        "g",
        "copied back, not deleted"
    );
    assert_eq!(run.item("same.txt")["result"], "ok");
    assert_eq!(run.item("same.txt")["action"], "record_original");
    assert_eq!(fx.conflicts().len(), 1, "only doc.txt differs");
    assert_eq!(
        known(&fx),
        before - 1,
        "same.txt and gone.txt are known again"
    );
}

#[test]
fn the_mass_delete_guard_does_not_count_excluded_items() {
    let files: Vec<(String, String)> = (0..10).map(|i| (format!("f{i}.txt"), "x".into())).collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let fx = Fixture::synced_with(&refs);
    // 100 excluded files in the cache would hide a mass deletion if they counted.
    for i in 0..100 {
        fx.write(Side::Cache, format!("scratch{i}.tmp"), "t");
    }
    run_ok(&fx, &["config", "--exclude", "*.tmp"]);
    for i in 0..6 {
        fx.remove(Side::Share, format!("f{i}.txt"));
    }
    let out = fx.sync(&[]);
    assert_code(&out, EXIT_INCOMPLETE, "the guard stops the sync");
    assert!(
        stderr(&out).contains("delete 6 of the 10 items on the cache side"),
        "{}",
        stderr(&out)
    );
    assert!(fx.exists(Side::Cache, "f0.txt"), "nothing was deleted");
}

#[test]
fn an_ignore_file_from_the_share_is_data_it_cannot_expose_nor_delete() {
    let fx = Fixture::synced_with(&[("docs/plan.txt", "plan"), ("keep.txt", "keep")]);
    // The share deletes docs/ and, in the same breath, excludes it; it also tries
    // to include the cache's own folder and to exclude everything.
    fs::remove_dir_all(fx.path(Side::Share, "docs")).unwrap();
    fx.write(
        Side::Share,
        ".offlineignore",
        "!.offline\n!.offline/**\n!.offline-share\n*\ndocs/\n",
    );
    let run = sync_ok(&fx);
    assert_eq!(
        fx.read_str(Side::Cache, "docs/plan.txt"),
        "plan",
        "nothing deleted"
    );
    assert_eq!(fx.read_str(Side::Cache, "keep.txt"), "keep");
    assert!(
        !fx.exists(Side::Share, ".offline"),
        "the cache's folder never syncs"
    );
    assert!(!fx.path(Side::Cache, ".offline-share").exists());
    let note = skipped_reason(&run, ".offlineignore");
    assert!(note.contains("would exclude everything"), "{note}");
    // The ignore file itself came down like any file.
    assert!(fx.exists(Side::Cache, ".offlineignore"));
    assert!(reported(&run).iter().all(|p| !p.starts_with(".offline/")));
}

#[test]
fn check_ignore_says_whether_and_why() {
    let fx = Fixture::synced_with(&[("a/b.txt", "b")]);
    fx.write(Side::Cache, ".offlineignore", "*.log\nout/\n");
    fx.write(Side::Cache, "a/.offlineignore", "!keep.log\n");
    fs::create_dir_all(fx.path(Side::Cache, "out/deep")).unwrap();
    let out = fx.run(&[
        "check-ignore",
        "x.log",
        "a/keep.log",
        "out/deep/f",
        "a/b.txt",
        ".DS_Store",
    ]);
    assert_code(&out, EXIT_OK, "check-ignore of excluded paths");
    assert_eq!(
        stdout(&out),
        ".offlineignore:1:*.log\tx.log\n\
         a/.offlineignore:1:!keep.log\ta/keep.log\n\
         .offlineignore:2:out/\tout/deep/f\n\
         <built-in>:7:.DS_Store\t.DS_Store\n"
    );
    let out = fx.run(&["check-ignore", "a/b.txt", "a/keep.log"]);
    assert_code(&out, EXIT_INCOMPLETE, "none of them excluded");
    let (_, lines) = fx.json_lines(&["check-ignore", "--json", "x.log", "a/b.txt"]);
    assert_eq!(lines[0]["excluded"], true);
    assert_eq!(lines[0]["by"]["source"], ".offlineignore");
    assert_eq!(lines[0]["by"]["line"], 1);
    assert_eq!(lines[1]["excluded"], false);
}

#[test]
fn ls_and_status_show_the_excluded_items_in_the_cache() {
    let fx = Fixture::synced_with(&[("a.txt", "a")]);
    fx.write(Side::Cache, ".offlineignore", "node_modules/\n");
    fx.write(Side::Cache, "node_modules/x/y.js", "y");
    fx.write(Side::Cache, ".a.txt.swp", "swap");
    sync_ok(&fx);
    let status = fx.status();
    assert_eq!(status["excluded_items"], 2, "{status}");
    assert_eq!(
        status["dirty_items"], 0,
        "excluded items wait for nothing: {status}"
    );
    assert!(run_ok(&fx, &["status"]).contains("excluded:     2 items"));
    let (_, lines) = fx.json_lines(&["ls", "--flat", "--json", "--filter", "excluded"]);
    let shown: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap_or(""),
                l["by"]["source"].as_str().unwrap_or(""),
                l["by"]["pattern"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (".a.txt.swp", "<built-in>", ".*.sw[a-p]"),
            ("node_modules", ".offlineignore", "node_modules/"),
        ]
    );
    let text = run_ok(&fx, &["ls", "--flat", "--filter", "excluded"]);
    assert!(
        text.contains("node_modules  (.offlineignore:1:node_modules/)"),
        "{text}"
    );
    assert!(!text.contains("a.txt\n"), "only excluded items: {text}");
}

#[test]
fn dry_runs_and_sync_output_never_list_excluded_paths() {
    let fx = Fixture::synced_with(&[("secret.env", "s"), ("a.txt", "a")]);
    run_ok(&fx, &["config", "--exclude", "*.env"]);
    fx.write(Side::Cache, "secret.env", "changed");
    fx.write(Side::Cache, "b.env", "new");
    fx.write(Side::Cache, "a.txt", "a2");
    let (out, lines) = fx.json_lines(&["sync", "--dry-run", "--json"]);
    assert_code(&out, EXIT_OK, "dry run");
    let text = stdout(&out);
    assert!(!text.contains(".env"), "{text}");
    assert!(lines.iter().any(|l| l["path"] == "a.txt"), "{text}");
    let plain = run_ok(&fx, &["sync", "--dry-run"]);
    assert!(!plain.contains(".env"), "{plain}");
    let run = sync_ok(&fx);
    assert_eq!(reported(&run), ["a.txt"]);
}

#[test]
fn pin_and_fetch_of_an_excluded_path_say_so() {
    let fx = Fixture::new();
    fx.write(Side::Share, "video/big.mkv", "v");
    fx.write(Side::Share, "doc.txt", "d");
    let out = run_offline(
        None,
        &[
            "init".as_ref(),
            "--no-pin".as_ref(),
            fx.share.as_os_str(),
            fx.cache.as_os_str(),
        ],
    );
    assert_code(&out, EXIT_OK, "init --no-pin");
    sync_ok(&fx);
    run_ok(&fx, &["config", "--exclude", "video/"]);
    for cmd in ["pin", "fetch"] {
        let out = fx.run(&[cmd, "video/big.mkv"]);
        assert_code(&out, EXIT_USAGE, cmd);
        let err = stderr(&out);
        assert!(
            err.contains("video/big.mkv is excluded by `video/` (<cache> line 1)"),
            "{cmd}: {err}"
        );
    }
    assert!(!fx.exists(Side::Cache, "video"));
    let out = fx.run(&["fetch", "doc.txt"]);
    assert_code(&out, EXIT_OK, "fetch of an included path");
    assert_eq!(fx.read_str(Side::Cache, "doc.txt"), "d");
}

#[test]
fn the_daemon_never_pushes_an_excluded_path() {
    let fx = service_support::Fx::synced(&[("a.txt", "one")]);
    fx.write_share(".offlineignore", "node_modules/\n");
    fx.run_ok(&["sync"]);
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let events = fx.subscribe_waiting();
    // Only excluded changes: no push, no event about them.
    for i in 0..50 {
        let path = fx.cache.join(format!("node_modules/p/{i}.js"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "x").unwrap();
    }
    fs::write(fx.cache.join(".a.txt.swp"), "swap").unwrap();
    let seen = events.drain_for(Duration::from_secs(3));
    let names: Vec<&str> = seen
        .iter()
        .map(|e| service_support::event_name(service_support::id(e)))
        .filter(|n| *n != "ping")
        .collect();
    assert!(names.is_empty(), "excluded changes started work: {seen:#?}");
    // An ordinary change next to them is pushed as usual (the watcher works).
    fs::write(fx.cache.join("a.txt"), "two").unwrap();
    events.expect(
        |e| e["event"] == "background_sync_begin" && e["reason"] == "push",
        Duration::from_secs(20),
        "the push of a.txt",
    );
    service_support::wait_until("a.txt reaches the share", Duration::from_secs(20), || {
        service_support::read(&fx.share.join("a.txt")).as_deref() == Some("two")
    });
    assert!(!fx.share.join("node_modules").exists());
    assert!(!fx.share.join(".a.txt.swp").exists());
    daemon.stop();
}

#[test]
fn a_sync_of_paths_below_an_excluded_folder_leaves_them_alone() {
    let fx = Fixture::synced_with(&[("src/a.c", "a")]);
    fx.write(Side::Share, ".offlineignore", "build/\n");
    sync_ok(&fx);
    fx.write(Side::Cache, "build/deep/out.o", "object");
    fx.write(Side::Cache, "src/b.c", "b");
    // The walk starts below the root: the ignore files above it still hold.
    for scope in ["build/deep/out.o", "build", "src"] {
        let run = fx.sync_json_run(&[scope]);
        run.assert_code(EXIT_OK);
        assert!(
            reported(&run).iter().all(|p| !p.starts_with("build")),
            "{scope}: {:?}",
            run.items
        );
    }
    assert!(!fx.exists(Side::Share, "build"));
    assert_eq!(fx.read_str(Side::Share, "src/b.c"), "b");
}

#[test]
fn a_folder_holding_an_excluded_item_is_never_removed_with_it() {
    let fx = Fixture::synced_with(&[("photos/a.jpg", "a"), ("other.txt", "o")]);
    fx.write(Side::Cache, "photos/.DS_Store", "finder");
    // The share deletes the folder; the cache's copy holds an excluded file.
    fs::remove_dir_all(fx.path(Side::Share, "photos")).unwrap();
    let run = sync_ok(&fx);
    assert_eq!(fx.read_str(Side::Cache, "photos/.DS_Store"), "finder");
    assert!(
        !fx.exists(Side::Cache, "photos/a.jpg"),
        "the deletion of a.jpg came"
    );
    // The folder must stay in the cache, so it is made again on the share (empty).
    assert!(fx.path(Side::Share, "photos").is_dir(), "{:?}", run.items);
    assert!(!fx.exists(Side::Share, "photos/.DS_Store"));
    let again = sync_ok(&fx);
    assert!(
        again.items.is_empty(),
        "nothing left to do: {:?}",
        again.items
    );
}
