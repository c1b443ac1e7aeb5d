//! Text for a terminal. Names come from shares and from other people: a name
//! holding ESC could change colours or the window title, one holding a newline could
//! print fake result lines. Every printer for people writes untrusted text through
//! [`escape_terminal`]; item paths do it in their `Display`.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character (C0, DEL, C1) and every character that
/// reorders or breaks lines (bidirectional overrides and isolates, line and paragraph
/// separators) written as a visible escape: `\x1b`, `\x0a`, `\u{202e}`. Other text,
/// backslashes included, is kept as it is.
pub fn escape_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_escapes() {
        assert_eq!(
            escape_terminal("a\x1b]0;pwned\x07b\nok\r\u{9b}"),
            "a\\x1b]0;pwned\\x07b\\x0aok\\x0d\\u{9b}"
        );
        assert_eq!(escape_terminal("x\u{202e}txt.exe"), "x\\u{202e}txt.exe");
        assert_eq!(escape_terminal("tab\there"), "tab\\x09here");
        assert!(matches!(escape_terminal("plain é \\ ok"), Cow::Borrowed(_)));
    }
}
