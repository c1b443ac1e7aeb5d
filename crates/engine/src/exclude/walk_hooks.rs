//! Where exclusions meet the walk of prepare: entering a folder puts its ignore file
//! on the stack, an excluded name goes to the planner marked excluded (only its
//! copies' stat, no hash) and is never walked, and a walk that starts below the root
//! finds the ignore files above it by stat. The walk itself keeps only a stack per
//! pending folder and one early return per name.

use super::{enter, Checker, Readers, Stack};
use crate::error::ItemError;
use crate::sink::ItemReport;
use crate::walk::{Walk, Walker};
use offline_core::{RelPath, Scanned, SyncOperation, Triple};
use offline_remote::{Entry, RemoteError, Stat};
use offline_store::Original;

/// A scope root (or one of its ancestors) as the exclusions see it.
pub(crate) struct Scoped {
    /// The stack in force in its folder.
    pub outer: Stack,
    /// It is excluded, or lies below an excluded folder.
    pub excluded: bool,
}

impl Walker<'_> {
    fn readers(&self) -> Readers<'_> {
        Readers {
            local: self.local,
            share: Some(self.share),
        }
    }

    /// The stack in force inside `dir` (listed as `local` and `remote`): `outer`
    /// with the folder's ignore file on top. `None` when that file cannot be read:
    /// the folder is then left out like any folder that cannot be read.
    pub(crate) fn enter_folder(
        &self,
        outer: &Stack,
        dir: &RelPath,
        local: &[Entry],
        remote: &[Entry],
        walk: &mut Walk,
    ) -> Option<Stack> {
        match enter(self.exclusions, outer, dir, local, remote, self.readers()) {
            Ok(entered) => {
                note_problems(walk, entered.problems);
                Some(entered.stack)
            }
            Err(e) => {
                unreadable(walk, dir, &e);
                None
            }
        }
    }

    /// True when `path` (in a folder with `stack` in force) is excluded: it is then
    /// handed to the planner as excluded, and the caller walks nothing below it.
    pub(crate) fn skip_excluded(
        &self,
        stack: &Stack,
        path: &RelPath,
        copies: (Option<&Stat>, Option<&Stat>, Option<&Original>),
    ) -> bool {
        let (l, r, o) = copies;
        let is_dir = l.is_some_and(|s| s.meta.is_dir())
            || r.is_some_and(|s| s.meta.is_dir())
            || o.is_some_and(|o| o.meta.is_dir());
        self.exclusions.excludes(stack, path, is_dir)
    }

    /// Hands an excluded path to the planner: its copies as listed (no hash), its
    /// original if any. The planner forgets the original and touches neither copy;
    /// the path counts for nothing (not even for the mass-delete guard).
    pub(crate) fn visit_excluded(
        &self,
        path: RelPath,
        local: Option<Stat>,
        remote: Option<Stat>,
        original: Option<Original>,
        walk: &mut Walk,
    ) {
        let scanned = |s: Stat| Box::new(Scanned::new(s.meta, s.identity));
        let triple = Triple {
            original: original.map(Box::new),
            local: local.map(scanned),
            remote: remote.map(scanned),
            cached: true,
            pinned: false,
            excluded: true,
        };
        walk.planner.add(path, triple);
    }

    /// How the exclusions see a scope root or one of its ancestors (`is_dir`: it
    /// is a folder on some side). The ignore files above it are read once per walk.
    /// `None` when one of them cannot be read (recorded as a problem of `path`).
    pub(crate) fn scoped(&self, path: &RelPath, is_dir: bool, walk: &mut Walk) -> Option<Scoped> {
        let readers = self.readers();
        let checker = walk
            .exclude
            .checker
            .get_or_insert_with(|| Checker::new(self.exclusions.clone()));
        let found = checker
            .check_with(readers, path, is_dir)
            .and_then(|reason| {
                let parent = path.parent().unwrap_or_else(RelPath::root);
                Ok(Scoped {
                    outer: checker.stack_with(readers, &parent)?,
                    excluded: reason.is_some_and(|r| r.excluded),
                })
            });
        let problems = checker.take_problems();
        note_problems(walk, problems);
        match found {
            Ok(scoped) => Some(scoped),
            Err(e) => {
                unreadable(walk, path, &e);
                None
            }
        }
    }
}

/// What the exclusions keep during one walk.
#[derive(Debug, Default)]
pub(crate) struct ExcludeState {
    /// Unused lines of ignore files, as skipped reports (each once).
    pub notes: Vec<ItemReport>,
    /// The ignore files above the scope roots, read by stat.
    checker: Option<Checker>,
}

/// Unusable lines of ignore files, each reported once per sync.
fn note_problems(walk: &mut Walk, problems: Vec<super::LineProblem>) {
    for problem in problems {
        let report = problem.report();
        if !walk.exclude.notes.contains(&report) {
            walk.exclude.notes.push(report);
        }
    }
}

fn unreadable(walk: &mut Walk, dir: &RelPath, err: &RemoteError) {
    walk.problem(
        dir.clone(),
        ItemError::from_remote(SyncOperation::Prepare, err),
    );
}
