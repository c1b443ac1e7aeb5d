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
mod scan_hooks;
mod walk_hooks;

pub use config::ExcludeSettings;
pub use defaults::DEFAULT_PATTERNS;
pub(crate) use load::{enter, Readers};
pub use load::{LineProblem, IGNORE_FILE, MAX_IGNORE_FILE_BYTES};
pub use query::{Checker, ExcludedItem};
pub(crate) use scan_hooks::{enter_listing, start_of, Start};
pub(crate) use walk_hooks::ExcludeState;

use ignore::gitignore::{Gitignore, GitignoreBuilder, Glob};
use ignore::Match;
use offline_core::RelPath;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

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

/// The patterns of one source, applying to `dir` and below.
#[derive(Debug, Clone)]
pub struct Rules {
    dir: RelPath,
    source: Source,
    matcher: Gitignore,
    /// (line number, line) of every line that became a pattern, in order.
    lines: Vec<(usize, String)>,
}

impl Rules {
    /// Reads `text` (gitignore lines) as the patterns of `source`, for `dir` and
    /// below. Lines that cannot be used are left out and returned as problems; with
    /// `guard`, so is a pattern that would exclude everything.
    pub fn parse(
        dir: RelPath,
        source: Source,
        text: &[u8],
        guard: bool,
    ) -> (Rules, Vec<LineProblem>) {
        let mut builder = GitignoreBuilder::new(".");
        let mut lines = Vec::new();
        let mut problems = Vec::new();
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let number = i + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let problem = |why: String| LineProblem {
                source: source.clone(),
                line: number,
                text: String::from_utf8_lossy(raw).into_owned(),
                why,
            };
            let Ok(line) = std::str::from_utf8(raw) else {
                problems.push(problem("the line is not UTF-8 text".to_string()));
                continue;
            };
            if guard {
                if let Err(why) = check_not_everything(line) {
                    problems.push(problem(why));
                    continue;
                }
            }
            match builder.add_line(None, line) {
                Ok(_) => lines.push((number, line.to_string())),
                Err(e) => problems.push(problem(format!("not a pattern: {e}"))),
            }
        }
        let matcher = builder.build().unwrap_or_else(|e| {
            problems.push(LineProblem {
                source: source.clone(),
                line: 0,
                text: String::new(),
                why: format!("the patterns could not be put together: {e}"),
            });
            Gitignore::empty()
        });
        let rules = Rules {
            dir,
            source,
            matcher,
            lines,
        };
        (rules, problems)
    }

    /// True when no pattern is in force.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_empty()
    }

    /// The last pattern matching `path` (below this source's folder), if any.
    fn matched(&self, path: &RelPath, is_dir: bool) -> Option<&Glob> {
        let rel = path
            .as_bytes()
            .get(skip_len(&self.dir)..)
            .unwrap_or_default();
        match self
            .matcher
            .matched(Path::new(OsStr::from_bytes(rel)), is_dir)
        {
            Match::None => None,
            Match::Ignore(glob) | Match::Whitelist(glob) => Some(glob),
        }
    }

    /// The reason `glob` (one of these rules) gives.
    fn reason(&self, glob: &Glob) -> Reason {
        // The matched pattern is the last line with its text (later lines win).
        let line = self
            .lines
            .iter()
            .rev()
            .find(|(_, text)| text.trim_end() == glob.original().trim_end())
            .map_or(0, |(n, _)| *n);
        Reason {
            source: self.source.clone(),
            line,
            pattern: glob.original().to_string(),
            excluded: !glob.is_whitelist(),
        }
    }
}

/// Bytes of a path below `dir` that name `dir` and the slash after it.
fn skip_len(dir: &RelPath) -> usize {
    if dir.is_root() {
        0
    } else {
        dir.as_bytes().len() + 1
    }
}

/// Refuses a pattern that names the root or would exclude every name (`*`, `**`,
/// `/`, `/*`...): the sync would stop syncing anything.
pub fn check_not_everything(line: &str) -> std::result::Result<(), String> {
    let body = line.trim();
    if body.starts_with('#') || body.starts_with('!') || body.is_empty() {
        return Ok(());
    }
    let everything =
        || format!("`{line}` would exclude everything, so nothing would ever sync; it is refused");
    if body.chars().all(|c| c == '/') {
        return Err(everything());
    }
    let mut builder = GitignoreBuilder::new(".");
    if builder.add_line(None, line).is_err() {
        return Ok(());
    }
    let Ok(one) = builder.build() else {
        return Ok(());
    };
    const PROBES: [&str; 6] = ["a", "Z9", "a.b", ".a", "a b", "~"];
    let all = PROBES.iter().all(|name| {
        [false, true]
            .iter()
            .all(|&is_dir| one.matched(name, is_dir).is_ignore())
    });
    if all {
        Err(everything())
    } else {
        Ok(())
    }
}

/// The `.offlineignore` files in force in one folder: its own on top of its
/// parents'. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Stack(Option<Arc<Frame>>);

#[derive(Debug)]
struct Frame {
    rules: Rules,
    below: Stack,
}

impl Stack {
    /// This stack with `rules` on top (unchanged when there are none).
    pub fn with(&self, rules: Option<Rules>) -> Stack {
        match rules {
            Some(rules) if !rules.is_empty() => Stack(Some(Arc::new(Frame {
                rules,
                below: self.clone(),
            }))),
            _ => self.clone(),
        }
    }

    /// The rules, innermost folder first.
    fn iter(&self) -> impl Iterator<Item = &Rules> {
        std::iter::successors(self.0.as_deref(), |f| f.below.0.as_deref()).map(|f| &f.rules)
    }
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
#[derive(Debug, Clone, Default)]
pub struct Exclusions {
    defaults: Option<Rules>,
    cache: Option<Rules>,
}

impl Exclusions {
    /// No pattern but what `.offlineignore` files say.
    pub fn none() -> Exclusions {
        Exclusions::default()
    }

    /// The built-in list (when `defaults`) and the cache's `patterns`.
    pub fn new(defaults: bool, patterns: &[String]) -> Exclusions {
        let defaults = defaults.then(|| {
            let text = DEFAULT_PATTERNS.join("\n");
            Rules::parse(RelPath::root(), Source::Default, text.as_bytes(), false).0
        });
        let cache = (!patterns.is_empty()).then(|| {
            let text = patterns.join("\n");
            let (rules, problems) =
                Rules::parse(RelPath::root(), Source::Cache, text.as_bytes(), true);
            for p in problems {
                tracing::warn!("the cache's exclude pattern {}", p.describe());
            }
            rules
        });
        Exclusions { defaults, cache }
    }

    /// The pattern that decides about `path`, whose folder has `stack` in force;
    /// `None` when no pattern matches. `is_dir`: the path is a folder (on either
    /// side), for patterns ending in `/`.
    pub fn decide<'a>(&'a self, stack: &'a Stack, path: &RelPath, is_dir: bool) -> Option<Hit<'a>> {
        let sources = self
            .cache
            .iter()
            .chain(stack.iter())
            .chain(self.defaults.iter());
        for rules in sources {
            if let Some(glob) = rules.matched(path, is_dir) {
                return Some(Hit { rules, glob });
            }
        }
        None
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
