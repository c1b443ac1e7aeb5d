//! Prepare: walk both sides with the originals (see `walk`), and plan. Also the guards that stop a sync whose plan looks like a missing share
//! or a mass deletion.

use crate::cache::Cache;
use crate::error::{EngineError, Result};
use crate::scan::ScannedRef;
use crate::sink::{ItemReport, ItemResult};
use crate::walk::{retain_aligned, Walker};
use offline_core::{plan::settle, Action, Plan, RelPath, Side, SyncControl, SyncOperation};
use offline_remote::Remote;
use offline_store::Original;

/// A sync that would delete more than this share of a side's items stops unless forced.
pub const MASS_DELETE_PERCENT: u32 = 50;
/// Trees with at most this many deletions are never stopped by the mass-delete guard.
pub const MASS_DELETE_MIN: usize = 5;

/// What prepare found: the plan, and what the executor needs to re-check it.
///
/// Each planned path is held once (in its plan item), with the scanned copies'
/// metadata in its triple; their identities sit in vectors beside the plan, found by
/// the item's index.
pub struct Prepared {
    /// The work, in path order (kept in that order: [`Prepared::scanned`] searches it).
    pub plan: Plan,
    /// Paths that could not be prepared (each with an error naming `prepare`).
    pub problems: Vec<ItemReport>,
    /// The identities of the cache copies of planned paths: (index in
    /// `plan.items`, identity), by index.
    pub(crate) local: Vec<(usize, Box<str>)>,
    /// The identities of the share copies of planned paths, as `local`.
    pub(crate) remote: Vec<(usize, Box<str>)>,
    /// Unchanged items whose stat fingerprint moved (touched, copied back): their
    /// originals get the new fingerprints so the next scan need not hash them.
    pub(crate) refresh: Vec<(RelPath, Original)>,
    /// The trees this prepare looked at (empty: everything).
    pub(crate) scope: Vec<RelPath>,
}

impl Prepared {
    /// True when this prepare looked at `path` and could read it: a conflict recorded
    /// there that the plan does not name again is settled.
    pub(crate) fn covers(&self, path: &RelPath) -> bool {
        let in_scope = self.scope.is_empty() || self.scope.iter().any(|s| s.contains(path));
        in_scope && !self.problems.iter().any(|p| p.path.contains(path))
    }

    /// The scanned copy of `path` on `side` (only planned paths have one).
    pub(crate) fn scanned(&self, side: Side, path: &RelPath) -> Option<ScannedRef<'_>> {
        let at = self
            .plan
            .items
            .binary_search_by(|item| item.path.cmp(path))
            .ok()?;
        let triple = &self.plan.items.get(at)?.triple;
        let (copies, meta) = match side {
            Side::Local => (&self.local, triple.local.as_deref()),
            Side::Remote => (&self.remote, triple.remote.as_deref()),
        };
        let found = copies.binary_search_by_key(&at, |(i, _)| *i).ok()?;
        let identity = copies.get(found).map(|(_, id)| &**id)?;
        Some(ScannedRef {
            meta: meta?,
            identity,
        })
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
    /// Leave out copies of files larger than this many bytes, reported as skipped
    /// (the daemon on a slow link, outside its slow-link window).
    pub defer_larger_than: Option<u64>,
}

impl Cache {
    /// Walks both sides with the originals and plans the sync.
    pub fn prepare(
        &self,
        share: &dyn Remote,
        control: &SyncControl,
        options: &PrepareOptions,
    ) -> Result<Prepared> {
        let pins = self.store.pins()?;
        let walker = Walker {
            local: &self.local,
            share,
            store: &self.store,
            pins: &pins,
            also_pinned: &options.also_pinned,
            control,
            base_known: !options.without_base,
        };
        let mut walk = walker.run(&options.scope)?;
        // The walk classified every item (with or without the base); the plan's
        // other rules run here, in place, keeping the scanned copies aligned.
        let keep = settle(&mut walk.items, control);
        retain_aligned(&mut walk.items, &mut walk.local, &mut walk.remote, &keep);
        drop(keep);
        walk.items.shrink_to_fit();
        let mut plan = Plan { items: walk.items };
        if let Some(op) = options.fill_operation {
            relabel_fills(&mut plan, op);
        }
        let deferred = match options.defer_larger_than {
            Some(limit) => {
                crate::defer::defer_large(&mut plan.items, &mut walk.local, &mut walk.remote, limit)
            }
            None => Vec::new(),
        };
        if !options.force {
            let unreadable = !walk.problems.is_empty();
            check_share_not_empty(self, walk.remote_count, walk.known_remote, unreadable)?;
            let percent = options.max_delete_percent.unwrap_or(MASS_DELETE_PERCENT);
            check_mass_delete(&plan, walk.local_count, walk.remote_count, percent)?;
        }
        let problems = walk
            .problems
            .into_iter()
            .map(|(path, err)| ItemReport {
                path,
                state: None,
                action: None,
                operation: Some(SyncOperation::Prepare),
                result: ItemResult::Error(Box::new(err)),
                bytes: 0,
                note: None,
            })
            .chain(deferred)
            .collect();
        Ok(Prepared {
            plan,
            problems,
            local: walk.local,
            remote: walk.remote,
            refresh: walk.refresh,
            scope: options.scope.clone(),
        })
    }
}

/// A share that lists nothing where the base knows several items is taken as
/// unreachable (an empty mount point), never as "everything was deleted".
fn check_share_not_empty(
    cache: &Cache,
    found: usize,
    known: usize,
    unreadable: bool,
) -> Result<()> {
    if found == 0 && !unreadable && known >= 2 {
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

fn check_mass_delete(
    plan: &Plan,
    local_items: usize,
    remote_items: usize,
    percent: u32,
) -> Result<()> {
    let count = |op: SyncOperation| {
        plan.items
            .iter()
            .filter(|i| i.action == Action::Run(op))
            .count()
    };
    let sides = [
        ("cache", count(SyncOperation::DeleteClientCopy), local_items),
        (
            "share",
            count(SyncOperation::DeleteServerCopy),
            remote_items,
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
