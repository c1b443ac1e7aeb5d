//! Exclusions across a folder rename. Renaming a folder on the other side carries
//! everything below it there to the new name, so each carried item must keep its
//! exclusion: an excluded item stays excluded, and an included one must not land
//! on a path the exclusions cover (a pattern anchored to the new name). Where the
//! new path is listed its mark tells; where nobody holds it, the planner asks the
//! engine ([`ExclusionWanted`], answered with [`super::super::Planner::give_exclusion`])
//! and renames the folder file by file until the answer says the path is included.

use super::{subtree, Pair, Renames};
use crate::path::RelPath;
use crate::plan::PlanItem;
use std::collections::HashMap;

/// A path nobody holds that an item would be carried to by a folder rename: is it
/// excluded? The engine answers from the exclusion patterns and ignore files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExclusionWanted {
    /// The path below the folder's new name.
    pub path: RelPath,
    /// The carried item is a folder (for patterns ending in `/`).
    pub is_dir: bool,
}

/// The engine's answers: excluded or not, by path.
pub type KnownExclusions = HashMap<RelPath, bool>;

impl Renames<'_> {
    /// True when the folder renamed by `pair` may be renamed on the other side with
    /// everything below it, each item keeping its exclusion and ending where the
    /// cache's exclusions put it:
    /// - an excluded item below the old name (the other side's copy, which the
    ///   rename moves): only when the same relative path below the new name is
    ///   listed and excluded too (the person's own copy moved with the folder:
    ///   `.DS_Store`, `node_modules/` excluded by name);
    /// - an excluded item below the new name (the renaming side's, which the rename
    ///   leaves alone): unless the same path below the old name is listed and not
    ///   excluded;
    /// - an included item the rename carries: only when its path below the new name
    ///   is known to be included (listed so, or answered so by the engine); an
    ///   unknown path is added to `unknown`.
    ///
    /// Otherwise the exclusion may depend on the folder's name (a pattern anchored
    /// to it): the folder stays a deletion plus a creation, renamed file by file,
    /// and the excluded item is left where it is.
    pub(super) fn exclusions_follow(
        &self,
        items: &[PlanItem],
        pair: &Pair,
        unknown: &mut Vec<ExclusionWanted>,
    ) -> bool {
        let (from, to) = (&items[pair.from].path, &items[pair.to].path);
        let listed = |path: &RelPath| {
            items
                .binary_search_by(|i| i.path.cmp(path))
                .ok()
                .map(|at| items[at].triple.excluded)
        };
        let excluded_at =
            |path: &RelPath| listed(path).or_else(|| self.exclusions.get(path).copied());
        let moved_along = subtree(items, from).filter(|i| i.triple.excluded).all(|i| {
            i.path
                .rebased(from, to)
                .is_some_and(|at| listed(&at) == Some(true))
        });
        let left_alone = subtree(items, to).filter(|i| i.triple.excluded).all(|i| {
            i.path
                .rebased(to, from)
                .is_none_or(|at| listed(&at) != Some(false))
        });
        let mut carried_in = true;
        let carried = subtree(items, from).filter(|i| !i.triple.excluded);
        for (item, copy) in carried.filter_map(|i| Some((i, i.triple.copy(pair.side.other())?))) {
            let Some(at) = item.path.rebased(from, to) else {
                continue;
            };
            match excluded_at(&at) {
                Some(false) => {}
                Some(true) => carried_in = false,
                None => {
                    carried_in = false;
                    unknown.push(ExclusionWanted {
                        path: at,
                        is_dir: copy.meta.is_dir(),
                    });
                }
            }
        }
        moved_along && left_alone && carried_in
    }
}
