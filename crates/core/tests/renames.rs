//! The planner's rename detection, case by case: each of the four *Renamed* states,
//! what comes with a rename (an edit on either side, a deletion, a rename on both
//! sides under each policy, a name the other side took, a folder renamed while files
//! in it change), what is never taken for a rename (two candidates, a network share's
//! fingerprint without a confirming hash), folders holding ghosts, and the
//! mass-delete counts. The property test with renames is in `model.rs`.

#[path = "support/rename_fixtures.rs"]
mod rename_fixtures;

use offline_core::plan::{BaseUpdate, HashWanted, Planner};
use offline_core::{
    Action, ConflictPolicy, Lineage, Meta, Original, RelPath, Side, SyncControl, SyncOperation,
    SyncState, Triple,
};
use rename_fixtures::*;

/// A file `a` (object 7) renamed to `b` in the cache: the original at `a`, the share's
/// copy still there, the cache's copy at `b` (its ctime moved, nothing else).
fn renamed_in_cache(share_copy: Meta) -> Vec<(&'static str, Triple)> {
    let f = file(1);
    vec![
        (
            "a",
            triple(
                base(f.clone(), 7),
                None,
                copy(share_copy.clone(), ino(7, 1, &share_copy)),
            ),
        ),
        ("b", triple(None, copy(unhashed(&f), ino(7, 1, &f)), None)),
    ]
}

#[test]
fn s40_a_file_renamed_in_the_cache_is_renamed_on_the_share() {
    let plan = plan(renamed_in_cache(file(1)), &ctl(ConflictPolicy::Log));
    assert_eq!(plan.items.len(), 1, "{:#?}", plan.items);
    let item = one(&plan, "b");
    assert_eq!(item.state, SyncState::FileRenamedOnClient);
    assert_eq!(item.action, Action::Rename { on: Side::Share });
    assert_eq!(item.moved, moved("a", Side::Share, "a"));
    assert_eq!(item.operation(), Some(SyncOperation::SyncToServer));
    // Nothing is deleted: the mass-delete guard counts nothing.
    assert_eq!(plan.counts.delete_local + plan.counts.delete_remote, 0);
    // The cache copy's content is the base's (same object, same size and time).
    assert_eq!(item.triple.meta(Side::Cache), Some(&file(1)));
    match item.base_update() {
        Some(BaseUpdate::Move { from, then }) => {
            assert_eq!(from, p("a"));
            assert!(matches!(*then, BaseUpdate::Put(ref o) if o.meta == file(1)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn s45_a_file_renamed_on_the_share_is_renamed_in_the_cache() {
    let f = file(1);
    let entries = vec![
        (
            "a",
            triple(base(f.clone(), 7), copy(f.clone(), ino(7, 0, &f)), None),
        ),
        ("b", triple(None, None, copy(unhashed(&f), ino(7, 1, &f)))),
    ];
    let plan = plan(entries, &ctl(ConflictPolicy::Log));
    let item = one(&plan, "b");
    assert_eq!(plan.items.len(), 1);
    assert_eq!(item.state, SyncState::FileRenamedOnServer);
    assert_eq!(item.action, Action::Rename { on: Side::Cache });
    assert_eq!(item.moved, moved("a", Side::Cache, "a"));
}

#[test]
fn s43_a_folder_renamed_in_the_cache_is_one_rename_on_the_share() {
    let plan = plan(folder_renamed(Side::Cache), &ctl(ConflictPolicy::Log));
    assert_eq!(plan.items.len(), 1, "{:#?}", plan.items);
    let item = one(&plan, "e");
    assert_eq!(item.state, SyncState::DirRenamedOnClient);
    assert_eq!(item.action, Action::Rename { on: Side::Share });
    assert_eq!(item.moved, moved("d", Side::Share, "d"));
    assert_eq!(plan.counts.delete_remote, 0);
}

#[test]
fn s48_a_folder_renamed_on_the_share_is_one_rename_in_the_cache() {
    let plan = plan(folder_renamed(Side::Share), &ctl(ConflictPolicy::Log));
    assert_eq!(plan.items.len(), 1, "{:#?}", plan.items);
    let item = one(&plan, "e");
    assert_eq!(item.state, SyncState::DirRenamedOnServer);
    assert_eq!(item.action, Action::Rename { on: Side::Cache });
    assert_eq!(plan.counts.delete_local, 0);
}

#[test]
fn renamed_in_the_cache_and_edited_on_the_share_the_edit_lands_under_the_new_name() {
    let plan = plan(renamed_in_cache(file(5)), &ctl(ConflictPolicy::Log));
    let item = one(&plan, "b");
    assert_eq!(item.state, SyncState::FileRenamedOnClient);
    assert_eq!(item.action, Action::Run(SyncOperation::SyncToClient));
    assert_eq!(item.moved, moved("a", Side::Share, "a"));
    assert_eq!(plan.items.len(), 1);
}

#[test]
fn renamed_and_edited_in_the_cache_the_edit_follows_the_rename() {
    let (f, g) = (file(1), file(6));
    let entries = vec![
        (
            "a",
            triple(base(f.clone(), 7), None, copy(f.clone(), ino(7, 0, &f))),
        ),
        ("b", triple(None, copy(unhashed(&g), ino(7, 3, &g)), None)),
    ];
    // The size and time moved: the planner asks for the hash to tell the edit.
    let control = SyncControl::default();
    let mut planner = Planner::new(&control).lineage(Side::Share, Lineage::Inode);
    for (path, t) in entries.clone() {
        planner.add(p(path), t);
    }
    let wanted = planner.hashes_wanted();
    assert_eq!(
        wanted,
        vec![HashWanted {
            side: Side::Cache,
            path: p("b")
        }]
    );
    let plan = plan_with(
        entries,
        &SyncControl::default(),
        Lineage::Inode,
        &[(Side::Cache, "b", 6)],
    );
    let item = one(&plan, "b");
    assert_eq!(item.action, Action::Run(SyncOperation::SyncToServer));
    assert_eq!(item.moved, moved("a", Side::Share, "a"));
}

#[test]
fn renamed_in_the_cache_and_edited_on_both_sides_is_a_conflict_on_the_rename() {
    let (f, g, h) = (file(1), file(6), file(7));
    let entries = vec![
        (
            "a",
            triple(base(f.clone(), 7), None, copy(h.clone(), ino(7, 2, &h))),
        ),
        ("b", triple(None, copy(g.clone(), ino(7, 3, &g)), None)),
    ];
    // Keep-local: the share's copy is renamed, then its bytes kept and replaced.
    let plan_local = plan(entries.clone(), &ctl(ConflictPolicy::KeepLocal));
    let item = one(&plan_local, "b");
    assert_eq!(
        item.action,
        Action::KeepOne {
            winner: Side::Cache
        }
    );
    assert_eq!(item.moved, moved("a", Side::Share, "a"));
    // Log leaves both as they are: no rename; the share's edit comes back under the
    // old name and the renamed copy goes up, nothing is lost.
    let plan_log = plan(entries, &ctl(ConflictPolicy::Log));
    assert!(plan_log.items.iter().all(|i| i.moved.is_none()));
    assert_eq!(
        one(&plan_log, "a").action,
        Action::Run(SyncOperation::CreateCopyOnClient)
    );
    assert_eq!(
        one(&plan_log, "b").action,
        Action::Run(SyncOperation::CreateCopyOnServer)
    );
}

#[test]
fn renamed_on_one_side_and_deleted_on_the_other_keeps_the_renamed_item() {
    let f = file(1);
    let entries = vec![
        ("a", triple(base(f.clone(), 7), None, None)),
        ("b", triple(None, copy(unhashed(&f), ino(7, 1, &f)), None)),
    ];
    let plan = plan(entries, &ctl(ConflictPolicy::Log));
    assert_eq!(one(&plan, "a").action, Action::ForgetOriginal);
    assert_eq!(
        one(&plan, "b").action,
        Action::Run(SyncOperation::CreateCopyOnServer)
    );
    assert!(plan.items.iter().all(|i| i.moved.is_none()));
}

/// `a` renamed to `b` in the cache and to `c` on the share.
fn renamed_on_both_sides() -> Vec<(&'static str, Triple)> {
    let f = file(1);
    vec![
        ("a", triple(base(f.clone(), 7), None, None)),
        ("b", triple(None, copy(unhashed(&f), ino(7, 1, &f)), None)),
        ("c", triple(None, None, copy(unhashed(&f), ino(7, 1, &f)))),
    ]
}

#[test]
fn renamed_to_two_names_log_leaves_both_and_logs_the_conflict() {
    let plan = plan(renamed_on_both_sides(), &ctl(ConflictPolicy::Log));
    assert_eq!(plan.items.len(), 2, "{:#?}", plan.items);
    for (path, state) in [
        ("b", SyncState::FileRenamedOnClient),
        ("c", SyncState::FileRenamedOnServer),
    ] {
        let item = one(&plan, path);
        assert_eq!((item.state, item.action), (state, Action::LogConflict));
        assert_eq!(item.renames_on(), None);
        assert_eq!(item.base_update(), Some(BaseUpdate::Keep));
    }
}

#[test]
fn renamed_to_two_names_keep_local_and_keep_remote_pick_a_name() {
    let plan_local = plan(renamed_on_both_sides(), &ctl(ConflictPolicy::KeepLocal));
    assert_eq!(plan_local.items.len(), 1);
    let item = one(&plan_local, "b");
    assert_eq!(item.action, Action::Rename { on: Side::Share });
    assert_eq!(item.moved, moved("a", Side::Share, "c"));
    let plan_remote = plan(renamed_on_both_sides(), &ctl(ConflictPolicy::KeepRemote));
    let item = one(&plan_remote, "c");
    assert_eq!(item.action, Action::Rename { on: Side::Cache });
    assert_eq!(item.moved, moved("a", Side::Cache, "b"));
}

#[test]
fn renamed_to_two_names_keep_all_keeps_both_names() {
    let plan = plan(renamed_on_both_sides(), &ctl(ConflictPolicy::KeepAll));
    assert!(plan.items.iter().all(|i| i.moved.is_none()));
    assert_eq!(
        one(&plan, "b").action,
        Action::Run(SyncOperation::CreateCopyOnServer)
    );
    assert_eq!(
        one(&plan, "c").action,
        Action::Run(SyncOperation::CreateCopyOnClient)
    );
}

#[test]
fn renamed_onto_a_name_the_other_side_created_is_a_name_clash_as_before() {
    let (f, g) = (file(1), file(8));
    let entries = vec![
        (
            "a",
            triple(base(f.clone(), 7), None, copy(f.clone(), ino(7, 0, &f))),
        ),
        (
            "b",
            triple(
                None,
                copy(f.clone(), ino(7, 1, &f)),
                copy(g.clone(), ino(9, 0, &g)),
            ),
        ),
    ];
    let plan = plan(entries, &ctl(ConflictPolicy::Log));
    assert!(plan.items.iter().all(|i| i.moved.is_none()));
    assert_eq!(one(&plan, "b").action, Action::LogConflict);
    assert_eq!(
        one(&plan, "a").action,
        Action::Run(SyncOperation::DeleteServerCopy)
    );
}

#[test]
fn a_folder_renamed_while_files_in_it_change_on_the_other_side() {
    let mut entries = folder_renamed(Side::Cache);
    // The share edited d/x and created d/y meanwhile; the cache deleted e/... nothing.
    let x2 = file(9);
    entries[1].1.remote = copy(x2.clone(), ino(4, 1, &x2));
    let y = file(3);
    entries.push(("d/y", triple(None, None, copy(y.clone(), ino(11, 0, &y)))));
    let plan = plan(entries, &ctl(ConflictPolicy::Log));
    let folder = one(&plan, "e");
    assert_eq!(folder.action, Action::Rename { on: Side::Share });
    // After the rename, the edit and the new file come to the cache at their new paths.
    assert_eq!(
        one(&plan, "e/x").action,
        Action::Run(SyncOperation::SyncToClient)
    );
    assert_eq!(
        one(&plan, "e/y").action,
        Action::Run(SyncOperation::CreateCopyOnClient)
    );
    assert_eq!(plan.items.len(), 3, "{:#?}", plan.items);
    // The folder's rename runs first.
    let order: Vec<&RelPath> = plan.run_order().into_iter().map(|i| &i.path).collect();
    assert_eq!(order, vec![&p("e"), &p("e/x"), &p("e/y")]);
}

/// The share created `d/y` while the cache renamed `d` to `e`; renaming the share's
/// folder would carry `d/y` to `e/y`, a path nobody holds. Only when the engine
/// answers that `e/y` is included is the folder renamed as one (above); excluded
/// there (a pattern anchored to the new name), or not answered, the folder is
/// renamed file by file and the new file stays where it was made.
#[test]
fn a_folder_is_not_renamed_onto_an_excluded_path_for_what_it_carries() {
    let share_created = || {
        let mut entries = folder_renamed(Side::Cache);
        let y = file(3);
        entries.push(("d/y", triple(None, None, copy(y.clone(), ino(11, 0, &y)))));
        entries
    };
    let control = ctl(ConflictPolicy::Log);
    let included = plan_excluding(share_created(), &control, Lineage::Inode, &[], &[]);
    assert_eq!(
        one(&included, "e").action,
        Action::Rename { on: Side::Share }
    );
    let excluded = plan_excluding(share_created(), &control, Lineage::Inode, &[], &["e/y"]);
    let unanswered = {
        let mut planner = Planner::new(&control).lineage(Side::Share, Lineage::Inode);
        for (path, t) in share_created() {
            planner.add(p(path), t);
        }
        let wanted = planner.exclusions_wanted();
        assert_eq!(wanted.len(), 1, "{wanted:?}");
        assert_eq!((&wanted[0].path, wanted[0].is_dir), (&p("e/y"), false));
        planner.finish()
    };
    for plan in [excluded, unanswered] {
        let folder = one(&plan, "e");
        assert_eq!(folder.moved, None, "{:#?}", plan.items);
        assert_eq!(one(&plan, "e/x").moved, moved("d/x", Side::Share, "d/x"));
        assert_eq!(
            one(&plan, "d/y").action,
            Action::Run(SyncOperation::CreateCopyOnClient)
        );
        assert!(
            plan.items.iter().all(|i| i.path != p("e/y")),
            "{:#?}",
            plan.items
        );
    }
}

#[test]
fn two_candidates_are_no_rename() {
    let f = file(1);
    let entries = vec![
        (
            "a",
            triple(base(f.clone(), 7), None, copy(f.clone(), ino(7, 0, &f))),
        ),
        ("b", triple(None, copy(unhashed(&f), ino(7, 1, &f)), None)),
        ("c", triple(None, copy(unhashed(&f), ino(7, 1, &f)), None)),
    ];
    let plan = plan(entries, &ctl(ConflictPolicy::Log));
    assert!(
        plan.items.iter().all(|i| i.moved.is_none()),
        "{:#?}",
        plan.items
    );
}

#[test]
fn a_network_share_rename_needs_the_hash_to_confirm_it() {
    let f = file(1);
    let share_base = |m: &Meta| {
        Some(Box::new(Original {
            local_identity: Some(ino(7, 0, m)),
            remote_identity: Some(stat(m)),
            ..Original::of(m.clone())
        }))
    };
    let entries = vec![
        (
            "a",
            triple(share_base(&f), copy(f.clone(), ino(7, 0, &f)), None),
        ),
        ("b", triple(None, None, copy(unhashed(&f), stat(&f)))),
    ];
    let control = ctl(ConflictPolicy::Log);
    // Confirmed by the hash: one rename in the cache, no download.
    let confirmed = plan_with(
        entries.clone(),
        &control,
        Lineage::Stat,
        &[(Side::Share, "b", 1)],
    );
    assert_eq!(
        one(&confirmed, "b").action,
        Action::Rename { on: Side::Cache }
    );
    // Another content with the same fingerprint: a deletion and a new file.
    let other = plan_with(
        entries.clone(),
        &control,
        Lineage::Stat,
        &[(Side::Share, "b", 2)],
    );
    assert!(other.items.iter().all(|i| i.moved.is_none()));
    // No hash given: no rename.
    let unknown = plan_with(entries.clone(), &control, Lineage::Stat, &[]);
    assert!(unknown.items.iter().all(|i| i.moved.is_none()));
    // A tag of the content (S3's ETag) is enough without a hash.
    let tagged = plan_with(entries, &control, Lineage::ContentTag, &[]);
    assert_eq!(one(&tagged, "b").action, Action::Rename { on: Side::Cache });
}

#[test]
fn a_network_share_folder_is_renamed_when_its_files_went_to_one_new_folder() {
    let (d, x, y) = (dir(), file(2), file(3));
    let share_base = |m: &Meta, n: u32| {
        Some(Box::new(Original {
            local_identity: Some(ino(n, 0, m)),
            remote_identity: Some(if m.is_dir() { "dir".into() } else { stat(m) }),
            ..Original::of(m.clone())
        }))
    };
    let local = |m: &Meta, n: u32| copy(m.clone(), ino(n, 0, m));
    let remote = |m: &Meta| {
        let id = if m.is_dir() {
            "dir".to_string()
        } else {
            stat(m)
        };
        copy(m.clone(), id)
    };
    let entries = vec![
        ("d", triple(share_base(&d, 3), local(&d, 3), None)),
        ("d/x", triple(share_base(&x, 4), local(&x, 4), None)),
        ("d/y", triple(share_base(&y, 5), local(&y, 5), None)),
        ("e", triple(None, None, remote(&d))),
        ("e/x", triple(None, None, remote(&x))),
        ("e/y", triple(None, None, remote(&y))),
    ];
    let plan = plan_with(entries, &ctl(ConflictPolicy::Log), Lineage::ContentTag, &[]);
    assert_eq!(plan.items.len(), 1, "{:#?}", plan.items);
    let item = one(&plan, "e");
    assert_eq!(item.state, SyncState::DirRenamedOnServer);
    assert_eq!(item.action, Action::Rename { on: Side::Cache });
}

/// Files of one size written in one second share a network share's fingerprint:
/// renamed with their folder they are told apart by name, and files of another
/// name by their content hash.
#[test]
fn files_sharing_a_fingerprint_are_matched_by_name_then_by_hash() {
    let (d, f1, f2) = (dir(), file(1), Meta::file(11, 1_001, 0o644, [9; 32]));
    let share_base = |m: &Meta, n: u32| {
        Some(Box::new(Original {
            local_identity: Some(ino(n, 0, m)),
            remote_identity: Some(if m.is_dir() { "dir".into() } else { stat(m) }),
            ..Original::of(m.clone())
        }))
    };
    let local = |m: &Meta, n: u32| copy(m.clone(), ino(n, 0, m));
    let remote = |m: &Meta| {
        let id = if m.is_dir() {
            "dir".to_string()
        } else {
            stat(m)
        };
        copy(unhashed(m), id)
    };
    // d/x and d/y: the same fingerprint, other content; renamed to e/ on the share.
    let entries = vec![
        ("d", triple(share_base(&d, 3), local(&d, 3), None)),
        ("d/x", triple(share_base(&f1, 4), local(&f1, 4), None)),
        ("d/y", triple(share_base(&f2, 5), local(&f2, 5), None)),
        ("e", triple(None, None, remote(&d))),
        ("e/x", triple(None, None, remote(&f1))),
        ("e/y", triple(None, None, remote(&f2))),
    ];
    let control = ctl(ConflictPolicy::Log);
    let hashes = [(Side::Share, "e/x", 1), (Side::Share, "e/y", 9)];
    let plan = plan_with(entries.clone(), &control, Lineage::Stat, &hashes);
    assert_eq!(plan.items.len(), 1, "{:#?}", plan.items);
    assert_eq!(one(&plan, "e").state, SyncState::DirRenamedOnServer);
    // Renamed to other names: the hashes pair them (x is now v, y is now w).
    let entries = vec![
        ("x", triple(share_base(&f1, 4), local(&f1, 4), None)),
        ("y", triple(share_base(&f2, 5), local(&f2, 5), None)),
        ("v", triple(None, None, remote(&f1))),
        ("w", triple(None, None, remote(&f2))),
    ];
    let hashes = [(Side::Share, "v", 1), (Side::Share, "w", 9)];
    let plan = plan_with(entries.clone(), &control, Lineage::Stat, &hashes);
    assert_eq!(one(&plan, "v").moved, moved("x", Side::Cache, "x"));
    assert_eq!(one(&plan, "w").moved, moved("y", Side::Cache, "y"));
    // Both with the same content as one original: no rename.
    let hashes = [(Side::Share, "v", 1), (Side::Share, "w", 1)];
    let plan = plan_with(entries, &control, Lineage::Stat, &hashes);
    assert!(
        plan.items.iter().all(|i| i.moved.is_none()),
        "{:#?}",
        plan.items
    );
}

#[test]
fn a_folder_holding_ghosts_deleted_in_the_cache_comes_back_and_keeps_them() {
    let (d, g) = (dir(), file(4));
    let ghost = Triple {
        cached: false,
        pinned: false,
        ..triple(
            Some(Box::new(Original {
                cached: false,
                remote_identity: Some(ino(12, 0, &g)),
                ..Original::of(g.clone())
            })),
            None,
            copy(g.clone(), ino(12, 0, &g)),
        )
    };
    let entries = vec![
        (
            "d",
            triple(base(d.clone(), 3), None, copy(d.clone(), ino(3, 0, &d))),
        ),
        ("d/g", ghost),
    ];
    let plan = plan(entries, &ctl(ConflictPolicy::Log));
    assert_eq!(plan.items.len(), 1, "{:#?}", plan.items);
    let item = one(&plan, "d");
    assert_eq!(item.action, Action::Run(SyncOperation::CreateCopyOnClient));
    assert_eq!(plan.counts.delete_remote, 0);
}

#[test]
fn a_one_way_sync_that_may_not_write_the_other_side_renames_nothing() {
    let control = SyncControl {
        sync_out: false,
        ..SyncControl::default()
    };
    let plan = plan(renamed_in_cache(file(1)), &control);
    assert!(plan.items.is_empty(), "{:#?}", plan.items);
}
