//! Questions about one path: is it excluded, and by which pattern in which file
//! (`offline check-ignore`, pins and fetches that refuse excluded paths, the daemon
//! that ignores changes under excluded paths). Answered from the cache folder
//! alone: the share is not contacted.

use super::load::{enter_by_stat, Readers};
use super::LineProblem;
use super::{Exclusions, Reason, Stack};
use crate::cache::Cache;
use crate::error::{EngineError, Result};
use offline_core::{Kind, RelPath};
use offline_remote::{Remote, RemoteError};
use std::collections::HashMap;

/// An excluded item found in the cache folder (`offline ls --filter excluded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcludedItem {
    /// Its path.
    pub path: RelPath,
    /// What it is in the cache.
    pub kind: Kind,
    /// The pattern that excludes it.
    pub reason: Reason,
}

/// Folders' stacks kept at most before the checker starts again.
const MAX_KEPT_STACKS: usize = 4096;

/// Answers "is this path excluded?" for many paths, keeping each folder's stack
/// of ignore files once read.
#[derive(Debug)]
pub struct Checker {
    exclusions: Exclusions,
    stacks: HashMap<RelPath, Stack>,
    problems: Vec<LineProblem>,
}

impl Checker {
    /// A checker of `exclusions` and the ignore files met on the way.
    pub fn new(exclusions: Exclusions) -> Checker {
        Checker {
            exclusions,
            stacks: HashMap::new(),
            problems: Vec::new(),
        }
    }

    /// Forgets the ignore files read so far (one of them changed).
    pub fn forget_files(&mut self) {
        self.stacks.clear();
    }

    /// The pattern that decides about `path`: an excluded folder above it decides
    /// for it; otherwise the pattern matching the path itself (`excluded: false` for
    /// a `!pattern`). `None`: no pattern matches. `is_dir`: it is a folder.
    pub fn check(
        &mut self,
        local: &dyn Remote,
        path: &RelPath,
        is_dir: bool,
    ) -> std::result::Result<Option<Reason>, RemoteError> {
        self.check_with(Readers { local, share: None }, path, is_dir)
    }

    /// [`Checker::check`], reading each ignore file from the first of `readers`
    /// that has it.
    pub(crate) fn check_with(
        &mut self,
        readers: Readers<'_>,
        path: &RelPath,
        is_dir: bool,
    ) -> std::result::Result<Option<Reason>, RemoteError> {
        if path.is_root() {
            return Ok(None);
        }
        let mut chain = vec![path.clone()];
        let mut at = path.parent();
        while let Some(a) = at.filter(|a| !a.is_root()) {
            at = a.parent();
            chain.push(a);
        }
        for (i, step) in chain.iter().enumerate().rev() {
            let parent = step.parent().unwrap_or_else(RelPath::root);
            let stack = self.stack(&parent, readers)?;
            let last = i == 0;
            match self.exclusions.decide(&stack, step, !last || is_dir) {
                Some(hit) if last || hit.excluded() => return Ok(Some(hit.reason())),
                _ => {}
            }
        }
        Ok(None)
    }

    /// True when `path` is excluded (see [`Checker::check`]); a path that cannot
    /// be looked at is taken as not excluded.
    pub fn excludes(&mut self, local: &dyn Remote, path: &RelPath, is_dir: bool) -> bool {
        matches!(self.check(local, path, is_dir), Ok(Some(r)) if r.excluded)
    }

    /// The stack in force inside `dir`, read from `local` (the cache folder).
    pub(crate) fn stack_in(
        &mut self,
        local: &dyn Remote,
        dir: &RelPath,
    ) -> std::result::Result<Stack, RemoteError> {
        self.stack(dir, Readers { local, share: None })
    }

    /// The stack in force inside `dir`, each ignore file read from the first of
    /// `readers` that has it.
    pub(crate) fn stack_with(
        &mut self,
        readers: Readers<'_>,
        dir: &RelPath,
    ) -> std::result::Result<Stack, RemoteError> {
        self.stack(dir, readers)
    }

    /// Unused lines of the ignore files read so far, each once.
    pub(crate) fn take_problems(&mut self) -> Vec<LineProblem> {
        std::mem::take(&mut self.problems)
    }

    /// The patterns in force everywhere.
    pub fn exclusions(&self) -> &Exclusions {
        &self.exclusions
    }

    /// The stack in force inside `dir`.
    fn stack(
        &mut self,
        dir: &RelPath,
        readers: Readers<'_>,
    ) -> std::result::Result<Stack, RemoteError> {
        if let Some(stack) = self.stacks.get(dir) {
            return Ok(stack.clone());
        }
        let outer = match dir.parent() {
            Some(parent) => self.stack(&parent, readers)?,
            None => Stack::default(),
        };
        let entered = enter_by_stat(&self.exclusions, &outer, dir, readers)?;
        self.problems.extend(entered.problems);
        let stack = entered.stack;
        if self.stacks.len() >= MAX_KEPT_STACKS {
            self.stacks.clear();
        }
        self.stacks.insert(dir.clone(), stack.clone());
        Ok(stack)
    }
}

impl Cache {
    /// A checker of this cache's exclusions.
    pub fn exclusion_checker(&self) -> Result<Checker> {
        Ok(Checker::new(self.exclusions()?))
    }

    /// The pattern that decides about `path` (see [`Checker::check`]), read from the
    /// cache folder's ignore files.
    pub fn check_excluded(&self, path: &RelPath) -> Result<Option<Reason>> {
        let is_dir = self
            .local
            .stat(path)?
            .is_some_and(|s| s.meta.kind == Kind::Dir);
        Ok(self.exclusion_checker()?.check(&self.local, path, is_dir)?)
    }

    /// Refuses to `what` (pin, fetch) an excluded path: it would never sync.
    pub(crate) fn refuse_excluded(&self, paths: &[RelPath], what: &str) -> Result<()> {
        let mut checker = self.exclusion_checker()?;
        for path in paths {
            let is_dir = self
                .local
                .stat(path)?
                .is_some_and(|s| s.meta.kind == Kind::Dir);
            if let Some(reason) = checker.check(&self.local, path, is_dir)? {
                if reason.excluded {
                    return Err(EngineError::Usage(format!(
                        "{path} is excluded by `{}` ({} line {}), so it never syncs and cannot be {what}; change the pattern first (`offline check-ignore {path}`)",
                        reason.pattern,
                        reason.source.describe(),
                        reason.line
                    )));
                }
            }
        }
        Ok(())
    }
}
