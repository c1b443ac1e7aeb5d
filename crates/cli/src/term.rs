//! Text for people on a terminal. Names, paths and messages may come from a share
//! or from other people: every printer writes them through [`shown`], which makes
//! control characters visible (`offline_core::escape_terminal`, the one escaping
//! function; item paths apply it in their own `Display`).

use std::fmt::Display;

/// `value` as text that cannot act on a terminal (no raw ESC, newline, ...).
pub fn shown(value: impl Display) -> String {
    offline_core::escape_terminal(&value.to_string()).into_owned()
}
