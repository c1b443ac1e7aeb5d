//! Recovery's sweep of a network share for this cache's own temp files (left by a
//! killed upload): a walk of the share that removes every file whose name this cache's
//! temp tag owns, and goes into no temp folder. The backends give the listing and the
//! removal of one file; the walk is the same for all.

use crate::error::{ErrorKind, Result};
use crate::Entry;
use offline_core::{is_temp_name, Kind, RelPath, TempTag};

/// Whether removing one temp file found it still there.
pub(crate) enum Removal {
    /// It was there and is gone.
    Removed,
    /// Something else removed it first.
    AlreadyGone,
}

/// Walks the share from its root with `list`, removes each file `temp` owns with
/// `remove`, and returns how many it removed. A subfolder that vanishes while the walk
/// goes is skipped; any other error stops the sweep.
pub(crate) fn remove_own_temp_files(
    temp: &TempTag,
    mut list: impl FnMut(&RelPath) -> Result<Vec<(Entry, bool)>>,
    mut remove: impl FnMut(&RelPath) -> Result<Removal>,
) -> Result<usize> {
    let mut pending = vec![RelPath::root()];
    let mut removed = 0;
    while let Some(dir) = pending.pop() {
        let entries = match list(&dir) {
            Ok(entries) => entries,
            Err(e) if !dir.is_root() && e.kind == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for (entry, _) in entries {
            let Ok(item) = dir.join(&entry.name) else {
                continue;
            };
            if temp.owns(&entry.name) {
                if entry.stat.meta.kind != Kind::Dir {
                    if let Removal::Removed = remove(&item)? {
                        removed += 1;
                    }
                }
            } else if entry.stat.meta.kind == Kind::Dir && !is_temp_name(&entry.name) {
                pending.push(item);
            }
        }
    }
    Ok(removed)
}
