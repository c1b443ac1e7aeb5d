//! The walk of prepare: both sides and the originals, one folder at a time. Each
//! folder's two listings (read at the same time) and its originals are joined by name,
//! files are hashed only where the stat fingerprint says they may have changed and a
//! comparison needs the hash, and only paths with work to do are kept. Memory grows
//! with the size of one folder and of the plan, not with the tree: each planned path
//! is kept once, as a [`PlanItem`] already classified, with its scanned copies in
//! vectors beside it (by index), never in maps keyed by a second copy of the path.

use crate::error::{ItemError, Result};
use crate::exclude::{ExcludeState, Exclusions, Stack};
use crate::listing::{screen, LeftOut};
use crate::pin::pin_covers;
use crate::read_ahead::ReadAhead;
use crate::scan::{stored_identity, with_hash, Scanned};
use offline_core::{
    plan::decide, Kind, PlanItem, RelPath, Side, SyncControl, SyncOperation, Triple,
};
use offline_remote::{ErrorKind, Remote, RemoteError, Stat};
use offline_store::{Original, Pin, Store};
use std::collections::{BTreeMap, HashSet};

/// What the walk found.
#[derive(Default)]
pub(crate) struct Walk {
    /// Paths with work to do, classified by [`decide`] (not yet settled by the
    /// plan's folder, direction and blocking rules); in path order once [`Walker::run`]
    /// returns.
    pub items: Vec<PlanItem>,
    /// The identities of the cache copies of those paths: (index in `items`,
    /// identity), by index. Their metadata is in the item's triple.
    pub local: Vec<(usize, Box<str>)>,
    /// The identities of the share copies of those paths, as `local`.
    pub remote: Vec<(usize, Box<str>)>,
    /// Unchanged items whose fingerprints moved.
    pub refresh: Vec<(RelPath, Original)>,
    /// What could not be read, per path (those trees are left out).
    pub problems: Vec<(RelPath, ItemError)>,
    /// Listed names that cannot or must not be items (reported as skipped).
    pub left_out: Vec<LeftOut>,
    /// What the exclusions keep during the walk (unused lines of ignore files,
    /// reported as skipped; the ignore files above a scope).
    pub exclude: ExcludeState,
    /// Items found in the cache.
    pub local_count: usize,
    /// Items found on the share.
    pub remote_count: usize,
    /// Originals that say the share had the item.
    pub known_remote: usize,
}

impl Walk {
    /// Puts the items in path order, moving their scanned copies' indices along.
    /// Done in place (a permutation applied by swaps): no second plan is built.
    fn sort(&mut self) {
        let mut order: Vec<usize> = (0..self.items.len()).collect();
        order.sort_unstable_by(|&a, &b| self.items[a].path.cmp(&self.items[b].path));
        // dest[i]: where the item now at i goes.
        let mut dest = vec![0; order.len()];
        for (to, &from) in order.iter().enumerate() {
            dest[from] = to;
        }
        drop(order);
        for side in [&mut self.local, &mut self.remote] {
            for (at, _) in side.iter_mut() {
                *at = dest[*at];
            }
            side.sort_unstable_by_key(|(at, _)| *at);
        }
        for i in 0..dest.len() {
            while dest[i] != i {
                let j = dest[i];
                self.items.swap(i, j);
                dest.swap(i, j);
            }
        }
    }

    /// Keeps the items whose entry in `keep` is true (and their scanned copies).
    pub(crate) fn retain(&mut self, keep: &[bool]) {
        retain_aligned(&mut self.items, &mut self.local, &mut self.remote, keep);
    }
}

/// Keeps the `items` whose entry in `keep` is true, and the copies beside them
/// (`(index in items, copy)`, by index) with their indices moved along.
pub(crate) fn retain_aligned<T>(
    items: &mut Vec<PlanItem>,
    local: &mut Vec<(usize, T)>,
    remote: &mut Vec<(usize, T)>,
    keep: &[bool],
) {
    if keep.iter().all(|&k| k) {
        return;
    }
    // new_at[i]: the index of item i once the dropped ones are gone.
    let mut next = 0;
    let new_at: Vec<usize> = keep
        .iter()
        .map(|&k| {
            let at = next;
            next += usize::from(k);
            at
        })
        .collect();
    let kept = |i: usize| keep.get(i).copied().unwrap_or(true);
    for side in [local, remote] {
        side.retain_mut(|(at, _)| {
            let stays = kept(*at);
            if stays {
                *at = new_at.get(*at).copied().unwrap_or(*at);
            }
            stays
        });
        side.shrink_to_fit();
    }
    let mut i = 0;
    items.retain(|_| {
        i += 1;
        kept(i - 1)
    });
}

/// What the walk works with.
pub(crate) struct Walker<'a> {
    pub local: &'a dyn Remote,
    pub share: &'a dyn Remote,
    pub store: &'a Store,
    pub pins: &'a [Pin],
    pub also_pinned: &'a [RelPath],
    pub control: &'a SyncControl,
    /// False when rebuilding: the originals are ignored.
    pub base_known: bool,
    /// The patterns in force everywhere (ignore files are read as the walk goes).
    pub exclusions: &'a Exclusions,
}

/// The listings read ahead for the walk, one per side.
struct Listers<'a> {
    local: &'a mut ReadAhead,
    share: &'a mut ReadAhead,
}

/// Threads listing the share's folders ahead of the walk.
const LIST_THREADS: usize = 4;
/// Folders listed ahead (in flight or waiting to be walked) at most.
const LIST_AHEAD: usize = 16;

/// A folder still to walk, and whether each side has it as a folder.
struct Pending {
    dir: RelPath,
    local: bool,
    remote: bool,
    /// The ignore files in force where it was found.
    outer: Stack,
}

impl Walker<'_> {
    /// Walks the trees in `scope` (everything when empty).
    pub(crate) fn run(&self, scope: &[RelPath]) -> Result<Walk> {
        let mut walk = Walk::default();
        let mut pending = Vec::new();
        if scope.is_empty() {
            pending.push(Pending {
                dir: RelPath::root(),
                local: true,
                remote: true,
                outer: Stack::default(),
            });
        }
        let mut seen = HashSet::new();
        for start in scope {
            let mut chain: Vec<RelPath> = Vec::new();
            let mut at = start.parent();
            while let Some(a) = at.filter(|a| !a.is_root()) {
                at = a.parent();
                chain.push(a);
            }
            for ancestor in chain.into_iter().rev() {
                if seen.insert(ancestor.clone()) {
                    self.visit_single(&ancestor, &mut walk, None)?;
                }
            }
            if seen.insert(start.clone()) {
                self.visit_single(start, &mut walk, Some(&mut pending))?;
            }
        }
        // The share's folders are listed by a few threads, ahead of the walk (see
        // `read_ahead`), each at the same time as the cache's listing.
        std::thread::scope(|s| -> Result<()> {
            // `OFFLINE_LIST_THREADS`: a knob for measuring.
            let threads = crate::env_count("OFFLINE_LIST_THREADS", 64, LIST_THREADS);
            let mut lister = ReadAhead::start(s, self.share, threads, LIST_AHEAD);
            // The cache is listed ahead too, on one thread: the walk's own thread then
            // only reads the originals and compares (a third of a no-change sync's
            // work each).
            let mut local_lister = ReadAhead::start(s, self.local, 1, LIST_AHEAD);
            while let Some(next) = pending.pop() {
                for ahead in pending.iter().rev().filter(|p| p.remote).take(LIST_AHEAD) {
                    lister.ask(&ahead.dir);
                }
                for ahead in pending.iter().rev().filter(|p| p.local).take(LIST_AHEAD) {
                    local_lister.ask(&ahead.dir);
                }
                let listers = Listers {
                    local: &mut local_lister,
                    share: &mut lister,
                };
                self.walk_folder(next, &mut walk, &mut pending, listers)?;
            }
            Ok(())
        })?;
        walk.sort();
        // A folder that could not be listed is left out whole, itself included.
        if !walk.problems.is_empty() {
            let bad: Vec<RelPath> = walk.problems.iter().map(|(p, _)| p.clone()).collect();
            let keep: Vec<bool> = walk
                .items
                .iter()
                .map(|item| !bad.iter().any(|b| b.contains(&item.path)))
                .collect();
            walk.retain(&keep);
        }
        Ok(walk)
    }

    /// Visits one path found by stat (a scope root or its ancestors).
    fn visit_single(
        &self,
        path: &RelPath,
        walk: &mut Walk,
        pending: Option<&mut Vec<Pending>>,
    ) -> Result<()> {
        let (local, remote) = match (self.local.stat(path), self.share.stat(path)) {
            (Ok(l), Ok(r)) => (l, r),
            (Err(e), _) | (_, Err(e)) => {
                problem(walk, path, &e);
                return Ok(());
            }
        };
        let original = if self.base_known {
            self.store.original(path)?
        } else {
            None
        };
        let is_dir = [local.as_ref(), remote.as_ref()]
            .iter()
            .any(|s| s.is_some_and(|s| s.meta.is_dir()))
            || original.as_ref().is_some_and(|o| o.meta.is_dir());
        let Some(scoped) = self.scoped(path, is_dir, walk) else {
            return Ok(());
        };
        if scoped.excluded {
            self.visit_excluded(path.clone(), local, remote, original, walk);
            return Ok(());
        }
        if let Some(mut next) = self.visit(path.clone(), local, remote, original, walk) {
            if let Some(pending) = pending {
                next.outer = scoped.outer;
                pending.push(next);
            }
        }
        Ok(())
    }

    /// Lists one folder on both sides, joins the listings with the originals and
    /// visits every child.
    fn walk_folder(
        &self,
        at: Pending,
        walk: &mut Walk,
        pending: &mut Vec<Pending>,
        listers: Listers<'_>,
    ) -> Result<()> {
        if at.remote {
            listers.share.ask(&at.dir);
        }
        let local = if at.local {
            listers.local.take(&at.dir)
        } else {
            Ok(Vec::new())
        };
        let remote = if at.remote {
            listers.share.take(&at.dir)
        } else {
            Ok(Vec::new())
        };
        let (mut local, mut remote) = match (local, remote) {
            (Ok(l), Ok(r)) => (l, r),
            // A folder that cannot be listed on one side: its whole tree is left out
            // this time, never taken as deleted.
            (Err(e), _) | (_, Err(e)) => {
                problem(walk, &at.dir, &e);
                return Ok(());
            }
        };
        walk.left_out
            .extend(screen(Side::Local, &at.dir, &mut local));
        walk.left_out
            .extend(screen(Side::Remote, &at.dir, &mut remote));
        let Some(stack) = self.enter_folder(&at.outer, &at.dir, &local, &remote, walk) else {
            return Ok(());
        };
        let originals = if self.base_known {
            self.store.originals_in(&at.dir)?
        } else {
            Vec::new()
        };
        let mut children: BTreeMap<Vec<u8>, Child> = BTreeMap::new();
        for e in local {
            children.entry(e.name).or_default().local = Some(e.stat);
        }
        for e in remote {
            children.entry(e.name).or_default().remote = Some(e.stat);
        }
        for (path, o) in originals {
            children
                .entry(path.file_name().to_vec())
                .or_default()
                .original = Some(o);
        }
        for (name, child) in children {
            let path = match at.dir.join(&name) {
                Ok(p) => p,
                Err(e) => {
                    walk.problems.push((
                        at.dir.clone(),
                        ItemError::new(
                            SyncOperation::Prepare,
                            ErrorKind::NameNotAllowed,
                            format!("{}: a name in this folder cannot be used: {e}", at.dir),
                            "rename the item",
                        ),
                    ));
                    continue;
                }
            };
            let copies = (
                child.local.as_ref(),
                child.remote.as_ref(),
                child.original.as_ref(),
            );
            if self.skip_excluded(&stack, &path, copies) {
                self.visit_excluded(path, child.local, child.remote, child.original, walk);
                continue;
            }
            if let Some(mut next) =
                self.visit(path, child.local, child.remote, child.original, walk)
            {
                next.outer = stack.clone();
                pending.push(next);
            }
        }
        Ok(())
    }

    /// Classifies one path; returns the folder to walk next when it is one on any side.
    fn visit(
        &self,
        path: RelPath,
        local: Option<Stat>,
        remote: Option<Stat>,
        original: Option<Original>,
        walk: &mut Walk,
    ) -> Option<Pending> {
        walk.local_count += usize::from(local.is_some());
        walk.remote_count += usize::from(remote.is_some());
        walk.known_remote += usize::from(
            original
                .as_ref()
                .is_some_and(|o| o.remote_identity.is_some()),
        );
        let remote = remote.map(|s| self.keep_mode(s, original.as_ref()));
        let other_is_file =
            |s: &Option<Stat>| s.as_ref().is_some_and(|s| s.meta.kind == Kind::File);
        let l_needs = original.is_some() || other_is_file(&remote);
        let r_needs = original.is_some() || other_is_file(&local);
        let local = match complete(
            self.local,
            Side::Local,
            &path,
            local,
            original.as_ref(),
            l_needs,
        ) {
            Ok(s) => s,
            Err(e) => {
                walk.problems.push((path, *e));
                return None;
            }
        };
        let remote = match complete(
            self.share,
            Side::Remote,
            &path,
            remote,
            original.as_ref(),
            r_needs,
        ) {
            Ok(s) => s,
            Err(e) => {
                walk.problems.push((path, *e));
                return None;
            }
        };
        let next = Pending {
            dir: path.clone(),
            local: local.as_ref().is_some_and(|s| s.meta.is_dir()),
            remote: remote.as_ref().is_some_and(|s| s.meta.is_dir()),
            outer: Stack::default(),
        };
        let descend =
            next.local || next.remote || original.as_ref().is_some_and(|o| o.meta.is_dir());
        let triple = Triple {
            original: original.as_ref().map(|o| Box::new(o.meta.clone())),
            local: local.as_ref().map(|s| Box::new(s.meta.clone())),
            remote: remote.as_ref().map(|s| Box::new(s.meta.clone())),
            cached: original.as_ref().is_none_or(|o| o.cached),
            pinned: self.is_pinned(&path),
            sparse: false,
            excluded: false,
        };
        if let Some((state, action)) = decide(&triple, self.control, self.base_known) {
            let at = walk.items.len();
            if let Some(l) = local {
                walk.local.push((at, l.identity.into_boxed_str()));
            }
            if let Some(r) = remote {
                walk.remote.push((at, r.identity.into_boxed_str()));
            }
            walk.items.push(PlanItem {
                path,
                state,
                action,
                triple,
            });
        } else if let (Some(o), Some(l), Some(r)) = (original, local, remote) {
            refresh_fingerprints(&path, o, &l, &r, walk);
        }
        descend.then_some(next)
    }

    /// A share that keeps no permission bits (WebDAV, S3): the last synced mode
    /// stands, so it is neither lost nor taken as a change.
    fn keep_mode(&self, mut stat: Stat, original: Option<&Original>) -> Stat {
        if !self.share.capabilities().modes && stat.meta.kind != Kind::Symlink {
            if let Some(o) = original.filter(|o| o.meta.kind == stat.meta.kind) {
                stat.meta.mode = o.meta.mode;
            }
        }
        stat
    }

    /// Pinned, or a folder above something pinned (partly pinned: it must exist in the
    /// cache to hold its pinned contents), or in a tree fetched by this sync.
    fn is_pinned(&self, path: &RelPath) -> bool {
        self.pins
            .iter()
            .any(|p| pin_covers(p, path) || path.is_ancestor_of(&p.path))
            || self
                .also_pinned
                .iter()
                .any(|a| a.contains(path) || path.is_ancestor_of(a))
    }
}

/// One name in a folder, on each side and in the originals.
#[derive(Default)]
struct Child {
    local: Option<Stat>,
    remote: Option<Stat>,
    original: Option<Original>,
}

/// A listed item (if any) with its content hash, as [`with_hash`] decides.
fn complete(
    side_remote: &dyn Remote,
    side: Side,
    path: &RelPath,
    stat: Option<Stat>,
    original: Option<&Original>,
    needs_hash: bool,
) -> std::result::Result<Option<Scanned>, Box<ItemError>> {
    stat.map(|s| with_hash(side_remote, side, path, s, original, needs_hash))
        .transpose()
}

fn problem(walk: &mut Walk, path: &RelPath, err: &RemoteError) {
    walk.problems.push((
        path.clone(),
        ItemError::from_remote(SyncOperation::Prepare, err),
    ));
}

/// An unchanged item whose fingerprints moved gets the new ones, so the next walk need
/// not hash it; only when both copies still hold the original's item (a change left
/// out of the plan by `--direction` must not be hidden).
fn refresh_fingerprints(
    path: &RelPath,
    original: Original,
    l: &Scanned,
    r: &Scanned,
    walk: &mut Walk,
) {
    if !l.meta.same_item(&original.meta) || !r.meta.same_item(&original.meta) {
        return;
    }
    if stored_identity(&original, Side::Local) == Some(l.identity.as_str())
        && stored_identity(&original, Side::Remote) == Some(r.identity.as_str())
    {
        return;
    }
    let mut updated = original;
    updated.local_identity = Some(l.identity.clone());
    updated.remote_identity = Some(r.identity.clone());
    walk.refresh.push((path.clone(), updated));
}

#[cfg(test)]
mod tests {
    use super::*;
    use offline_core::{Action, SyncState};

    fn item(path: &str) -> PlanItem {
        PlanItem {
            path: RelPath::from_str_lossy(path).unwrap(),
            state: SyncState::Stable,
            action: Action::RecordOriginal,
            triple: Triple::new(None, None, None),
        }
    }

    fn scanned(path: &str) -> Box<str> {
        path.into()
    }

    /// Every side copy still names the item it was stored beside.
    fn assert_aligned(walk: &Walk) {
        for side in [&walk.local, &walk.remote] {
            assert!(side.windows(2).all(|w| w[0].0 < w[1].0));
            for (at, s) in side {
                assert_eq!(walk.items[*at].path.to_string(), &**s);
            }
        }
    }

    #[test]
    fn sorting_and_dropping_items_keep_their_copies_beside_them() {
        let paths = ["b/x", "a", "c", "b", "a/z", "a.txt", "b/a", "d"];
        let mut walk = Walk::default();
        for (i, p) in paths.iter().enumerate() {
            if i % 2 == 0 {
                walk.local.push((i, scanned(p)));
            }
            if i % 3 != 1 {
                walk.remote.push((i, scanned(p)));
            }
            walk.items.push(item(p));
        }
        walk.sort();
        let sorted: Vec<String> = walk.items.iter().map(|i| i.path.to_string()).collect();
        assert_eq!(sorted, ["a", "a/z", "a.txt", "b", "b/a", "b/x", "c", "d"]);
        assert_aligned(&walk);
        assert_eq!((walk.local.len(), walk.remote.len()), (4, 5));
        let keep: Vec<bool> = sorted.iter().map(|p| !p.starts_with('b')).collect();
        walk.retain(&keep);
        let kept: Vec<String> = walk.items.iter().map(|i| i.path.to_string()).collect();
        assert_eq!(kept, ["a", "a/z", "a.txt", "c", "d"]);
        assert_aligned(&walk);
    }
}
