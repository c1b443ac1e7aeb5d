//! One gitignore matcher built from the lines of one or more sources, and the stack
//! of matchers in force in a folder. Lines of several sources that apply to the same
//! folder go into one matcher, weakest source first: gitignore's "the last matching
//! line wins" then gives the stronger source's line, and a name costs one match.

use super::{LineProblem, Reason, Source};
use ignore::gitignore::{Gitignore, GitignoreBuilder, Glob};
use ignore::Match;
use offline_core::RelPath;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

/// One line that became a pattern.
#[derive(Debug, Clone)]
struct Line {
    source: Source,
    number: usize,
    text: String,
}

/// The patterns that apply to `dir` and below, from one or more sources.
#[derive(Debug, Clone)]
pub struct Rules {
    dir: RelPath,
    matcher: Gitignore,
    /// Every line that became a pattern, in order.
    lines: Vec<Line>,
}

/// Puts the lines of sources into one matcher, weakest first.
pub(super) struct RulesBuilder {
    dir: RelPath,
    builder: GitignoreBuilder,
    lines: Vec<Line>,
    problems: Vec<LineProblem>,
}

impl RulesBuilder {
    /// Patterns for `dir` and below.
    pub(super) fn new(dir: RelPath) -> RulesBuilder {
        RulesBuilder {
            dir,
            builder: GitignoreBuilder::new("."),
            lines: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Adds `text` (gitignore lines) as the patterns of `source`, stronger than what
    /// was added before. Lines that cannot be used are left out and kept as
    /// problems; with `guard`, so is a pattern that would exclude everything.
    pub(super) fn add(&mut self, source: &Source, text: &[u8], guard: bool) {
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
                self.problems
                    .push(problem("the line is not UTF-8 text".to_string()));
                continue;
            };
            if guard {
                if let Err(why) = check_not_everything(line) {
                    self.problems.push(problem(why));
                    continue;
                }
            }
            match self.builder.add_line(None, line) {
                Ok(_) => self.lines.push(Line {
                    source: source.clone(),
                    number,
                    text: line.to_string(),
                }),
                Err(e) => self.problems.push(problem(format!("not a pattern: {e}"))),
            }
        }
    }

    /// The matcher, and the lines that were left out.
    pub(super) fn build(mut self) -> (Rules, Vec<LineProblem>) {
        let matcher = self.builder.build().unwrap_or_else(|e| {
            self.problems.push(LineProblem {
                source: self
                    .lines
                    .last()
                    .map_or(Source::Default, |l| l.source.clone()),
                line: 0,
                text: String::new(),
                why: format!("the patterns could not be put together: {e}"),
            });
            Gitignore::empty()
        });
        let rules = Rules {
            dir: self.dir,
            matcher,
            lines: self.lines,
        };
        (rules, self.problems)
    }
}

impl Rules {
    /// Reads `text` (gitignore lines) as the patterns of `source` alone, for `dir`
    /// and below (see [`RulesBuilder::add`] for `guard` and the problems).
    pub fn parse(
        dir: RelPath,
        source: Source,
        text: &[u8],
        guard: bool,
    ) -> (Rules, Vec<LineProblem>) {
        let mut builder = RulesBuilder::new(dir);
        builder.add(&source, text, guard);
        builder.build()
    }

    /// True when no pattern is in force.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_empty()
    }

    /// The last pattern matching `path` (below this matcher's folder), if any.
    pub(super) fn matched(&self, path: &RelPath, is_dir: bool) -> Option<&Glob> {
        let skip = if self.dir.is_root() {
            0
        } else {
            self.dir.as_bytes().len() + 1
        };
        let rel = path.as_bytes().get(skip..).unwrap_or_default();
        match self
            .matcher
            .matched(Path::new(OsStr::from_bytes(rel)), is_dir)
        {
            Match::None => None,
            Match::Ignore(glob) | Match::Whitelist(glob) => Some(glob),
        }
    }

    /// The line `glob` (one of these patterns) came from: the last line with its text
    /// (of identical lines the last one wins, so it is the one that matched).
    fn line_of(&self, glob: &Glob) -> Option<&Line> {
        self.lines
            .iter()
            .rev()
            .find(|l| l.text.trim_end() == glob.original().trim_end())
    }

    /// The source of `glob`.
    pub(super) fn source_of(&self, glob: &Glob) -> Option<&Source> {
        self.line_of(glob).map(|l| &l.source)
    }

    /// The reason `glob` (one of these patterns) gives.
    pub(super) fn reason(&self, glob: &Glob) -> Reason {
        let line = self.line_of(glob);
        Reason {
            source: line.map_or(Source::Default, |l| l.source.clone()),
            line: line.map_or(0, |l| l.number),
            pattern: glob.original().to_string(),
            excluded: !glob.is_whitelist(),
        }
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

/// The ignore files in force in one folder: the root's (merged with the built-in
/// list and the cache's patterns), then those of the folders below it, innermost on
/// top. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Stack {
    /// The root's ignore file with the built-in list and the cache's patterns, when
    /// the root has one (else those two alone hold, see `Exclusions`).
    pub(super) root: Option<Arc<Rules>>,
    frames: Option<Arc<Frame>>,
}

#[derive(Debug)]
struct Frame {
    rules: Rules,
    below: Option<Arc<Frame>>,
}

impl Stack {
    /// This stack with a folder's `rules` on top (unchanged when there are none).
    pub fn with(&self, rules: Option<Rules>) -> Stack {
        match rules {
            Some(rules) if !rules.is_empty() => Stack {
                root: self.root.clone(),
                frames: Some(Arc::new(Frame {
                    rules,
                    below: self.frames.clone(),
                })),
            },
            _ => self.clone(),
        }
    }

    /// The stack of the root folder, whose ignore file gives `rules` (merged).
    pub(super) fn with_root(rules: Rules) -> Stack {
        Stack {
            root: Some(Arc::new(rules)),
            frames: None,
        }
    }

    /// True when no folder below the root has an ignore file in force.
    pub(super) fn only_root(&self) -> bool {
        self.frames.is_none()
    }

    /// The rules of the folders below the root, innermost first.
    pub(super) fn frames(&self) -> impl Iterator<Item = &Rules> {
        std::iter::successors(self.frames.as_deref(), |f| f.below.as_deref()).map(|f| &f.rules)
    }
}
