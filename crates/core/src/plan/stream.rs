//! The plan handed out in pieces while the walk goes on, so a sync that can hold no
//! rename and no deletion (no original is known: an initial sync) never holds its
//! whole plan. [`Planner::release`] gives the items before a path the walk has not
//! passed yet, in path order and settled (rules 2 to 4), each piece with the
//! decisions the whole plan ([`Planner::finish`]) makes for its paths.
//!
//! Why a piece settles as the whole does: without originals, rule 5 finds nothing,
//! and rules 3 and 4 and the exclusions look at one item, or at an item and the
//! blocking conflict above it. Rule 2 changes a folder only when it is a folder on
//! a side now and would not be one there after its own work; such an item (and a
//! conflict between a folder and something else, which may block what lies below
//! it) is *held*: it is released only with its whole subtree. Every other item is
//! final as soon as it is decided.

use super::planner::count_and_fill;
use super::settle::{is_dir, kind_after};
use super::{settle, Counts, Plan, PlanItem, Planner};
use crate::meta::Kind;
use crate::path::RelPath;
use crate::side::Side;
use std::collections::HashSet;

impl Planner<'_> {
    /// True while pieces can be released: no path added so far has an original.
    pub fn streams(&self) -> bool {
        !self.saw_original && self.ghost_parents.is_empty()
    }

    /// The settled items whose paths come before `below` in path order (all of them
    /// when `None`), taken out of the planner. The caller promises that every path
    /// before `below` has been added (the walk passes `below` next, or has listed
    /// it and goes below it next). Items whose decision may still depend on paths
    /// not added yet (a held folder above `below`) stay. The piece's counts hold its
    /// deletions (none without originals).
    ///
    /// Once a path with an original was added ([`Planner::streams`] is false),
    /// nothing is released before `None`, which then gives what
    /// [`Planner::finish`] gives for the items still held.
    pub fn release(&mut self, below: Option<&RelPath>) -> Plan {
        if !self.streams() {
            return match below {
                Some(_) => Plan::default(),
                None => self.finish_rest(),
            };
        }
        self.sort();
        let mut end = match below {
            Some(b) => self.items.partition_point(|i| i.path < *b),
            None => self.items.len(),
        };
        if let Some(b) = below {
            let open = self.items[..end]
                .iter()
                .position(|i| held(i) && i.path.is_ancestor_of(b));
            end = open.unwrap_or(end);
        }
        let mut items: Vec<PlanItem> = self.items.drain(..end).collect();
        if !self.left_out.is_empty() {
            let left_out = &self.left_out;
            items.retain(|item| !left_out.iter().any(|b| b.contains(&item.path)));
        }
        let keep = settle(&mut items, self.control, &HashSet::new());
        let mut kept = keep.iter();
        items.retain(|_| kept.next().copied().unwrap_or(true));
        let mut counts = Counts::default();
        count_and_fill(&mut items, &mut counts, self.fill_operation);
        Plan {
            items,
            refresh: std::mem::take(&mut self.refresh),
            counts,
        }
    }

    /// What each side holds, counted over every path added so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// [`Planner::finish`] for the items still held, leaving an empty planner.
    fn finish_rest(&mut self) -> Plan {
        let empty = Planner::new(self.control);
        std::mem::replace(self, empty).finish()
    }
}

/// True for an item whose settled decision may depend on what lies below it: a
/// folder on a side that would not be one there after its own work (rule 2 may
/// keep it), or a conflict between a folder and something else (rule 4 blocks
/// what lies below it, also when rule 3 leaves it logged).
fn held(item: &PlanItem) -> bool {
    let clash = is_dir(item.triple.meta(Side::Cache)) != is_dir(item.triple.meta(Side::Share));
    if item.action.is_conflict() && clash {
        return true;
    }
    Side::BOTH
        .into_iter()
        .any(|side| is_dir(item.triple.meta(side)) && kind_after(item, side) != Some(Kind::Dir))
}
