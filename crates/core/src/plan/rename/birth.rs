//! Inode reuse: a file deleted since the last sync and a new file that received its
//! inode number look like one object renamed (and edited). The new copy's birth time
//! tells them apart without any stored extra: the original's recorded identity holds
//! its change time (`ctime`) at the last sync, which the object's birth cannot come
//! after. A candidate born after that change time is another object (the original
//! was still alive at that moment, so its number was not free to be given), and the
//! pair stays a deletion plus a creation. Where the side gives no birth time the
//! inode match stands, as before.

use super::{HashWanted, Pair, Renames};
use crate::copies::Original;
use crate::lineage::{change_time_ns, Lineage};
use crate::path::RelPath;
use crate::plan::PlanItem;
use crate::side::Side;
use std::collections::HashMap;

/// The birth times the engine gave, by side and path (`None`: the side knows none).
pub type Births = HashMap<(Side, RelPath), Option<i64>>;

impl Renames<'_> {
    /// True when the new copy at `path` on `side` was born after `o` was last
    /// recorded there: not the original's object, whatever its inode number.
    pub(super) fn born_later(&self, o: &Original, path: &RelPath, side: Side) -> bool {
        let Some(Some(born)) = self.births.get(&(side, path.clone())) else {
            return false;
        };
        o.identity(side)
            .and_then(change_time_ns)
            .is_some_and(|recorded| *born > recorded)
    }

    /// The new copies of inode matches in `pairs` whose birth time is not known yet.
    pub(super) fn births_wanted(&self, items: &[PlanItem], pairs: &[Pair]) -> Vec<HashWanted> {
        let mut wanted: Vec<HashWanted> = pairs
            .iter()
            .filter(|p| self.lineage(p.side) == Lineage::Inode)
            .map(|p| HashWanted {
                side: p.side,
                path: items[p.to].path.clone(),
            })
            .filter(|w| !self.births.contains_key(&(w.side, w.path.clone())))
            .collect();
        wanted.sort_by(|a, b| (a.side, &a.path).cmp(&(b.side, &b.path)));
        wanted.dedup();
        wanted
    }
}
