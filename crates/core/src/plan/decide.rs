//! Rule 1 of the planner: each path on its own. The change on each side is measured
//! against the original, giving a [`SyncState`] and an [`Action`].

use super::{Action, Change, Triple};
use crate::control::{ConflictPolicy, SyncControl};
use crate::meta::Meta;
use crate::operation::SyncOperation;
use crate::side::Side;
use crate::state::SyncState;

fn is_dir(meta: Option<&Meta>) -> bool {
    meta.is_some_and(Meta::is_dir)
}

/// Classifies one path: its sync state and what to do. `None`: nothing to do.
pub fn decide(t: &Triple, control: &SyncControl, base_known: bool) -> Option<(SyncState, Action)> {
    let (o, l, r) = (t.original_meta(), t.meta(Side::Cache), t.meta(Side::Share));
    let lc = Change::of_cache(o, t.cached, l);
    let rc = Change::of(o, r);

    if t.excluded {
        // Nothing is compared. The path stays in the items so that rule 2 keeps the
        // folders that hold it; only a known original leaves a trace in the plan
        // (see `settle`).
        return Some((SyncState::Stable, Action::ForgetExcluded));
    }
    if let (Some(lm), Some(rm)) = (l, r) {
        if lm.same_item(rm) {
            if lc == Change::Unchanged && rc == Change::Unchanged {
                return None;
            }
            return Some((
                state_for(lc, l, rc, r, o, base_known),
                Action::RecordOriginal,
            ));
        }
    }
    let state = state_for(lc, l, rc, r, o, base_known);
    use Change::*;
    let action = match (lc, rc) {
        (Unchanged, Unchanged) | (Absent, Absent) => return None,
        (Deleted, Deleted) | (Ghost, Deleted) => Action::ForgetOriginal,
        (Ghost, Unchanged | Changed) if t.pinned => Action::Run(SyncOperation::Pin),
        (Ghost, Unchanged) => return None,
        (Ghost, Changed) => Action::RecordGhost,
        (Absent, Created) if t.pinned => Action::Run(SyncOperation::CreateCopyOnClient),
        (Absent, Created) => Action::RecordGhost,
        (Created, Absent | Deleted) => Action::Run(SyncOperation::CreateCopyOnServer),
        (Changed, Unchanged) => Action::Run(SyncOperation::SyncToServer),
        (Unchanged, Changed) => Action::Run(SyncOperation::SyncToClient),
        (Unchanged, Deleted) => Action::Run(SyncOperation::DeleteClientCopy),
        (Deleted, Unchanged) => Action::Run(SyncOperation::DeleteServerCopy),
        // A deletion against a change: the change is kept by copying it back.
        (Deleted, Changed) => Action::Run(SyncOperation::CreateCopyOnClient),
        (Changed, Deleted) => Action::Run(SyncOperation::CreateCopyOnServer),
        (Created | Changed, Created | Changed | Unchanged) => {
            conflict_action(control.policy, l?, r?)
        }
        // Combinations the definitions above cannot produce: nothing to do.
        _ => return None,
    };
    Some((state, action))
}

/// What a conflict of two present copies becomes under `policy`.
fn conflict_action(policy: ConflictPolicy, local: &Meta, remote: &Meta) -> Action {
    let (ld, rd) = (local.is_dir(), remote.is_dir());
    if ld != rd {
        // A file against a folder: never settled by overwriting a folder.
        return match policy {
            ConflictPolicy::Log => Action::LogConflict,
            _ => Action::KeepBoth {
                renamed: if ld { Side::Share } else { Side::Cache },
            },
        };
    }
    match policy {
        ConflictPolicy::Log => Action::LogConflict,
        ConflictPolicy::KeepLocal => Action::KeepOne {
            winner: Side::Cache,
        },
        ConflictPolicy::KeepRemote => Action::KeepOne {
            winner: Side::Share,
        },
        ConflictPolicy::KeepLatest => Action::KeepOne {
            winner: if local.mtime_ns > remote.mtime_ns {
                Side::Cache
            } else {
                Side::Share
            },
        },
        // Two folders differ only in mode: there is nothing to keep twice.
        ConflictPolicy::KeepAll if ld => Action::LogConflict,
        ConflictPolicy::KeepAll => Action::KeepBoth {
            renamed: Side::Cache,
        },
    }
}

/// The Windows state for a pair of changes. See the crate docs for the choices made
/// where Windows leaves it open.
fn state_for(
    lc: Change,
    l: Option<&Meta>,
    rc: Change,
    r: Option<&Meta>,
    o: Option<&Meta>,
    base_known: bool,
) -> SyncState {
    use Change::*;
    use SyncState as S;
    let (ld, rd, od) = (is_dir(l), is_dir(r), is_dir(o));
    match (lc, rc) {
        (Unchanged, Unchanged) | (Deleted, Deleted) | (Absent, Absent) => S::Stable,
        (Ghost, Deleted) => S::Stable,
        (Ghost, _) => match (rc, rd) {
            (Changed, false) => S::NoClientCopyFileChangedOnServer,
            (Changed, true) => S::NoClientCopyDirChangedOnServer,
            (_, false) => S::NoClientCopyFileOnServer,
            (_, true) => S::NoClientCopyDirOnServer,
        },
        (Absent, _) => match rd {
            false => S::NoClientCopyFileOnServer,
            true => S::NoClientCopyDirOnServer,
        },
        (Created, Absent) if !base_known => match ld {
            false => S::FileOnClientNoServerCopy,
            true => S::DirOnClientNoServerCopy,
        },
        (Created, Absent) => match ld {
            false => S::FileCreatedOnClientNoServerCopy,
            true => S::DirCreatedOnClientNoServerCopy,
        },
        (Created, Created) if !base_known => match (ld, rd) {
            (false, true) => S::FileOnClientDirOnServer,
            (true, false) => S::DirOnClientFileOnServer,
            (true, true) => S::DirCreatedOnClientDirOnServer,
            (false, false) => S::FileCreatedOnClientFileOnServer,
        },
        (Created, _) => match (ld, rc, rd) {
            (false, Deleted, _) => S::FileCreatedOnClientDeletedOnServer,
            (true, Deleted, _) => S::DirCreatedOnClientDeletedOnServer,
            (false, Changed, false) => S::FileCreatedOnClientFileChangedOnServer,
            (false, Changed, true) => S::FileCreatedOnClientDirChangedOnServer,
            (false, _, false) => S::FileCreatedOnClientFileOnServer,
            (false, _, true) => S::FileCreatedOnClientDirOnServer,
            (true, Changed, false) => S::DirCreatedOnClientFileChangedOnServer,
            (true, Changed, true) => S::DirCreatedOnClientDirChangedOnServer,
            (true, _, false) => S::DirCreatedOnClientFileOnServer,
            (true, _, true) => S::DirCreatedOnClientDirOnServer,
        },
        (Changed, Unchanged) => match (ld, od) {
            (false, false) => S::FileChangedOnClient,
            (true, true) => S::DirChangedOnClient,
            (false, true) => S::FileChangedOnClientDirOnServer,
            (true, false) => S::DirChangedOnClientFileOnServer,
        },
        (Changed, Deleted) => match ld {
            false => S::FileChangedOnClientDeletedOnServer,
            true => S::DirChangedOnClientDeletedOnServer,
        },
        (Changed, _) => match (ld, rd) {
            (false, false) => S::FileChangedOnClientChangedOnServer,
            (false, true) => S::FileChangedOnClientDirChangedOnServer,
            (true, false) => S::DirChangedOnClientFileChangedOnServer,
            (true, true) => S::DirChangedOnClientChangedOnServer,
        },
        (Unchanged, Changed) => match (od, rd) {
            (false, false) => S::FileChangedOnServer,
            (true, true) => S::DirChangedOnServer,
            (false, true) => S::FileOnClientDirOnServer,
            (true, false) => S::DirOnClientFileChangedOnServer,
        },
        (Unchanged, Deleted) => match od {
            false => S::FileDeletedOnServer,
            true => S::DirDeletedOnServer,
        },
        (Deleted, Unchanged) => match rd {
            false => S::DeletedOnClientFileOnServer,
            true => S::DeletedOnClientDirOnServer,
        },
        (Deleted, Changed) => match rd {
            false => S::DeletedOnClientFileChangedOnServer,
            true => S::DeletedOnClientDirChangedOnServer,
        },
        _ => S::Stable,
    }
}
