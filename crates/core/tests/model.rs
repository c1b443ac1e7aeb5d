//! The planner against a small model (Unison's approach): random base trees, random
//! edits on both sides (renames and moves of files and folders among them), a plan
//! under every policy and direction, with the share's identities inode-like (a
//! folder share) or stat fingerprints (a network share), applied by an in-memory
//! reference executor (`support/world.rs`); then the properties every sync must have:
//! (a) no change is lost, (b) the sides converge, (c) a second plan has nothing left
//! to do, (d) the trees stay consistent (nothing under a file or a missing folder),
//! (e) the base updates the plan items carry give the base both sides agree on,
//! (f) an excluded path (and what lies below it) never changes on either side, and
//! its original is forgotten. The plan is what a dry run prints: the same planner,
//! nothing else.
//!
//! `PROPTEST_CASES=N` runs more cases (default 500).

use offline_core::{
    Action, ConflictPolicy, Lineage, Meta, Plan, RelPath, Side, SyncControl, SyncOperation,
};
use proptest::prelude::*;

#[path = "support/controls.rs"]
mod controls;
#[path = "support/seed.rs"]
mod seed;
#[path = "support/tree.rs"]
mod tree;
#[path = "support/world.rs"]
mod world;

use controls::controls;
use std::collections::BTreeSet;
use tree::*;
use world::*;

fn same(a: Option<&Meta>, b: Option<&Meta>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.same_item(b),
        (None, None) => true,
        _ => false,
    }
}

/// (e) The base updates carried by the plan's items, applied to the old base, give
/// the base the sides agree on after the sync (`expected`), except at the conflict
/// names keep-all picks while it runs (the executor records those) and where the
/// plan leaves things alone (their base too).
fn check_base_updates(
    base: &Base,
    local: &Tree,
    remote: &Tree,
    planned: &Plan,
    world: &World,
    expected: &Base,
) -> Result<(), String> {
    let updated = updated_base(base, planned, world)?;
    let picked_at_run = |p: &RelPath| !local.contains_key(p) && !remote.contains_key(p);
    let alone = left_alone(planned);
    let paths: BTreeSet<&RelPath> = updated
        .keys()
        .chain(expected.keys())
        .chain(world.local.keys())
        .collect();
    for p in paths {
        if (picked_at_run(p) && !base.contains_key(p)) || alone.iter().any(|a| a.contains(p)) {
            continue;
        }
        let want = expected.get(p).map(|b| &b.meta);
        if !same(updated.get(p), want) {
            return Err(format!(
                "(e) the base at {p:?}: the plan's updates give {:?}, the sides agree on {want:?}",
                updated.get(p),
            ));
        }
    }
    Ok(())
}

/// Excluded paths (what `.offlineignore` patterns pick out), none in a third of cases.
fn exclusions() -> impl Strategy<Value = Vec<RelPath>> {
    let name = prop_oneof![3 => Just(0usize), 2 => Just(1usize), 1 => Just(2usize)];
    let path = prop::collection::vec(name, 1..=MAX_DEPTH).prop_map(|names| {
        let text: Vec<&str> = names.iter().map(|&n| NAMES[n]).collect();
        RelPath::from_str_lossy(&text.join("/")).expect("a valid path")
    });
    prop::collection::vec(path, 0..3)
}

/// True when `path` is excluded or lies below an excluded path.
fn under_excluded(excluded: &[RelPath], path: &RelPath) -> bool {
    excluded.iter().any(|e| e.contains(path))
}

/// (f) Every item the plan holds at or below an excluded path forgets the base it
/// had, and nothing else.
fn check_excluded(planned: &Plan, base: &Base, excluded: &[RelPath]) -> Result<(), String> {
    for i in &planned.items {
        let at_excluded = under_excluded(excluded, &i.path);
        let forgets = i.action == Action::ForgetExcluded;
        let renamed_there = i
            .moved
            .as_ref()
            .is_some_and(|m| under_excluded(excluded, &m.from));
        if at_excluded != forgets || (forgets && !base.contains_key(&i.path)) || renamed_there {
            return Err(format!(
                "(f) {:?} planned {:?} (excluded: {at_excluded})",
                i.path, i.action
            ));
        }
    }
    Ok(())
}

fn writes(item: &offline_core::PlanItem) -> (bool, bool) {
    (item.writes(Side::Cache), item.writes(Side::Share))
}

fn describe(plan: &Plan) -> String {
    plan.items
        .iter()
        .map(|i| {
            let moved = i
                .moved
                .as_ref()
                .map(|m| format!(" from {:?} (rename {:?})", m.from, m.rename))
                .unwrap_or_default();
            format!("  {:?}: {} {:?}{moved}\n", i.path, i.state, i.action)
        })
        .collect()
}

/// Plans, applies and checks one sync of (base, local, remote) under `control`.
fn sync_and_check(
    base_tree: &Tree,
    base: &Base,
    local: &Tree,
    remote: &Tree,
    lineage: Lineage,
    excluded: &[RelPath],
    control: &SyncControl,
) -> Result<(), String> {
    let full = control.sync_in && control.sync_out && !control.no_new_files_out;
    let planned = plan_sync(base, local, remote, lineage, excluded, control);
    let ctx = |what: String| {
        format!(
            "{what}\ncontrol {control:?} share {lineage:?}\nplan:\n{}",
            describe(&planned)
        )
    };

    // The plan is in path order, each path once.
    for w in planned.items.windows(2) {
        if w[0].path >= w[1].path {
            return Err(ctx(format!("order: {:?} then {:?}", w[0].path, w[1].path)));
        }
    }

    let mut world = World {
        local: local.clone(),
        remote: remote.clone(),
        saved: BTreeSet::new(),
        ids: Inodes(1_000_000),
    };
    execute(&planned, &mut world).map_err(&ctx)?;

    // (d) consistent trees.
    check_consistent(&world.local, "local").map_err(&ctx)?;
    check_consistent(&world.remote, "remote").map_err(&ctx)?;

    // (f) excluded paths: untouched on both sides, in the plan only to forget a base.
    check_excluded(&planned, base, excluded).map_err(&ctx)?;
    for (name, before, after) in [
        ("local", local, &world.local),
        ("remote", remote, &world.remote),
    ] {
        let keys = before.keys().chain(after.keys());
        if let Some(p) = keys
            .filter(|p| under_excluded(excluded, p))
            .find(|p| before.get(*p) != after.get(*p))
        {
            return Err(ctx(format!(
                "(f) the excluded {p:?} changed on {name}: {:?} -> {:?}",
                before.get(p),
                after.get(p)
            )));
        }
    }

    // (a) no change lost (an item only moved since the base is no change; on a
    // share without inodes, a file equal to a base file in content and stat is that
    // file, as far as anyone can tell).
    let unchanged = |n: &Node, side: &str| {
        base_tree.values().any(|b| {
            b.meta.same_item(&n.meta)
                && (b.ino == n.ino
                    || (side == "remote"
                        && lineage != Lineage::Inode
                        && b.meta.mtime_ns == n.meta.mtime_ns))
        })
    };
    let after: BTreeSet<Key> = world
        .local
        .values()
        .chain(world.remote.values())
        .filter_map(|n| key(&n.meta))
        .chain(world.saved.iter().cloned())
        .collect();
    for (side, tree) in [("local", local), ("remote", remote)] {
        for (p, n) in tree {
            let Some(k) = key(&n.meta) else { continue };
            if base.get(p).is_some_and(|b| b.meta.same_item(&n.meta)) || unchanged(n, side) {
                continue;
            }
            if !after.contains(&k) {
                return Err(ctx(format!(
                    "(a) the {side} change at {p:?} ({:?}) is lost",
                    n.meta
                )));
            }
        }
    }

    // Paths left alone on purpose: at or below a logged conflict or a blocked item.
    let exempt = left_alone(&planned);
    let is_exempt = |p: &RelPath| exempt.iter().any(|e| e.contains(p));

    let paths: BTreeSet<&RelPath> = world.local.keys().chain(world.remote.keys()).collect();
    let differing: Vec<&RelPath> = paths
        .into_iter()
        .filter(|p| {
            !same(
                world.local.get(*p).map(|n| &n.meta),
                world.remote.get(*p).map(|n| &n.meta),
            )
        })
        .filter(|p| !under_excluded(excluded, p))
        .collect();

    // Under log, no conflict is settled.
    if control.policy == ConflictPolicy::Log {
        if let Some(i) = planned
            .items
            .iter()
            .find(|i| i.action.is_conflict() && i.action != Action::LogConflict)
        {
            return Err(ctx(format!("{:?} settled under log", i.path)));
        }
    }

    // Under a policy other than log, nothing stays logged but two folders that
    // differ in mode only under keep-all (nothing to keep twice), and nothing blocks.
    if full && control.policy != ConflictPolicy::Log {
        for i in &planned.items {
            let ok = match i.action {
                Action::LogConflict => {
                    control.policy == ConflictPolicy::KeepAll
                        && i.triple.meta(Side::Cache).is_some_and(Meta::is_dir)
                        && i.triple.meta(Side::Share).is_some_and(Meta::is_dir)
                }
                Action::Blocked => false,
                _ => true,
            };
            if !ok {
                return Err(ctx(format!(
                    "(b) {:?} left {:?} under {}",
                    i.path, i.action, control.policy
                )));
            }
        }
    }

    if full {
        // (b) convergence; under a policy other than log only the logged folders
        // themselves may differ.
        let strict = control.policy != ConflictPolicy::Log;
        if let Some(p) = differing
            .iter()
            .find(|p| !is_exempt(p) || (strict && !exempt.contains(p)))
        {
            return Err(ctx(format!(
                "(b) {p:?} differs after sync: local {:?} remote {:?}",
                world.local.get(*p),
                world.remote.get(*p)
            )));
        }
    } else {
        // The forbidden side is untouched.
        if !control.sync_in && world.local != *local {
            return Err(ctx("local written by a sync-out".into()));
        }
        if !control.sync_out && world.remote != *remote {
            return Err(ctx("remote written by a sync-in".into()));
        }
    }

    // (c) idempotence: planning again finds nothing but what stays logged.
    let moved = moves(&planned, &world).map_err(&ctx)?;
    let base2 = new_base(
        base,
        &world,
        lineage,
        &bases_left(&planned),
        &moved,
        excluded,
    );
    check_base_updates(base, local, remote, &planned, &world, &base2).map_err(&ctx)?;
    let again = plan_sync(
        &base2,
        &world.local,
        &world.remote,
        lineage,
        excluded,
        control,
    );
    for i in &again.items {
        if !matches!(i.action, Action::LogConflict | Action::Blocked) {
            return Err(ctx(format!(
                "(c) second plan: {:?} {} {:?}\nsecond plan:\n{}",
                i.path,
                i.state,
                i.action,
                describe(&again)
            )));
        }
    }

    // (b) for a one-way sync: what is left needs the other direction only (or a
    // conflict settled by a two-sided policy).
    if !full {
        let both_ways = SyncControl {
            sync_in: true,
            sync_out: true,
            no_new_files_out: false,
            ..*control
        };
        let rest = plan_sync(
            &base2,
            &world.local,
            &world.remote,
            lineage,
            excluded,
            &both_ways,
        );
        // A conflict the direction left logged holds back what lies below it.
        // A rename on a side the sync may not write waits with all its work, and
        // with what is merged below it.
        let rename_forbidden = |i: &offline_core::PlanItem| match i.renames_on() {
            Some(Side::Cache) => !control.sync_in,
            Some(Side::Share) => !control.sync_out,
            None => false,
        };
        let mut held: Vec<&RelPath> = rest
            .items
            .iter()
            .filter(|i| {
                i.action.is_conflict() || i.action == Action::Blocked || rename_forbidden(i)
            })
            .map(|i| &i.path)
            .collect();
        // A rename into what is held is held too, and the folders it leaves wait
        // for it.
        let held_renames: Vec<&RelPath> = rest
            .items
            .iter()
            .filter(|i| held.iter().any(|h| h.is_ancestor_of(&i.path)))
            .filter_map(|i| i.moved.as_ref().map(|m| &m.from))
            .collect();
        let leaves_held = |p: &RelPath| held_renames.iter().any(|f| p.is_ancestor_of(f));
        held.extend(held_renames.iter().copied());
        for i in &rest.items {
            if held.iter().any(|h| h.contains(&i.path)) || leaves_held(&i.path) {
                continue;
            }
            let new_file_out = i.action == Action::Run(SyncOperation::CreateCopyOnServer)
                && i.triple.original.is_none()
                && !i.triple.meta(Side::Cache).is_some_and(Meta::is_dir);
            if control.no_new_files_out && new_file_out {
                continue;
            }
            let (wl, wr) = writes(i);
            if (wl && control.sync_in) || (wr && control.sync_out) {
                return Err(ctx(format!(
                    "(b) a one-way sync left work it may do: {:?} {} {:?}\nrest:\n{}",
                    i.path,
                    i.state,
                    i.action,
                    describe(&rest)
                )));
            }
        }
    }
    Ok(())
}

/// The share's identities: a folder share's inodes, a network share's fingerprints.
const LINEAGES: [Lineage; 2] = [Lineage::Inode, Lineage::Stat];

fn check_all(base: &Tree, local: &Tree, remote: &Tree) -> Result<(), String> {
    check_all_excluding(base, local, remote, &[])
}

fn check_all_excluding(
    base: &Tree,
    local: &Tree,
    remote: &Tree,
    excluded: &[RelPath],
) -> Result<(), String> {
    check_consistent(base, "base")?;
    check_consistent(local, "local")?;
    check_consistent(remote, "remote")?;
    let base_tree = base;
    for lineage in LINEAGES {
        let base = base_of(base_tree, lineage);
        for control in controls() {
            let checked =
                sync_and_check(base_tree, &base, local, remote, lineage, excluded, &control);
            checked.map_err(|e| {
                let trees: tree::Tree = base
                    .iter()
                    .map(|(p, b)| {
                        let node = Node {
                            meta: b.meta.clone(),
                            ino: 0,
                            ver: 0,
                        };
                        (p.clone(), node)
                    })
                    .collect();
                format!(
                    "{e}\nbase {}\nlocal {}\nremote {}\nexcluded {excluded:?}",
                    show(&trees),
                    show(local),
                    show(remote)
                )
            })?;
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

/// The trees of one scenario: the base, and each side after its edits.
fn trees(base_ops: &[Op], local_ops: &[Op], remote_ops: &[Op]) -> (Tree, Tree, Tree) {
    let mut ids = Inodes::default();
    let base = build(&Tree::new(), base_ops, &mut ids);
    let local = build(&base, local_ops, &mut ids);
    let remote = build(&base, remote_ops, &mut ids);
    (base, local, remote)
}

proptest! {
    #![proptest_config(seed::config(cases()))]

    #[test]
    fn planned_syncs_lose_nothing_converge_and_are_idempotent(
        (base_ops, local_ops, remote_ops) in scenario(),
        excluded in exclusions(),
    ) {
        let (base, local, remote) = trees(&base_ops, &local_ops, &remote_ops);
        if let Err(e) = check_all_excluding(&base, &local, &remote, &excluded) {
            return Err(TestCaseError::fail(format!(
                "{e}\n(replay: PROPTEST_RNG_SEED={} cargo test -p offline-core --test model)",
                seed::seed()
            )));
        }
    }
}

// ---------------------------------------------------------------------------
// Hand-made scenarios (and regressions found by the property above)

fn p(s: &str) -> RelPath {
    RelPath::from_str_lossy(s).expect("valid test path")
}

/// A tree of new objects (inodes numbered from `first`).
fn tree_at(first: u32, items: &[(&str, Meta)]) -> Tree {
    items
        .iter()
        .enumerate()
        .map(|(i, (s, m))| {
            let node = Node {
                meta: m.clone(),
                ino: first + i as u32,
                ver: 0,
            };
            (p(s), node)
        })
        .collect()
}

fn tree(items: &[(&str, Meta)]) -> Tree {
    tree_at(1, items)
}

#[test]
fn model_sanity_edits_keep_trees_consistent() {
    let mut t = Tree::new();
    let mut ids = Inodes::default();
    let at = |pick, tail: &[u8]| Sel {
        pick,
        tail: tail.to_vec(),
    };
    apply_op(
        &mut t,
        &Op::File {
            at: at(0, &[0, 1]),
            content: 1,
            exec: false,
            mtime: 0,
        },
        &mut ids,
    );
    assert_eq!(
        t.keys().cloned().collect::<Vec<_>>(),
        vec![p("a"), p("a/b")]
    );
    // A file cannot hold children.
    apply_op(
        &mut t,
        &Op::File {
            at: at(2, &[0]),
            content: 1,
            exec: false,
            mtime: 0,
        },
        &mut ids,
    );
    assert_eq!(t.len(), 2);
    // A rename moves the folder with what is in it, keeping the objects.
    let ino = t[&p("a/b")].ino;
    apply_op(
        &mut t,
        &Op::Rename {
            at: at(1, &[]),
            to: at(0, &[2]),
        },
        &mut ids,
    );
    assert_eq!(
        t.keys().cloned().collect::<Vec<_>>(),
        vec![p("c"), p("c/b")]
    );
    assert_eq!(t[&p("c/b")].ino, ino);
    assert_eq!((t[&p("c")].ver, t[&p("c/b")].ver), (1, 0));
    apply_op(
        &mut t,
        &Op::ToFile {
            at: at(1, &[]),
            content: 2,
            mtime: 0,
        },
        &mut ids,
    );
    assert_eq!(t.len(), 1);
    assert_eq!(t[&p("c")].meta, file_meta(2, false, 0));
    check_consistent(&t, "t").unwrap();
}

#[test]
fn subtree_deleted_on_one_side_while_changed_inside_on_the_other() {
    let base = tree(&[
        ("a", dir_meta(false)),
        ("a/b", dir_meta(false)),
        ("a/b/c", file_meta(1, false, 0)),
        ("a/c", file_meta(2, false, 0)),
    ]);
    let mut changed = base.clone();
    changed.get_mut(&p("a/b/c")).unwrap().meta = file_meta(3, false, 1);
    let gone = Tree::new();
    check_all(&base, &changed, &gone).unwrap();
    check_all(&base, &gone, &changed).unwrap();
}

#[test]
fn folder_replaced_by_file_while_changed_inside() {
    let base = tree(&[("a", dir_meta(false)), ("a/b", file_meta(1, false, 0))]);
    let file = tree_at(10, &[("a", file_meta(2, false, 1))]);
    let mut changed = base.clone();
    changed.get_mut(&p("a/b")).unwrap().meta = file_meta(3, false, 1);
    check_all(&base, &file, &changed).unwrap();
    check_all(&base, &changed, &file).unwrap();
}

#[test]
fn file_and_folder_created_at_one_name() {
    let base = Tree::new();
    let folder = tree(&[
        ("a", dir_meta(false)),
        ("a/b", dir_meta(false)),
        ("a/b/c", file_meta(1, false, 0)),
    ]);
    let file = tree_at(10, &[("a", file_meta(2, false, 1))]);
    check_all(&base, &folder, &file).unwrap();
    check_all(&base, &file, &folder).unwrap();
}

/// The generator is not vacuous: over a fixed sample it reaches the hard cases
/// (every kind of conflict, kept folders, blocked subtrees, identical changes, and
/// the four renamed states with what comes with them).
#[test]
fn the_generator_reaches_the_hard_cases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for _ in 0..1000 {
        let (b, l, r) = scenario()
            .new_tree(&mut runner)
            .expect("a scenario")
            .current();
        let (base, local, remote) = trees(&b, &l, &r);
        for lineage in LINEAGES {
            let base = base_of(&base, lineage);
            for control in controls() {
                for i in plan_sync(&base, &local, &remote, lineage, &[], &control).items {
                    seen.insert(format!("{} {}", i.state, i.action.name()));
                }
            }
        }
    }
    for want in [
        "file_changed_on_client_changed_on_server conflict",
        "file_changed_on_client_changed_on_server conflict_keep_local",
        "file_changed_on_client_changed_on_server conflict_keep_remote",
        "file_changed_on_client_changed_on_server conflict_keep_all",
        "file_changed_on_client_changed_on_server record_original",
        "file_created_on_client_file_on_server conflict",
        "dir_changed_on_client_changed_on_server conflict",
        "dir_created_on_client_file_on_server conflict_keep_all",
        "file_created_on_client_dir_on_server conflict",
        "file_changed_on_client_dir_changed_on_server conflict_keep_all",
        "dir_changed_on_client_file_changed_on_server conflict",
        "dir_changed_on_client_deleted_on_server create_copy_on_server",
        "deleted_on_client_dir_changed_on_server create_copy_on_client",
        "file_changed_on_client_deleted_on_server create_copy_on_server",
        "deleted_on_client_file_changed_on_server create_copy_on_client",
        "file_changed_on_client_dir_on_server sync_to_server",
        "dir_on_client_file_changed_on_server sync_to_client",
        "no_client_copy_file_on_server blocked",
        "file_created_on_client_no_server_copy blocked",
        "stable forget_original",
        "file_renamed_on_client rename_server_copy",
        "file_renamed_on_server rename_client_copy",
        "dir_renamed_on_client rename_server_copy",
        "dir_renamed_on_server rename_client_copy",
        "file_renamed_on_client sync_to_server",
        "file_renamed_on_client sync_to_client",
        "file_renamed_on_client conflict",
        "file_renamed_on_server conflict",
        "file_renamed_on_client conflict_keep_local",
    ] {
        assert!(seen.contains(want), "never reached: {want}");
    }
}
