//! Where exclusions meet the scan of the cache folder (`offline status`, `ls`, the
//! daemon's rescan): an excluded name is set aside with its reason, never scanned
//! below, never counted as a change waiting to go out.

use super::load::{enter, Readers};
use super::{Checker, Exclusions, Reason, Stack};
use offline_core::RelPath;
use offline_remote::{Entry, Remote, RemoteError};

/// Where a scan that starts at a path below the root stands.
pub(crate) enum Start {
    /// The path is excluded (or lies below an excluded folder).
    Excluded(Reason),
    /// It is not; the stack in force in its folder.
    Included(Stack),
}

/// How a scan of `side` that starts at `start` (a folder when `is_dir`) begins.
pub(crate) fn start_of(
    side: &dyn Remote,
    start: &RelPath,
    is_dir: bool,
    exclusions: &Exclusions,
) -> Result<Start, RemoteError> {
    let mut checker = Checker::new(exclusions.clone());
    if let Some(reason) = checker.check(side, start, is_dir)? {
        if reason.excluded {
            return Ok(Start::Excluded(reason));
        }
    }
    let parent = start.parent().unwrap_or_else(RelPath::root);
    Ok(Start::Included(checker.stack_in(side, &parent)?))
}

/// The stack in force inside `dir` of `side`, listed as `entries`; `outer` was in
/// force where it was found.
pub(crate) fn enter_listing(
    side: &dyn Remote,
    exclusions: &Exclusions,
    outer: &Stack,
    dir: &RelPath,
    entries: &[Entry],
) -> Result<Stack, RemoteError> {
    let readers = Readers {
        local: side,
        share: None,
    };
    Ok(enter(exclusions, outer, dir, entries, &[], readers)?.stack)
}
