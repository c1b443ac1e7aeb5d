//! Relative item paths: raw bytes with `/` separators, ordered so that a folder
//! comes right before everything inside it.

use std::cmp::Ordering;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;

/// Why a byte string is not a valid relative path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The path starts with `/`.
    Absolute,
    /// The path has an empty component (`a//b`) or a trailing `/`.
    EmptyComponent,
    /// The path has a `.` or `..` component.
    DotComponent,
    /// The path contains a NUL byte.
    Nul,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            PathError::Absolute => "the path must be relative to the cache root",
            PathError::EmptyComponent => "the path has an empty component",
            PathError::DotComponent => "the path has a `.` or `..` component",
            PathError::Nul => "the path contains a NUL byte",
        };
        f.write_str(text)
    }
}

impl std::error::Error for PathError {}

/// The path of an item relative to the roots of both sides. The empty path is the root.
///
/// Names are bytes: they need not be UTF-8. The order compares component by
/// component, so `a` < `a/b` < `a.txt` and every folder is directly followed by
/// its descendants.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct RelPath(Vec<u8>);

impl RelPath {
    /// The root of the tree.
    pub fn root() -> RelPath {
        RelPath(Vec::new())
    }

    /// Checks and wraps a `/`-separated relative path.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<RelPath, PathError> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Ok(RelPath(bytes));
        }
        if bytes[0] == b'/' {
            return Err(PathError::Absolute);
        }
        if bytes.contains(&0) {
            return Err(PathError::Nul);
        }
        for part in bytes.split(|&b| b == b'/') {
            if part.is_empty() {
                return Err(PathError::EmptyComponent);
            }
            if part == b"." || part == b".." {
                return Err(PathError::DotComponent);
            }
        }
        Ok(RelPath(bytes))
    }

    /// Builds a path from a string; for tests and literals.
    pub fn from_str_lossy(text: &str) -> Result<RelPath, PathError> {
        RelPath::new(text.as_bytes().to_vec())
    }

    /// The child `name` of this path. `name` must be one valid component.
    pub fn join(&self, name: &[u8]) -> Result<RelPath, PathError> {
        crate::names::check_component(name)?;
        let mut bytes = self.0.clone();
        if !bytes.is_empty() {
            bytes.push(b'/');
        }
        bytes.extend_from_slice(name);
        Ok(RelPath(bytes))
    }

    /// The raw bytes of the path.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The path as an `OsStr` (for joining onto a root folder).
    pub fn as_os_str(&self) -> &OsStr {
        OsStr::from_bytes(&self.0)
    }

    /// True for the root path.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The parent path; `None` for the root.
    pub fn parent(&self) -> Option<RelPath> {
        if self.0.is_empty() {
            return None;
        }
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => Some(RelPath(self.0[..i].to_vec())),
            None => Some(RelPath::root()),
        }
    }

    /// The last component (empty for the root).
    pub fn file_name(&self) -> &[u8] {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => &self.0[i + 1..],
            None => &self.0,
        }
    }

    /// The number of components (0 for the root).
    pub fn depth(&self) -> usize {
        if self.0.is_empty() {
            0
        } else {
            self.0.iter().filter(|&&b| b == b'/').count() + 1
        }
    }

    /// The first component (empty for the root).
    pub fn first_component(&self) -> &[u8] {
        match self.0.iter().position(|&b| b == b'/') {
            Some(i) => &self.0[..i],
            None => &self.0,
        }
    }

    /// True when `self` is a strict ancestor of `other`.
    pub fn is_ancestor_of(&self, other: &RelPath) -> bool {
        if self.0.is_empty() {
            return !other.0.is_empty();
        }
        other.0.len() > self.0.len()
            && other.0.starts_with(&self.0)
            && other.0[self.0.len()] == b'/'
    }

    /// True when `self` is `other` or one of its ancestors.
    pub fn contains(&self, other: &RelPath) -> bool {
        self == other || self.is_ancestor_of(other)
    }

    /// The same path with its leaf renamed to `name`.
    pub fn with_file_name(&self, name: &[u8]) -> Result<RelPath, PathError> {
        match self.parent() {
            Some(parent) => parent.join(name),
            None => Err(PathError::EmptyComponent),
        }
    }

    /// A lossless text form: valid UTF-8 is kept, `\` is written `\\`, and every byte
    /// that is not part of valid UTF-8 is written `\xNN`. [`RelPath::unescape`] reverses it.
    pub fn escaped(&self) -> String {
        escape_bytes(&self.0)
    }

    /// Reverses [`RelPath::escaped`].
    pub fn unescape(text: &str) -> Result<RelPath, PathError> {
        RelPath::new(unescape_bytes(text).ok_or(PathError::EmptyComponent)?)
    }
}

/// Writes bytes as text losslessly (see [`RelPath::escaped`]).
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Reverses [`escape_bytes`]; `None` when an escape is malformed.
pub fn unescape_bytes(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'x') => {
                let hex = text.get(i + 2..i + 4)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 4;
            }
            _ => return None,
        }
    }
    Some(out)
}

impl Ord for RelPath {
    /// Byte order with `/` ranked lowest: the first differing byte decides, found by
    /// a plain (vectorised) comparison of the common prefix.
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.0, &other.0);
        let common = a.len().min(b.len());
        let at = a[..common]
            .iter()
            .zip(&b[..common])
            .position(|(x, y)| x != y);
        match at {
            Some(i) => {
                let rank = |c: u8| if c == b'/' { 0 } else { u16::from(c) + 1 };
                rank(a[i]).cmp(&rank(b[i]))
            }
            None => a.len().cmp(&b.len()),
        }
    }
}

impl PartialOrd for RelPath {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.escaped())
    }
}

/// For people: the lossless form of [`RelPath::escaped`] with control characters
/// made visible ([`crate::escape_terminal`]), so a name never acts on a terminal.
impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str(".")
        } else {
            f.write_str(&crate::escape_terminal(&self.escaped()))
        }
    }
}

/// The seed of the property tests (printed, replayable with `PROPTEST_RNG_SEED`).
#[cfg(test)]
#[path = "../tests/support/seed.rs"]
mod seed;

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RelPath {
        RelPath::from_str_lossy(s).expect("valid test path")
    }

    #[test]
    fn folders_sort_right_before_their_contents() {
        let mut v = vec![p("a.txt"), p("a/b"), p("a"), p("a/b/c"), p("a-b")];
        v.sort();
        assert_eq!(v, vec![p("a"), p("a/b"), p("a/b/c"), p("a-b"), p("a.txt")]);
    }

    use super::seed;

    proptest::proptest! {
        #![proptest_config(seed::config(256))]

        #[test]
        fn order_is_bytes_with_slash_lowest(
            a in proptest::collection::vec(proptest::sample::select(b"ab/.-".to_vec()), 0..8),
            b in proptest::collection::vec(proptest::sample::select(b"ab/.-".to_vec()), 0..8),
        ) {
            let naive = |v: &[u8]| v.iter().map(|&c| if c == b'/' { 0 } else { c }).collect::<Vec<u8>>();
            let expected = naive(&a).cmp(&naive(&b));
            proptest::prop_assert_eq!(RelPath(a).cmp(&RelPath(b)), expected);
        }
    }

    #[test]
    fn rejects_bad_paths() {
        assert_eq!(RelPath::new(b"/a".to_vec()), Err(PathError::Absolute));
        assert_eq!(
            RelPath::new(b"a//b".to_vec()),
            Err(PathError::EmptyComponent)
        );
        assert_eq!(
            RelPath::new(b"a/../b".to_vec()),
            Err(PathError::DotComponent)
        );
        assert_eq!(RelPath::new(b"a\0b".to_vec()), Err(PathError::Nul));
    }

    #[test]
    fn parents_names_and_ancestry() {
        assert_eq!(p("a/b/c").parent(), Some(p("a/b")));
        assert_eq!(p("a").parent(), Some(RelPath::root()));
        assert_eq!(RelPath::root().parent(), None);
        assert_eq!(p("a/b/c").file_name(), b"c");
        assert!(p("a").is_ancestor_of(&p("a/b")));
        assert!(!p("a").is_ancestor_of(&p("ab")));
        assert!(RelPath::root().is_ancestor_of(&p("x")));
        assert_eq!(p("a/b").depth(), 2);
    }

    #[test]
    fn display_makes_control_characters_visible() {
        let raw = RelPath::new(b"a\x1b[31m/b\nc\xff".to_vec()).expect("valid");
        assert_eq!(raw.to_string(), "a\\x1b[31m/b\\x0ac\\xff");
        assert_eq!(raw.escaped(), "a\x1b[31m/b\nc\\xff");
    }

    #[test]
    fn escaping_round_trips_non_utf8_and_backslashes() {
        let raw = RelPath::new(b"caf\xe9/back\\slash/\xff\xfe".to_vec()).expect("valid");
        let text = raw.escaped();
        assert_eq!(text, "caf\\xe9/back\\\\slash/\\xff\\xfe");
        assert_eq!(RelPath::unescape(&text), Ok(raw));
    }
}
