//! How one copy changed since the last sync, measured against the original: the
//! planner's measure (rule 1) and the one meaning of "dirty" (a cache copy created,
//! changed or deleted since the last sync) for the status, the listings and evict.

use crate::meta::Meta;

/// How a side changed relative to the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Not there now, not there at the original.
    Absent,
    /// Not cached (a ghost): absence means nothing.
    Ghost,
    /// The same item as the original.
    Unchanged,
    /// There now, not at the original (or a ghost's copy came back).
    Created,
    /// Content, mode or kind differ from the original.
    Changed,
    /// Gone since the original.
    Deleted,
}

impl Change {
    /// How a copy (`now`) changed from `original`.
    pub fn of(original: Option<&Meta>, now: Option<&Meta>) -> Change {
        match (original, now) {
            (None, None) => Change::Absent,
            (Some(_), None) => Change::Deleted,
            (None, Some(_)) => Change::Created,
            (Some(o), Some(n)) if o.same_item(n) => Change::Unchanged,
            (Some(_), Some(_)) => Change::Changed,
        }
    }

    /// How the cache copy (`now`) changed from `original`; `cached` is false for a
    /// ghost (its original holds no content): a missing copy is then no deletion, and
    /// a copy that is there is new.
    pub fn of_cache(original: Option<&Meta>, cached: bool, now: Option<&Meta>) -> Change {
        match (original, now) {
            (Some(_), None) if !cached => Change::Ghost,
            (Some(_), Some(_)) if !cached => Change::Created,
            _ => Change::of(original, now),
        }
    }

    /// Dirty: created, changed or deleted since the last sync, so the next sync has
    /// something of this copy to carry.
    pub fn is_dirty(self) -> bool {
        matches!(self, Change::Created | Change::Changed | Change::Deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::Change;
    use crate::meta::Meta;

    #[test]
    fn a_ghost_is_not_dirty_until_its_copy_comes_back() {
        let a = Meta::file(3, 1, 0o644, [1; 32]);
        let b = Meta::file(3, 1, 0o644, [2; 32]);
        assert_eq!(
            Change::of_cache(Some(&a), true, Some(&a)),
            Change::Unchanged
        );
        assert_eq!(Change::of_cache(Some(&a), true, Some(&b)), Change::Changed);
        assert_eq!(Change::of_cache(Some(&a), true, None), Change::Deleted);
        assert_eq!(Change::of_cache(None, true, Some(&a)), Change::Created);
        assert_eq!(Change::of_cache(None, true, None), Change::Absent);
        assert_eq!(Change::of_cache(Some(&a), false, None), Change::Ghost);
        assert_eq!(Change::of_cache(Some(&a), false, Some(&a)), Change::Created);
        let dirty: Vec<bool> = [
            Change::Absent,
            Change::Ghost,
            Change::Unchanged,
            Change::Created,
            Change::Changed,
            Change::Deleted,
        ]
        .map(Change::is_dirty)
        .to_vec();
        assert_eq!(dirty, [false, false, false, true, true, true]);
    }
}
