//! Item paths on an SMB share: `/`-separated cache paths to the `\`-separated
//! names the server takes, the names Windows refuses, and the comparison of a
//! name with the one the server answers (SMB servers usually ignore case).

use crate::error::{ErrorKind, RemoteError, Result};
use offline_core::RelPath;

/// Characters no Windows name may hold. `\` would split the name into folders on
/// the server and `:` would name an alternate data stream of another file, so a
/// name with any of them is refused before anything is sent.
const REFUSED_CHARS: &[char] = &['\\', ':', '*', '?', '"', '<', '>', '|'];

/// Names Windows reserves for devices, with or without an extension.
const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Why a name cannot go to an SMB share, in words for the person; `None` when it
/// can. Characters are refused here (they would change the meaning of the request);
/// reserved device names and trailing dots or spaces are only *described*, since
/// Samba stores them and Windows refuses them itself (see [`server_refused`]).
pub(crate) fn refused_chars(name: &str) -> Option<String> {
    if let Some(c) = name.chars().find(|c| REFUSED_CHARS.contains(c)) {
        return Some(format!(
            "SMB shares do not accept the character `{c}` in a name (nor any of \\ : * ? \" < > |)"
        ));
    }
    if name.chars().any(|c| (c as u32) < 0x20) {
        return Some("SMB shares do not accept control characters in a name".to_string());
    }
    None
}

/// Why the server may have refused `name` (for the message of a refused name).
pub(crate) fn windows_rule(name: &str) -> &'static str {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        "Windows reserves device names such as CON, PRN, AUX, NUL, COM1 and LPT1"
    } else if name.ends_with('.') || name.ends_with(' ') {
        "Windows does not accept a name that ends with a dot or a space"
    } else {
        "the server does not accept this name"
    }
}

/// The item's path as the server takes it: `root\a\b` (the share's folder, then the
/// item's names), checked name by name. The root item is the share's folder itself.
pub(crate) fn server_path(root: &str, path: &RelPath) -> Result<String> {
    let text = std::str::from_utf8(path.as_bytes()).map_err(|_| {
        RemoteError::new(
            ErrorKind::NameNotAllowed,
            path,
            "the name is not valid UTF-8, which an SMB share cannot store",
        )
    })?;
    let mut out = String::from(root);
    if text.is_empty() {
        return Ok(out);
    }
    for part in text.split('/') {
        if let Some(reason) = refused_chars(part) {
            return Err(RemoteError::new(ErrorKind::NameNotAllowed, path, reason));
        }
        if !out.is_empty() {
            out.push('\\');
        }
        out.push_str(part);
    }
    Ok(out)
}

/// The share's folder inside the share (`a/b` to `a\b`).
pub(crate) fn root_path(inner: &str) -> String {
    inner
        .split('/')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\\")
}

/// How the name the server answered compares with the one asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NameMatch {
    /// Exactly the same.
    Same,
    /// The same but for case: the server ignores case, and `0` is what is there.
    OtherCase(String),
}

/// Compares the path the server reports for an open item (`\root\a\b` or
/// `root\a\b`) with the one asked for.
pub(crate) fn compare(asked: &str, answered: &str) -> NameMatch {
    let answered = answered.trim_start_matches('\\');
    let asked = asked.trim_start_matches('\\');
    if answered == asked {
        NameMatch::Same
    } else {
        NameMatch::OtherCase(answered.to_string())
    }
}

/// The error for a name that clashes, by case only, with another item on the share.
pub(crate) fn case_clash(path: &RelPath, there: &str) -> RemoteError {
    let there = there.rsplit('\\').next().unwrap_or(there);
    RemoteError::new(
        ErrorKind::NameNotAllowed,
        path,
        format!(
            "the share ignores case in names and `{there}` is already there (the names differ only by case); rename one of them"
        ),
    )
}

/// The error for a name the server refused (`STATUS_OBJECT_NAME_INVALID`).
pub(crate) fn server_refused(path: &RelPath) -> RemoteError {
    let name = String::from_utf8_lossy(path.file_name());
    RemoteError::new(
        ErrorKind::NameNotAllowed,
        path,
        format!(
            "the SMB server refused the name `{name}`: {}",
            windows_rule(&name)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(text: &str) -> RelPath {
        RelPath::from_str_lossy(text).unwrap()
    }

    #[test]
    fn paths_become_backslashed_below_the_root() {
        assert_eq!(server_path("", &rel("a/b.txt")).unwrap(), "a\\b.txt");
        assert_eq!(server_path("team\\x", &rel("a")).unwrap(), "team\\x\\a");
        assert_eq!(server_path("team", &RelPath::root()).unwrap(), "team");
        assert_eq!(root_path("/team//x/"), "team\\x");
    }

    #[test]
    fn windows_characters_are_refused_before_sending() {
        for name in [
            "a\\b", "a:b", "what?", "x*", "q\"", "<", ">", "p|q", "tab\t",
        ] {
            let err = server_path("", &rel(&format!("dir/{name}"))).unwrap_err();
            assert_eq!(err.kind, ErrorKind::NameNotAllowed, "{name}");
        }
        let err = RelPath::new(b"bad\xff".to_vec())
            .map(|p| server_path("", &p).unwrap_err())
            .unwrap();
        assert!(err.message.contains("UTF-8"));
    }

    #[test]
    fn reserved_names_and_trailing_dots_are_explained() {
        assert!(windows_rule("con").contains("device"));
        assert!(windows_rule("NUL.txt").contains("device"));
        assert!(windows_rule("notes.").contains("dot"));
        assert!(windows_rule("space ").contains("space"));
        assert!(!windows_rule("console.txt").contains("device"));
    }

    #[test]
    fn answered_names_are_compared_exactly() {
        assert_eq!(compare("a\\b", "\\a\\b"), NameMatch::Same);
        assert_eq!(
            compare("a\\b", "\\A\\b"),
            NameMatch::OtherCase("A\\b".into())
        );
        let err = case_clash(&rel("docs/report.txt"), "docs\\Report.txt");
        assert!(err.message.contains("`Report.txt`"), "{}", err.message);
    }
}
