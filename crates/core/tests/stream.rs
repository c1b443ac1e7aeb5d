//! The plan released in pieces while the walk goes on (`Planner::release`) against the
//! whole plan: random trees on both sides with no original known (an initial sync),
//! handed to the planner as the engine's walk hands them (a folder's children at
//! once, folders walked in path order, a piece asked for after any folder), under
//! every policy and direction, with random pins and exclusions. The pieces, one
//! after the other, must be the whole plan, item for item; and a plain tree is
//! released as it is walked, not only at its end.
//!
//! `PROPTEST_CASES=N` runs more cases (default 500).

use offline_core::plan::Planner;
use offline_core::{Lineage, Meta, Plan, PlanItem, RelPath, SyncControl, SyncOperation, Triple};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

#[path = "support/controls.rs"]
mod controls;
#[path = "support/seed.rs"]
mod seed;
#[path = "support/tree.rs"]
mod tree;
#[path = "support/world.rs"]
mod world;

use controls::controls;
use tree::*;
use world::*;

fn planner<'c>(control: &'c SyncControl, fill: bool) -> Planner<'c> {
    Planner::new(control)
        .lineage(offline_core::Side::Share, Lineage::Stat)
        .fills_as(fill.then_some(SyncOperation::Pin))
}

/// The pieces of a plan as the walk asks for them: the children of a folder are
/// added at once, folders are walked in path order, and after a folder a piece is
/// taken when `cuts` says so (always at the end). Each piece is checked to be in
/// path order after the one before.
fn streamed(
    entries: &[(RelPath, Triple)],
    control: &SyncControl,
    fill: bool,
    cuts: &[bool],
) -> Result<(Vec<PlanItem>, usize), String> {
    let mut children: BTreeMap<RelPath, Vec<&(RelPath, Triple)>> = BTreeMap::new();
    for entry in entries {
        let parent = entry.0.parent().unwrap_or_else(RelPath::root);
        children.entry(parent).or_default().push(entry);
    }
    let mut planner = planner(control, fill);
    let mut out: Vec<PlanItem> = Vec::new();
    let mut pieces = 0;
    let mut pending = vec![RelPath::root()];
    let mut walked = 0;
    while let Some(dir) = pending.pop() {
        let mut below = Vec::new();
        for (path, triple) in children.get(&dir).into_iter().flatten() {
            planner.add(path.clone(), triple.clone());
            if children.contains_key(path) {
                below.push(path.clone());
            }
        }
        pending.extend(below.into_iter().rev());
        walked += 1;
        if cuts
            .get(walked % cuts.len().max(1))
            .copied()
            .unwrap_or(true)
        {
            let piece = planner.release(pending.last());
            take(&mut out, piece, &mut pieces)?;
        }
    }
    let piece = planner.release(None);
    take(&mut out, piece, &mut pieces)?;
    Ok((out, pieces))
}

fn take(out: &mut Vec<PlanItem>, piece: Plan, pieces: &mut usize) -> Result<(), String> {
    if let (Some(last), Some(first)) = (out.last(), piece.items.first()) {
        if last.path >= first.path {
            return Err(format!("{:?} released after {:?}", first.path, last.path));
        }
    }
    if piece.counts.delete_local + piece.counts.delete_remote > 0 {
        return Err("a piece without originals deletes".to_string());
    }
    *pieces += usize::from(!piece.items.is_empty());
    out.extend(piece.items);
    Ok(())
}

fn whole(entries: &[(RelPath, Triple)], control: &SyncControl, fill: bool) -> Plan {
    let mut planner = planner(control, fill);
    for (path, triple) in entries {
        planner.add(path.clone(), triple.clone());
    }
    planner.finish()
}

fn check(entries: &[(RelPath, Triple)], cuts: &[bool], fill: bool) -> Result<(), String> {
    for control in controls() {
        let expected = whole(entries, &control, fill);
        let (got, _) = streamed(entries, &control, fill, cuts)?;
        if got != expected.items {
            let show = |items: &[PlanItem]| {
                items
                    .iter()
                    .map(|i| format!("{:?} {}", i.path, i.action.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(format!(
                "{control:?}\nwhole:    {}\nstreamed: {}",
                show(&expected.items),
                show(&got)
            ));
        }
    }
    Ok(())
}

/// The planner's input for two trees and no original, with pins as `pinned` says.
fn initial(
    local: &Tree,
    remote: &Tree,
    excluded: &[RelPath],
    pinned: u64,
) -> Vec<(RelPath, Triple)> {
    entries(&Base::new(), local, remote, Lineage::Stat, excluded)
        .into_iter()
        .enumerate()
        .map(|(i, (path, mut triple))| {
            triple.pinned = pinned & (1 << (i % 64)) != 0;
            (path, triple)
        })
        .collect()
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

fn exclusions() -> impl Strategy<Value = Vec<RelPath>> {
    let name = prop::sample::select(vec!["a", "b", "c", "a/a", "a/b", "b/a"]);
    prop::collection::vec(name, 0..2).prop_map(|names| {
        names
            .into_iter()
            .filter_map(|n| RelPath::from_str_lossy(n).ok())
            .collect()
    })
}

proptest! {
    #![proptest_config(seed::config(cases()))]

    #[test]
    fn released_pieces_are_the_whole_plan(
        (both_ops, local_ops, remote_ops) in scenario(),
        excluded in exclusions(),
        pinned in prop_oneof![Just(u64::MAX), any::<u64>()],
        cuts in prop::collection::vec(any::<bool>(), 1..6),
        fill in any::<bool>(),
    ) {
        let mut ids = Inodes::default();
        let both = build(&Tree::new(), &both_ops, &mut ids);
        let local = build(&both, &local_ops, &mut ids);
        let remote = build(&both, &remote_ops, &mut ids);
        let entries = initial(&local, &remote, &excluded, pinned);
        if let Err(e) = check(&entries, &cuts, fill) {
            return Err(TestCaseError::fail(format!(
                "{e}\nlocal {}\nremote {}\nexcluded {excluded:?}\n(replay: PROPTEST_RNG_SEED={} cargo test -p offline-core --test stream)",
                show(&local),
                show(&remote),
                seed::seed()
            )));
        }
    }
}

fn p(s: &str) -> RelPath {
    RelPath::from_str_lossy(s).expect("valid test path")
}

fn share_only(items: &[(&str, Meta)]) -> Vec<(RelPath, Triple)> {
    items
        .iter()
        .map(|(path, meta)| (p(path), Triple::new(None, None, Some(meta.clone()))))
        .collect()
}

#[test]
fn a_plain_tree_is_released_as_it_is_walked() {
    let file = file_meta(1, false, 0);
    let dir = dir_meta(false);
    let entries = share_only(&[
        ("a", dir.clone()),
        ("a/x", file.clone()),
        ("a/y", file.clone()),
        ("b", dir.clone()),
        ("b/x", file.clone()),
        ("c", file.clone()),
        ("d", dir.clone()),
        ("d/x", file.clone()),
    ]);
    let control = SyncControl::default();
    let (items, pieces) = streamed(&entries, &control, false, &[true]).expect("in order");
    assert_eq!(items, whole(&entries, &control, false).items);
    assert_eq!(items.len(), 8);
    // `a` with its files once `a` is walked, then `b`, `b/x` and `c` once `b` is,
    // then `d` and `d/x` at the end.
    assert_eq!(pieces, 3, "each folder's items come as they are walked");
}

#[test]
fn a_folder_meeting_a_file_is_held_with_its_subtree() {
    // The cache holds a folder where the share holds a file: what rule 2 and rule 4
    // decide for it needs what lies below it.
    let file = file_meta(1, false, 0);
    let dir = dir_meta(false);
    let entries = vec![
        (
            p("a"),
            Triple::new(None, Some(dir.clone()), Some(file.clone())),
        ),
        (p("a/x"), Triple::new(None, Some(file.clone()), None)),
        (p("a/y"), Triple::new(None, Some(dir.clone()), None)),
        (p("a/y/z"), Triple::new(None, Some(file.clone()), None)),
        (p("b"), Triple::new(None, None, Some(file.clone()))),
    ];
    let all: BTreeSet<RelPath> = entries.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(all.len(), entries.len());
    for control in controls() {
        let mut planner = planner(&control, false);
        for (path, triple) in &entries[..3] {
            planner.add(path.clone(), triple.clone());
        }
        assert!(
            planner.release(Some(&p("a/y"))).items.is_empty(),
            "{control:?}"
        );
        for (path, triple) in &entries[3..] {
            planner.add(path.clone(), triple.clone());
        }
        let mut items = planner.release(None).items;
        items.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(items, whole(&entries, &control, false).items, "{control:?}");
    }
}
