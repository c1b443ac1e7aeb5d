//! The guards between the plan and its execution: a sync whose plan looks like a
//! missing share (it lists nothing where items were known) or a mass deletion stops
//! before anything is changed, unless forced. They read the counts the planner took.

use crate::cache::Cache;
use crate::error::{EngineError, Result};
use offline_core::{Plan, Side};

/// A sync that would delete more than this share of a side's items stops unless forced.
pub const MASS_DELETE_PERCENT: u32 = 50;
/// Trees with at most this many deletions are never stopped by the mass-delete guard.
pub const MASS_DELETE_MIN: usize = 5;

/// Stops a plan that looks like a missing share or deletes more than `percent` of a
/// side's items. `unreadable`: some trees could not be read this time.
pub(crate) fn check(cache: &Cache, plan: &Plan, unreadable: bool, percent: u32) -> Result<()> {
    check_share_not_empty(cache, plan, unreadable)?;
    check_mass_delete(plan, percent)
}

/// A share that lists nothing where the base knows several items is taken as
/// unreachable (an empty mount point), never as "everything was deleted".
fn check_share_not_empty(cache: &Cache, plan: &Plan, unreadable: bool) -> Result<()> {
    let known = plan.counts.known_remote;
    if plan.counts.found_remote == 0 && !unreadable && known >= 2 {
        return Err(EngineError::Unreachable {
            share: cache.share_location.clone(),
            reason: format!(
                "it lists no items where {known} were known; if everything really was deleted on the share, run again with --force"
            ),
        });
    }
    Ok(())
}

fn check_mass_delete(plan: &Plan, percent: u32) -> Result<()> {
    for side in Side::BOTH {
        let (count, total) = (plan.counts.deletes(side), plan.counts.found(side));
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
