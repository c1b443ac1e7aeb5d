//! The planner's folder renames with what lies below them: a file created on both
//! sides in a folder renamed on one (its two copies meet only once the folder's
//! rename is found, so the planner asks for both hashes before comparing them), and
//! folders holding an excluded item (renamed with it when it stays excluded under
//! the new name). The other rename cases are in `renames.rs`.

#[path = "support/rename_fixtures.rs"]
mod rename_fixtures;

use offline_core::plan::{HashWanted, Planner};
use offline_core::{
    Action, ConflictPolicy, Lineage, Meta, Plan, RelPath, Side, SyncOperation, Triple,
};
use rename_fixtures::*;

/// A file of 13 bytes whose content is `c`: two of them differ only by content.
fn thirteen(c: u8) -> Meta {
    Meta::file(13, 2_000 + c as i64, 0o644, [c; 32])
}

/// The folder `d` renamed to `e` in the cache while `y` was created in it on both
/// sides, with contents of one size: the share's `d/y`, the cache's `e/y`, neither
/// hashed (each faced nothing at its path during the walk).
fn created_on_both_sides_in_a_renamed_folder(
    cache: &Meta,
    share: &Meta,
) -> Vec<(&'static str, offline_core::Triple)> {
    let mut entries = folder_renamed(Side::Cache);
    entries.push((
        "d/y",
        triple(None, None, copy(unhashed(share), ino(21, 0, share))),
    ));
    entries.push((
        "e/y",
        triple(None, copy(unhashed(cache), ino(22, 0, cache)), None),
    ));
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

#[test]
fn a_file_created_on_both_sides_in_a_renamed_folder_asks_for_both_hashes() {
    let entries = created_on_both_sides_in_a_renamed_folder(&thirteen(1), &thirteen(2));
    let control = ctl(ConflictPolicy::KeepAll);
    let mut planner = Planner::new(&control).lineage(Side::Share, Lineage::Inode);
    for (path, t) in entries {
        planner.add(p(path), t);
    }
    let wanted = planner.hashes_wanted();
    for (side, path) in [(Side::Cache, "e/y"), (Side::Share, "d/y")] {
        let want = HashWanted {
            side,
            path: p(path),
        };
        assert!(wanted.contains(&want), "{want:?} not in {wanted:?}");
    }
}

/// Two contents of one size are a conflict (keep-all keeps both), never recorded
/// as synced; the folder is still one rename.
#[test]
fn a_file_created_on_both_sides_in_a_renamed_folder_is_a_conflict() {
    let entries = created_on_both_sides_in_a_renamed_folder(&thirteen(1), &thirteen(2));
    let hashes = [(Side::Cache, "e/y", 1), (Side::Share, "d/y", 2)];
    for policy in [ConflictPolicy::KeepAll, ConflictPolicy::Log] {
        let plan = plan_with(entries.clone(), &ctl(policy), Lineage::Inode, &hashes);
        assert_eq!(
            one(&plan, "e").action,
            Action::Rename { on: Side::Share },
            "{policy:?}: {:#?}",
            plan.items
        );
        let y = one(&plan, "e/y");
        assert!(y.action.is_conflict(), "{policy:?}: {y:#?}");
        assert_eq!(
            y.triple.meta(Side::Share).and_then(|m| m.hash),
            Some([2; 32])
        );
        assert_eq!(
            y.triple.meta(Side::Cache).and_then(|m| m.hash),
            Some([1; 32])
        );
    }
}

/// The same content on both sides is recorded as synced under the new name.
#[test]
fn the_same_file_created_on_both_sides_in_a_renamed_folder_is_recorded() {
    let entries = created_on_both_sides_in_a_renamed_folder(&thirteen(1), &thirteen(1));
    let hashes = [(Side::Cache, "e/y", 1), (Side::Share, "d/y", 1)];
    let plan = plan_with(
        entries,
        &ctl(ConflictPolicy::KeepAll),
        Lineage::Inode,
        &hashes,
    );
    assert_eq!(one(&plan, "e").action, Action::Rename { on: Side::Share });
    assert_eq!(one(&plan, "e/y").action, Action::RecordOriginal);
}

/// A hash that could not be read (the file went away, an I/O error): the two copies
/// are never compared by size alone; the folder stays a deletion plus a creation,
/// which keeps both copies.
#[test]
fn an_unreadable_hash_keeps_both_copies() {
    let entries = created_on_both_sides_in_a_renamed_folder(&thirteen(1), &thirteen(2));
    let plan = plan_with(entries, &ctl(ConflictPolicy::KeepAll), Lineage::Inode, &[]);
    assert!(
        plan.items
            .iter()
            .all(|i| i.action != Action::RecordOriginal),
        "{:#?}",
        plan.items
    );
    assert_eq!(
        one(&plan, "e/y").action,
        Action::Run(SyncOperation::CreateCopyOnServer)
    );
}

/// An excluded `.DS_Store` in the folder renamed in the cache, at `at` on `side`.
fn excluded_junk(side: Side) -> Triple {
    let junk = file(9);
    let c = copy(junk.clone(), ino(9, 0, &junk));
    let t = match side {
        Side::Cache => triple(None, c, None),
        Side::Share => triple(None, None, c),
    };
    Triple {
        excluded: true,
        ..t
    }
}

fn plan_folder_with(extra: Vec<(&'static str, Triple)>) -> Plan {
    let mut entries = folder_renamed(Side::Cache);
    entries.extend(extra);
    entries.sort_by(|a, b| a.0.cmp(b.0));
    plan(entries, &ctl(ConflictPolicy::Log))
}

/// A folder with an excluded item below its new name (the cache's `.DS_Store`,
/// moved with it), or below both names, is one rename: the share's excluded item
/// moves with its folder and stays excluded; nothing is done to either.
#[test]
fn a_folder_holding_excluded_items_is_renamed_with_them() {
    let cases = [
        vec![("e/.DS_Store", excluded_junk(Side::Cache))],
        vec![
            ("d/.DS_Store", excluded_junk(Side::Share)),
            ("e/.DS_Store", excluded_junk(Side::Cache)),
        ],
    ];
    for extra in cases {
        let plan = plan_folder_with(extra);
        let folder = one(&plan, "e");
        assert_eq!(
            folder.action,
            Action::Rename { on: Side::Share },
            "{:#?}",
            plan.items
        );
        assert_eq!(folder.moved, moved("d", Side::Share, "d"));
        assert_eq!(plan.items.len(), 1, "{:#?}", plan.items);
        assert_eq!(plan.counts.delete_remote, 0);
    }
}

/// An excluded item whose counterpart under the other name is not excluded (a
/// pattern anchored to the folder's name, an ignore file in it), or one on the share
/// with no counterpart (not known to stay excluded under the new name), would
/// change status if moved: no folder rename, the files are renamed one by one into
/// the folder made anew, and the excluded item is left alone.
#[test]
fn a_folder_whose_exclusions_may_not_follow_is_not_renamed() {
    let plain = file(9);
    let not_excluded = |side| {
        let c = copy(plain.clone(), ino(9, 0, &plain));
        match side {
            Side::Cache => triple(None, c, None),
            Side::Share => triple(
                Some(Box::new(offline_core::Original::of(plain.clone()))),
                None,
                c,
            ),
        }
    };
    let cases = [
        vec![
            ("d/.DS_Store", excluded_junk(Side::Share)),
            ("e/.DS_Store", not_excluded(Side::Cache)),
        ],
        vec![
            ("d/.DS_Store", not_excluded(Side::Share)),
            ("e/.DS_Store", excluded_junk(Side::Cache)),
        ],
        vec![("d/.DS_Store", excluded_junk(Side::Share))],
    ];
    for extra in cases {
        check_not_renamed(plan_folder_with(extra));
    }
}

fn check_not_renamed(plan: Plan) {
    let folder = one(&plan, "e");
    assert_eq!(folder.moved, None, "{:#?}", plan.items);
    assert_eq!(
        folder.action,
        Action::Run(SyncOperation::CreateCopyOnServer)
    );
    assert_eq!(one(&plan, "e/x").moved, moved("d/x", Side::Share, "d/x"));
    // The excluded item is not part of the plan: left where it is.
    assert!(
        plan.items.iter().all(|i| !i.triple.excluded),
        "{:#?}",
        plan.items
    );
}

/// A file moved into a folder renamed in the same sync is a rename too: the folder's
/// rename runs first, then the file's, from its old path to its new one below the
/// folder's new name (found in the next round, once the folder's rename is merged).
#[test]
fn a_file_moved_into_a_folder_renamed_in_the_same_sync_is_renamed() {
    let mut entries = folder_renamed(Side::Cache);
    let k = file(5);
    entries.push((
        "k",
        triple(base(k.clone(), 5), None, copy(k.clone(), ino(5, 0, &k))),
    ));
    entries.push(("e/k", triple(None, copy(unhashed(&k), ino(5, 0, &k)), None)));
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let plan = plan(entries, &ctl(ConflictPolicy::Log));
    assert_eq!(plan.items.len(), 2, "{:#?}", plan.items);
    assert_eq!(one(&plan, "e").moved, moved("d", Side::Share, "d"));
    let file = one(&plan, "e/k");
    assert_eq!(file.action, Action::Rename { on: Side::Share });
    assert_eq!(file.moved, moved("k", Side::Share, "k"));
    let order: Vec<&RelPath> = plan.run_order().into_iter().map(|i| &i.path).collect();
    assert_eq!(order, vec![&p("e"), &p("e/k")]);
}

/// A file moved out of a folder renamed in the same sync stays a deletion plus a
/// creation (its old path on the other side depends on whether the folder's rename
/// ran first): copied again, nothing lost.
#[test]
fn a_file_moved_out_of_a_folder_renamed_in_the_same_sync_is_copied() {
    let mut entries = folder_renamed(Side::Cache);
    // d/x left the folder for the top: the cache holds it at `x`, not at `e/x`.
    let at = entries
        .iter()
        .position(|(path, _)| *path == "e/x")
        .expect("e/x");
    let (_, moved_out) = entries.remove(at);
    entries.push(("x", moved_out));
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let plan = plan(entries, &ctl(ConflictPolicy::Log));
    assert_eq!(one(&plan, "e").moved, moved("d", Side::Share, "d"));
    assert_eq!(
        one(&plan, "x").action,
        Action::Run(SyncOperation::CreateCopyOnServer)
    );
    assert_eq!(one(&plan, "x").moved, None);
    // The share's copy goes: it moved with its folder to e/x, where the cache has none.
    assert_eq!(
        one(&plan, "e/x").action,
        Action::Run(SyncOperation::DeleteServerCopy)
    );
}
