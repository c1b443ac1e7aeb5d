//! The walk of prepare: both sides and the originals, one folder at a time. Each
//! folder's two listings (read at the same time) and its originals are joined by name,
//! files are hashed only where the stat fingerprint says they may have changed and a
//! comparison needs the hash, and every path goes to the planner as a
//! `(path, Triple)` (each scanned copy with its identity) the moment it is complete.
//! The planner keeps only paths with work, so memory grows with the size of one
//! folder and of the plan, not with the tree. The walk decides nothing about the sync.

use crate::error::{ItemError, Result};
use crate::exclude::{ExcludeState, Exclusions, Stack};
use crate::listing::{screen, LeftOut};
use crate::pin::pin_covers;
use crate::read_ahead::ReadAhead;
use crate::scan::with_hash;
use crate::sink::ItemReport;
use offline_core::plan::Planner;
use offline_core::{Kind, RelPath, Scanned, Side, SyncOperation, Triple};
use offline_remote::{ErrorKind, Remote, RemoteError, Stat};
use offline_store::{Original, Pin, Store};
use std::collections::{BTreeMap, HashSet};

/// What the walk hands on: every path to the planner, and what could not be read.
pub(crate) struct Walk<'p, 'c> {
    /// Takes each path found (with its three copies), and leaves out the trees that
    /// could not be read.
    pub(crate) planner: &'p mut Planner<'c>,
    /// What could not be read, per path (those trees are left out).
    problems: Vec<(RelPath, ItemError)>,
    /// Listed names that cannot or must not be items (reported as skipped).
    left_out: Vec<LeftOut>,
    /// What the exclusions keep during the walk (unused lines of ignore files,
    /// reported as skipped; the ignore files above a scope).
    pub(crate) exclude: ExcludeState,
}

/// What the walk did not hand to the planner.
pub(crate) struct Walked {
    /// What could not be read, per path (those trees are left out).
    pub(crate) problems: Vec<(RelPath, ItemError)>,
    /// Listed names that cannot or must not be items (reported as skipped).
    pub(crate) left_out: Vec<LeftOut>,
    /// Lines of ignore files that are not used (reported as skipped).
    pub(crate) notes: Vec<ItemReport>,
}

impl Walk<'_, '_> {
    /// `path` (and everything below it) could not be read: it is left out.
    pub(crate) fn problem(&mut self, path: RelPath, err: ItemError) {
        self.planner.leave_out(path.clone());
        self.problems.push((path, err));
    }

    /// What could not be read and the names left out, found since the last call.
    pub(crate) fn take_found(&mut self) -> (Vec<(RelPath, ItemError)>, Vec<LeftOut>) {
        (
            std::mem::take(&mut self.problems),
            std::mem::take(&mut self.left_out),
        )
    }
}

/// Called after each folder walked with the next folder to walk (`None`: the walk
/// is over): every path before it in path order has been handed to the planner.
/// Returns false to end the walk there.
pub(crate) type AfterFolder<'f> =
    dyn FnMut(&mut Walk<'_, '_>, Option<&RelPath>) -> Result<bool> + 'f;

/// What the walk works with.
pub(crate) struct Walker<'a> {
    pub local: &'a dyn Remote,
    pub share: &'a dyn Remote,
    /// The originals (`None`: none are known, nothing to read).
    pub store: Option<&'a Store>,
    pub pins: &'a [Pin],
    pub also_pinned: &'a [RelPath],
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
    /// Walks the trees in `scope` (everything when empty), handing every path to
    /// `planner`; returns what could not be read. The originals are read only when
    /// the planner compares with them.
    pub(crate) fn run(&self, scope: &[RelPath], planner: &mut Planner<'_>) -> Result<Walked> {
        self.run_with(scope, planner, &mut |_, _| Ok(true))
    }

    /// [`Walker::run`], calling `after` after each folder. Folders are walked in
    /// path order (a folder's children are handed over when it is walked, its
    /// subfolders walked next, smallest first).
    pub(crate) fn run_with(
        &self,
        scope: &[RelPath],
        planner: &mut Planner<'_>,
        after: &mut AfterFolder<'_>,
    ) -> Result<Walked> {
        let mut walk = Walk {
            planner,
            problems: Vec::new(),
            left_out: Vec::new(),
            exclude: ExcludeState::default(),
        };
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
        // The smallest folder is walked first (the last one of `pending`).
        pending.sort_by(|a, b| b.dir.cmp(&a.dir));
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
                if !after(&mut walk, pending.last().map(|p| &p.dir))? {
                    break;
                }
            }
            Ok(())
        })?;
        Ok(Walked {
            problems: walk.problems,
            left_out: walk.left_out,
            notes: walk.exclude.notes,
        })
    }

    /// Visits one path found by stat (a scope root or its ancestors).
    fn visit_single(
        &self,
        path: &RelPath,
        walk: &mut Walk<'_, '_>,
        pending: Option<&mut Vec<Pending>>,
    ) -> Result<()> {
        let (local, remote) = match (self.local.stat(path), self.share.stat(path)) {
            (Ok(l), Ok(r)) => (l, r),
            (Err(e), _) | (_, Err(e)) => {
                problem(walk, path, &e);
                return Ok(());
            }
        };
        let original = match self.store {
            Some(store) if walk.planner.base_known() => store.original(path)?,
            _ => None,
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
        walk: &mut Walk<'_, '_>,
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
            .extend(screen(Side::Cache, &at.dir, &mut local));
        walk.left_out
            .extend(screen(Side::Share, &at.dir, &mut remote));
        let Some(stack) = self.enter_folder(&at.outer, &at.dir, &local, &remote, walk) else {
            return Ok(());
        };
        let originals = match self.store {
            Some(store) if walk.planner.base_known() => store.originals_in(&at.dir)?,
            _ => Vec::new(),
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
        let mut folders = Vec::new();
        for (name, child) in children {
            let path = match at.dir.join(&name) {
                Ok(p) => p,
                Err(e) => {
                    walk.problem(
                        at.dir.clone(),
                        ItemError::new(
                            SyncOperation::Prepare,
                            ErrorKind::NameNotAllowed,
                            format!("{}: a name in this folder cannot be used: {e}", at.dir),
                            "rename the item",
                        ),
                    );
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
                folders.push(next);
            }
        }
        // Walked smallest first: in path order.
        pending.extend(folders.into_iter().rev());
        Ok(())
    }

    /// Classifies one path; returns the folder to walk next when it is one on any side.
    fn visit(
        &self,
        path: RelPath,
        local: Option<Stat>,
        remote: Option<Stat>,
        original: Option<Original>,
        walk: &mut Walk<'_, '_>,
    ) -> Option<Pending> {
        let remote = remote.map(|s| self.keep_mode(s, original.as_ref()));
        let other_is_file =
            |s: &Option<Stat>| s.as_ref().is_some_and(|s| s.meta.kind == Kind::File);
        let l_needs = original.is_some() || other_is_file(&remote);
        let r_needs = original.is_some() || other_is_file(&local);
        let local = match complete(
            self.local,
            Side::Cache,
            &path,
            local,
            original.as_ref(),
            l_needs,
        ) {
            Ok(s) => s,
            Err(e) => {
                walk.problem(path, *e);
                return None;
            }
        };
        let remote = match complete(
            self.share,
            Side::Share,
            &path,
            remote,
            original.as_ref(),
            r_needs,
        ) {
            Ok(s) => s,
            Err(e) => {
                walk.problem(path, *e);
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
            cached: original.as_ref().is_none_or(|o| o.cached),
            original: original.map(Box::new),
            local: local.map(Box::new),
            remote: remote.map(Box::new),
            pinned: self.is_pinned(&path),
            excluded: false,
        };
        walk.planner.add(path, triple);
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

fn problem(walk: &mut Walk<'_, '_>, path: &RelPath, err: &RemoteError) {
    walk.problem(
        path.clone(),
        ItemError::from_remote(SyncOperation::Prepare, err),
    );
}
