//! An initial sync streamed in pieces (`SyncSink::streams`) against its dry run: the
//! same items, started in the same order, with the same actions, and the same sides
//! after it as after a sync that holds the whole plan. The tree has a folder on the
//! share where the cache has a file (held with its subtree, then blocked below the
//! conflict) beside plain folders.

use offline_core::{Action, PlanItem, RelPath, SyncControl};
use offline_engine::{
    Cache, InitOptions, ItemReport, PrepareOptions, Response, SinkError, SyncSink,
};
use std::fs;
use std::path::Path;

/// Records what a sync started and reported; streams when asked to.
struct Seen {
    streams: bool,
    pieces: usize,
    begun: Vec<RelPath>,
    done: Vec<(RelPath, Option<Action>)>,
}

impl SyncSink for Seen {
    fn streams(&self) -> bool {
        self.streams
    }

    fn more(&mut self, piece: &offline_core::Plan) -> Result<(), SinkError> {
        self.pieces += 1;
        assert!(!piece.items.is_empty(), "a piece holds items");
        Ok(())
    }

    fn item_begin(&mut self, item: &PlanItem) -> Result<(), SinkError> {
        self.begun.push(item.path.clone());
        Ok(())
    }

    fn item_result(&mut self, report: &ItemReport) -> Result<Response, SinkError> {
        self.done.push((report.path.clone(), report.action));
        Ok(Response::Continue)
    }
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("a parent")).expect("folder");
    fs::write(path, text).expect("write");
}

/// A cache and its folder share, filled: plain folders on the share, a file `k` in
/// the cache where the share has a folder `k/`.
fn setup(root: &Path) -> Cache {
    let share = root.join("share");
    for dir in ["a", "a/b", "c", "k", "z"] {
        for f in ["1", "2"] {
            write(&share.join(dir).join(f), &format!("{dir}/{f}\n"));
        }
    }
    let cache = Cache::init(
        share.as_os_str(),
        &root.join("cache"),
        InitOptions { pin_root: true },
    )
    .expect("init");
    write(&root.join("cache/k"), "a file here\n");
    write(&root.join("cache/new/x"), "only in the cache\n");
    cache
}

fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("read") {
            let path = entry.expect("entry").path();
            if path.file_name().is_some_and(|n| n == ".offline") {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else {
                let rel = path.strip_prefix(root).expect("inside");
                out.push((rel.display().to_string(), fs::read(&path).expect("read")));
            }
        }
    }
    out.sort();
    out
}

fn sync(root: &Path, streams: bool) -> (Seen, Vec<(RelPath, Option<Action>)>) {
    let mut cache = setup(root);
    let control = SyncControl::default();
    let share = cache.open_share().expect("share");
    let planned = cache
        .prepare(share.as_ref(), &control, &PrepareOptions::default())
        .expect("dry run");
    let order: Vec<(RelPath, Option<Action>)> = planned
        .plan
        .run_order()
        .into_iter()
        .map(|i| (i.path.clone(), Some(i.action)))
        .collect();
    drop(share);
    let mut seen = Seen {
        streams,
        pieces: 0,
        begun: Vec::new(),
        done: Vec::new(),
    };
    let summary = cache
        .synchronize(&control, &PrepareOptions::default(), &mut seen)
        .expect("sync");
    assert_eq!(summary.conflicts, 1, "{summary:?}");
    (seen, order)
}

#[test]
fn a_streamed_initial_sync_does_what_its_dry_run_says_in_its_order() {
    // A piece after every folder (the default is 16k items).
    std::env::set_var("OFFLINE_PIECE_ITEMS", "1");
    let streamed_dir = tempfile::tempdir().expect("temp");
    let whole_dir = tempfile::tempdir().expect("temp");
    let (streamed, order) = sync(streamed_dir.path(), true);
    let (whole, whole_order) = sync(whole_dir.path(), false);
    assert_eq!(order, whole_order);
    assert!(
        streamed.pieces >= 4,
        "the plan came in pieces: {}",
        streamed.pieces
    );
    assert_eq!(whole.pieces, 0);
    let paths: Vec<RelPath> = order.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(streamed.begun, paths, "started in the dry run's order");
    assert_eq!(whole.begun, paths);
    let mut done = streamed.done.clone();
    let mut expected = order.clone();
    done.sort();
    expected.sort();
    assert_eq!(done, expected, "each item with the dry run's action");
    assert!(
        order
            .iter()
            .any(|(p, a)| p.as_bytes() == b"k/1" && *a == Some(Action::Blocked)),
        "below the conflict waits: {order:?}"
    );
    for side in ["cache", "share"] {
        assert_eq!(
            files(&streamed_dir.path().join(side)),
            files(&whole_dir.path().join(side)),
            "{side}"
        );
    }
}
