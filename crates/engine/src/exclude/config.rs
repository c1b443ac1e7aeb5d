//! The cache's own exclusion settings, kept in the state database (they stay
//! local, unlike `.offlineignore` files): its patterns (`offline config --exclude`,
//! `--no-exclude`) and whether the built-in list is on (`--no-default-excludes`,
//! `--default-excludes`).

use super::{check_not_everything, Exclusions};
use crate::cache::Cache;
use crate::error::{EngineError, Result};
use ignore::gitignore::GitignoreBuilder;

/// Settings keys.
mod keys {
    /// The cache's patterns: a JSON array of strings.
    pub const PATTERNS: &str = "exclude.patterns";
    /// `off` when the built-in list is switched off.
    pub const DEFAULTS: &str = "exclude.defaults";
}

/// The cache's exclusion settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExcludeSettings {
    /// The built-in list is in force.
    pub defaults: bool,
    /// The cache's own patterns, in order.
    pub patterns: Vec<String>,
}

impl Cache {
    /// The cache's exclusion settings.
    pub fn exclude_settings(&self) -> Result<ExcludeSettings> {
        let defaults = self.store.setting(keys::DEFAULTS)?.as_deref() != Some("off");
        let patterns = match self.store.setting(keys::PATTERNS)? {
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                EngineError::Usage(format!(
                    "the cache's exclude patterns cannot be read ({e}); set them again with `offline config --exclude`"
                ))
            })?,
            None => Vec::new(),
        };
        Ok(ExcludeSettings { defaults, patterns })
    }

    /// The patterns in force everywhere in this cache (the built-in list when on, and
    /// the cache's own).
    pub fn exclusions(&self) -> Result<Exclusions> {
        let settings = self.exclude_settings()?;
        Ok(Exclusions::new(settings.defaults, &settings.patterns))
    }

    /// Adds a pattern of the cache's own (gitignore syntax; `!pattern` includes
    /// again). Refused: a line that is no pattern, and one that would exclude
    /// everything. Adding a pattern already there changes nothing.
    pub fn add_exclude(&self, pattern: &str) -> Result<()> {
        check_pattern(pattern)?;
        let mut settings = self.exclude_settings()?;
        if !settings.patterns.iter().any(|p| p == pattern) {
            settings.patterns.push(pattern.to_string());
            self.write_patterns(&settings.patterns)?;
        }
        Ok(())
    }

    /// Removes a pattern of the cache's own; an error when it is not there.
    pub fn remove_exclude(&self, pattern: &str) -> Result<()> {
        let mut settings = self.exclude_settings()?;
        let before = settings.patterns.len();
        settings.patterns.retain(|p| p != pattern);
        if settings.patterns.len() == before {
            return Err(EngineError::Usage(format!(
                "`{pattern}` is not one of this cache's exclude patterns (see `offline config`)"
            )));
        }
        self.write_patterns(&settings.patterns)
    }

    /// Switches the built-in list on or off.
    pub fn set_default_excludes(&self, on: bool) -> Result<()> {
        self.store
            .set_setting(keys::DEFAULTS, if on { "on" } else { "off" })?;
        Ok(())
    }

    fn write_patterns(&self, patterns: &[String]) -> Result<()> {
        let json =
            serde_json::to_string(patterns).map_err(|e| EngineError::Usage(e.to_string()))?;
        self.store.set_setting(keys::PATTERNS, &json)?;
        Ok(())
    }
}

/// A pattern of the cache's own must be one line that is a pattern (not blank, not a
/// comment), and must not exclude everything.
fn check_pattern(pattern: &str) -> Result<()> {
    let refuse = |why: &str| Err(EngineError::Usage(format!("`{pattern}`: {why}")));
    if pattern.contains(['\n', '\r', '\0']) {
        return refuse("a pattern is one line");
    }
    if pattern.trim().is_empty() {
        return refuse("the pattern is empty");
    }
    if pattern.starts_with('#') {
        return refuse(
            "a line starting with # is a comment; write \\# for a name that starts with #",
        );
    }
    check_not_everything(pattern).map_err(EngineError::Usage)?;
    let mut builder = GitignoreBuilder::new(".");
    if let Err(e) = builder.add_line(None, pattern) {
        return Err(EngineError::Usage(format!(
            "`{pattern}` is not a pattern: {e}"
        )));
    }
    Ok(())
}
