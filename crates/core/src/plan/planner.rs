//! The planner fed one path at a time, as the engine's walk finds them: each path is
//! classified as it comes ([`decide`]), and only paths with work are kept, so memory
//! grows with the work, not with the tree. [`Planner::finish`] puts the kept items in
//! path order and applies the rules that need the whole picture ([`settle`]).
//! [`crate::plan()`] is this planner run over a list.

use super::{decide, settle, Action, Counts, Plan, PlanItem, Triple};
use crate::control::SyncControl;
use crate::copies::Original;
use crate::operation::SyncOperation;
use crate::path::RelPath;
use crate::side::Side;

/// A plan in the making.
#[derive(Debug)]
pub struct Planner<'c> {
    control: &'c SyncControl,
    base_known: bool,
    fill_operation: Option<SyncOperation>,
    items: Vec<PlanItem>,
    refresh: Vec<(RelPath, Original)>,
    left_out: Vec<RelPath>,
    counts: Counts,
}

impl<'c> Planner<'c> {
    /// A planner for a sync under `control`, with the originals as base.
    pub fn new(control: &'c SyncControl) -> Planner<'c> {
        Planner {
            control,
            base_known: true,
            fill_operation: None,
            items: Vec::new(),
            refresh: Vec::new(),
            left_out: Vec::new(),
            counts: Counts::default(),
        }
    }

    /// Plans as if no original were known (a rebuilt state database): paths on one
    /// side only are copied to the other, identical ones are recorded, and differing
    /// ones become conflicts.
    pub fn without_base(mut self) -> Planner<'c> {
        self.base_known = false;
        self
    }

    /// Reports the work that brings share content into the cache under `op` (`pin`
    /// for `offline pin`, `create_copy_on_client` for `offline fetch`).
    pub fn fills_as(mut self, op: Option<SyncOperation>) -> Planner<'c> {
        self.fill_operation = op;
        self
    }

    /// True when the planner compares with the originals.
    pub fn base_known(&self) -> bool {
        self.base_known
    }

    /// Takes one path (each path at most once, in any order).
    pub fn add(&mut self, path: RelPath, triple: Triple) {
        // An excluded path counts for nothing (the mass-delete guard included).
        let counted = usize::from(!triple.excluded);
        self.counts.found_local += counted * usize::from(triple.local.is_some());
        self.counts.found_remote += counted * usize::from(triple.remote.is_some());
        self.counts.known_remote += counted
            * usize::from(
                triple
                    .original
                    .as_ref()
                    .is_some_and(|o| o.remote_identity.is_some()),
            );
        match decide(&triple, self.control, self.base_known) {
            Some((state, action)) => self.items.push(PlanItem {
                path,
                state,
                action,
                triple,
            }),
            None => {
                if let Some(original) = refreshed(triple) {
                    self.refresh.push((path, original));
                }
            }
        }
    }

    /// Leaves `path` and everything below it out of the plan: it could not be read
    /// this time, so nothing there is known (never taken as deleted).
    pub fn leave_out(&mut self, path: RelPath) {
        self.left_out.push(path);
    }

    /// The plan: the kept items in path order, settled by the rules that need the
    /// whole picture (folders that must stay, the direction, what waits below a
    /// file-versus-folder conflict), with the deletions counted per side.
    pub fn finish(self) -> Plan {
        let Planner {
            control,
            fill_operation,
            mut items,
            mut refresh,
            left_out,
            mut counts,
            ..
        } = self;
        if !left_out.is_empty() {
            let outside = |p: &RelPath| !left_out.iter().any(|b| b.contains(p));
            items.retain(|item| outside(&item.path));
            refresh.retain(|(path, _)| outside(path));
        }
        items.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        let keep = settle(&mut items, control);
        let mut kept = keep.iter();
        items.retain(|_| kept.next().copied().unwrap_or(true));
        drop(keep);
        items.shrink_to_fit();
        for item in &mut items {
            match item.action {
                Action::Run(SyncOperation::DeleteClientCopy) => counts.delete_local += 1,
                Action::Run(SyncOperation::DeleteServerCopy) => counts.delete_remote += 1,
                Action::Run(SyncOperation::Pin | SyncOperation::CreateCopyOnClient) => {
                    if let Some(op) = fill_operation {
                        item.action = Action::Run(op);
                    }
                }
                _ => {}
            }
        }
        Plan {
            items,
            refresh,
            counts,
        }
    }
}

/// An unchanged item whose fingerprints moved (touched, copied back) gets the new
/// ones, so the next walk need not hash it; only when both copies still hold the
/// original's item (a change left out of the plan by `--direction` must not be
/// hidden).
fn refreshed(triple: Triple) -> Option<Original> {
    let (o, l, r) = (triple.original?, triple.local?, triple.remote?);
    if !l.meta.same_item(&o.meta) || !r.meta.same_item(&o.meta) {
        return None;
    }
    if o.identity(Side::Local) == Some(&*l.identity)
        && o.identity(Side::Remote) == Some(&*r.identity)
    {
        return None;
    }
    let mut updated = *o;
    updated.local_identity = Some(l.identity.into());
    updated.remote_identity = Some(r.identity.into());
    Some(updated)
}
