//! The planner and inode numbers given anew: a file deleted in the cache and a new
//! file that received its inode number are a deletion plus a creation once the new
//! file's birth time says it was born after the deleted one was last recorded (the
//! change time in its recorded identity); born before (the same object), or with no
//! birth time known, the inode match is a rename.

#[path = "support/rename_fixtures.rs"]
mod rename_fixtures;

use offline_core::plan::{HashWanted, Planner};
use offline_core::{ConflictPolicy, Lineage, Plan, Side, SyncState, Triple};
use rename_fixtures::*;

const SECOND: i64 = 1_000_000_000;

/// `a` (object 7, recorded with change time 0 s) deleted in the cache, `b` new there
/// with object 7 and other content (change time 3 s), planned with `born` as `b`'s
/// birth time once the planner asks for it.
fn reused(born: Option<i64>) -> (Vec<HashWanted>, Plan) {
    let (f, g) = (file(1), file(6));
    let entries: Vec<(&str, Triple)> = vec![
        (
            "a",
            triple(base(f.clone(), 7), None, copy(f.clone(), ino(7, 0, &f))),
        ),
        ("b", triple(None, copy(g.clone(), ino(7, 3, &g)), None)),
    ];
    let control = ctl(ConflictPolicy::Log);
    let mut planner = Planner::new(&control).lineage(Side::Share, Lineage::Inode);
    for (path, t) in entries {
        planner.add(p(path), t);
    }
    let asked = planner.births_wanted();
    for w in &asked {
        planner.give_birth(w.side, &w.path, born);
    }
    assert!(planner.births_wanted().is_empty(), "asked twice");
    (asked, planner.finish())
}

#[test]
fn the_planner_asks_for_the_birth_of_an_inode_match() {
    let (asked, _) = reused(None);
    assert_eq!(
        asked,
        vec![HashWanted {
            side: Side::Cache,
            path: p("b")
        }]
    );
}

#[test]
fn a_file_born_after_the_original_was_recorded_is_no_rename() {
    let (_, plan) = reused(Some(2 * SECOND));
    assert!(
        plan.items.iter().all(|i| i.moved.is_none()),
        "{:#?}",
        plan.items
    );
    assert_eq!(
        one(&plan, "a").state,
        SyncState::DeletedOnClientFileOnServer
    );
    assert_eq!(plan.counts.delete_remote, 1);
}

#[test]
fn a_file_born_before_the_original_was_recorded_is_its_rename() {
    for born in [Some(-SECOND), Some(0), None] {
        let (_, plan) = reused(born);
        let item = one(&plan, "b");
        assert_eq!(item.state, SyncState::FileRenamedOnClient, "{born:?}");
        assert_eq!(item.moved, moved("a", Side::Share, "a"), "{born:?}");
    }
}
