//! End-to-end: symlinks are synced as links and never followed; permission bits and
//! modification times are carried both ways; a mode-only change syncs and an
//! mtime-only change does not; names that are not UTF-8 sync and are escaped in JSON.

mod common;

use common::{Fixture, Node, Side, EXIT_OK};
use std::os::unix::fs::symlink;

/// The content of the file outside both sides that the absolute links point at.
const OUTSIDE: &str = "outside both sides: never written through a link";

/// A file in the fixture's temp folder, outside both sides, for the absolute links
/// to point at (a regression that wrote through links would change it, and nothing
/// of the machine's).
/// Made once: a later call must not hide a write through a link.
fn outside_target(fx: &Fixture) -> String {
    let path = fx.dir.path().join("outside/target.txt");
    if !path.exists() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, OUTSIDE).expect("write the outside file");
    }
    path.to_str().expect("a UTF-8 temp path").to_string()
}

/// Makes the links of the symlink test on `side`, each name prefixed with `prefix`.
fn make_links(fx: &Fixture, side: Side, prefix: &str) {
    let absolute = outside_target(fx);
    let root = fx.root(side);
    fx.write(side, format!("{prefix}sub/target.txt"), "the target");
    let link = |target: &str, name: &str| {
        symlink(target, root.join(format!("{prefix}{name}"))).expect("symlink");
    };
    link("sub/target.txt", "relative");
    link(&absolute, "absolute");
    link("no/such/file", "dangling");
    link(&format!("{prefix}loop_b"), "loop_a");
    link(&format!("{prefix}loop_a"), "loop_b");
    // A link to a folder: must stay a link, its content must not be copied through it.
    link(&format!("{prefix}sub"), "dirlink");
    link("..", "up");
}

fn check_links(fx: &Fixture, to: Side, prefix: &str) {
    let expected: [(&str, String); 7] = [
        ("relative", "sub/target.txt".into()),
        ("absolute", outside_target(fx)),
        ("dangling", "no/such/file".into()),
        ("loop_a", format!("{prefix}loop_b")),
        ("loop_b", format!("{prefix}loop_a")),
        ("dirlink", format!("{prefix}sub")),
        ("up", "..".into()),
    ];
    for (name, target) in expected {
        let rel = format!("{prefix}{name}");
        let meta = std::fs::symlink_metadata(fx.path(to, &rel))
            .unwrap_or_else(|e| panic!("{rel} on {to:?}: {e}"));
        assert!(
            meta.file_type().is_symlink(),
            "{rel} is a symlink on {to:?}"
        );
        assert_eq!(
            String::from_utf8(fx.link_target(to, &rel)).expect("utf-8"),
            target,
            "{rel} points at the same target on {to:?}"
        );
    }
    // Nothing was followed: no tree appeared below the folder link.
    let below: Vec<_> = common::tree(fx.root(to))
        .into_keys()
        .filter(|k| {
            k.starts_with(&format!("{prefix}dirlink/")) || k.starts_with(&format!("{prefix}up/"))
        })
        .collect();
    assert!(below.is_empty(), "links were followed: {below:?}");
}

#[test]
fn symlinks_are_synced_as_links_both_ways_and_never_followed() {
    let fx = Fixture::synced_with(&[("plain.txt", "plain")]);
    make_links(&fx, Side::Cache, "c_");
    make_links(&fx, Side::Share, "s_");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    for name in [
        "relative", "absolute", "dangling", "loop_a", "loop_b", "dirlink", "up",
    ] {
        run.assert_ok(&format!("c_{name}"), "create_copy_on_server");
        run.assert_ok(&format!("s_{name}"), "create_copy_on_client");
    }
    check_links(&fx, Side::Share, "c_");
    check_links(&fx, Side::Cache, "s_");
    fx.assert_same_trees();
    fx.assert_settled();

    // A link whose target changes is synced again (as a link).
    fx.remove(Side::Cache, "c_relative");
    symlink("sub/other.txt", fx.path(Side::Cache, "c_relative")).expect("symlink");
    fx.remove(Side::Share, "s_dangling");
    symlink("elsewhere", fx.path(Side::Share, "s_dangling")).expect("symlink");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("c_relative", "sync_to_server");
    run.assert_ok("s_dangling", "sync_to_client");
    assert_eq!(fx.link_target(Side::Share, "c_relative"), b"sub/other.txt");
    assert_eq!(fx.link_target(Side::Cache, "s_dangling"), b"elsewhere");

    // A link replaced by a file, and a file replaced by a link.
    fx.remove(Side::Cache, "c_absolute");
    fx.write(Side::Cache, "c_absolute", "now a file");
    fx.remove(Side::Share, "plain.txt");
    symlink("s_sub/target.txt", fx.path(Side::Share, "plain.txt")).expect("symlink");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("c_absolute", "sync_to_server");
    run.assert_ok("plain.txt", "sync_to_client");
    assert_eq!(fx.read_str(Side::Share, "c_absolute"), "now a file");
    assert_eq!(
        fx.link_target(Side::Cache, "plain.txt"),
        b"s_sub/target.txt"
    );
    // The file the absolute links point at was never written through them.
    assert_eq!(
        std::fs::read_to_string(fx.dir.path().join("outside/target.txt")).expect("read"),
        OUTSIDE
    );
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn modes_and_mtimes_are_preserved_both_ways() {
    let fx = Fixture::synced_with(&[("seed.txt", "seed")]);
    // (path, mode, mtime secs, mtime ns)
    let cases = [
        ("exec.sh", 0o755, 1_500_000_000, 123_456_789),
        ("secret.txt", 0o600, 1_400_000_000, 1),
        ("odd.txt", 0o640, 1_300_000_000, 999_999_999),
    ];
    for (side, prefix) in [(Side::Cache, "c_"), (Side::Share, "s_")] {
        for (name, mode, secs, ns) in cases {
            let rel = format!("{prefix}{name}");
            fx.write(side, &rel, format!("content of {rel}"));
            fx.chmod(side, &rel, mode);
            fx.set_mtime(side, &rel, secs, ns);
        }
        let dir = format!("{prefix}private_dir");
        std::fs::create_dir(fx.path(side, &dir)).expect("mkdir");
        fx.chmod(side, &dir, 0o700);
        fx.set_mtime(side, &dir, 1_200_000_000, 42);
        let link = format!("{prefix}link");
        symlink("seed.txt", fx.path(side, &link)).expect("symlink");
        fx.set_mtime(side, &link, 1_100_000_000, 7);
    }
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    for (from, to, prefix) in [
        (Side::Cache, Side::Share, "c_"),
        (Side::Share, Side::Cache, "s_"),
    ] {
        for (name, mode, secs, ns) in cases {
            let rel = format!("{prefix}{name}");
            assert_eq!(fx.mode(to, &rel), mode, "mode of {rel} on {to:?}");
            assert_eq!(
                fx.mtime_ns(to, &rel),
                secs as i128 * 1_000_000_000 + ns as i128,
                "mtime of {rel} on {to:?}"
            );
            assert_eq!(fx.mtime_ns(to, &rel), fx.mtime_ns(from, &rel));
        }
        let dir = format!("{prefix}private_dir");
        assert_eq!(fx.mode(to, &dir), 0o700, "mode of {dir} on {to:?}");
        assert_eq!(
            fx.mtime_ns(to, &dir),
            1_200_000_000_000_000_042,
            "mtime of the empty folder {dir} on {to:?}"
        );
        let link = format!("{prefix}link");
        assert_eq!(
            fx.mtime_ns(to, &link),
            1_100_000_000_000_000_007,
            "mtime of the symlink {link} on {to:?}"
        );
    }
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn a_mode_only_change_syncs_both_ways() {
    let fx = Fixture::synced_with(&[("a.sh", "echo a"), ("b.sh", "echo b"), ("d/x", "x")]);
    let a_mtime = fx.mtime_ns(Side::Cache, "a.sh");
    fx.chmod(Side::Cache, "a.sh", 0o700);
    fx.chmod(Side::Share, "b.sh", 0o604);
    fx.chmod(Side::Cache, "d", 0o750);
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("a.sh", "sync_to_server");
    run.assert_ok("b.sh", "sync_to_client");
    run.assert_ok("d", "sync_to_server");
    assert_eq!(fx.mode(Side::Share, "a.sh"), 0o700);
    assert_eq!(fx.mode(Side::Cache, "b.sh"), 0o604);
    assert_eq!(fx.mode(Side::Share, "d"), 0o750);
    assert_eq!(fx.read_str(Side::Share, "a.sh"), "echo a");
    assert_eq!(
        fx.mtime_ns(Side::Share, "a.sh"),
        a_mtime,
        "content and time kept"
    );
    fx.assert_same_trees();
    fx.assert_settled();
}

#[test]
fn an_mtime_only_change_is_not_a_change() {
    let fx = Fixture::synced_with(&[("a.txt", "a"), ("b.txt", "b"), ("d/c.txt", "c")]);
    let share_before = common::tree(&fx.share);
    let share_mtime = fx.mtime_ns(Side::Share, "a.txt");
    fx.set_mtime(Side::Cache, "a.txt", 1_000_000_000, 5);
    fx.set_mtime(Side::Share, "b.txt", 1_000_000_000, 6);
    fx.set_mtime(Side::Cache, "d", 1_000_000_000, 0);
    // Rewriting the same bytes (new mtime and ctime) is no change either.
    fx.write(Side::Cache, "d/c.txt", "c");
    let planned = fx.planned();
    assert!(planned.is_empty(), "touch is not a change: {planned:#?}");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    assert!(run.items.is_empty(), "{:#?}", run.items);
    assert_eq!(
        fx.mtime_ns(Side::Share, "a.txt"),
        share_mtime,
        "nothing was sent"
    );
    assert_ne!(
        fx.mtime_ns(Side::Cache, "b.txt"),
        1_000_000_000_000_000_006,
        "the share's touch is not carried to the cache"
    );
    assert_eq!(common::tree(&fx.share), share_before);
    assert_eq!(fx.status()["dirty_items"], 0);
    fx.assert_settled();
    // A real edit after the touch is still seen.
    fx.write(Side::Cache, "a.txt", "A");
    fx.set_mtime(Side::Cache, "a.txt", 1_000_000_000, 5);
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("a.txt", "sync_to_server");
    assert_eq!(fx.read_str(Side::Share, "a.txt"), "A");
}

#[test]
fn names_that_are_not_utf8_sync_both_ways_and_are_escaped_in_json() {
    let fx = Fixture::synced_with(&[("plain.txt", "plain")]);
    fx.write(Side::Cache, b"caf\xe9.txt", "latin-1 name from the cache");
    fx.write(Side::Share, b"na\xefve/\xff\xfe.bin", [1u8, 2, 3]);
    fx.write(Side::Cache, "back\\slash.txt", "a backslash");
    fx.write(
        Side::Share,
        "utf8-\u{e9}t\u{e9}.txt",
        "valid UTF-8 stays as is",
    );
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("caf\\xe9.txt", "create_copy_on_server");
    run.assert_ok("na\\xefve", "create_copy_on_client");
    run.assert_ok("na\\xefve/\\xff\\xfe.bin", "create_copy_on_client");
    run.assert_ok("back\\\\slash.txt", "create_copy_on_server");
    run.assert_ok("utf8-\u{e9}t\u{e9}.txt", "create_copy_on_client");
    assert_eq!(
        fx.read(Side::Share, b"caf\xe9.txt"),
        b"latin-1 name from the cache"
    );
    assert_eq!(fx.read(Side::Cache, b"na\xefve/\xff\xfe.bin"), [1u8, 2, 3]);
    assert_eq!(fx.read_str(Side::Share, "back\\slash.txt"), "a backslash");
    fx.assert_same_trees();
    fx.assert_settled();

    // Edits and deletions of such names work too, and `ls --json` escapes them.
    fx.write(Side::Share, b"caf\xe9.txt", "edited on the share");
    fx.remove(Side::Cache, b"na\xefve/\xff\xfe.bin");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    run.assert_ok("caf\\xe9.txt", "sync_to_client");
    run.assert_ok("na\\xefve/\\xff\\xfe.bin", "delete_server_copy");
    assert_eq!(fx.read(Side::Cache, b"caf\xe9.txt"), b"edited on the share");
    assert!(!fx.exists(Side::Share, b"na\xefve/\xff\xfe.bin"));
    let (out, lines) = fx.json_lines(&["ls", "--json"]);
    common::assert_code(&out, EXIT_OK, "ls --json");
    assert!(
        lines.iter().any(|l| l["path"] == "caf\\xe9.txt"),
        "ls --json shows the escaped name: {lines:#?}"
    );
    fx.assert_same_trees();
    fx.assert_settled();
    // The snapshot helper agrees with the JSON escaping.
    assert!(matches!(
        common::tree(&fx.cache).get("caf\\xe9.txt"),
        Some(Node::File { .. })
    ));
}
