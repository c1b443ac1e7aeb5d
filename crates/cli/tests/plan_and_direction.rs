//! End-to-end: `--dry-run` changes nothing and prints exactly what the real run does;
//! `--direction` moves changes one way only and the rest waits.

mod common;

use common::{item_keys, tree, Fixture, Side, EXIT_INCOMPLETE, EXIT_OK};

/// A synced fixture with every kind of change waiting, a conflict included.
fn busy() -> Fixture {
    let fx = Fixture::synced_with(&[
        ("edit_cache.txt", "e1"),
        ("edit_share.txt", "s1"),
        ("del_cache.txt", "d1"),
        ("del_share.txt", "d2"),
        ("conflict.txt", "base"),
        ("same.txt", "base"),
        ("dir/keep.txt", "k"),
    ]);
    fx.write(Side::Cache, "new_cache/file.txt", "from the cache");
    fx.write(Side::Share, "new_share.txt", "from the share");
    fx.write(Side::Cache, "edit_cache.txt", "e2");
    fx.write(Side::Share, "edit_share.txt", "s2");
    fx.remove(Side::Cache, "del_cache.txt");
    fx.remove(Side::Share, "del_share.txt");
    fx.write(Side::Cache, "conflict.txt", "cache side");
    fx.write(Side::Share, "conflict.txt", "share side!");
    fx.write(Side::Cache, "same.txt", "same edit");
    fx.write(Side::Share, "same.txt", "same edit");
    fx.chmod(Side::Cache, "dir/keep.txt", 0o600);
    fx
}

fn snapshot(
    fx: &Fixture,
) -> (
    impl PartialEq + std::fmt::Debug,
    impl PartialEq + std::fmt::Debug,
) {
    (tree(&fx.share), tree(&fx.cache))
}

#[test]
fn dry_run_changes_nothing_and_lists_exactly_what_the_real_run_does() {
    for policy in ["log", "keep-local", "keep-all"] {
        let fx = busy();
        let before = snapshot(&fx);
        let conflicts_before = fx.conflicts();

        let dry = fx.sync_json_run(&["--dry-run", "--policy", policy]);
        dry.assert_code(EXIT_OK);
        assert_eq!(dry.summary["summary"]["dry_run"], true);
        assert!(dry.items.iter().all(|i| i["result"] == "planned"));
        assert_eq!(
            snapshot(&fx),
            before,
            "a dry run changes no file ({policy})"
        );
        assert_eq!(fx.conflicts(), conflicts_before, "nor the conflict list");
        // Twice the same plan: the dry run left no trace in the state either.
        let dry_again = fx.sync_json_run(&["--dry-run", "--policy", policy]);
        assert_eq!(item_keys(&dry.items), item_keys(&dry_again.items));

        let real = fx.sync_json_run(&["--policy", policy]);
        real.assert_code(if policy == "log" {
            EXIT_INCOMPLETE
        } else {
            EXIT_OK
        });
        assert_eq!(
            item_keys(&dry.items),
            item_keys(&real.items),
            "the dry run ({policy}) lists exactly the items the real run reports"
        );
        // Spot checks that the plan holds the interesting items.
        let keys = item_keys(&dry.items);
        for (path, op) in [
            ("new_cache", "create_copy_on_server"),
            ("new_cache/file.txt", "create_copy_on_server"),
            ("new_share.txt", "create_copy_on_client"),
            ("edit_cache.txt", "sync_to_server"),
            ("edit_share.txt", "sync_to_client"),
            ("del_cache.txt", "delete_server_copy"),
            ("del_share.txt", "delete_client_copy"),
            ("dir/keep.txt", "sync_to_server"),
        ] {
            assert!(
                keys.iter().any(|(p, o, _)| p == path && o == op),
                "{path} {op} planned ({policy}): {keys:#?}"
            );
        }
        assert_ne!(snapshot(&fx), before, "the real run did change files");
    }
}

#[test]
fn dry_run_plan_counts_match_the_real_summary() {
    let fx = busy();
    let dry = fx.sync_json_run(&["--dry-run", "--policy", "keep-remote"]);
    let real = fx.sync_json_run(&["--policy", "keep-remote"]);
    real.assert_code(EXIT_OK);
    let dry_counts = dry.summary["summary"]["counts"]
        .as_object()
        .expect("counts")
        .iter()
        .map(|(op, by_result)| (op.clone(), by_result["planned"].clone()))
        .collect::<Vec<_>>();
    let real_counts = real.summary["summary"]["counts"]
        .as_object()
        .expect("counts")
        .iter()
        .map(|(op, by_result)| (op.clone(), by_result["ok"].clone()))
        .collect::<Vec<_>>();
    assert_eq!(dry_counts, real_counts);
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn direction_to_server_only_pushes_and_the_share_change_waits() {
    let fx = Fixture::synced_with(&[("a.txt", "a1"), ("b.txt", "b1")]);
    fx.write(Side::Cache, "a.txt", "a2 from the cache");
    fx.write(Side::Share, "b.txt", "b2 from the share");
    fx.write(Side::Share, "new_on_share.txt", "waits");

    let run = fx.sync_json_run(&["--direction", "to-server"]);
    run.assert_code(EXIT_OK);
    run.assert_ok("a.txt", "sync_to_server");
    assert!(run.for_path("b.txt").is_empty(), "{:#?}", run.items);
    assert!(run.for_path("new_on_share.txt").is_empty());
    assert_eq!(fx.read_str(Side::Share, "a.txt"), "a2 from the cache");
    assert_eq!(
        fx.read_str(Side::Cache, "b.txt"),
        "b1",
        "the cache is not written"
    );
    assert!(!fx.exists(Side::Cache, "new_on_share.txt"));

    // What waits is still planned.
    let keys = item_keys(&fx.planned());
    assert_eq!(
        keys,
        vec![
            (
                "b.txt".into(),
                "sync_to_client".into(),
                "sync_to_client".into()
            ),
            (
                "new_on_share.txt".into(),
                "create_copy_on_client".into(),
                "create_copy_on_client".into()
            ),
        ]
    );
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("b.txt", "sync_to_client");
    run.assert_ok("new_on_share.txt", "create_copy_on_client");
    assert_eq!(fx.read_str(Side::Cache, "b.txt"), "b2 from the share");
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn direction_to_client_only_pulls_and_the_cache_change_waits() {
    let fx = Fixture::synced_with(&[("a.txt", "a1"), ("b.txt", "b1"), ("c.txt", "c1")]);
    fx.write(Side::Cache, "a.txt", "a2 from the cache");
    fx.remove(Side::Cache, "c.txt");
    fx.write(Side::Share, "b.txt", "b2 from the share");

    let run = fx.sync_json_run(&["--direction", "to-client"]);
    run.assert_code(EXIT_OK);
    run.assert_ok("b.txt", "sync_to_client");
    assert!(run.for_path("a.txt").is_empty(), "{:#?}", run.items);
    assert!(run.for_path("c.txt").is_empty(), "{:#?}", run.items);
    assert_eq!(fx.read_str(Side::Cache, "b.txt"), "b2 from the share");
    assert_eq!(
        fx.read_str(Side::Share, "a.txt"),
        "a1",
        "the share is not written"
    );
    assert_eq!(fx.read_str(Side::Share, "c.txt"), "c1");
    assert_eq!(fx.status()["dirty_items"], 2, "a.txt and c.txt still wait");

    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("a.txt", "sync_to_server");
    run.assert_ok("c.txt", "delete_server_copy");
    assert_eq!(fx.read_str(Side::Share, "a.txt"), "a2 from the cache");
    assert!(!fx.exists(Side::Share, "c.txt"));
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn a_one_way_sync_does_not_settle_a_conflict_by_policy() {
    let fx = Fixture::synced_with(&[("doc.txt", "base")]);
    fx.write(Side::Cache, "doc.txt", "cache edit");
    fx.write(Side::Share, "doc.txt", "share edit!");
    // keep-remote would write the cache, which to-server forbids: it stays logged.
    let run = fx.sync_json_run(&["--direction", "to-server", "--policy", "keep-remote"]);
    run.assert_code(EXIT_INCOMPLETE);
    assert_eq!(run.item("doc.txt")["result"], "conflict");
    assert_eq!(fx.read_str(Side::Cache, "doc.txt"), "cache edit");
    assert_eq!(fx.read_str(Side::Share, "doc.txt"), "share edit!");
    assert_eq!(fx.conflicts().len(), 1);
}

#[test]
fn a_same_size_change_held_back_by_direction_is_not_forgotten() {
    // Edits that keep the size and that a one-way sync leaves out must still be seen
    // by the next sync (the held-back copy's fingerprint is not taken as synced).
    let fx = Fixture::synced_with(&[("share_edit.txt", "aaaa"), ("cache_edit.txt", "cccc")]);
    fx.write(Side::Share, "share_edit.txt", "AAAA");
    fx.write(Side::Cache, "cache_edit.txt", "CCCC");
    fx.sync_json_run(&["--direction", "to-server"])
        .assert_code(EXIT_OK);
    assert_eq!(fx.read_str(Side::Share, "cache_edit.txt"), "CCCC");
    assert_eq!(fx.read_str(Side::Cache, "share_edit.txt"), "aaaa");
    fx.sync_json_run(&["--direction", "to-server"])
        .assert_code(EXIT_OK);
    let run = fx.sync_json_run(&["--direction", "to-client"]);
    run.assert_code(EXIT_OK);
    run.assert_ok("share_edit.txt", "sync_to_client");
    assert_eq!(fx.read_str(Side::Cache, "share_edit.txt"), "AAAA");

    fx.write(Side::Cache, "cache_edit.txt", "DDDD");
    fx.sync_json_run(&["--direction", "to-client"])
        .assert_code(EXIT_OK);
    fx.sync_json_run(&["--direction", "to-client"])
        .assert_code(EXIT_OK);
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("cache_edit.txt", "sync_to_server");
    assert_eq!(fx.read_str(Side::Share, "cache_edit.txt"), "DDDD");
    fx.assert_same_trees();
    fx.assert_settled();
}
