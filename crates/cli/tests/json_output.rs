//! The `--json` output of `offline sync` is what README's "JSON output" section says:
//! the keys of each kind of line, the values of `result` and `action`, and the
//! summary's keys, for a real run (with an error, a skip, a conflict, bookkeeping)
//! and for a dry run. The README section is checked to name every key.

mod common;

use common::{Fixture, Side, EXIT_INCOMPLETE};
use serde_json::Value;
use std::collections::BTreeSet;

/// Keys of an item of a real run: always, and sometimes.
const ITEM_ALWAYS: &[&str] = &["path", "state", "operation", "result"];
const ITEM_SOMETIMES: &[&str] = &["action", "error", "reason", "bytes", "note"];
/// Keys of an item of a dry run (all always there).
const PLANNED: &[&str] = &[
    "path",
    "state",
    "state_code",
    "operation",
    "action",
    "result",
    "local",
    "remote",
    "original",
];
/// Keys of the `error` object.
const ERROR: &[&str] = &[
    "operation",
    "operation_code",
    "kind",
    "message",
    "hint",
    "differences",
    "local",
    "remote",
    "original",
];
/// Keys of the summary.
const SUMMARY: &[&str] = &[
    "counts",
    "conflicts",
    "errors",
    "skipped",
    "bytes",
    "stopped",
    "dry_run",
];
/// The values of `result` and `action`.
const RESULTS: &[&str] = &["ok", "error", "conflict", "skipped", "planned"];
const ACTIONS: &[&str] = &[
    "create_copy_on_server",
    "create_copy_on_client",
    "sync_to_server",
    "sync_to_client",
    "delete_server_copy",
    "delete_client_copy",
    "pin",
    "record_original",
    "forget_original",
    "record_ghost",
    "conflict",
    "conflict_keep_local",
    "conflict_keep_remote",
    "conflict_keep_all",
    "blocked",
];

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn set(list: &[&'static str]) -> BTreeSet<&'static str> {
    list.iter().copied().collect()
}

/// A synced cache with a copy each way, a deletion, a conflict and an identical edit
/// (bookkeeping).
fn busy() -> Fixture {
    let fx = Fixture::synced_with(&[
        ("edit.txt", "v1"),
        ("gone.txt", "g"),
        ("conflict.txt", "base"),
        ("same.txt", "base"),
    ]);
    fx.write(Side::Cache, "edit.txt", "v2, longer");
    fx.write(Side::Share, "new.txt", "new on the share");
    fx.remove(Side::Cache, "gone.txt");
    fx.write(Side::Cache, "conflict.txt", "cache side");
    fx.write(Side::Share, "conflict.txt", "share side!");
    fx.write(Side::Cache, "same.txt", "same edit");
    fx.write(Side::Share, "same.txt", "same edit");
    fx
}

/// Creates `base/deep/...` reaching further than PATH_MAX below `base` (short names
/// renamed long from the bottom up, so no call needs a path that long): a folder the
/// sync cannot open, an error naming `prepare`.
fn make_too_deep(base: &std::path::Path) {
    const LEVELS: usize = 24;
    let mut short = base.join("deep");
    for i in 0..LEVELS {
        short.push(i.to_string());
    }
    std::fs::create_dir_all(&short).expect("short chain");
    for level in (0..LEVELS).rev() {
        let mut parent = base.join("deep");
        for i in 0..level {
            parent.push(i.to_string());
        }
        let long = format!("{level:02}{}", "n".repeat(200));
        std::fs::rename(parent.join(level.to_string()), parent.join(long)).expect("rename");
    }
}

#[test]
fn sync_json_lines_have_the_documented_keys_and_values() {
    let fx = busy();
    let dry = fx.sync_json_run(&["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(!dry.items.is_empty());
    for item in &dry.items {
        assert_eq!(keys(item), set(PLANNED), "a planned item: {item}");
        assert_eq!(item["result"], "planned", "{item}");
        assert!(
            ACTIONS.contains(&item["action"].as_str().unwrap_or("")),
            "{item}"
        );
        assert!(item["state_code"].is_u64(), "{item}");
    }
    assert_eq!(
        keys(&dry.summary["summary"]),
        set(SUMMARY),
        "{}",
        dry.summary
    );
    assert_eq!(dry.summary["summary"]["dry_run"], true);

    // A folder too deep to open (even for root): an error line.
    make_too_deep(&fx.cache);
    let real = fx.sync_json_run(&[]);
    real.assert_code(EXIT_INCOMPLETE);
    let mut seen_results = BTreeSet::new();
    let mut seen_actions = BTreeSet::new();
    for item in &real.items {
        let k = keys(item);
        for always in ITEM_ALWAYS {
            assert!(k.contains(always), "{always} missing: {item}");
        }
        let allowed: BTreeSet<&str> = set(ITEM_ALWAYS)
            .union(&set(ITEM_SOMETIMES))
            .copied()
            .collect();
        assert!(k.is_subset(&allowed), "undocumented keys: {item}");
        let result = item["result"].as_str().expect("result");
        assert!(RESULTS.contains(&result) && result != "planned", "{item}");
        seen_results.insert(result.to_string());
        if let Some(action) = item.get("action") {
            let action = action.as_str().expect("action");
            assert!(ACTIONS.contains(&action), "{item}");
            seen_actions.insert(action.to_string());
        }
        if result == "error" {
            assert_eq!(keys(&item["error"]), set(ERROR), "{item}");
        }
        if result == "skipped" {
            assert!(item["reason"].is_string(), "{item}");
        }
    }
    for expected in ["ok", "conflict", "error"] {
        assert!(
            seen_results.contains(expected),
            "no {expected} line: {:#?}",
            real.items
        );
    }
    for expected in [
        "sync_to_server",
        "create_copy_on_client",
        "delete_server_copy",
        "conflict",
        "record_original",
    ] {
        assert!(
            seen_actions.contains(expected),
            "no {expected} action: {:#?}",
            real.items
        );
    }
    assert_eq!(
        keys(&real.summary["summary"]),
        set(SUMMARY),
        "{}",
        real.summary
    );
    assert_eq!(real.summary["summary"]["dry_run"], false);
}

/// README's "JSON output" section names every key and value the test above allows.
#[test]
fn readme_documents_every_json_key() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let start = readme
        .find("### JSON output")
        .expect("a JSON output section");
    let section = &readme[start..];
    let section = &section[..section[4..].find("\n#").map_or(section.len(), |e| e + 4)];
    for key in ITEM_ALWAYS
        .iter()
        .chain(ITEM_SOMETIMES)
        .chain(PLANNED)
        .chain(ERROR)
        .chain(SUMMARY)
    {
        assert!(
            section.contains(&format!("\"{key}\"")),
            "README's JSON section lacks \"{key}\""
        );
    }
    for value in RESULTS.iter().chain(ACTIONS) {
        assert!(
            section.contains(&format!("`{value}`")) || section.contains(&format!("\"{value}\"")),
            "README's JSON section lacks {value}"
        );
    }
}
