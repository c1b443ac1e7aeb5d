//! The built-in exclusion list: files nobody means to share, which programs leave
//! beside a person's documents. Shown by `offline config`; switched off per cache
//! with `offline config --no-default-excludes`, or one by one with a `!pattern`.

/// The built-in patterns (gitignore syntax), in the order `offline config` shows.
pub const DEFAULT_PATTERNS: &[&str] = &[
    // Editor swap, backup and lock files: vim, Emacs, and `name~` backups.
    ".*.sw[a-p]",
    "*~",
    ".#*",
    "\\#*#",
    // Office lock files: Microsoft Office, LibreOffice.
    "~$*",
    ".~lock.*#",
    // Operating-system litter: macOS, Windows, the freedesktop trash.
    ".DS_Store",
    "._.DS_Store",
    "[Tt]humbs.db",
    "ehthumbs.db",
    "[Dd]esktop.ini",
    ".Trash-*/",
    // This program's own temp files (never listed anyway).
    ".offline-tmp-????????????????-????????????????",
];
