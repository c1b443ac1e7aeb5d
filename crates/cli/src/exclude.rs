//! Exclusions on the command line: the `offline config` options that set them (and
//! what `offline config` lists), `offline check-ignore` (as `git check-ignore -v`),
//! and the excluded items `offline ls --filter excluded` and `offline status` show.

use crate::term::shown;
use crate::{EXIT_INCOMPLETE, EXIT_OK};
use anyhow::Result;
use clap::Args;
use offline_engine::exclude::{ExcludedItem, Reason, DEFAULT_PATTERNS};
use offline_engine::Cache;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The exclusion options of `offline config`.
#[derive(Debug, Args, Default)]
pub struct ExcludeArgs {
    /// Never sync what matches PATTERN, in this cache only (gitignore syntax, as in
    /// `.offlineignore`; `!PATTERN` includes again). Repeatable.
    #[arg(long, value_name = "PATTERN", allow_hyphen_values = true)]
    pub exclude: Vec<String>,
    /// Remove PATTERN from this cache's exclude patterns. Repeatable.
    #[arg(long, value_name = "PATTERN", allow_hyphen_values = true)]
    pub no_exclude: Vec<String>,
    /// Switch the built-in exclusion list off (editor swap and backup files, office
    /// lock files, OS litter).
    #[arg(long, conflicts_with = "default_excludes")]
    pub no_default_excludes: bool,
    /// Switch the built-in exclusion list back on.
    #[arg(long)]
    pub default_excludes: bool,
}

/// Applies the exclusion options of `offline config`.
pub fn apply(cache: &Cache, args: &ExcludeArgs) -> Result<()> {
    for pattern in &args.no_exclude {
        cache.remove_exclude(pattern)?;
    }
    for pattern in &args.exclude {
        cache.add_exclude(pattern)?;
    }
    if args.no_default_excludes {
        cache.set_default_excludes(false)?;
    }
    if args.default_excludes {
        cache.set_default_excludes(true)?;
    }
    Ok(())
}

/// The exclusion settings, for `offline config --json`.
pub fn config_json(cache: &Cache) -> Result<Value> {
    let settings = cache.exclude_settings()?;
    Ok(json!({
        "default_excludes": settings.defaults,
        "default_patterns": DEFAULT_PATTERNS,
        "patterns": settings.patterns,
    }))
}

/// Prints the exclusion settings (`offline config`).
pub fn print_config(cache: &Cache) -> Result<()> {
    let settings = cache.exclude_settings()?;
    let state = if settings.defaults {
        "on (--no-default-excludes turns them off)"
    } else {
        "off (--default-excludes turns them on)"
    };
    println!("default excludes:  {state}");
    println!("                   {}", DEFAULT_PATTERNS.join("  "));
    if settings.patterns.is_empty() {
        println!(
            "excludes:          none (add with --exclude PATTERN; or in .offlineignore files)"
        );
    } else {
        let list: Vec<String> = settings.patterns.iter().map(shown).collect();
        println!("excludes:          {}", list.join("  "));
    }
    Ok(())
}

/// `SOURCE:LINE:PATTERN`, as `git check-ignore -v` writes it.
fn origin(reason: &Reason) -> String {
    format!(
        "{}:{}:{}",
        reason.source.describe(),
        reason.line,
        reason.pattern
    )
}

fn reason_json(reason: &Reason) -> Value {
    json!({
        "excluded": reason.excluded,
        "source": reason.source.describe(),
        "line": reason.line,
        "pattern": reason.pattern,
    })
}

/// `offline check-ignore PATH...`: for each path a pattern decides about, the
/// pattern, its file and line, then the path (a `!pattern` that includes it again
/// is shown too). Exit 0 when a path is excluded, 1 when none is.
pub fn check_ignore(paths: &[PathBuf], as_json: bool) -> Result<u8> {
    let cache = Cache::open(Path::new("."))?;
    let mut any = false;
    for given in paths {
        let path = cache.item_path(given)?;
        let reason = cache.check_excluded(&path)?;
        any |= reason.as_ref().is_some_and(|r| r.excluded);
        if as_json {
            let mut line = json!({"path": path.escaped(), "excluded": false});
            if let Some(r) = &reason {
                line =
                    json!({"path": path.escaped(), "excluded": r.excluded, "by": reason_json(r)});
            }
            println!("{line}");
        } else if let Some(r) = &reason {
            println!("{}\t{path}", shown(origin(r)));
        }
    }
    Ok(if any { EXIT_OK } else { EXIT_INCOMPLETE })
}

/// The excluded items of `offline ls --filter excluded`.
pub fn print_excluded(items: &[ExcludedItem], as_json: bool) {
    for item in items {
        if as_json {
            println!(
                "{}",
                json!({
                    "path": item.path.escaped(),
                    "kind": item.kind.name(),
                    "excluded": true,
                    "by": reason_json(&item.reason),
                })
            );
        } else {
            println!(
                "E---- {:<7} {:>12} {}  ({})",
                item.kind.name(),
                "",
                item.path,
                shown(origin(&item.reason))
            );
        }
    }
}
