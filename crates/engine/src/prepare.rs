//! Prepare: scan both sides (at the same time), join the scans with the originals,
//! and plan. Also the guards that stop a sync whose plan looks like a missing share
//! or a mass deletion.

use crate::cache::Cache;
use crate::error::{EngineError, Result};
use crate::scan::{scan_side, stored_identity, Scanned, SideScan};
use crate::sink::{ItemReport, ItemResult};
use offline_core::{
    plan, plan_without_base, Action, Plan, RelPath, Side, SyncControl, SyncOperation, Triple,
};
use offline_remote::Remote;
use offline_store::{Original, Pin};
use std::collections::{BTreeSet, HashMap};

/// A sync that would delete more than this share of a side's items stops unless forced.
pub const MASS_DELETE_PERCENT: u32 = 50;
/// Trees with at most this many deletions are never stopped by the mass-delete guard.
pub const MASS_DELETE_MIN: usize = 5;

/// What prepare found: the plan, and what the executor needs to re-check it.
pub struct Prepared {
    /// The work, in path order.
    pub plan: Plan,
    /// Paths that could not be prepared (each with an error naming `prepare`).
    pub problems: Vec<ItemReport>,
    pub(crate) local: SideScan,
    pub(crate) remote: SideScan,
    /// Unchanged items whose stat fingerprint moved (touched, copied back): their
    /// originals get the new fingerprints so the next scan need not hash them.
    pub(crate) refresh: Vec<(RelPath, Original)>,
}

impl Prepared {
    /// The scanned copy of `path` on `side`.
    pub(crate) fn scanned(&self, side: Side, path: &RelPath) -> Option<&Scanned> {
        match side {
            Side::Local => self.local.items.get(path),
            Side::Remote => self.remote.items.get(path),
        }
    }
}

/// Options of one prepare.
#[derive(Debug, Clone, Default)]
pub struct PrepareOptions {
    /// Only these trees (empty: everything).
    pub scope: Vec<RelPath>,
    /// Skip the mass-delete and empty-share guards.
    pub force: bool,
    /// Plan as if no original were known (rebuilding the state database).
    pub without_base: bool,
    /// Trees treated as pinned for this sync only (`fetch`: content without a pin).
    pub also_pinned: Vec<RelPath>,
    /// Report the work that brings content into the cache under this operation
    /// (`pin` for `offline pin`).
    pub fill_operation: Option<SyncOperation>,
    /// The mass-delete limit in percent (default [`MASS_DELETE_PERCENT`]).
    pub max_delete_percent: Option<u32>,
}

fn in_scope(scope: &[RelPath], path: &RelPath) -> bool {
    scope.is_empty()
        || scope
            .iter()
            .any(|s| s.contains(path) || path.is_ancestor_of(s))
}

/// Pinned, or a folder above something pinned (partly pinned: it must exist in the
/// cache to hold its pinned contents).
fn is_pinned(pins: &[Pin], path: &RelPath) -> bool {
    pins.iter().any(|p| {
        &p.path == path
            || (p.inherit && p.path.is_ancestor_of(path))
            || path.is_ancestor_of(&p.path)
    })
}

impl Cache {
    /// Scans both sides, compares them with the originals and plans the sync.
    pub fn prepare(
        &self,
        share: &dyn Remote,
        control: &SyncControl,
        options: &PrepareOptions,
    ) -> Result<Prepared> {
        let originals: HashMap<RelPath, Original> = if options.without_base {
            HashMap::new()
        } else {
            self.store
                .originals()?
                .into_iter()
                .filter(|(p, _)| in_scope(&options.scope, p))
                .collect()
        };
        let (local, remote) = scan_both(&self.local, share, &options.scope, &originals);
        let pins = self.store.pins()?;
        let mut paths: BTreeSet<&RelPath> = originals.keys().collect();
        paths.extend(local.items.keys());
        paths.extend(remote.items.keys());
        let entries: Vec<(RelPath, Triple)> = paths
            .into_iter()
            .filter(|p| !local.is_unknown(p) && !remote.is_unknown(p))
            .map(|p| {
                let original = originals.get(p);
                let triple = Triple {
                    original: original.map(|o| o.meta.clone()),
                    local: local.items.get(p).map(|s| s.meta.clone()),
                    remote: remote.items.get(p).map(|s| s.meta.clone()),
                    cached: original.is_none_or(|o| o.cached),
                    pinned: is_pinned(&pins, p)
                        || options
                            .also_pinned
                            .iter()
                            .any(|a| a.contains(p) || p.is_ancestor_of(a)),
                    sparse: false,
                };
                (p.clone(), triple)
            })
            .collect();
        let mut plan = if options.without_base {
            plan_without_base(entries, control)
        } else {
            plan(entries, control)
        };
        if let Some(op) = options.fill_operation {
            relabel_fills(&mut plan, op);
        }
        if !options.force {
            check_share_not_empty(self, &remote, &originals)?;
            let percent = options.max_delete_percent.unwrap_or(MASS_DELETE_PERCENT);
            check_mass_delete(&plan, &local, &remote, percent)?;
        }
        let refresh = fingerprint_refreshes(&plan, &originals, &local, &remote);
        let problems = local
            .problems
            .iter()
            .chain(remote.problems.iter())
            .map(|(path, err)| ItemReport {
                path: path.clone(),
                state: None,
                action: None,
                operation: Some(SyncOperation::Prepare),
                result: ItemResult::Error(Box::new(err.clone())),
                bytes: 0,
                note: None,
            })
            .collect();
        Ok(Prepared {
            plan,
            problems,
            local,
            remote,
            refresh,
        })
    }
}

/// Scans the two sides at the same time, each over every tree in scope.
fn scan_both(
    local: &dyn Remote,
    share: &dyn Remote,
    scope: &[RelPath],
    originals: &HashMap<RelPath, Original>,
) -> (SideScan, SideScan) {
    std::thread::scope(|s| {
        let l = s.spawn(|| scan_scope(local, Side::Local, scope, originals));
        let r = scan_scope(share, Side::Remote, scope, originals);
        let l = l.join().unwrap_or_default();
        (l, r)
    })
}

fn scan_scope(
    remote: &dyn Remote,
    side: Side,
    scope: &[RelPath],
    originals: &HashMap<RelPath, Original>,
) -> SideScan {
    if scope.is_empty() {
        return scan_side(remote, side, &RelPath::root(), originals);
    }
    let mut all = SideScan::default();
    for start in scope {
        let part = scan_side(remote, side, start, originals);
        all.items.extend(part.items);
        all.unknown.extend(part.unknown);
        all.problems.extend(part.problems);
        let mut ancestor = start.parent();
        while let Some(a) = ancestor.filter(|a| !a.is_root()) {
            if let Ok(Some(stat)) = remote.stat(&a) {
                all.items.insert(
                    a.clone(),
                    Scanned {
                        meta: stat.meta,
                        identity: stat.identity,
                    },
                );
            }
            ancestor = a.parent();
        }
    }
    all
}

/// A share that lists nothing where the base knows several cached items is taken as
/// unreachable (an empty mount point), never as "everything was deleted".
fn check_share_not_empty(
    cache: &Cache,
    remote: &SideScan,
    originals: &HashMap<RelPath, Original>,
) -> Result<()> {
    let known = originals
        .values()
        .filter(|o| o.remote_identity.is_some())
        .count();
    if remote.items.is_empty() && remote.unknown.is_empty() && known >= 2 {
        return Err(EngineError::Unreachable {
            share: cache.share_location.clone(),
            reason: format!(
                "it lists no items where {known} were known; if everything really was deleted on the share, run again with --force"
            ),
        });
    }
    Ok(())
}

/// Reports the work that brings share content into the cache under `op`.
fn relabel_fills(plan: &mut Plan, op: SyncOperation) {
    for item in &mut plan.items {
        if matches!(
            item.action,
            Action::Run(SyncOperation::Pin) | Action::Run(SyncOperation::CreateCopyOnClient)
        ) {
            item.action = Action::Run(op);
        }
    }
}

fn check_mass_delete(plan: &Plan, local: &SideScan, remote: &SideScan, percent: u32) -> Result<()> {
    let count = |op: SyncOperation| {
        plan.items
            .iter()
            .filter(|i| i.action == Action::Run(op))
            .count()
    };
    let sides = [
        (
            "cache",
            count(SyncOperation::DeleteClientCopy),
            local.items.len(),
        ),
        (
            "share",
            count(SyncOperation::DeleteServerCopy),
            remote.items.len(),
        ),
    ];
    for (side, count, total) in sides {
        if count > MASS_DELETE_MIN && count * 100 > total * percent as usize {
            return Err(EngineError::MassDelete {
                side,
                count,
                total,
                percent,
            });
        }
    }
    Ok(())
}

fn fingerprint_refreshes(
    plan: &Plan,
    originals: &HashMap<RelPath, Original>,
    local: &SideScan,
    remote: &SideScan,
) -> Vec<(RelPath, Original)> {
    let planned: BTreeSet<&RelPath> = plan.items.iter().map(|i| &i.path).collect();
    let mut out = Vec::new();
    for (path, original) in originals {
        if planned.contains(path) {
            continue;
        }
        let (Some(l), Some(r)) = (local.items.get(path), remote.items.get(path)) else {
            continue;
        };
        // Only copies that still hold the original's item: a change left out of the
        // plan (by --direction) must not get a fingerprint that hides it next time.
        if !l.meta.same_item(&original.meta) || !r.meta.same_item(&original.meta) {
            continue;
        }
        if stored_identity(original, Side::Local) == Some(l.identity.as_str())
            && stored_identity(original, Side::Remote) == Some(r.identity.as_str())
        {
            continue;
        }
        let mut updated = original.clone();
        updated.local_identity = Some(l.identity.clone());
        updated.remote_identity = Some(r.identity.clone());
        out.push((path.clone(), updated));
    }
    out
}
