//! Reading `.offlineignore` files as a walk meets them: the cache's copy (what the
//! person edits) when the cache has one, else the share's (a folder the cache does
//! not hold yet). A file is untrusted input: it is read up to a limit, lines that
//! cannot be used are left out and reported, and in the root folder a pattern that
//! would exclude everything is refused.

use super::{Exclusions, Rules, Source, Stack};
use crate::sink::{ItemReport, ItemResult};
use offline_core::{Kind, RelPath};
use offline_remote::{Entry, ErrorKind, Remote, RemoteError};
use std::io::Read;

/// The name of the ignore files.
pub const IGNORE_FILE: &[u8] = b".offlineignore";

/// An ignore file larger than this is not read: its folder is left out of the sync
/// (nothing there could be told excluded or not).
pub const MAX_IGNORE_FILE_BYTES: u64 = 256 * 1024;

/// The sides an ignore file is read from, in order.
#[derive(Clone, Copy)]
pub(crate) struct Readers<'a> {
    /// The cache folder.
    pub local: &'a dyn Remote,
    /// The share, when it is reachable.
    pub share: Option<&'a dyn Remote>,
}

/// A line of an ignore file (or of the cache's patterns) that is not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// Where the line is.
    pub source: Source,
    /// Its number (from 1).
    pub line: usize,
    /// The line as written.
    pub text: String,
    /// Why it is not used.
    pub why: String,
}

impl LineProblem {
    /// `line 3 (`*`): why`.
    pub fn describe(&self) -> String {
        format!("line {} (`{}`): {}", self.line, self.text, self.why)
    }

    /// A sync's report of it: the ignore file, skipped with the reason.
    pub(crate) fn report(&self) -> ItemReport {
        let path = match &self.source {
            Source::File(path) => path.clone(),
            Source::Default | Source::Cache => RelPath::root(),
        };
        ItemReport {
            path,
            state: None,
            action: None,
            operation: None,
            result: ItemResult::Skipped(format!(
                "{}; the line is not used, the rest of the file is",
                self.describe()
            )),
            bytes: 0,
            note: None,
        }
    }
}

/// What entering a folder gives: the stack in force inside it, and the lines of its
/// ignore file that are not used.
#[derive(Debug, Default)]
pub(crate) struct Entered {
    pub stack: Stack,
    pub problems: Vec<LineProblem>,
}

/// Enters the folder `dir`, listed as `local` and `remote`, inside which `outer`
/// was in force: its own ignore file, when either listing shows one, goes on top.
/// An ignore file that cannot be read is an error of the folder.
pub(crate) fn enter(
    exclusions: &Exclusions,
    outer: &Stack,
    dir: &RelPath,
    local: &[Entry],
    remote: &[Entry],
    readers: Readers<'_>,
) -> Result<Entered, RemoteError> {
    let has = |entries: &[Entry]| {
        entries
            .iter()
            .any(|e| e.name == IGNORE_FILE && e.stat.meta.kind == Kind::File)
    };
    let side = if has(local) {
        Some(readers.local)
    } else if has(remote) {
        readers.share
    } else {
        None
    };
    match side {
        Some(side) => load(exclusions, outer, dir, side),
        None => Ok(Entered {
            stack: outer.clone(),
            problems: Vec::new(),
        }),
    }
}

/// Enters the folder `dir` as [`enter`] does, looking for its ignore file by stat.
pub(crate) fn enter_by_stat(
    exclusions: &Exclusions,
    outer: &Stack,
    dir: &RelPath,
    readers: Readers<'_>,
) -> Result<Entered, RemoteError> {
    let path = ignore_path(dir)?;
    let is_file = |side: &dyn Remote| -> Result<bool, RemoteError> {
        Ok(side.stat(&path)?.is_some_and(|s| s.meta.kind == Kind::File))
    };
    let side = if is_file(readers.local)? {
        Some(readers.local)
    } else {
        match readers.share {
            Some(share) if is_file(share)? => Some(share),
            _ => None,
        }
    };
    match side {
        Some(side) => load(exclusions, outer, dir, side),
        None => Ok(Entered {
            stack: outer.clone(),
            problems: Vec::new(),
        }),
    }
}

fn ignore_path(dir: &RelPath) -> Result<RelPath, RemoteError> {
    dir.join(IGNORE_FILE)
        .map_err(|e| RemoteError::new(ErrorKind::NameNotAllowed, dir, e.to_string()))
}

/// Reads the ignore file of `dir` on `side` and puts its rules on `outer` (the
/// root's are merged with the patterns that hold everywhere).
fn load(
    exclusions: &Exclusions,
    outer: &Stack,
    dir: &RelPath,
    side: &dyn Remote,
) -> Result<Entered, RemoteError> {
    let path = ignore_path(dir)?;
    let mut text = Vec::new();
    side.open_read(&path)?
        .take(MAX_IGNORE_FILE_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| RemoteError::io(&path, e))?;
    if text.len() as u64 > MAX_IGNORE_FILE_BYTES {
        return Err(RemoteError::new(
            ErrorKind::Unsupported,
            &path,
            format!(
                "the ignore file is larger than {} KiB, so it is not read and its folder is left out of the sync",
                MAX_IGNORE_FILE_BYTES / 1024
            ),
        ));
    }
    if dir.is_root() {
        let (rules, problems) = exclusions.merged(Some((path, &text)));
        return Ok(Entered {
            stack: Stack::with_root(rules),
            problems,
        });
    }
    let (rules, problems) = Rules::parse(dir.clone(), Source::File(path), &text, false);
    Ok(Entered {
        stack: outer.with(Some(rules)),
        problems,
    })
}
