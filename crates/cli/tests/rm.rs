//! `offline rm` through the real binary (issue 13): an item is deleted with
//! everything under it, ghosts included, at the next sync, as deleting in Explorer's
//! Offline Files view does; bytes never synced are kept in `.offline/discarded/`; a
//! ghost changed on the share in the meantime comes back (a deletion never wins over
//! a change).

mod common;

use common::*;

/// A `--no-pin` cache of a share holding `docs/` (ghosts, one fetched) and ten other
/// files (so deleting `docs` stays under the mass-delete guard's limit).
fn fixture() -> Fixture {
    let fx = Fixture::new();
    for (path, content) in [
        ("docs/f1", "one"),
        ("docs/f2", "two"),
        ("docs/sub/f3", "three"),
    ] {
        fx.write(Side::Share, path, content);
    }
    for i in 0..10 {
        fx.write(Side::Share, format!("other/o{i}"), format!("other {i}"));
    }
    fx.init_with(&["--no-pin"]);
    assert_code(&fx.sync(&[]), EXIT_OK, "first sync");
    assert_code(&fx.run(&["fetch", "docs/f1"]), EXIT_OK, "fetch");
    fx
}

fn discarded(fx: &Fixture) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = tree(&fx.meta_dir().join("discarded"))
        .into_iter()
        .filter_map(|(path, node)| match node {
            // `<UTC>/<path>`: the time folder left out.
            Node::File { content, .. } => Some((
                path.split_once('/')
                    .map_or(path.clone(), |(_, p)| p.to_string()),
                content,
            )),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

#[test]
fn rm_deletes_a_folder_with_its_ghosts_on_the_share_at_the_next_sync() {
    let fx = fixture();
    fx.write(Side::Cache, "docs/new", "never synced");
    let (out, lines) = fx.json_lines(&["rm", "docs", "--json"]);
    assert_code(&out, EXIT_OK, "rm");
    let report = &lines[0];
    let mut ghosts: Vec<&str> = report["ghosts"]
        .as_array()
        .expect("ghosts")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    ghosts.sort();
    assert_eq!(
        ghosts,
        vec!["docs/f2", "docs/sub", "docs/sub/f3"],
        "{report}"
    );
    assert!(!fx.exists(Side::Cache, "docs"));
    // Nothing changed on the share yet.
    assert_eq!(fx.read_str(Side::Share, "docs/sub/f3"), "three");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    assert_eq!(run.summary["summary"]["errors"], 0);
    assert!(!fx.exists(Side::Share, "docs"), "deleted with its ghosts");
    assert_eq!(fx.read_str(Side::Share, "other/o3"), "other 3");
    assert_eq!(
        discarded(&fx),
        vec![("docs/new".to_string(), b"never synced".to_vec())]
    );
    // (The other files stay ghosts: the trees differ by them.)
    fx.assert_settled();
}

#[test]
fn rm_keeps_a_change_not_synced_and_a_ghost_changed_on_the_share_comes_back() {
    let fx = fixture();
    fx.write(Side::Cache, "docs/f1", "changed in the cache");
    assert_code(&fx.run(&["rm", "docs"]), EXIT_OK, "rm");
    fx.write(Side::Share, "docs/f2", "changed on the share");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    assert_eq!(
        discarded(&fx),
        vec![("docs/f1".to_string(), b"changed in the cache".to_vec())]
    );
    assert!(!fx.exists(Side::Share, "docs/f1"));
    assert!(!fx.exists(Side::Share, "docs/sub"));
    assert_eq!(fx.read_str(Side::Share, "docs/f2"), "changed on the share");
    assert_eq!(fx.read_str(Side::Cache, "docs/f2"), "changed on the share");
    // (The other files stay ghosts: the trees differ by them.)
    fx.assert_settled();
}

#[test]
fn rm_of_the_root_is_refused() {
    let fx = fixture();
    let out = fx.run(&["rm", "."]);
    assert_code(&out, EXIT_USAGE, "rm .");
    assert!(stderr(&out).contains("root"), "{}", stderr(&out));
}
