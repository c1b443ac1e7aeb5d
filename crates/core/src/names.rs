//! Names with a meaning of their own: the cache's metadata at the roots (never
//! synced), the temp files a sync makes (named with the cache's tag, so that one
//! cache's recovery never touches another's, nor a person's file), and the check
//! that a name from a listing can be an item at all.

use crate::path::PathError;

/// The name prefix of the temp files the engine writes on either side.
pub const TEMP_PREFIX: &[u8] = b".offline-tmp-";
/// The cache's own folder at the cache root; never synced.
pub const CACHE_DIR_NAME: &[u8] = b".offline";
/// The marker file `init` writes at the share root; never synced.
pub const SHARE_MARKER: &[u8] = b".offline-share";
/// Hex digits in a cache's temp tag and in the random part of a temp name.
pub const TAG_LEN: usize = 16;

/// True for the names that belong to the cache's metadata at the root of either
/// side: `.offline` and `.offline-share`. They are never synced in either
/// direction, never deleted on the other side.
pub fn is_reserved_root_name(name: &[u8]) -> bool {
    name == CACHE_DIR_NAME || name == SHARE_MARKER
}

/// The tag of one cache, written into the names of the temp files it makes:
/// `.offline-tmp-<tag>-<random>`, each part 16 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TempTag(String);

impl TempTag {
    /// A tag from its text; `None` unless it is 16 lowercase hex digits.
    pub fn parse(text: &str) -> Option<TempTag> {
        is_hex(text.as_bytes()).then(|| TempTag(text.to_string()))
    }

    /// The tag of a 64-bit number.
    pub fn from_u64(value: u64) -> TempTag {
        TempTag(format!("{value:016x}"))
    }

    /// The tag's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The temp name with this tag and the random part `random`.
    pub fn temp_name(&self, random: u64) -> Vec<u8> {
        let mut name = TEMP_PREFIX.to_vec();
        name.extend_from_slice(self.0.as_bytes());
        name.push(b'-');
        name.extend_from_slice(format!("{random:016x}").as_bytes());
        name
    }

    /// True when `name` is a temp name made with this tag.
    pub fn owns(&self, name: &[u8]) -> bool {
        temp_tag_of(name) == Some(self.0.as_bytes())
    }
}

/// True when `name` has exactly the form of a temp name made by a sync (of any
/// cache): `.offline-tmp-` and two groups of 16 lowercase hex digits joined by `-`.
/// A person's file that only starts with `.offline-tmp-` is an ordinary item.
pub fn is_temp_name(name: &[u8]) -> bool {
    temp_tag_of(name).is_some()
}

/// The tag in a temp name, if `name` is one.
fn temp_tag_of(name: &[u8]) -> Option<&[u8]> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    if rest.len() != 2 * TAG_LEN + 1 || rest[TAG_LEN] != b'-' {
        return None;
    }
    let (tag, random) = (&rest[..TAG_LEN], &rest[TAG_LEN + 1..]);
    (is_hex(tag) && is_hex(random)).then_some(tag)
}

fn is_hex(bytes: &[u8]) -> bool {
    bytes.len() == TAG_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// Checks that `name` can be one component of an item path: not empty, not `.`
/// or `..`, without `/` and NUL. A listing may hold anything a server sends.
pub fn check_component(name: &[u8]) -> Result<(), PathError> {
    if name.is_empty() || name.contains(&b'/') {
        return Err(PathError::EmptyComponent);
    }
    if name == b"." || name == b".." {
        return Err(PathError::DotComponent);
    }
    if name.contains(&0) {
        return Err(PathError::Nul);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_temp_names_are_temp_files() {
        let tag = TempTag::from_u64(0xabc);
        let name = tag.temp_name(7);
        assert_eq!(
            name,
            b".offline-tmp-0000000000000abc-0000000000000007".to_vec()
        );
        assert!(is_temp_name(&name));
        assert!(tag.owns(&name));
        assert!(!TempTag::from_u64(1).owns(&name));
        for person in [
            &b".offline-tmp-foo"[..],
            b".offline-tmp-1-deadbeef",
            b".offline-tmp-0000000000000abc-0000000000000007.txt",
            b".offline-tmp-0000000000000ABC-0000000000000007",
            b".offline-tmp-0000000000000abc_0000000000000007",
            b"x.offline-tmp-0000000000000abc-0000000000000007",
        ] {
            assert!(!is_temp_name(person), "{person:?}");
        }
        assert_eq!(TempTag::parse("0000000000000abc"), Some(tag));
        assert_eq!(TempTag::parse("abc"), None);
    }

    #[test]
    fn reserved_and_bad_names() {
        assert!(is_reserved_root_name(b".offline"));
        assert!(is_reserved_root_name(b".offline-share"));
        assert!(!is_reserved_root_name(b".offline2"));
        for bad in [&b""[..], b".", b"..", b"a/b", b"/", b"a\0b"] {
            assert!(check_component(bad).is_err(), "{bad:?}");
        }
        assert!(check_component(b"...").is_ok());
        assert!(check_component(b"a\x1bb").is_ok());
    }
}
