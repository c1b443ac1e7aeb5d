//! End-to-end: each sync operation (all but pin), kind changes, empty folders, and
//! the change combinations that are no conflict.

mod common;

use common::{Fixture, Side, EXIT_OK};

#[test]
fn create_copy_on_client_brings_new_share_files_into_the_cache() {
    let fx = Fixture::new();
    fx.write(Side::Share, "top.txt", "top");
    fx.write(Side::Share, "dir/inner.txt", "inner");
    fx.init();
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("top.txt", "create_copy_on_client");
    run.assert_ok("dir", "create_copy_on_client");
    run.assert_ok("dir/inner.txt", "create_copy_on_client");
    assert_eq!(fx.read_str(Side::Cache, "top.txt"), "top");
    assert_eq!(fx.read_str(Side::Cache, "dir/inner.txt"), "inner");
    assert_eq!(run.summary["summary"]["errors"], 0);
    assert_eq!(
        run.summary["summary"]["counts"]["create_copy_on_client"]["ok"],
        3
    );
    fx.assert_same_trees();
    fx.assert_settled();

    // Later creations on the share come the same way.
    fx.write(Side::Share, "later.txt", "later");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("later.txt", "create_copy_on_client");
    assert_eq!(run.items.len(), 1, "{:#?}", run.items);
    assert_eq!(fx.read_str(Side::Cache, "later.txt"), "later");
    fx.assert_settled();
}

#[test]
fn create_copy_on_server_sends_new_cache_files_to_the_share() {
    let fx = Fixture::synced_with(&[("old.txt", "old")]);
    fx.write(Side::Cache, "new.txt", "brand new");
    fx.write(Side::Cache, "newdir/deep/file.bin", [0u8, 1, 2, 255]);
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("new.txt", "create_copy_on_server");
    run.assert_ok("newdir", "create_copy_on_server");
    run.assert_ok("newdir/deep", "create_copy_on_server");
    run.assert_ok("newdir/deep/file.bin", "create_copy_on_server");
    assert_eq!(run.item("new.txt")["bytes"], 9);
    assert_eq!(fx.read_str(Side::Share, "new.txt"), "brand new");
    assert_eq!(
        fx.read(Side::Share, "newdir/deep/file.bin"),
        [0u8, 1, 2, 255]
    );
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn sync_to_server_sends_a_cache_edit_to_the_share() {
    let fx = Fixture::synced_with(&[("doc.txt", "version 1"), ("other.txt", "same")]);
    fx.write(Side::Cache, "doc.txt", "version 2, longer");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("doc.txt", "sync_to_server");
    assert_eq!(
        run.items.len(),
        1,
        "only the edited file moves: {:#?}",
        run.items
    );
    assert_eq!(fx.read_str(Side::Share, "doc.txt"), "version 2, longer");
    // An edit that keeps the size is still seen (content hash, not size).
    fx.write(Side::Cache, "doc.txt", "version 3, LONGER");
    let run = fx.sync_json_run(&[]);
    run.assert_ok("doc.txt", "sync_to_server");
    assert_eq!(fx.read_str(Side::Share, "doc.txt"), "version 3, LONGER");
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn sync_to_client_brings_a_share_edit_into_the_cache() {
    let fx = Fixture::synced_with(&[("doc.txt", "version 1"), ("other.txt", "same")]);
    fx.write(Side::Share, "doc.txt", "edited on the share");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("doc.txt", "sync_to_client");
    assert_eq!(run.items.len(), 1, "{:#?}", run.items);
    assert_eq!(fx.read_str(Side::Cache, "doc.txt"), "edited on the share");
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn delete_server_copy_removes_on_the_share_what_the_cache_deleted() {
    let fx = Fixture::synced_with(&[
        ("gone.txt", "bye"),
        ("stay.txt", "stay"),
        ("olddir/a.txt", "a"),
    ]);
    fx.remove(Side::Cache, "gone.txt");
    std::fs::remove_dir_all(fx.path(Side::Cache, "olddir")).expect("rm dir");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("gone.txt", "delete_server_copy");
    run.assert_ok("olddir", "delete_server_copy");
    run.assert_ok("olddir/a.txt", "delete_server_copy");
    assert!(!fx.exists(Side::Share, "gone.txt"));
    assert!(!fx.exists(Side::Share, "olddir"));
    assert_eq!(fx.read_str(Side::Share, "stay.txt"), "stay");
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn delete_client_copy_removes_from_the_cache_what_the_share_deleted() {
    let fx = Fixture::synced_with(&[
        ("gone.txt", "bye"),
        ("stay.txt", "stay"),
        ("olddir/a.txt", "a"),
    ]);
    fx.remove(Side::Share, "gone.txt");
    std::fs::remove_dir_all(fx.path(Side::Share, "olddir")).expect("rm dir");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("gone.txt", "delete_client_copy");
    run.assert_ok("olddir", "delete_client_copy");
    run.assert_ok("olddir/a.txt", "delete_client_copy");
    assert!(!fx.exists(Side::Cache, "gone.txt"));
    assert!(!fx.exists(Side::Cache, "olddir"));
    assert_eq!(fx.read_str(Side::Cache, "stay.txt"), "stay");
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn all_six_operations_in_one_sync_then_a_second_sync_plans_nothing() {
    let fx = Fixture::synced_with(&[
        ("edit_cache.txt", "e1"),
        ("edit_share.txt", "s1"),
        ("del_cache.txt", "d1"),
        ("del_share.txt", "d2"),
        ("untouched.txt", "u"),
    ]);
    fx.write(Side::Cache, "new_cache.txt", "from the cache");
    fx.write(Side::Share, "new_share.txt", "from the share");
    fx.write(Side::Cache, "edit_cache.txt", "e2 from the cache");
    fx.write(Side::Share, "edit_share.txt", "s2 from the share");
    fx.remove(Side::Cache, "del_cache.txt");
    fx.remove(Side::Share, "del_share.txt");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("new_cache.txt", "create_copy_on_server");
    run.assert_ok("new_share.txt", "create_copy_on_client");
    run.assert_ok("edit_cache.txt", "sync_to_server");
    run.assert_ok("edit_share.txt", "sync_to_client");
    run.assert_ok("del_cache.txt", "delete_server_copy");
    run.assert_ok("del_share.txt", "delete_client_copy");
    assert!(run.for_path("untouched.txt").is_empty());
    let counts = &run.summary["summary"]["counts"];
    for op in [
        "create_copy_on_server",
        "create_copy_on_client",
        "sync_to_server",
        "sync_to_client",
        "delete_server_copy",
        "delete_client_copy",
    ] {
        assert_eq!(counts[op]["ok"], 1, "summary count of {op}: {counts}");
    }
    assert_eq!(run.summary["summary"]["conflicts"], 0);
    assert_eq!(run.summary["summary"]["errors"], 0);
    assert_eq!(
        fx.read_str(Side::Share, "edit_cache.txt"),
        "e2 from the cache"
    );
    assert_eq!(
        fx.read_str(Side::Cache, "edit_share.txt"),
        "s2 from the share"
    );
    fx.assert_same_trees();
    fx.assert_settled();
    let status = fx.status();
    assert_eq!(status["dirty_items"], 0, "{status}");
    assert_eq!(status["conflicts"], 0);
    assert_eq!(status["connect_state"], "online");
}

#[test]
fn identical_edits_on_both_sides_are_no_conflict() {
    let fx = Fixture::synced_with(&[("same.txt", "base")]);
    fx.write(Side::Cache, "same.txt", "the very same edit");
    fx.write(Side::Share, "same.txt", "the very same edit");
    fx.write(Side::Cache, "both_new.txt", "created twice alike");
    fx.write(Side::Share, "both_new.txt", "created twice alike");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    assert_eq!(run.summary["summary"]["conflicts"], 0);
    for path in ["same.txt", "both_new.txt"] {
        let item = run.item(path);
        assert_eq!(item["result"], "ok", "{item}");
        assert_eq!(item["action"], "record_original", "nothing moves: {item}");
    }
    assert!(fx.conflicts().is_empty());
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn delete_against_edit_keeps_the_edit_on_both_sides() {
    let fx = Fixture::synced_with(&[("a.txt", "base a"), ("b.txt", "base b")]);
    // a: deleted in the cache, edited on the share.
    fx.remove(Side::Cache, "a.txt");
    fx.write(Side::Share, "a.txt", "share edit of a");
    // b: edited in the cache, deleted on the share.
    fx.write(Side::Cache, "b.txt", "cache edit of b");
    fx.remove(Side::Share, "b.txt");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("a.txt", "create_copy_on_client");
    run.assert_ok("b.txt", "create_copy_on_server");
    assert_eq!(fx.read_str(Side::Cache, "a.txt"), "share edit of a");
    assert_eq!(fx.read_str(Side::Share, "a.txt"), "share edit of a");
    assert_eq!(fx.read_str(Side::Cache, "b.txt"), "cache edit of b");
    assert_eq!(fx.read_str(Side::Share, "b.txt"), "cache edit of b");
    assert!(fx.conflicts().is_empty());
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn a_file_that_became_a_folder_in_the_cache_reaches_the_share() {
    let fx = Fixture::synced_with(&[("x", "I am a file"), ("keep.txt", "k")]);
    fx.remove(Side::Cache, "x");
    fx.write(Side::Cache, "x/one.txt", "one");
    fx.write(Side::Cache, "x/sub/two.txt", "two");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("x", "sync_to_server");
    run.assert_ok("x/one.txt", "create_copy_on_server");
    run.assert_ok("x/sub/two.txt", "create_copy_on_server");
    assert!(fx.path(Side::Share, "x").is_dir());
    assert_eq!(fx.read_str(Side::Share, "x/one.txt"), "one");
    assert_eq!(fx.read_str(Side::Share, "x/sub/two.txt"), "two");
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn a_folder_that_became_a_file_on_the_share_reaches_the_cache() {
    let fx = Fixture::synced_with(&[("y/one.txt", "one"), ("y/sub/two.txt", "two"), ("k", "k")]);
    std::fs::remove_dir_all(fx.path(Side::Share, "y")).expect("rm");
    fx.write(Side::Share, "y", "now a file");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("y", "sync_to_client");
    run.assert_ok("y/one.txt", "delete_client_copy");
    run.assert_ok("y/sub", "delete_client_copy");
    run.assert_ok("y/sub/two.txt", "delete_client_copy");
    assert!(fx.path(Side::Cache, "y").is_file());
    assert_eq!(fx.read_str(Side::Cache, "y"), "now a file");
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn empty_folders_are_created_and_deleted_both_ways() {
    let fx = Fixture::synced_with(&[("f.txt", "f")]);
    std::fs::create_dir(fx.path(Side::Cache, "empty_c")).expect("mkdir");
    std::fs::create_dir_all(fx.path(Side::Share, "empty_s/nested_empty")).expect("mkdir");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("empty_c", "create_copy_on_server");
    run.assert_ok("empty_s", "create_copy_on_client");
    run.assert_ok("empty_s/nested_empty", "create_copy_on_client");
    assert!(fx.path(Side::Share, "empty_c").is_dir());
    assert!(fx.path(Side::Cache, "empty_s/nested_empty").is_dir());
    fx.assert_same_trees();
    fx.assert_settled();

    // Deleted on the other side from where each was created.
    std::fs::remove_dir_all(fx.path(Side::Cache, "empty_s")).expect("rm");
    std::fs::remove_dir(fx.path(Side::Share, "empty_c")).expect("rm");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("empty_s", "delete_server_copy");
    run.assert_ok("empty_s/nested_empty", "delete_server_copy");
    run.assert_ok("empty_c", "delete_client_copy");
    assert!(!fx.exists(Side::Share, "empty_s"));
    assert!(!fx.exists(Side::Cache, "empty_c"));
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn kind_changes_the_other_way_round_folder_to_file_in_the_cache_and_file_to_folder_on_the_share() {
    let fx = Fixture::synced_with(&[("d/sub/f.txt", "f"), ("x", "a file"), ("k", "k")]);
    std::fs::remove_dir_all(fx.path(Side::Cache, "d")).expect("rm");
    fx.write(Side::Cache, "d", "now a file");
    fx.remove(Side::Share, "x");
    fx.write(Side::Share, "x/child.txt", "child");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("d", "sync_to_server");
    run.assert_ok("d/sub", "delete_server_copy");
    run.assert_ok("d/sub/f.txt", "delete_server_copy");
    run.assert_ok("x", "sync_to_client");
    run.assert_ok("x/child.txt", "create_copy_on_client");
    assert_eq!(fx.read_str(Side::Share, "d"), "now a file");
    assert_eq!(fx.read_str(Side::Cache, "x/child.txt"), "child");
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn a_deleted_folder_comes_back_for_an_edit_inside_it_on_the_other_side() {
    let fx = Fixture::synced_with(&[
        ("d/a.txt", "a"),
        ("d/b.txt", "b"),
        ("e/a.txt", "a"),
        ("e/b.txt", "b"),
        ("k", "k"),
    ]);
    // d: deleted in the cache, one file edited on the share.
    std::fs::remove_dir_all(fx.path(Side::Cache, "d")).expect("rm");
    fx.write(Side::Share, "d/a.txt", "edited on the share");
    // e: deleted on the share, one file edited in the cache.
    std::fs::remove_dir_all(fx.path(Side::Share, "e")).expect("rm");
    fx.write(Side::Cache, "e/a.txt", "edited in the cache");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("d", "create_copy_on_client");
    run.assert_ok("d/a.txt", "create_copy_on_client");
    run.assert_ok("d/b.txt", "delete_server_copy");
    run.assert_ok("e", "create_copy_on_server");
    run.assert_ok("e/a.txt", "create_copy_on_server");
    run.assert_ok("e/b.txt", "delete_client_copy");
    assert_eq!(fx.read_str(Side::Cache, "d/a.txt"), "edited on the share");
    assert_eq!(fx.read_str(Side::Share, "e/a.txt"), "edited in the cache");
    assert!(!fx.exists(Side::Share, "d/b.txt"));
    assert!(!fx.exists(Side::Cache, "e/b.txt"));
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn sync_of_a_path_only_touches_that_tree() {
    let fx = Fixture::synced_with(&[("a/f", "a"), ("b/f", "b")]);
    fx.write(Side::Cache, "a/f", "a2");
    fx.write(Side::Cache, "b/f", "b2");
    fx.write(Side::Share, "a/g", "new in a");
    let run = fx.sync_json_run(&["a"]);
    run.assert_code(EXIT_OK);
    run.assert_ok("a/f", "sync_to_server");
    run.assert_ok("a/g", "create_copy_on_client");
    assert!(run.for_path("b/f").is_empty(), "{:#?}", run.items);
    assert_eq!(fx.read_str(Side::Share, "b/f"), "b");
    // From inside the cache, a path relative to the working folder.
    let out = common::run_offline(Some(&fx.cache.join("b")), &["sync".as_ref(), "f".as_ref()]);
    common::assert_code(&out, EXIT_OK, "sync f from cache/b");
    assert_eq!(fx.read_str(Side::Share, "b/f"), "b2");
    fx.assert_same_trees();
    fx.assert_settled();
}
