//! Renames and moves through the real binary on a folder share (issue 13): each of
//! the four *Renamed* states carried out as a rename (the renamed files keep their
//! inodes: no byte copied), the 50-file `mv big big2` that the mass-delete guard used
//! to refuse, folders holding ghosts renamed and deleted, the mixed cases (an edit,
//! a deletion, another name, a name the other side took) and the output (`--json`
//! `from`, the dry run, one line per rename).

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;

fn ino(fx: &Fixture, side: Side, rel: &str) -> u64 {
    fs::symlink_metadata(fx.path(side, rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .ino()
}

fn mv(fx: &Fixture, side: Side, from: &str, to: &str) {
    fs::rename(fx.path(side, from), fx.path(side, to)).expect("rename");
}

/// A fixture whose share holds `big/` with 50 files of 200 KiB (10 MB), synced.
fn big_folder() -> Fixture {
    let fx = Fixture::new();
    for i in 0..50u8 {
        fx.write(Side::Share, format!("big/f{i}"), vec![i; 200 * 1024]);
    }
    fx.init();
    assert_code(&fx.sync(&[]), EXIT_OK, "first sync");
    fx
}

#[test]
fn mv_big_big2_with_50_files_syncs_as_one_rename_without_force() {
    let fx = big_folder();
    let share_ino = ino(&fx, Side::Share, "big/f7");
    mv(&fx, Side::Cache, "big", "big2");
    // The dry run shows one rename, with its old path.
    let out = fx.sync(&["--dry-run"]);
    assert_code(&out, EXIT_OK, "dry run");
    let text = stdout(&out);
    assert!(text.contains("big2 (renamed from big)"), "{text}");
    assert!(text.contains("1 items would be synced"), "{text}");
    let planned = fx.planned();
    assert_eq!(planned.len(), 1, "{planned:#?}");
    assert_eq!(planned[0]["from"], "big");
    assert_eq!(planned[0]["state"], "dir_renamed_on_client");
    // The sync: no guard, one item, no bytes.
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    assert_eq!(run.items.len(), 1, "{:#?}", run.items);
    let item = run.item("big2");
    assert_eq!(item["from"], "big");
    assert_eq!(item["result"], "ok");
    assert_eq!(run.summary["summary"]["bytes"], 0);
    assert!(!fx.exists(Side::Share, "big"));
    assert_eq!(
        ino(&fx, Side::Share, "big2/f7"),
        share_ino,
        "renamed on the share, not copied"
    );
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn a_rename_is_one_line_in_the_table() {
    let fx = Fixture::synced_with(&[("a.txt", "a"), ("d/x", "x"), ("d/y", "y")]);
    mv(&fx, Side::Share, "d", "e");
    mv(&fx, Side::Cache, "a.txt", "b.txt");
    let out = fx.sync(&[]);
    assert_code(&out, EXIT_OK, "sync");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("ok ")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("b.txt (renamed from a.txt)")),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.ends_with("e (renamed from d)")),
        "{text}"
    );
    assert!(
        text.contains("2 done, 0 conflicts, 0 errors, 0 skipped, 0 bytes moved"),
        "{text}"
    );
    fx.assert_same_trees();
    fx.assert_settled();
}

/// Each of the four states, with the inode kept on the side the rename was carried
/// out on.
#[test]
fn the_four_renamed_states_are_carried_out_as_renames() {
    let fx = Fixture::synced_with(&[
        ("f40", "forty"),
        ("d43/x", "x43"),
        ("f45", "forty-five"),
        ("d48/x", "x48"),
    ]);
    let before = [
        (Side::Share, "f40", "g40"),
        (Side::Share, "d43/x", "e43/x"),
        (Side::Cache, "f45", "g45"),
        (Side::Cache, "d48/x", "e48/x"),
    ]
    .map(|(side, from, to)| (side, ino(&fx, side, from), to));
    mv(&fx, Side::Cache, "f40", "g40");
    mv(&fx, Side::Cache, "d43", "e43");
    mv(&fx, Side::Share, "f45", "g45");
    mv(&fx, Side::Share, "d48", "e48");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    for (path, from, state) in [
        ("g40", "f40", "file_renamed_on_client"),
        ("e43", "d43", "dir_renamed_on_client"),
        ("g45", "f45", "file_renamed_on_server"),
        ("e48", "d48", "dir_renamed_on_server"),
    ] {
        let item = run.item(path);
        assert_eq!(item["from"], from, "{item}");
        assert_eq!(item["state"], state, "{item}");
        assert_eq!(item["result"], "ok", "{item}");
    }
    assert_eq!(run.items.len(), 4, "{:#?}", run.items);
    for (side, was, to) in before {
        assert_eq!(ino(&fx, side, to), was, "{to} was renamed on {side:?}");
    }
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn renamed_in_the_cache_and_edited_on_the_share_the_edit_lands_under_the_new_name() {
    let fx = Fixture::synced_with(&[("doc.txt", "v1"), ("dir/in.txt", "in v1")]);
    mv(&fx, Side::Cache, "doc.txt", "report.txt");
    mv(&fx, Side::Cache, "dir", "folder");
    fx.write(Side::Share, "doc.txt", "v2 from the share");
    fx.write(Side::Share, "dir/in.txt", "in v2");
    fx.write(Side::Share, "dir/new.txt", "new on the share");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    assert_eq!(fx.read_str(Side::Cache, "report.txt"), "v2 from the share");
    assert_eq!(fx.read_str(Side::Cache, "folder/in.txt"), "in v2");
    assert_eq!(
        fx.read_str(Side::Cache, "folder/new.txt"),
        "new on the share"
    );
    assert!(!fx.exists(Side::Share, "doc.txt") && !fx.exists(Side::Share, "dir"));
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn renamed_and_edited_in_the_cache_sends_the_edit_under_the_new_name() {
    let fx = Fixture::synced_with(&[("a.txt", "v1")]);
    let share_ino = ino(&fx, Side::Share, "a.txt");
    mv(&fx, Side::Cache, "a.txt", "b.txt");
    fx.write(Side::Cache, "b.txt", "v2, a bit longer");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    assert_eq!(run.item("b.txt")["from"], "a.txt");
    assert_eq!(run.summary["summary"]["bytes"], 16);
    assert_eq!(fx.read_str(Side::Share, "b.txt"), "v2, a bit longer");
    assert!(!fx.exists(Side::Share, "a.txt"));
    assert_ne!(ino(&fx, Side::Share, "b.txt"), share_ino, "written anew");
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn renamed_on_one_side_and_deleted_on_the_other_the_renamed_item_is_kept() {
    let fx = Fixture::synced_with(&[("a.txt", "keep me"), ("d/x", "x")]);
    mv(&fx, Side::Share, "a.txt", "b.txt");
    fx.remove(Side::Cache, "a.txt");
    mv(&fx, Side::Cache, "d", "e");
    fs::remove_dir_all(fx.path(Side::Share, "d")).expect("remove on the share");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    assert_eq!(fx.read_str(Side::Cache, "b.txt"), "keep me");
    assert_eq!(fx.read_str(Side::Share, "e/x"), "x");
    fx.assert_same_trees();
    fx.assert_settled();
}

fn renamed_on_both_sides() -> Fixture {
    let fx = Fixture::synced_with(&[("a.txt", "content")]);
    mv(&fx, Side::Cache, "a.txt", "mine.txt");
    mv(&fx, Side::Share, "a.txt", "theirs.txt");
    fx
}

#[test]
fn renamed_to_two_names_under_log_both_stay_and_the_conflict_is_logged() {
    let fx = renamed_on_both_sides();
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_INCOMPLETE);
    assert!(fx.exists(Side::Cache, "mine.txt") && !fx.exists(Side::Cache, "theirs.txt"));
    assert!(fx.exists(Side::Share, "theirs.txt") && !fx.exists(Side::Share, "mine.txt"));
    // Logged under both names, once each; a further sync changes nothing.
    let logged = |fx: &Fixture| {
        let mut paths: Vec<String> = fx
            .conflicts()
            .iter()
            .map(|c| c["path"].as_str().unwrap_or_default().to_string())
            .collect();
        paths.sort();
        paths
    };
    assert_eq!(logged(&fx), vec!["mine.txt", "theirs.txt"]);
    fx.sync_json_run(&[]).assert_code(EXIT_INCOMPLETE);
    assert_eq!(logged(&fx), vec!["mine.txt", "theirs.txt"]);
    assert!(fx.exists(Side::Cache, "mine.txt") && fx.exists(Side::Share, "theirs.txt"));
}

#[test]
fn renamed_to_two_names_keep_local_takes_the_cache_name() {
    let fx = renamed_on_both_sides();
    let run = fx.sync_json_run(&["--policy", "keep-local"]);
    run.assert_code(EXIT_OK);
    assert_eq!(fx.read_str(Side::Share, "mine.txt"), "content");
    assert!(!fx.exists(Side::Share, "theirs.txt"));
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn renamed_to_two_names_keep_all_keeps_both_names() {
    let fx = renamed_on_both_sides();
    let run = fx.sync_json_run(&["--policy", "keep-all"]);
    run.assert_code(EXIT_OK);
    for side in [Side::Cache, Side::Share] {
        assert_eq!(fx.read_str(side, "mine.txt"), "content");
        assert_eq!(fx.read_str(side, "theirs.txt"), "content");
    }
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn renamed_onto_a_name_the_share_created_is_a_name_clash_and_nothing_is_lost() {
    let fx = Fixture::synced_with(&[("a.txt", "renamed one")]);
    mv(&fx, Side::Cache, "a.txt", "b.txt");
    fx.write(Side::Share, "b.txt", "made on the share");
    let run = fx.sync_json_run(&["--policy", "keep-all"]);
    run.assert_code(EXIT_OK);
    let mut contents: Vec<String> = fs::read_dir(&fx.cache)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| fs::read_to_string(p).expect("read"))
        .collect();
    contents.sort();
    assert_eq!(contents, vec!["made on the share", "renamed one"]);
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn a_pinned_folder_renamed_stays_pinned_under_its_new_name() {
    let fx = Fixture::synced_with(&[("p/x", "x")]);
    assert_code(&fx.run(&["pin", "p"]), EXIT_OK, "pin");
    mv(&fx, Side::Cache, "p", "q");
    assert_code(&fx.sync(&[]), EXIT_OK, "sync");
    let (out, lines) = fx.json_lines(&["ls", "--flat", "--json"]);
    assert_code(&out, EXIT_OK, "ls");
    let q = lines
        .iter()
        .find(|l| l["path"] == "q")
        .unwrap_or_else(|| panic!("q listed: {lines:#?}"));
    assert_eq!(q["pinned"], true, "{q}");
    assert!(lines.iter().all(|l| l["path"] != "p"), "{lines:#?}");
}

/// A cache made with `--no-pin`: the share's items are ghosts until fetched.
fn ghosts(files: &[(&str, &str)]) -> Fixture {
    let fx = Fixture::new();
    for (path, content) in files {
        fx.write(Side::Share, path, content);
    }
    fx.init_with(&["--no-pin"]);
    assert_code(&fx.sync(&[]), EXIT_OK, "first sync");
    fx
}

fn ghost_paths(fx: &Fixture) -> Vec<String> {
    let (out, lines) = fx.json_lines(&["ls", "--flat", "--json", "--filter", "ghost"]);
    assert_code(&out, EXIT_OK, "ls ghosts");
    let mut paths: Vec<String> = lines
        .iter()
        .filter_map(|l| l["path"].as_str().map(str::to_string))
        .collect();
    paths.sort();
    paths
}

#[test]
fn a_folder_holding_ghosts_renamed_in_the_cache_is_renamed_with_its_ghosts() {
    let fx = ghosts(&[("docs/f1", "one"), ("docs/f2", "two"), ("docs/f3", "three")]);
    assert_code(&fx.run(&["fetch", "docs/f1"]), EXIT_OK, "fetch");
    mv(&fx, Side::Cache, "docs", "papers");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    assert_eq!(run.item("papers")["from"], "docs");
    assert_eq!(run.summary["summary"]["bytes"], 0, "no fetch, no upload");
    assert!(!fx.exists(Side::Share, "docs"));
    for (name, content) in [("f1", "one"), ("f2", "two"), ("f3", "three")] {
        assert_eq!(fx.read_str(Side::Share, format!("papers/{name}")), content);
    }
    // Still ghosts under the new name; f1 is still in the cache.
    assert_eq!(ghost_paths(&fx), vec!["papers/f2", "papers/f3"]);
    assert_eq!(fx.read_str(Side::Cache, "papers/f1"), "one");
    assert!(!fx.exists(Side::Cache, "papers/f2"));
    fx.assert_settled();
}

#[test]
fn a_folder_holding_ghosts_deleted_in_the_cache_comes_back_with_them_and_no_error_stays() {
    let fx = ghosts(&[("docs/f1", "one"), ("docs/f2", "two")]);
    assert_code(&fx.run(&["fetch", "docs/f1"]), EXIT_OK, "fetch");
    fs::remove_dir_all(fx.path(Side::Cache, "docs")).expect("rm -r");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    assert_eq!(run.summary["summary"]["errors"], 0);
    // The fetched file's deletion goes out; the ghost, never in the cache, stays.
    assert!(!fx.exists(Side::Share, "docs/f1"));
    assert_eq!(fx.read_str(Side::Share, "docs/f2"), "two");
    assert!(
        fx.path(Side::Cache, "docs").is_dir(),
        "the folder comes back"
    );
    assert_eq!(ghost_paths(&fx), vec!["docs/f2"]);
    fx.assert_settled();
}

/// A folder holding an excluded `.DS_Store` on both sides, renamed in the cache, is
/// one rename on the share (its files keep their inodes): the share's own
/// `.DS_Store` moves with its folder and stays excluded, the cache's is left alone,
/// neither is copied, and nothing stays under the old name.
#[test]
fn a_folder_holding_excluded_items_is_renamed_with_them() {
    let fx = Fixture::synced_with(&[("d/x", "x"), ("d/y", "y"), ("k", "k")]);
    fx.write(Side::Share, "d/.DS_Store", "share junk");
    fx.write(Side::Cache, "d/.DS_Store", "cache junk");
    assert_code(&fx.sync(&[]), EXIT_OK, "sync with the excluded files");
    fx.assert_settled();
    let share_x = ino(&fx, Side::Share, "d/x");
    mv(&fx, Side::Cache, "d", "e");
    let planned = fx.planned();
    assert_eq!(planned.len(), 1, "{planned:#?}");
    assert_eq!(planned[0]["from"], "d");
    assert_eq!(planned[0]["state"], "dir_renamed_on_client");
    assert_code(&fx.sync(&[]), EXIT_OK, "sync the rename");
    assert!(!fx.exists(Side::Share, "d"));
    assert_eq!(ino(&fx, Side::Share, "e/x"), share_x, "renamed, not copied");
    assert_eq!(fx.read_str(Side::Share, "e/.DS_Store"), "share junk");
    assert_eq!(fx.read_str(Side::Cache, "e/.DS_Store"), "cache junk");
    fx.assert_settled();
}

/// A folder renamed in the cache while the share added a file to it: the folder is
/// renamed as one on the share, carrying the new file to the new name. When the new
/// file's path under the new name is excluded (a pattern anchored there), the
/// folder is renamed file by file instead and the new file stays where it was made,
/// so no excluded path is written.
#[test]
fn a_file_the_share_added_goes_with_the_renamed_folder_unless_excluded_there() {
    for anchored in [false, true] {
        let fx = Fixture::synced_with(&[("d/x", "x"), ("d/z", "z"), ("k", "k")]);
        if anchored {
            fx.write(Side::Cache, ".offlineignore", "/e/y\n");
            assert_code(&fx.sync(&[]), EXIT_OK, "sync the ignore file");
        }
        let share_x = ino(&fx, Side::Share, "d/x");
        fx.write(Side::Share, "d/y", "added on the share");
        mv(&fx, Side::Cache, "d", "e");
        assert_code(&fx.sync(&[]), EXIT_OK, "sync the rename");
        assert_eq!(ino(&fx, Side::Share, "e/x"), share_x, "renamed, not copied");
        assert_eq!(fx.read_str(Side::Cache, "e/z"), "z");
        if anchored {
            for side in [Side::Cache, Side::Share] {
                assert!(!fx.exists(side, "e/y"), "excluded path written ({side:?})");
                assert_eq!(fx.read_str(side, "d/y"), "added on the share");
            }
        } else {
            assert!(!fx.exists(Side::Share, "d"), "the folder was split");
            assert!(!fx.exists(Side::Cache, "d"));
            assert_eq!(fx.read_str(Side::Cache, "e/y"), "added on the share");
            assert_eq!(fx.read_str(Side::Share, "e/y"), "added on the share");
        }
        fx.assert_settled();
    }
}
