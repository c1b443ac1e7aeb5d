//! End-to-end: an edit/edit conflict under each policy, and `offline resolve`.

mod common;

use common::{host_name, Fixture, Side, EXIT_INCOMPLETE, EXIT_OK};

const LOCAL: &str = "edited in the cache";
const REMOTE: &str = "edited on the share, differently";

/// A synced `doc.txt` then edited differently on both sides.
fn conflicted() -> Fixture {
    let fx = Fixture::synced_with(&[("doc.txt", "base"), ("calm.txt", "calm")]);
    fx.write(Side::Cache, "doc.txt", LOCAL);
    fx.write(Side::Share, "doc.txt", REMOTE);
    fx
}

#[test]
fn policy_log_leaves_both_copies_and_records_the_conflict() {
    let fx = conflicted();
    fx.write(Side::Cache, "other.txt", "an unrelated change still syncs");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_INCOMPLETE);
    let item = run.item("doc.txt");
    assert_eq!(item["result"], "conflict", "{item}");
    assert_eq!(item["state"], "file_changed_on_client_changed_on_server");
    run.assert_ok("other.txt", "create_copy_on_server");
    assert_eq!(run.summary["summary"]["conflicts"], 1);
    assert_eq!(fx.read_str(Side::Cache, "doc.txt"), LOCAL);
    assert_eq!(fx.read_str(Side::Share, "doc.txt"), REMOTE);
    assert_eq!(
        fx.read_str(Side::Share, "other.txt"),
        "an unrelated change still syncs"
    );

    let conflicts = fx.conflicts();
    assert_eq!(conflicts.len(), 1, "{conflicts:#?}");
    assert_eq!(conflicts[0]["path"], "doc.txt");
    assert_eq!(conflicts[0]["local"]["size"], LOCAL.len());
    assert_eq!(conflicts[0]["remote"]["size"], REMOTE.len());
    assert_eq!(conflicts[0]["original"]["size"], 4);
    let status = fx.status();
    assert_eq!(status["conflicts"], 1, "{status}");

    // Still a conflict next time, still untouched.
    let again = fx.sync_json_run(&[]);
    again.assert_code(EXIT_INCOMPLETE);
    assert_eq!(again.item("doc.txt")["result"], "conflict");
    assert_eq!(fx.read_str(Side::Cache, "doc.txt"), LOCAL);
    assert_eq!(fx.read_str(Side::Share, "doc.txt"), REMOTE);
    assert_eq!(fx.conflicts().len(), 1);
    assert!(fx.kept_losers(Side::Cache, "doc.txt").is_empty());
    assert!(fx.kept_losers(Side::Share, "doc.txt").is_empty());
}

#[test]
fn policy_keep_local_overwrites_the_share_and_keeps_its_bytes() {
    let fx = conflicted();
    let run = fx.sync_json_run(&["--policy", "keep-local"]);
    run.assert_code(EXIT_OK);
    run.assert_ok("doc.txt", "sync_to_server");
    assert_eq!(run.item("doc.txt")["action"], "conflict_keep_local");
    assert_eq!(fx.read_str(Side::Cache, "doc.txt"), LOCAL);
    assert_eq!(fx.read_str(Side::Share, "doc.txt"), LOCAL);
    assert_eq!(
        fx.kept_losers(Side::Share, "doc.txt"),
        vec![REMOTE.as_bytes()]
    );
    assert!(fx.conflicts().is_empty());
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn policy_keep_remote_overwrites_the_cache_and_keeps_its_bytes() {
    let fx = conflicted();
    let run = fx.sync_json_run(&["--policy", "keep-remote"]);
    run.assert_code(EXIT_OK);
    run.assert_ok("doc.txt", "sync_to_client");
    assert_eq!(run.item("doc.txt")["action"], "conflict_keep_remote");
    assert_eq!(fx.read_str(Side::Cache, "doc.txt"), REMOTE);
    assert_eq!(fx.read_str(Side::Share, "doc.txt"), REMOTE);
    assert_eq!(
        fx.kept_losers(Side::Cache, "doc.txt"),
        vec![LOCAL.as_bytes()]
    );
    assert!(fx.conflicts().is_empty());
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn policy_keep_latest_keeps_the_copy_modified_last_on_either_side() {
    let fx = Fixture::synced_with(&[("cache_newer.txt", "base1"), ("share_newer.txt", "base2")]);
    fx.write(Side::Cache, "cache_newer.txt", "cache wins here");
    fx.write(Side::Share, "cache_newer.txt", "share loses here");
    fx.set_mtime(Side::Cache, "cache_newer.txt", 1_700_000_200, 0);
    fx.set_mtime(Side::Share, "cache_newer.txt", 1_700_000_100, 0);
    fx.write(Side::Cache, "share_newer.txt", "cache loses here");
    fx.write(Side::Share, "share_newer.txt", "share wins here");
    fx.set_mtime(Side::Cache, "share_newer.txt", 1_600_000_000, 0);
    fx.set_mtime(Side::Share, "share_newer.txt", 1_600_000_000, 1);
    let run = fx.sync_json_run(&["--policy", "keep-latest"]);
    run.assert_code(EXIT_OK);
    run.assert_ok("cache_newer.txt", "sync_to_server");
    run.assert_ok("share_newer.txt", "sync_to_client");
    for side in [Side::Cache, Side::Share] {
        assert_eq!(fx.read_str(side, "cache_newer.txt"), "cache wins here");
        assert_eq!(fx.read_str(side, "share_newer.txt"), "share wins here");
    }
    // The winner's mtime goes with it.
    assert_eq!(
        fx.mtime_ns(Side::Share, "cache_newer.txt"),
        1_700_000_200_000_000_000
    );
    assert_eq!(
        fx.mtime_ns(Side::Cache, "share_newer.txt"),
        1_600_000_000_000_000_001
    );
    assert_eq!(
        fx.kept_losers(Side::Share, "cache_newer.txt"),
        vec![b"share loses here".to_vec()]
    );
    assert_eq!(
        fx.kept_losers(Side::Cache, "share_newer.txt"),
        vec![b"cache loses here".to_vec()]
    );
    assert!(fx.conflicts().is_empty());
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn policy_keep_all_keeps_both_versions_on_both_sides() {
    let fx = conflicted();
    let run = fx.sync_json_run(&["--policy", "keep-all"]);
    run.assert_code(EXIT_OK);
    let item = run.item("doc.txt");
    assert_eq!(item["result"], "ok", "{item}");
    assert_eq!(item["action"], "conflict_keep_all");
    let renamed = format!("doc (conflict {} 1).txt", host_name());
    assert!(
        item["note"].as_str().unwrap_or_default().contains(&renamed),
        "the note names the new name {renamed:?}: {item}"
    );
    for side in [Side::Cache, Side::Share] {
        assert_eq!(fx.read_str(side, "doc.txt"), REMOTE, "{side:?}");
        assert_eq!(fx.read_str(side, &renamed), LOCAL, "{side:?}");
    }
    assert!(fx.conflicts().is_empty());
    fx.assert_same_trees();
    fx.assert_settled();

    // A second keep-all conflict on the same file takes the next free number.
    fx.write(Side::Cache, "doc.txt", "second local");
    fx.write(Side::Share, "doc.txt", "second remote!");
    fx.sync_json_run(&["--policy", "keep-all"])
        .assert_code(EXIT_OK);
    let second = format!("doc (conflict {} 2).txt", host_name());
    for side in [Side::Cache, Side::Share] {
        assert_eq!(fx.read_str(side, "doc.txt"), "second remote!");
        assert_eq!(fx.read_str(side, &second), "second local");
        assert_eq!(fx.read_str(side, &renamed), LOCAL);
    }
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn resolve_keep_remote_settles_a_logged_conflict() {
    let fx = conflicted();
    fx.sync_json_run(&[]).assert_code(EXIT_INCOMPLETE);
    assert_eq!(fx.conflicts().len(), 1);

    let out = fx.run(&["resolve", "doc.txt", "--keep", "remote"]);
    common::assert_code(&out, EXIT_OK, "resolve --keep remote");
    assert!(fx.conflicts().is_empty(), "the conflict is settled");
    assert_eq!(fx.status()["conflicts"], 0);
    assert_eq!(fx.read_str(Side::Cache, "doc.txt"), REMOTE);
    assert_eq!(fx.read_str(Side::Share, "doc.txt"), REMOTE);
    assert_eq!(
        fx.kept_losers(Side::Cache, "doc.txt"),
        vec![LOCAL.as_bytes()]
    );
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn resolve_keep_local_with_a_path_given_from_a_subfolder() {
    let fx = Fixture::synced_with(&[("sub/doc.txt", "base")]);
    fx.write(Side::Cache, "sub/doc.txt", LOCAL);
    fx.write(Side::Share, "sub/doc.txt", REMOTE);
    fx.sync_json_run(&[]).assert_code(EXIT_INCOMPLETE);
    let out = common::run_offline(
        Some(&fx.cache.join("sub")),
        &[
            "resolve".as_ref(),
            "doc.txt".as_ref(),
            "--keep".as_ref(),
            "local".as_ref(),
        ],
    );
    common::assert_code(&out, EXIT_OK, "resolve from a subfolder");
    assert!(fx.conflicts().is_empty());
    assert_eq!(fx.read_str(Side::Share, "sub/doc.txt"), LOCAL);
    assert_eq!(
        fx.kept_losers(Side::Share, "sub/doc.txt"),
        vec![REMOTE.as_bytes()]
    );
    fx.assert_same_trees();
    fx.assert_settled();
}

/// README: "A file against a folder is never settled by overwriting the folder: every
/// policy but `log` keeps both, renaming the file." Both ways round, under each
/// keep-* policy: the folder (with its content) keeps the name on both sides, the
/// file moves to a conflict name on both sides, nothing else changes.
#[test]
fn a_file_against_a_folder_keeps_both_under_every_keep_policy() {
    for policy in ["keep-local", "keep-remote", "keep-latest", "keep-all"] {
        for folder_side in [Side::Share, Side::Cache] {
            let what = format!("{policy}, the folder in the {folder_side:?}");
            let fx = Fixture::synced_with(&[("doc.txt", "base"), ("calm.txt", "calm")]);
            let file_side = match folder_side {
                Side::Share => Side::Cache,
                Side::Cache => Side::Share,
            };
            fx.write(file_side, "doc.txt", "the file, edited");
            std::fs::remove_file(fx.path(folder_side, "doc.txt")).expect("rm");
            fx.write(folder_side, "doc.txt/inside.txt", "in the folder");
            let run = fx.sync_json_run(&["--policy", policy]);
            run.assert_code(EXIT_OK);
            let item = run.item("doc.txt");
            assert_eq!(item["action"], "conflict_keep_all", "{what}: {item}");
            let renamed = format!("doc (conflict {} 1).txt", host_name());
            for side in [Side::Cache, Side::Share] {
                assert_eq!(
                    fx.read_str(side, &renamed),
                    "the file, edited",
                    "{what}: {side:?}"
                );
                assert_eq!(
                    fx.read_str(side, "doc.txt/inside.txt"),
                    "in the folder",
                    "{what}: {side:?}"
                );
                let paths: Vec<String> = common::tree(fx.root(side)).into_keys().collect();
                assert_eq!(
                    paths,
                    vec![
                        "calm.txt".to_string(),
                        renamed.clone(),
                        "doc.txt".to_string(),
                        "doc.txt/inside.txt".to_string()
                    ],
                    "{what}: {side:?}"
                );
            }
            assert!(fx.conflicts().is_empty(), "{what}");
            fx.assert_same_trees();
            fx.assert_settled();
        }
    }
}
