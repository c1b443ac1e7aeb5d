//! The worker's watch on the cache folder (inotify through `notify`): what a watcher
//! event means for the worker (items changed or renamed, the state database written,
//! events lost), and starting the watch.

use offline_core::RelPath;
use offline_engine::layout;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::mpsc::Sender;

/// What the watcher and the daemon tell a worker.
#[derive(Debug)]
pub enum Msg {
    /// Items of the cache changed (created, written, removed).
    Changed(Vec<RelPath>),
    /// An item was renamed inside the cache.
    Renamed(RelPath, RelPath),
    /// The state database was written (another `offline` command, the FUSE view):
    /// a hint to look at what changed soon.
    StateChanged,
    /// The watcher lost events: rescan.
    Overflow,
    /// Items of the share changed (`None`: it is not known which), as the share
    /// watch saw (see `share_watch`).
    ShareChanged(Option<Vec<RelPath>>),
    /// Look at the stop flag now.
    Wake,
}

/// Turns a watcher event into a message for the worker of `root`.
pub fn message_for(root: &Path, event: notify::Result<notify::Event>) -> Option<Msg> {
    use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
    let event = match event {
        Ok(e) => e,
        Err(_) => return Some(Msg::Overflow),
    };
    if event.need_rescan() {
        return Some(Msg::Overflow);
    }
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return None,
        EventKind::Other => return Some(Msg::Overflow),
        _ => {}
    }
    let mut state_changed = false;
    let mut paths = Vec::new();
    for p in &event.paths {
        match classify(root, p) {
            Classified::Item(rel) => paths.push(rel),
            Classified::StateDb => state_changed = true,
            Classified::Ignored => {}
        }
    }
    if let EventKind::Modify(ModifyKind::Name(RenameMode::Both)) = event.kind {
        if paths.len() == 2 {
            let to = paths.pop()?;
            let from = paths.pop()?;
            return Some(Msg::Renamed(from, to));
        }
    }
    if !paths.is_empty() {
        Some(Msg::Changed(paths))
    } else if state_changed {
        Some(Msg::StateChanged)
    } else {
        None
    }
}

enum Classified {
    Item(RelPath),
    StateDb,
    Ignored,
}

fn classify(root: &Path, path: &Path) -> Classified {
    let Ok(rel) = path.strip_prefix(root) else {
        return Classified::Ignored;
    };
    let bytes = rel.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Classified::Ignored;
    }
    let mut parts = bytes.split(|b| *b == b'/');
    if parts.next() == Some(offline_core::CACHE_DIR_NAME) {
        let name = rel.file_name().map(|n| n.as_bytes()).unwrap_or(b"");
        return if layout::is_state_db_name(name) && rel.components().count() == 2 {
            Classified::StateDb
        } else {
            Classified::Ignored
        };
    }
    if bytes.split(|b| *b == b'/').any(offline_core::is_temp_name) {
        return Classified::Ignored;
    }
    match RelPath::new(bytes.to_vec()) {
        Ok(rel) => Classified::Item(rel),
        Err(_) => Classified::Ignored,
    }
}

/// Starts watching the cache folder recursively; `None` (with a warning) when the
/// watcher cannot start: the periodic rescan still finds changes.
pub fn watch(root: &Path, tx: Sender<Msg>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let watch_root = root.to_path_buf();
    let handler = move |event: notify::Result<notify::Event>| {
        if let Some(msg) = message_for(&watch_root, event) {
            let _ = tx.send(msg);
        }
    };
    match notify::recommended_watcher(handler) {
        Ok(mut watcher) => match watcher.watch(root, notify::RecursiveMode::Recursive) {
            Ok(()) => Some(watcher),
            Err(e) => {
                tracing::warn!(cache = %root.display(), "cannot watch the cache folder ({e}); changes are found by the periodic rescan");
                None
            }
        },
        Err(e) => {
            tracing::warn!(
                "cannot start the file watcher ({e}); changes are found by the periodic rescan"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(p: &str) -> RelPath {
        RelPath::from_str_lossy(p).unwrap()
    }

    #[test]
    fn watcher_paths_are_classified() {
        let root = Path::new("/c");
        assert!(matches!(
            classify(root, Path::new("/c/.offline/state.db-wal")),
            Classified::StateDb
        ));
        assert!(matches!(
            classify(root, Path::new("/c/.offline/daemon.json")),
            Classified::Ignored
        ));
        assert!(matches!(
            classify(root, Path::new("/c/.offline/conflicts/state.db")),
            Classified::Ignored
        ));
        assert!(matches!(
            classify(
                root,
                Path::new("/c/a/.offline-tmp-0123456789abcdef-0123456789abcdef")
            ),
            Classified::Ignored
        ));
        // A person's file named like a temp file is an ordinary item.
        assert!(!matches!(
            classify(root, Path::new("/c/a/.offline-tmp-123")),
            Classified::Ignored
        ));
        assert!(matches!(
            classify(root, Path::new("/c")),
            Classified::Ignored
        ));
        assert!(matches!(
            classify(root, Path::new("/elsewhere/x")),
            Classified::Ignored
        ));
        match classify(root, Path::new("/c/a/b.txt")) {
            Classified::Item(p) => assert_eq!(p, rel("a/b.txt")),
            _ => panic!("an item"),
        }
    }
}
