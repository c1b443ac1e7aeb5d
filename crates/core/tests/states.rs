//! Every sync state the planner assigns to a path on its own, with the action it comes
//! with; the fourteen it never assigns to one path (the four *Renamed* states need a
//! second path: they are tested in `renames.rs`); and an exhaustive sweep of small triples checking that every
//! (state, action) pair the planner produces is consistent with the triple and the
//! sync control.

use offline_core::plan::decide;
use offline_core::{
    plan, plan_without_base, Action, ConflictPolicy, Kind, Meta, Plan, PlanItem, RelPath, Side,
    SyncControl, SyncOperation, SyncState, Triple,
};
use std::collections::BTreeSet;

#[path = "support/controls.rs"]
mod controls;
use controls::POLICIES;

// ---------------------------------------------------------------------------
// Builders

fn p(s: &str) -> RelPath {
    RelPath::from_str_lossy(s).expect("valid test path")
}

/// A file with content `c` (hash and size derive from it), mode 0o644.
fn file(c: u8) -> Meta {
    Meta::file(10 + c as u64, 1_000, 0o644, [c; 32])
}

fn file_mode(c: u8, mode: u32) -> Meta {
    Meta::file(10 + c as u64, 1_000, mode, [c; 32])
}

fn file_at(c: u8, mtime_ns: i64) -> Meta {
    Meta::file(10 + c as u64, mtime_ns, 0o644, [c; 32])
}

fn dir() -> Meta {
    Meta::dir(1_000, 0o755)
}

fn dir_mode(mode: u32) -> Meta {
    Meta::dir(1_000, mode)
}

fn link(target: &str) -> Meta {
    Meta::symlink(target.as_bytes().to_vec(), 1_000)
}

fn t(o: Option<Meta>, l: Option<Meta>, r: Option<Meta>) -> Triple {
    Triple::new(o, l, r)
}

/// Not cached (a ghost, or a name the cache only knows).
fn ghost(o: Option<Meta>, l: Option<Meta>, r: Option<Meta>, pinned: bool) -> Triple {
    Triple {
        cached: false,
        pinned,
        ..Triple::new(o, l, r)
    }
}

fn ctl(policy: ConflictPolicy) -> SyncControl {
    SyncControl {
        policy,
        ..SyncControl::default()
    }
}

fn log() -> SyncControl {
    ctl(ConflictPolicy::Log)
}

use Action::{Blocked, KeepBoth, KeepOne, LogConflict, RecordGhost, RecordOriginal, Run};
use SyncOperation::{
    CreateCopyOnClient, CreateCopyOnServer, DeleteClientCopy, DeleteServerCopy, Pin, SyncToClient,
    SyncToServer,
};

// ---------------------------------------------------------------------------
// One case per state

/// One planning problem and what the planner must say about `path`.
struct Case {
    entries: Vec<(RelPath, Triple)>,
    path: RelPath,
    base_known: bool,
    control: SyncControl,
    action: Action,
}

/// A one-path case with a base.
fn one(triple: Triple, control: SyncControl, action: Action) -> Case {
    Case {
        entries: vec![(p("x"), triple)],
        path: p("x"),
        base_known: true,
        control,
        action,
    }
}

/// A one-path case planned without a base.
fn no_base(l: Option<Meta>, r: Option<Meta>, control: SyncControl, action: Action) -> Case {
    Case {
        base_known: false,
        ..one(t(None, l, r), control, action)
    }
}

fn tree(entries: Vec<(&str, Triple)>, path: &str, control: SyncControl, action: Action) -> Case {
    Case {
        entries: entries.into_iter().map(|(s, t)| (p(s), t)).collect(),
        path: p(path),
        base_known: true,
        control,
        action,
    }
}

fn run_plan(case: &Case) -> Plan {
    let entries = case.entries.clone();
    if case.base_known {
        plan(entries, &case.control)
    } else {
        plan_without_base(entries, &case.control)
    }
}

fn item<'a>(plan: &'a Plan, path: &RelPath) -> &'a PlanItem {
    plan.items
        .iter()
        .find(|i| &i.path == path)
        .unwrap_or_else(|| panic!("no plan item for {path:?} in {plan:#?}"))
}

/// The cases that yield `state`; `None` for the fourteen states never assigned to
/// one path.
/// The match is exhaustive, so a new state cannot be forgotten here.
fn cases(state: SyncState) -> Option<Vec<Case>> {
    use SyncState as S;
    let keep_all = ctl(ConflictPolicy::KeepAll);
    let keep_local = ctl(ConflictPolicy::KeepLocal);
    let keep_remote = ctl(ConflictPolicy::KeepRemote);
    let (a, b, c) = (file(1), file(2), file(3));
    let cases = match state {
        // Gone from both sides: the original is forgotten.
        S::Stable => vec![
            one(
                t(Some(a.clone()), None, None),
                log(),
                Action::ForgetOriginal,
            ),
            // A ghost whose share copy went away.
            one(
                ghost(Some(a.clone()), None, None, true),
                log(),
                Action::ForgetOriginal,
            ),
        ],
        S::FileOnClientDirOnServer => vec![
            no_base(Some(a.clone()), Some(dir()), log(), LogConflict),
            no_base(
                Some(a.clone()),
                Some(dir()),
                keep_all,
                KeepBoth {
                    renamed: Side::Cache,
                },
            ),
            // With a base: the share replaced an unchanged file by a folder.
            one(
                t(Some(a.clone()), Some(a.clone()), Some(dir())),
                log(),
                Run(SyncToClient),
            ),
        ],
        S::FileOnClientNoServerCopy => {
            vec![no_base(
                Some(a.clone()),
                None,
                log(),
                Run(CreateCopyOnServer),
            )]
        }
        S::DirOnClientFileOnServer => vec![
            no_base(Some(dir()), Some(a.clone()), log(), LogConflict),
            no_base(
                Some(dir()),
                Some(a.clone()),
                keep_local,
                KeepBoth {
                    renamed: Side::Share,
                },
            ),
        ],
        S::DirOnClientFileChangedOnServer => vec![one(
            t(Some(dir()), Some(dir()), Some(a.clone())),
            log(),
            Run(SyncToClient),
        )],
        S::DirOnClientNoServerCopy => {
            vec![no_base(Some(dir()), None, log(), Run(CreateCopyOnServer))]
        }
        S::FileCreatedOnClientNoServerCopy => vec![
            one(
                t(None, Some(a.clone()), None),
                log(),
                Run(CreateCopyOnServer),
            ),
            one(
                t(None, Some(link("t")), None),
                log(),
                Run(CreateCopyOnServer),
            ),
        ],
        // Created at the name of a ghost (the cache held no copy of the original).
        S::FileCreatedOnClientFileChangedOnServer => vec![
            one(
                ghost(Some(a.clone()), Some(b.clone()), Some(c.clone()), true),
                log(),
                LogConflict,
            ),
            one(
                ghost(Some(a.clone()), Some(b.clone()), Some(c.clone()), true),
                keep_remote,
                KeepOne {
                    winner: Side::Share,
                },
            ),
        ],
        S::FileCreatedOnClientDirChangedOnServer => vec![
            one(
                ghost(Some(dir()), Some(a.clone()), Some(dir_mode(0o700)), true),
                log(),
                LogConflict,
            ),
            one(
                ghost(Some(dir()), Some(a.clone()), Some(dir_mode(0o700)), true),
                keep_local,
                KeepBoth {
                    renamed: Side::Cache,
                },
            ),
        ],
        S::FileCreatedOnClientFileOnServer => vec![
            one(
                t(None, Some(a.clone()), Some(b.clone())),
                log(),
                LogConflict,
            ),
            one(
                t(None, Some(a.clone()), Some(b.clone())),
                keep_local,
                KeepOne {
                    winner: Side::Cache,
                },
            ),
            // Both sides created the same file: no conflict.
            one(
                t(None, Some(a.clone()), Some(a.clone())),
                log(),
                RecordOriginal,
            ),
            no_base(Some(a.clone()), Some(b.clone()), log(), LogConflict),
        ],
        S::FileCreatedOnClientDirOnServer => vec![
            one(t(None, Some(a.clone()), Some(dir())), log(), LogConflict),
            // Never settled by overwriting the folder, whatever the policy.
            one(
                t(None, Some(a.clone()), Some(dir())),
                keep_local,
                KeepBoth {
                    renamed: Side::Cache,
                },
            ),
        ],
        S::FileCreatedOnClientDeletedOnServer => vec![one(
            ghost(Some(a.clone()), Some(b.clone()), None, true),
            log(),
            Run(CreateCopyOnServer),
        )],
        S::FileChangedOnClientChangedOnServer => {
            let tr = t(Some(a.clone()), Some(b.clone()), Some(c.clone()));
            vec![
                one(tr.clone(), log(), LogConflict),
                one(
                    tr.clone(),
                    keep_local,
                    KeepOne {
                        winner: Side::Cache,
                    },
                ),
                one(
                    tr.clone(),
                    keep_remote,
                    KeepOne {
                        winner: Side::Share,
                    },
                ),
                one(
                    tr.clone(),
                    keep_all,
                    KeepBoth {
                        renamed: Side::Cache,
                    },
                ),
                one(
                    t(
                        Some(a.clone()),
                        Some(file_at(2, 5_000)),
                        Some(file_at(3, 4_000)),
                    ),
                    ctl(ConflictPolicy::KeepLatest),
                    KeepOne {
                        winner: Side::Cache,
                    },
                ),
                one(
                    t(
                        Some(a.clone()),
                        Some(file_at(2, 4_000)),
                        Some(file_at(3, 5_000)),
                    ),
                    ctl(ConflictPolicy::KeepLatest),
                    KeepOne {
                        winner: Side::Share,
                    },
                ),
                // A mode change against a content change is a conflict too.
                one(
                    t(Some(a.clone()), Some(file_mode(1, 0o755)), Some(b.clone())),
                    log(),
                    LogConflict,
                ),
                // A file against a symlink.
                one(
                    t(Some(a.clone()), Some(link("t")), Some(b.clone())),
                    keep_all,
                    KeepBoth {
                        renamed: Side::Cache,
                    },
                ),
            ]
        }
        S::FileChangedOnClientDirOnServer => vec![one(
            t(Some(dir()), Some(a.clone()), Some(dir())),
            log(),
            Run(SyncToServer),
        )],
        S::FileChangedOnClientDirChangedOnServer => vec![
            one(
                t(Some(a.clone()), Some(b.clone()), Some(dir())),
                log(),
                LogConflict,
            ),
            one(
                t(Some(a.clone()), Some(b.clone()), Some(dir())),
                keep_local,
                KeepBoth {
                    renamed: Side::Cache,
                },
            ),
            // A folder replaced by a file locally, while the share changed something
            // inside it: the folder must stay on the share, so it becomes a clash.
            tree(
                vec![
                    ("d", t(Some(dir()), Some(a.clone()), Some(dir()))),
                    ("d/f", t(Some(a.clone()), None, Some(b.clone()))),
                ],
                "d",
                log(),
                LogConflict,
            ),
            tree(
                vec![
                    ("d", t(Some(dir()), Some(a.clone()), Some(dir()))),
                    ("d/f", t(Some(a.clone()), None, Some(b.clone()))),
                ],
                "d",
                keep_remote,
                KeepBoth {
                    renamed: Side::Cache,
                },
            ),
        ],
        S::FileChangedOnClientDeletedOnServer => vec![one(
            t(Some(a.clone()), Some(b.clone()), None),
            log(),
            Run(CreateCopyOnServer),
        )],
        S::DirCreatedOnClientNoServerCopy => vec![one(
            t(None, Some(dir()), None),
            log(),
            Run(CreateCopyOnServer),
        )],
        S::DirCreatedOnClientDirOnServer => vec![
            one(t(None, Some(dir()), Some(dir())), log(), RecordOriginal),
            no_base(Some(dir()), Some(dir()), log(), RecordOriginal),
            // Two new folders differing in mode only.
            one(
                t(None, Some(dir()), Some(dir_mode(0o700))),
                log(),
                LogConflict,
            ),
            one(
                t(None, Some(dir()), Some(dir_mode(0o700))),
                keep_local,
                KeepOne {
                    winner: Side::Cache,
                },
            ),
            // keep-all has nothing to keep twice for two folders: logged.
            one(
                t(None, Some(dir()), Some(dir_mode(0o700))),
                keep_all,
                LogConflict,
            ),
        ],
        S::DirCreatedOnClientFileOnServer => vec![
            one(t(None, Some(dir()), Some(a.clone())), log(), LogConflict),
            one(
                t(None, Some(dir()), Some(a.clone())),
                keep_remote,
                KeepBoth {
                    renamed: Side::Share,
                },
            ),
        ],
        S::DirCreatedOnClientFileChangedOnServer => vec![one(
            ghost(Some(a.clone()), Some(dir()), Some(b.clone()), true),
            log(),
            LogConflict,
        )],
        S::DirCreatedOnClientDirChangedOnServer => vec![
            one(
                ghost(Some(dir()), Some(dir()), Some(dir_mode(0o700)), true),
                log(),
                LogConflict,
            ),
            one(
                ghost(
                    Some(dir()),
                    Some(dir_mode(0o700)),
                    Some(dir_mode(0o700)),
                    true,
                ),
                log(),
                RecordOriginal,
            ),
        ],
        S::DirCreatedOnClientDeletedOnServer => vec![one(
            ghost(Some(a.clone()), Some(dir()), None, true),
            log(),
            Run(CreateCopyOnServer),
        )],
        S::DirChangedOnClientFileOnServer => vec![one(
            t(Some(a.clone()), Some(dir()), Some(a.clone())),
            log(),
            Run(SyncToServer),
        )],
        S::DirChangedOnClientFileChangedOnServer => vec![
            one(
                t(Some(a.clone()), Some(dir()), Some(b.clone())),
                log(),
                LogConflict,
            ),
            one(
                t(Some(a.clone()), Some(dir()), Some(b.clone())),
                ctl(ConflictPolicy::KeepLatest),
                KeepBoth {
                    renamed: Side::Share,
                },
            ),
            // The share replaced a folder by a file while the cache changed a file
            // inside it: the folder must stay in the cache.
            tree(
                vec![
                    ("d", t(Some(dir()), Some(dir()), Some(a.clone()))),
                    ("d/f", t(Some(a.clone()), Some(b.clone()), None)),
                ],
                "d",
                log(),
                LogConflict,
            ),
            tree(
                vec![
                    ("d", t(Some(dir()), Some(dir()), Some(a.clone()))),
                    ("d/f", t(Some(a.clone()), Some(b.clone()), None)),
                ],
                "d",
                keep_all,
                KeepBoth {
                    renamed: Side::Share,
                },
            ),
        ],
        S::DirChangedOnClientChangedOnServer => vec![
            one(
                t(Some(dir()), Some(dir_mode(0o700)), Some(dir_mode(0o750))),
                log(),
                LogConflict,
            ),
            one(
                t(Some(dir()), Some(dir_mode(0o700)), Some(dir_mode(0o750))),
                keep_remote,
                KeepOne {
                    winner: Side::Share,
                },
            ),
            // A file replaced by a folder on both sides, the same folder: no conflict.
            one(
                t(Some(a.clone()), Some(dir()), Some(dir())),
                log(),
                RecordOriginal,
            ),
        ],
        S::DirChangedOnClientDeletedOnServer => vec![
            one(
                t(Some(dir()), Some(dir_mode(0o700)), None),
                log(),
                Run(CreateCopyOnServer),
            ),
            // The share deleted a folder; the cache changed a file inside it: the
            // folder is created again on the share.
            tree(
                vec![
                    ("d", t(Some(dir()), Some(dir()), None)),
                    ("d/f", t(Some(a.clone()), Some(b.clone()), None)),
                ],
                "d",
                log(),
                Run(CreateCopyOnServer),
            ),
        ],
        S::NoClientCopyFileOnServer => vec![
            one(
                t(None, None, Some(a.clone())),
                log(),
                Run(CreateCopyOnClient),
            ),
            one(
                Triple {
                    pinned: false,
                    ..t(None, None, Some(a.clone()))
                },
                log(),
                RecordGhost,
            ),
            // A pinned ghost not filled yet.
            one(
                ghost(Some(a.clone()), None, Some(a.clone()), true),
                log(),
                Run(Pin),
            ),
        ],
        S::NoClientCopyDirOnServer => vec![
            one(t(None, None, Some(dir())), log(), Run(CreateCopyOnClient)),
            one(ghost(Some(dir()), None, Some(dir()), true), log(), Run(Pin)),
        ],
        S::NoClientCopyFileChangedOnServer => vec![
            one(
                ghost(Some(a.clone()), None, Some(b.clone()), false),
                log(),
                RecordGhost,
            ),
            one(
                ghost(Some(a.clone()), None, Some(b.clone()), true),
                log(),
                Run(Pin),
            ),
        ],
        S::NoClientCopyDirChangedOnServer => vec![one(
            ghost(Some(dir()), None, Some(dir_mode(0o700)), false),
            log(),
            RecordGhost,
        )],
        S::DeletedOnClientFileOnServer => vec![one(
            t(Some(a.clone()), None, Some(a.clone())),
            log(),
            Run(DeleteServerCopy),
        )],
        S::DeletedOnClientDirOnServer => vec![one(
            t(Some(dir()), None, Some(dir())),
            log(),
            Run(DeleteServerCopy),
        )],
        // Delete against change: the change is copied back, never deleted.
        S::DeletedOnClientFileChangedOnServer => vec![
            one(
                t(Some(a.clone()), None, Some(b.clone())),
                log(),
                Run(CreateCopyOnClient),
            ),
            one(
                t(Some(a.clone()), None, Some(b.clone())),
                keep_local,
                Run(CreateCopyOnClient),
            ),
        ],
        S::DeletedOnClientDirChangedOnServer => vec![
            one(
                t(Some(dir()), None, Some(dir_mode(0o700))),
                log(),
                Run(CreateCopyOnClient),
            ),
            // The cache deleted a folder; the share changed a file inside it.
            tree(
                vec![
                    ("d", t(Some(dir()), None, Some(dir()))),
                    ("d/f", t(Some(a.clone()), None, Some(b.clone()))),
                ],
                "d",
                log(),
                Run(CreateCopyOnClient),
            ),
        ],
        S::FileChangedOnClient => vec![
            one(
                t(Some(a.clone()), Some(b.clone()), Some(a.clone())),
                log(),
                Run(SyncToServer),
            ),
            // A mode change is a change.
            one(
                t(Some(a.clone()), Some(file_mode(1, 0o755)), Some(a.clone())),
                log(),
                Run(SyncToServer),
            ),
            one(
                t(Some(link("t")), Some(link("u")), Some(link("t"))),
                log(),
                Run(SyncToServer),
            ),
        ],
        S::DirChangedOnClient => vec![one(
            t(Some(dir()), Some(dir_mode(0o700)), Some(dir())),
            log(),
            Run(SyncToServer),
        )],
        S::FileChangedOnServer => vec![
            one(
                t(Some(a.clone()), Some(a.clone()), Some(b.clone())),
                log(),
                Run(SyncToClient),
            ),
            one(
                t(Some(a.clone()), Some(a.clone()), Some(link("t"))),
                log(),
                Run(SyncToClient),
            ),
        ],
        S::FileDeletedOnServer => vec![one(
            t(Some(a.clone()), Some(a.clone()), None),
            log(),
            Run(DeleteClientCopy),
        )],
        S::DirChangedOnServer => vec![one(
            t(Some(dir()), Some(dir()), Some(dir_mode(0o700))),
            log(),
            Run(SyncToClient),
        )],
        S::DirDeletedOnServer => vec![one(
            t(Some(dir()), Some(dir()), None),
            log(),
            Run(DeleteClientCopy),
        )],
        // A cache copy is never partly present (see the crate docs).
        S::FileSparseOnClientChangedOnServer
        | S::FileSparseOnClientDeletedOnServer
        | S::FileSparseOnClientDirOnServer
        | S::FileSparseOnClientDirChangedOnServer
        | S::FileSparseOnClient
        | S::DirSparseOnClient => return None,
        S::FileRenamedOnClient
        | S::DirRenamedOnClient
        | S::FileRenamedOnServer
        | S::DirRenamedOnServer
        | S::FileReplacedAndDeletedOnClientFileOnServer
        | S::FileReplacedAndDeletedOnClientFileChangedOnServer
        | S::FileReplacedAndDeletedOnClientDirOnServer
        | S::FileReplacedAndDeletedOnClientDirChangedOnServer => return None,
    };
    Some(cases)
}

fn check_state(state: SyncState) {
    let cases = cases(state).expect("the planner assigns this state");
    assert!(!cases.is_empty());
    for (n, case) in cases.iter().enumerate() {
        let plan = run_plan(case);
        let got = item(&plan, &case.path);
        assert_eq!(
            (got.state, got.action),
            (state, case.action),
            "case {n} of {state}: {:#?}",
            case.entries
        );
        // One-path cases agree with `decide`.
        if case.entries.len() == 1 {
            let triple = &case.entries[0].1;
            assert_eq!(
                decide(triple, &case.control, case.base_known),
                Some((state, case.action)),
                "decide, case {n} of {state}"
            );
        }
    }
}

macro_rules! state_tests {
    ($($test:ident => $state:ident,)*) => {
        $(
            #[test]
            fn $test() {
                check_state(SyncState::$state);
            }
        )*

        /// Every state has a test above, except the fourteen never assigned to one path.
        #[test]
        fn every_assigned_state_has_a_test() {
            let tested: BTreeSet<SyncState> = [$(SyncState::$state,)*].into_iter().collect();
            for s in SyncState::ALL {
                assert_eq!(tested.contains(&s), cases(s).is_some(), "{s}");
            }
            assert_eq!(tested.len(), 40);
        }
    };
}

state_tests! {
    s00_stable => Stable,
    s01_file_on_client_dir_on_server => FileOnClientDirOnServer,
    s02_file_on_client_no_server_copy => FileOnClientNoServerCopy,
    s03_dir_on_client_file_on_server => DirOnClientFileOnServer,
    s04_dir_on_client_file_changed_on_server => DirOnClientFileChangedOnServer,
    s05_dir_on_client_no_server_copy => DirOnClientNoServerCopy,
    s06_file_created_on_client_no_server_copy => FileCreatedOnClientNoServerCopy,
    s07_file_created_on_client_file_changed_on_server => FileCreatedOnClientFileChangedOnServer,
    s08_file_created_on_client_dir_changed_on_server => FileCreatedOnClientDirChangedOnServer,
    s09_file_created_on_client_file_on_server => FileCreatedOnClientFileOnServer,
    s10_file_created_on_client_dir_on_server => FileCreatedOnClientDirOnServer,
    s11_file_created_on_client_deleted_on_server => FileCreatedOnClientDeletedOnServer,
    s12_file_changed_on_client_changed_on_server => FileChangedOnClientChangedOnServer,
    s13_file_changed_on_client_dir_on_server => FileChangedOnClientDirOnServer,
    s14_file_changed_on_client_dir_changed_on_server => FileChangedOnClientDirChangedOnServer,
    s15_file_changed_on_client_deleted_on_server => FileChangedOnClientDeletedOnServer,
    s20_dir_created_on_client_no_server_copy => DirCreatedOnClientNoServerCopy,
    s21_dir_created_on_client_dir_on_server => DirCreatedOnClientDirOnServer,
    s22_dir_created_on_client_file_on_server => DirCreatedOnClientFileOnServer,
    s23_dir_created_on_client_file_changed_on_server => DirCreatedOnClientFileChangedOnServer,
    s24_dir_created_on_client_dir_changed_on_server => DirCreatedOnClientDirChangedOnServer,
    s25_dir_created_on_client_deleted_on_server => DirCreatedOnClientDeletedOnServer,
    s26_dir_changed_on_client_file_on_server => DirChangedOnClientFileOnServer,
    s27_dir_changed_on_client_file_changed_on_server => DirChangedOnClientFileChangedOnServer,
    s28_dir_changed_on_client_changed_on_server => DirChangedOnClientChangedOnServer,
    s29_dir_changed_on_client_deleted_on_server => DirChangedOnClientDeletedOnServer,
    s30_no_client_copy_file_on_server => NoClientCopyFileOnServer,
    s31_no_client_copy_dir_on_server => NoClientCopyDirOnServer,
    s32_no_client_copy_file_changed_on_server => NoClientCopyFileChangedOnServer,
    s33_no_client_copy_dir_changed_on_server => NoClientCopyDirChangedOnServer,
    s34_deleted_on_client_file_on_server => DeletedOnClientFileOnServer,
    s35_deleted_on_client_dir_on_server => DeletedOnClientDirOnServer,
    s36_deleted_on_client_file_changed_on_server => DeletedOnClientFileChangedOnServer,
    s37_deleted_on_client_dir_changed_on_server => DeletedOnClientDirChangedOnServer,
    s39_file_changed_on_client => FileChangedOnClient,
    s42_dir_changed_on_client => DirChangedOnClient,
    s44_file_changed_on_server => FileChangedOnServer,
    s46_file_deleted_on_server => FileDeletedOnServer,
    s47_dir_changed_on_server => DirChangedOnServer,
    s49_dir_deleted_on_server => DirDeletedOnServer,
}

// ---------------------------------------------------------------------------
// Other single-path rules

#[test]
fn unchanged_everywhere_is_no_work() {
    assert_eq!(
        decide(
            &t(Some(file(1)), Some(file(1)), Some(file(1))),
            &log(),
            true
        ),
        None
    );
    assert_eq!(decide(&t(None, None, None), &log(), true), None);
    // A ghost whose share copy did not change, outside every pinned tree.
    assert_eq!(
        decide(
            &ghost(Some(file(1)), None, Some(file(1)), false),
            &log(),
            true
        ),
        None
    );
}

#[test]
fn mtime_alone_is_not_a_change() {
    let o = file_at(1, 1_000);
    assert_eq!(
        decide(
            &t(Some(o.clone()), Some(file_at(1, 9_000)), Some(o.clone())),
            &log(),
            true
        ),
        None
    );
    assert_eq!(
        decide(
            &t(
                Some(o.clone()),
                Some(file_at(1, 9_000)),
                Some(file_at(1, 7_000))
            ),
            &log(),
            true
        ),
        None
    );
    // Only the content change counts, whatever the times.
    assert_eq!(
        decide(
            &t(
                Some(o.clone()),
                Some(file_at(1, 9_000)),
                Some(file_at(2, 500))
            ),
            &log(),
            true
        ),
        Some((SyncState::FileChangedOnServer, Run(SyncToClient)))
    );
    let d = Meta::dir(1, 0o755);
    assert_eq!(
        decide(
            &t(Some(d.clone()), Some(Meta::dir(2, 0o755)), Some(d)),
            &log(),
            true
        ),
        None
    );
}

#[test]
fn identical_changes_are_recorded_never_conflicts() {
    for policy in POLICIES {
        let got = decide(
            &t(Some(file(1)), Some(file_at(2, 5)), Some(file_at(2, 7))),
            &ctl(policy),
            true,
        );
        assert_eq!(
            got,
            Some((
                SyncState::FileChangedOnClientChangedOnServer,
                RecordOriginal
            ))
        );
        let got = decide(
            &t(Some(file(1)), Some(link("x")), Some(link("x"))),
            &ctl(policy),
            true,
        );
        assert_eq!(got.map(|g| g.1), Some(RecordOriginal));
    }
}

#[test]
fn direction_drops_work_on_the_forbidden_side_and_keeps_conflicts_logged() {
    let sync_in_only = SyncControl {
        sync_out: false,
        policy: ConflictPolicy::KeepLocal,
        ..SyncControl::default()
    };
    let sync_out_only = SyncControl {
        sync_in: false,
        policy: ConflictPolicy::KeepLocal,
        ..SyncControl::default()
    };
    let entries = || {
        vec![
            (p("up"), t(Some(file(1)), Some(file(2)), Some(file(1)))),
            (p("down"), t(Some(file(1)), Some(file(1)), Some(file(2)))),
            (p("both"), t(Some(file(1)), Some(file(2)), Some(file(3)))),
        ]
    };
    let got = plan(entries(), &sync_in_only);
    let actions: Vec<(String, Action)> = got
        .items
        .iter()
        .map(|i| (i.path.to_string(), i.action))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("both".to_string(), LogConflict),
            ("down".to_string(), Run(SyncToClient)),
        ]
    );
    let got = plan(entries(), &sync_out_only);
    let actions: Vec<(String, Action)> = got
        .items
        .iter()
        .map(|i| (i.path.to_string(), i.action))
        .collect();
    // keep-local writes only the share: allowed when syncing out.
    assert_eq!(
        actions,
        vec![
            (
                "both".to_string(),
                KeepOne {
                    winner: Side::Cache
                }
            ),
            ("up".to_string(), Run(SyncToServer)),
        ]
    );
}

#[test]
fn no_new_files_out_keeps_new_files_in_the_cache() {
    let control = SyncControl {
        no_new_files_out: true,
        ..SyncControl::default()
    };
    let got = plan(
        vec![
            (p("n"), t(None, Some(dir()), None)),
            (p("n/f"), t(None, Some(file(1)), None)),
            (p("old"), t(Some(file(1)), Some(file(2)), None)),
        ],
        &control,
    );
    let actions: Vec<(String, Action)> = got
        .items
        .iter()
        .map(|i| (i.path.to_string(), i.action))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("n".to_string(), Run(CreateCopyOnServer)),
            ("old".to_string(), Run(CreateCopyOnServer)),
        ]
    );
}

#[test]
fn a_logged_clash_blocks_everything_below_it() {
    let got = plan(
        vec![
            // The cache made a folder where the share made a file.
            (p("c"), t(None, Some(dir()), Some(file(1)))),
            (p("c/x"), t(None, Some(file(2)), None)),
            (p("c/y"), t(None, Some(dir()), None)),
            (p("c/y/z"), t(None, Some(file(3)), None)),
            (p("c.txt"), t(None, Some(file(4)), None)),
        ],
        &log(),
    );
    let actions: Vec<(String, Action)> = got
        .items
        .iter()
        .map(|i| (i.path.to_string(), i.action))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("c".to_string(), LogConflict),
            ("c/x".to_string(), Blocked),
            ("c/y".to_string(), Blocked),
            ("c/y/z".to_string(), Blocked),
            ("c.txt".to_string(), Run(CreateCopyOnServer)),
        ]
    );
}

/// Regression: a clash that the direction turned from keep-all into a logged
/// conflict did not block its subtree, so a sync-out created `c/x` on the share
/// under the share's file `c`.
#[test]
fn a_clash_logged_by_the_direction_blocks_below_it() {
    let entries = || {
        vec![
            (p("c"), t(None, Some(dir()), Some(file(1)))),
            (p("c/x"), t(None, Some(file(2)), None)),
        ]
    };
    let one_way = |sync_in: bool, sync_out: bool| {
        let control = SyncControl {
            sync_in,
            sync_out,
            policy: ConflictPolicy::KeepAll,
            ..SyncControl::default()
        };
        plan(entries(), &control)
            .items
            .iter()
            .map(|i| (i.path.to_string(), i.action))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        one_way(false, true),
        vec![("c".to_string(), LogConflict), ("c/x".to_string(), Blocked)]
    );
    // Syncing in, the creation on the share is dropped anyway.
    assert_eq!(one_way(true, false), vec![("c".to_string(), LogConflict)]);
    // Both ways, keep-all settles the clash and the subtree goes out.
    let got = plan(entries(), &ctl(ConflictPolicy::KeepAll));
    assert_eq!(
        got.items.iter().map(|i| i.action).collect::<Vec<_>>(),
        vec![
            KeepBoth {
                renamed: Side::Share
            },
            Run(CreateCopyOnServer)
        ]
    );
}

#[test]
fn a_folder_stays_while_a_change_below_it_must_stay() {
    // The share deleted d/ and d/e/; the cache changed d/e/f: both folders come back.
    let got = plan(
        vec![
            (p("d"), t(Some(dir()), Some(dir()), None)),
            (p("d/e"), t(Some(dir()), Some(dir()), None)),
            (p("d/e/f"), t(Some(file(1)), Some(file(2)), None)),
            (p("d/g"), t(Some(file(1)), Some(file(1)), None)),
        ],
        &log(),
    );
    let actions: Vec<(String, SyncState, Action)> = got
        .items
        .iter()
        .map(|i| (i.path.to_string(), i.state, i.action))
        .collect();
    assert_eq!(
        actions,
        vec![
            (
                "d".to_string(),
                SyncState::DirChangedOnClientDeletedOnServer,
                Run(CreateCopyOnServer)
            ),
            (
                "d/e".to_string(),
                SyncState::DirChangedOnClientDeletedOnServer,
                Run(CreateCopyOnServer)
            ),
            (
                "d/e/f".to_string(),
                SyncState::FileChangedOnClientDeletedOnServer,
                Run(CreateCopyOnServer)
            ),
            (
                "d/g".to_string(),
                SyncState::FileDeletedOnServer,
                Run(DeleteClientCopy)
            ),
        ]
    );
}

// ---------------------------------------------------------------------------
// The exhaustive sweep

/// The small values every copy ranges over.
fn values() -> Vec<Option<Meta>> {
    vec![
        None,
        Some(file(1)),
        Some(file(2)),
        Some(file_mode(1, 0o755)),
        Some(dir()),
        Some(dir_mode(0o700)),
        Some(link("t")),
    ]
}

/// Every triple of small values, with every cache flag.
fn all_triples() -> Vec<Triple> {
    let vals = values();
    let mut out = Vec::new();
    for o in &vals {
        for l in &vals {
            for r in &vals {
                for bits in 0..4u8 {
                    out.push(Triple {
                        cached: bits & 1 != 0,
                        pinned: bits & 2 != 0,
                        ..Triple::new(o.clone(), l.clone(), r.clone())
                    });
                }
            }
        }
    }
    out
}

/// Every sync control worth telling apart: policy x direction x no-new-files-out.
fn all_controls() -> Vec<SyncControl> {
    let mut out = Vec::new();
    for policy in POLICIES {
        for (sync_in, sync_out) in [(true, true), (true, false), (false, true)] {
            for no_new_files_out in [false, true] {
                out.push(SyncControl {
                    sync_in,
                    sync_out,
                    no_new_files_out,
                    policy,
                    ..SyncControl::default()
                });
            }
        }
    }
    out
}

fn plan_one(triple: &Triple, control: &SyncControl, base_known: bool) -> Option<PlanItem> {
    let entries = vec![(p("x"), triple.clone())];
    let plan = if base_known {
        plan(entries, control)
    } else {
        plan_without_base(entries, control)
    };
    assert!(plan.items.len() <= 1);
    plan.items.into_iter().next()
}

/// What a state says one side holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Absent,
    NonDir,
    Dir,
    Any,
}

/// The (client, server) parts each state's name promises.
fn parts(state: SyncState) -> (Part, Part) {
    use Part::*;
    match state.code() {
        0 => (Any, Any),
        1 => (NonDir, Dir),
        2 => (NonDir, Absent),
        3 | 4 => (Dir, NonDir),
        5 => (Dir, Absent),
        6 => (NonDir, Absent),
        7 | 9 | 12 | 16 => (NonDir, NonDir),
        8 | 10 | 13 | 14 | 18 | 19 => (NonDir, Dir),
        11 | 15 | 17 => (NonDir, Absent),
        20 | 25 | 29 => (Dir, Absent),
        21 | 24 | 28 => (Dir, Dir),
        22 | 23 | 26 | 27 => (Dir, NonDir),
        30 | 32 | 34 | 36 => (Absent, NonDir),
        31 | 33 | 35 | 37 => (Absent, Dir),
        38 | 39 | 44 => (NonDir, NonDir),
        41 | 42 | 47 => (Dir, Dir),
        46 => (NonDir, Absent),
        49 => (Dir, Absent),
        50 | 51 => (Absent, NonDir),
        52 | 53 => (Absent, Dir),
        // The four Renamed states.
        _ => (Any, Any),
    }
}

fn part_of(meta: Option<&Meta>) -> Part {
    match meta {
        None => Part::Absent,
        Some(m) if m.is_dir() => Part::Dir,
        Some(_) => Part::NonDir,
    }
}

fn fits(want: Part, meta: Option<&Meta>) -> bool {
    want == Part::Any || want == part_of(meta)
}

fn same(a: Option<&Meta>, b: Option<&Meta>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.same_item(b),
        (None, None) => true,
        _ => false,
    }
}

/// The sides an action writes.
fn writes(action: Action) -> (bool, bool) {
    match action {
        Run(op) => (op.writes_client(), op.writes_server()),
        KeepOne { winner } => (winner == Side::Share, winner == Side::Cache),
        KeepBoth { .. } => (true, true),
        _ => (false, false),
    }
}

/// Checks one produced (state, action) against its triple and control.
fn check_consistent(tr: &Triple, control: &SyncControl, got: &PlanItem) {
    let (o, l, r) = (
        tr.original_meta(),
        tr.meta(Side::Cache),
        tr.meta(Side::Share),
    );
    let (state, action) = (got.state, got.action);
    let ctx = || format!("{tr:?} {control:?} -> {state} {action:?}");
    assert_eq!(&got.triple, tr, "{}", ctx());
    assert!(!state.is_reserved(), "{}", ctx());
    assert!(!(50..=53).contains(&state.code()), "{}", ctx());

    // The state's name matches what each side holds.
    let (cp, sp) = parts(state);
    assert!(fits(cp, l), "client part: {}", ctx());
    assert!(fits(sp, r), "server part: {}", ctx());

    // The direction is obeyed.
    let (wl, wr) = writes(action);
    assert!(!wl || control.sync_in, "writes the cache: {}", ctx());
    assert!(!wr || control.sync_out, "writes the share: {}", ctx());
    if control.no_new_files_out {
        let new_file_out = action == Run(CreateCopyOnServer) && o.is_none() && !is_dir(l);
        assert!(!new_file_out, "new file out: {}", ctx());
    }

    // Each action only with the copies it needs.
    let both_differ = l.is_some() && r.is_some() && !same(l, r);
    match action {
        Run(CreateCopyOnServer) => assert!(l.is_some() && r.is_none(), "{}", ctx()),
        Run(SyncToServer) => assert!(l.is_some() && r.is_some(), "{}", ctx()),
        Run(CreateCopyOnClient) => assert!(r.is_some() && l.is_none(), "{}", ctx()),
        Run(SyncToClient) => assert!(r.is_some() && l.is_some(), "{}", ctx()),
        Run(Pin) => assert!(r.is_some() && l.is_none() && !tr.cached, "{}", ctx()),
        Run(DeleteServerCopy) => assert!(r.is_some() && l.is_none(), "{}", ctx()),
        Run(DeleteClientCopy) => assert!(l.is_some() && r.is_none(), "{}", ctx()),
        Run(op) => panic!("unexpected operation {op}: {}", ctx()),
        RecordOriginal => assert!(
            // (a copy found at a ghost's name is recorded as cached)
            l.is_some() && same(l, r) && !(tr.cached && same(o, l) && same(o, r)),
            "{}",
            ctx()
        ),
        Action::ForgetOriginal => assert!(o.is_some() && l.is_none() && r.is_none(), "{}", ctx()),
        RecordGhost => assert!(r.is_some() && l.is_none() && !tr.pinned, "{}", ctx()),
        LogConflict => assert!(both_differ, "{}", ctx()),
        KeepOne { .. } => {
            assert!(both_differ, "{}", ctx());
            // A folder is never overwritten by a non-folder (nor the reverse).
            assert_eq!(is_dir(l), is_dir(r), "{}", ctx());
            assert_ne!(control.policy, ConflictPolicy::Log, "{}", ctx());
        }
        Action::Rename { .. } => panic!("one path is never a rename: {}", ctx()),
        KeepBoth { renamed } => {
            assert!(both_differ, "{}", ctx());
            let renamed_copy = if renamed == Side::Cache { l } else { r };
            assert!(
                !is_dir(renamed_copy),
                "a folder is never renamed: {}",
                ctx()
            );
            assert_ne!(control.policy, ConflictPolicy::Log, "{}", ctx());
        }
        Blocked => panic!("nothing blocks a single path: {}", ctx()),
        Action::ForgetExcluded => panic!("only for excluded paths: {}", ctx()),
    }

    // Identical copies are never a conflict.
    if l.is_some() && same(l, r) {
        assert_eq!(action, RecordOriginal, "{}", ctx());
    }
    // A deletion against a change copies the change back.
    if tr.cached && o.is_some() {
        if l.is_none() && r.is_some() && !same(o, r) {
            assert_eq!(action, Run(CreateCopyOnClient), "{}", ctx());
        }
        if r.is_none() && l.is_some() && !same(o, l) {
            assert_eq!(action, Run(CreateCopyOnServer), "{}", ctx());
        }
    }
}

fn is_dir(m: Option<&Meta>) -> bool {
    m.is_some_and(Meta::is_dir)
}

/// Runs `f` on every (triple, control, base_known, produced item).
fn sweep(mut f: impl FnMut(&Triple, &SyncControl, bool, Option<&PlanItem>)) -> usize {
    let mut n = 0;
    for tr in all_triples() {
        for control in all_controls() {
            for base_known in [true, false] {
                let got = plan_one(&tr, &control, base_known);
                f(&tr, &control, base_known, got.as_ref());
                n += 1;
            }
        }
    }
    n
}

#[test]
fn exhaustive_sweep_never_panics_and_is_consistent() {
    let n = sweep(|tr, control, base_known, got| {
        let full = SyncControl {
            sync_in: true,
            sync_out: true,
            no_new_files_out: false,
            ..*control
        };
        let decided = decide(tr, &full, base_known);
        let unrestricted = plan_one(tr, &full, base_known);
        // A one-path plan with both directions is exactly `decide`.
        assert_eq!(
            unrestricted.as_ref().map(|i| (i.state, i.action)),
            decided,
            "{tr:?}"
        );
        if let Some(got) = got {
            check_consistent(tr, control, got);
        }
        // The direction keeps conflicts (logged) and allowed work, drops the rest.
        if let Some((state, action)) = decided {
            let (wl, wr) = writes(action);
            let allowed = (control.sync_in || !wl) && (control.sync_out || !wr);
            let new_file_out = action == Run(CreateCopyOnServer)
                && tr.original.is_none()
                && !is_dir(tr.meta(Side::Cache));
            let expect = if control.no_new_files_out && new_file_out {
                None
            } else if allowed {
                Some((state, action))
            } else if action.is_conflict() {
                Some((state, LogConflict))
            } else {
                None
            };
            assert_eq!(
                got.map(|i| (i.state, i.action)),
                expect,
                "{tr:?} {control:?}"
            );
        } else {
            assert!(got.is_none(), "{tr:?} {control:?}");
        }
    });
    assert_eq!(n, 7 * 7 * 7 * 4 * 30 * 2);
}

#[test]
fn the_fourteen_states_no_single_path_gets_are_never_produced() {
    let never: Vec<SyncState> = SyncState::ALL
        .into_iter()
        .filter(|s| cases(*s).is_none())
        .collect();
    assert_eq!(never.len(), 14);
    for code in [16, 17, 18, 19, 38, 41] {
        assert!(never.contains(&SyncState::from_code(code).expect("a sparse state")));
    }
    let renamed = [
        SyncState::FileRenamedOnClient,
        SyncState::DirRenamedOnClient,
        SyncState::FileRenamedOnServer,
        SyncState::DirRenamedOnServer,
    ];
    for s in SyncState::ALL {
        assert_eq!(s.is_reserved(), renamed.contains(&s), "{s}");
    }
    for s in renamed {
        assert!(never.contains(&s));
    }
    for code in 50..=53 {
        assert!(never.contains(&SyncState::from_code(code).expect("a state")));
    }
    let mut produced = BTreeSet::new();
    sweep(|_, _, _, got| {
        if let Some(got) = got {
            produced.insert(got.state);
        }
    });
    for tr in all_triples() {
        for base_known in [true, false] {
            for policy in POLICIES {
                if let Some((s, _)) = decide(&tr, &ctl(policy), base_known) {
                    produced.insert(s);
                }
            }
        }
    }
    for s in &never {
        assert!(!produced.contains(s), "{s} was produced");
    }
    // The sweep reaches every other state but the few that need a second path
    // (or a third folder mode).
    let missing: Vec<SyncState> = SyncState::ALL
        .into_iter()
        .filter(|s| !never.contains(s) && !produced.contains(s))
        .collect();
    assert!(missing.is_empty(), "not reached by the sweep: {missing:?}");
}

#[test]
fn mtime_never_changes_a_decision_except_under_keep_latest() {
    let bump = |m: Option<&Meta>| {
        m.cloned().map(|mut m| {
            m.mtime_ns += 12_345;
            m
        })
    };
    let metas = |t: &Triple| {
        (
            t.original_meta().cloned(),
            t.meta(Side::Cache).cloned(),
            t.meta(Side::Share).cloned(),
        )
    };
    for tr in all_triples() {
        for policy in POLICIES {
            if policy == ConflictPolicy::KeepLatest {
                continue;
            }
            for base_known in [true, false] {
                let control = ctl(policy);
                let before = decide(&tr, &control, base_known);
                let (o, l, r) = metas(&tr);
                let with = |o, l, r| Triple {
                    cached: tr.cached,
                    pinned: tr.pinned,
                    ..Triple::new(o, l, r)
                };
                for touched in [
                    with(o.clone(), bump(l.as_ref()), r.clone()),
                    with(o.clone(), l.clone(), bump(r.as_ref())),
                    with(bump(o.as_ref()), l.clone(), r.clone()),
                ] {
                    assert_eq!(decide(&touched, &control, base_known), before, "{tr:?}");
                }
            }
        }
    }
}

#[test]
fn kinds_in_the_sweep() {
    // The sweep's values hold every kind (a guard against a silently shrunk sweep).
    let kinds: BTreeSet<Kind> = values().into_iter().flatten().map(|m| m.kind).collect();
    assert_eq!(kinds.len(), 3);
}
