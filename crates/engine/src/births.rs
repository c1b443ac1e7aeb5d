//! The birth times the planner's rename detection asks for: a new item matched to a
//! deleted one by its inode number alone is that item renamed only when it was born
//! before the deleted one was last recorded (`offline_core`'s `rename/birth.rs`);
//! otherwise its number was reused. A side that keeps no birth time answers `None`
//! and the match stands.

use offline_core::plan::{HashWanted, Planner};
use offline_core::Side;
use offline_remote::Remote;

/// Gives the planner the birth time of each copy it asks for, from the cache folder
/// (`local`) or the share.
pub(crate) fn give_births(local: &dyn Remote, share: &dyn Remote, planner: &mut Planner<'_>) {
    for HashWanted { side, path } in planner.births_wanted() {
        let remote = match side {
            Side::Cache => local,
            Side::Share => share,
        };
        match remote.born_ns(&path) {
            Ok(born) => planner.give_birth(side, &path, born),
            // Unknown: the match stands, as on a filesystem without birth times.
            Err(err) => {
                tracing::debug!("{path}: birth time not read to check a rename: {err}");
                planner.give_birth(side, &path, None);
            }
        }
    }
}
