//! Exclusions: what never syncs. Patterns in gitignore syntax, matched by the
//! `ignore` crate's gitignore matcher (ripgrep's), come from three places:
//! - the built-in list ([`DEFAULT_PATTERNS`]: editor swap and backup files, office
//!   lock files, OS litter), switchable off per cache;
//! - `.offlineignore` files anywhere in the tree (they sync like any file), each
//!   applying to its folder and below, as `.gitignore` does;
//! - the cache's own patterns (`offline config --exclude`), which stay local.
//!
//! The pattern that decides about a path is found from the strongest source down:
//! the cache's patterns, then the `.offlineignore` files from the path's own folder
//! up to the root, then the built-in list; within one source the last matching line
//! wins, and a `!pattern` includes again what a weaker line excluded. A path below an
//! excluded folder is excluded with it (the walk never goes there).
//!
//! The walk ([`crate::walk`]) asks [`Exclusions::decide`] for every listed name and
//! marks an excluded one in its triple; the planner does the rest. Everything here
//! only reads: an ignore file can exclude a path, never delete or expose one (the
//! cache's own names are left out of every listing before patterns are looked at).

mod config;
mod defaults;
mod load;
mod query;
mod rules;
mod scan_hooks;
mod walk_hooks;

pub use config::ExcludeSettings;
pub use defaults::DEFAULT_PATTERNS;
pub(crate) use load::{enter, Readers};
pub use load::{LineProblem, IGNORE_FILE, MAX_IGNORE_FILE_BYTES};
pub use query::{Checker, ExcludedItem};
pub(crate) use scan_hooks::{enter_listing, start_of, Start};
pub(crate) use walk_hooks::ExcludeState;

pub use rules::{check_not_everything, Rules, Stack};

use ignore::gitignore::Glob;
use offline_core::RelPath;
use rules::RulesBuilder;

/// Where a pattern comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in list.
    Default,
    /// The cache's own patterns (`offline config --exclude`).
    Cache,
    /// An `.offlineignore` file (its path).
    File(RelPath),
}

impl Source {
    /// How `check-ignore` and `ls` name it: the file's path, or `<built-in>`,
    /// `<cache>` (the cache's patterns, shown by `offline config`).
    pub fn describe(&self) -> String {
        match self {
            Source::Default => "<built-in>".to_string(),
            Source::Cache => "<cache>".to_string(),
            Source::File(path) => path.to_string(),
        }
    }
}

/// The pattern that decided about a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// Where the pattern is.
    pub source: Source,
    /// Its line there (from 1).
    pub line: usize,
    /// The pattern as written.
    pub pattern: String,
    /// True: the path is excluded. False: a `!pattern` includes it again.
    pub excluded: bool,
}

/// The pattern that decided, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    rules: &'a Rules,
    glob: &'a Glob,
}

impl Hit<'_> {
    /// True: excluded. False: included again by a `!pattern`.
    pub fn excluded(&self) -> bool {
        !self.glob.is_whitelist()
    }

    /// An owned description.
    pub fn reason(&self) -> Reason {
        self.rules.reason(self.glob)
    }
}

/// The patterns that hold everywhere: the built-in list and the cache's own.
#[derive(Debug, Clone)]
pub struct Exclusions {
    defaults: bool,
    patterns: Vec<String>,
    /// The two merged, for a root without an ignore file.
    base: Rules,
}

impl Default for Exclusions {
    fn default() -> Exclusions {
        Exclusions::new(false, &[])
    }
}

impl Exclusions {
    /// No pattern but what `.offlineignore` files say.
    pub fn none() -> Exclusions {
        Exclusions::default()
    }

    /// The built-in list (when `defaults`) and the cache's `patterns`.
    pub fn new(defaults: bool, patterns: &[String]) -> Exclusions {
        let mut exclusions = Exclusions {
            defaults,
            patterns: patterns.to_vec(),
            base: Rules::parse(RelPath::root(), Source::Default, b"", false).0,
        };
        let (base, problems) = exclusions.merged(None);
        for p in problems {
            tracing::warn!("the cache's exclude pattern {}", p.describe());
        }
        exclusions.base = base;
        exclusions
    }

    /// The rules of the root folder: the built-in list, the root's ignore file
    /// (`file`: its path and text), the cache's patterns, weakest first. Problems of
    /// the ignore file only (the cache's patterns were checked when set).
    pub(crate) fn merged(&self, file: Option<(RelPath, &[u8])>) -> (Rules, Vec<LineProblem>) {
        let has_file = file.is_some();
        let mut builder = RulesBuilder::new(RelPath::root());
        if self.defaults {
            builder.add(
                &Source::Default,
                DEFAULT_PATTERNS.join("\n").as_bytes(),
                false,
            );
        }
        if let Some((path, text)) = file {
            // In the root a pattern that excludes everything would end all syncing.
            builder.add(&Source::File(path), text, true);
        }
        if !self.patterns.is_empty() {
            builder.add(&Source::Cache, self.patterns.join("\n").as_bytes(), true);
        }
        let (rules, mut problems) = builder.build();
        if has_file {
            problems.retain(|p| p.source != Source::Cache);
        }
        (rules, problems)
    }

    /// The pattern that decides about `path`, whose folder has `stack` in force;
    /// `None` when no pattern matches. `is_dir`: the path is a folder (on either
    /// side), for patterns ending in `/`. The strongest source decides: the cache's
    /// patterns, then the ignore files from the path's folder up to the root, then
    /// the built-in list.
    pub fn decide<'a>(&'a self, stack: &'a Stack, path: &RelPath, is_dir: bool) -> Option<Hit<'a>> {
        let root: &Rules = stack.root.as_deref().unwrap_or(&self.base);
        let top = root
            .matched(path, is_dir)
            .map(|glob| Hit { rules: root, glob });
        if stack.only_root() {
            return top;
        }
        if top.is_some_and(|hit| hit.rules.source_of(hit.glob) == Some(&Source::Cache)) {
            return top;
        }
        for rules in stack.frames() {
            if let Some(glob) = rules.matched(path, is_dir) {
                return Some(Hit { rules, glob });
            }
        }
        top
    }

    /// Why `path` is excluded, when it is (see [`Exclusions::decide`]).
    pub fn excluded_by(&self, stack: &Stack, path: &RelPath, is_dir: bool) -> Option<Reason> {
        self.decide(stack, path, is_dir)
            .filter(Hit::excluded)
            .map(|hit| hit.reason())
    }

    /// True when `path` is excluded (see [`Exclusions::decide`]).
    pub fn excludes(&self, stack: &Stack, path: &RelPath, is_dir: bool) -> bool {
        self.decide(stack, path, is_dir)
            .is_some_and(|hit| hit.excluded())
    }
}

#[cfg(test)]
mod tests;
