//! The contract between the planner and the executor, item by item: each plan item's
//! precondition on each side (`PlanItem::expect`) and its base update
//! (`PlanItem::base_update`), for every kind of action the planner gives.

use offline_core::plan::BaseUpdate;
use offline_core::{
    plan, Action, ConflictPolicy, Expect, Meta, Original, RelPath, Scanned, Side, SyncControl,
    SyncOperation, Triple,
};

fn p(s: &str) -> RelPath {
    RelPath::from_str_lossy(s).expect("valid test path")
}

fn file(c: u8) -> Meta {
    Meta::file(10 + c as u64, 1_000 + c as i64, 0o644, [c; 32])
}

/// A triple whose copies carry identities: `L-<c>` in the cache, `R-<c>` on the
/// share, and the original's identities on both sides.
fn triple(o: Option<u8>, l: Option<u8>, r: Option<u8>) -> Triple {
    Triple {
        original: o.map(|c| {
            Box::new(Original {
                local_identity: Some(format!("L-{c}")),
                remote_identity: Some(format!("R-{c}")),
                ..Original::of(file(c))
            })
        }),
        local: l.map(|c| Box::new(Scanned::new(file(c), format!("L-{c}")))),
        remote: r.map(|c| Box::new(Scanned::new(file(c), format!("R-{c}")))),
        ..Triple::new(None, None, None)
    }
}

fn policy(policy: ConflictPolicy) -> SyncControl {
    SyncControl {
        policy,
        ..SyncControl::default()
    }
}

/// The one item planned for `t` at `x`.
fn item(t: Triple, control: &SyncControl) -> offline_core::PlanItem {
    let mut plan = plan(vec![(p("x"), t)], control);
    assert_eq!(plan.items.len(), 1, "{plan:?}");
    plan.items.remove(0)
}

fn id(s: &str) -> Expect {
    Expect::Identity(s.to_string())
}

/// A copy's base update: the source's metadata and identity, the target's identity
/// left for the executor.
fn put_copy(c: u8, from: Side, to: Side) -> BaseUpdate {
    let mut original = Original {
        local_identity: None,
        remote_identity: None,
        ..Original::of(file(c))
    };
    let prefix = if from == Side::Cache { "L" } else { "R" };
    original.set_identity(from, Some(format!("{prefix}-{c}")));
    BaseUpdate::PutCopy { original, to }
}

#[test]
fn a_copy_expects_what_prepare_saw_and_records_its_source() {
    let log = SyncControl::default();
    // Changed in the cache: the share copy must still be R-1.
    let up = item(triple(Some(1), Some(2), Some(1)), &log);
    assert_eq!(up.action, Action::Run(SyncOperation::SyncToServer));
    assert_eq!(up.expect(Side::Share), id("R-1"));
    assert_eq!(up.expect(Side::Cache), id("L-2"));
    assert_eq!(
        up.base_update(),
        Some(put_copy(2, Side::Cache, Side::Share))
    );
    // New on the share: nothing may be in the cache.
    let down = item(triple(None, None, Some(3)), &log);
    assert_eq!(down.action, Action::Run(SyncOperation::CreateCopyOnClient));
    assert_eq!(down.expect(Side::Cache), Expect::Absent);
    assert_eq!(
        down.base_update(),
        Some(put_copy(3, Side::Share, Side::Cache))
    );
}

#[test]
fn the_executor_completes_a_copy_with_the_target_identity_and_hash() {
    let BaseUpdate::PutCopy { mut original, to } = put_copy(2, Side::Cache, Side::Share) else {
        unreachable!()
    };
    original.meta.hash = None;
    let done = BaseUpdate::complete_copy(original, to, "R-new".to_string(), Some([9; 32]));
    assert_eq!(done.local_identity.as_deref(), Some("L-2"));
    assert_eq!(done.remote_identity.as_deref(), Some("R-new"));
    assert_eq!(done.meta.hash, Some([9; 32]));
    assert!(done.cached);
}

#[test]
fn a_deletion_expects_the_copy_and_forgets_the_original() {
    let gone_remote = item(triple(Some(1), Some(1), None), &SyncControl::default());
    assert_eq!(
        gone_remote.action,
        Action::Run(SyncOperation::DeleteClientCopy)
    );
    assert_eq!(gone_remote.expect(Side::Cache), id("L-1"));
    assert_eq!(gone_remote.base_update(), Some(BaseUpdate::Forget));
    let gone_both = item(triple(Some(1), None, None), &SyncControl::default());
    assert_eq!(gone_both.action, Action::ForgetOriginal);
    assert_eq!(gone_both.base_update(), Some(BaseUpdate::Forget));
}

#[test]
fn bookkeeping_records_both_identities_or_the_share_s_for_a_ghost() {
    let same = item(triple(Some(1), Some(2), Some(2)), &SyncControl::default());
    assert_eq!(same.action, Action::RecordOriginal);
    assert_eq!(
        same.base_update(),
        Some(BaseUpdate::Put(Original {
            local_identity: Some("L-2".into()),
            remote_identity: Some("R-2".into()),
            ..Original::of(file(2))
        }))
    );
    let unpinned = Triple {
        pinned: false,
        ..triple(None, None, Some(4))
    };
    let ghost = item(unpinned, &SyncControl::default());
    assert_eq!(ghost.action, Action::RecordGhost);
    assert_eq!(
        ghost.base_update(),
        Some(BaseUpdate::Put(Original {
            local_identity: None,
            remote_identity: Some("R-4".into()),
            cached: false,
            ..Original::of(file(4))
        }))
    );
}

#[test]
fn conflicts_keep_the_base_or_record_the_winner() {
    let both = || triple(Some(1), Some(2), Some(3));
    let logged = item(both(), &policy(ConflictPolicy::Log));
    assert_eq!(logged.action, Action::LogConflict);
    assert_eq!(logged.base_update(), Some(BaseUpdate::Keep));
    let local_wins = item(both(), &policy(ConflictPolicy::KeepLocal));
    assert_eq!(
        local_wins.action,
        Action::KeepOne {
            winner: Side::Cache
        }
    );
    assert_eq!(local_wins.expect(Side::Share), id("R-3"));
    assert_eq!(
        local_wins.base_update(),
        Some(put_copy(2, Side::Cache, Side::Share))
    );
    let keep_all = item(both(), &policy(ConflictPolicy::KeepAll));
    assert_eq!(
        keep_all.action,
        Action::KeepBoth {
            renamed: Side::Cache
        }
    );
    // The share's copy takes the path in the cache too.
    assert_eq!(
        keep_all.base_update(),
        Some(put_copy(3, Side::Share, Side::Cache))
    );
}

#[test]
fn unchanged_items_with_moved_fingerprints_get_them_in_the_plan() {
    let mut t = triple(Some(1), Some(1), Some(1));
    t.local = Some(Box::new(Scanned::new(file(1), "L-touched")));
    let planned = plan(vec![(p("x"), t)], &SyncControl::default());
    assert!(planned.items.is_empty());
    assert_eq!(planned.refresh.len(), 1);
    let (path, original) = &planned.refresh[0];
    assert_eq!(path, &p("x"));
    assert_eq!(original.local_identity.as_deref(), Some("L-touched"));
    assert_eq!(original.remote_identity.as_deref(), Some("R-1"));
    // Nothing moved: nothing to refresh.
    let still = plan(
        vec![(p("x"), triple(Some(1), Some(1), Some(1)))],
        &SyncControl::default(),
    );
    assert!(still.refresh.is_empty() && still.items.is_empty());
}

#[test]
fn the_planner_counts_what_each_side_holds_and_deletes() {
    let entries = vec![
        (p("a"), triple(Some(1), Some(1), None)),
        (p("b"), triple(Some(1), Some(1), None)),
        (p("c"), triple(Some(1), None, Some(1))),
        (p("d"), triple(None, None, Some(2))),
    ];
    let planned = plan(entries, &SyncControl::default());
    let c = planned.counts;
    assert_eq!((c.found_local, c.found_remote, c.known_remote), (2, 2, 3));
    assert_eq!((c.deletes(Side::Cache), c.deletes(Side::Share)), (2, 1));
}
