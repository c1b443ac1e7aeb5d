//! `offline rm PATH...`: deletes items with everything under them, ghosts included,
//! at the next sync (the engine's `Cache::remove_items`), and says what it did.

use crate::commands::{item_paths, open_here};
use crate::term::shown;
use crate::{EXIT_INCOMPLETE, EXIT_OK};
use anyhow::Result;
use serde_json::json;
use std::path::PathBuf;

/// `offline rm PATH... [--json]`.
pub fn remove(paths: &[PathBuf], as_json: bool) -> Result<u8> {
    let mut cache = open_here()?;
    let items = item_paths(&cache, paths)?;
    let report = cache.remove_items(&items)?;
    let escaped =
        |list: &[offline_core::RelPath]| list.iter().map(|p| p.escaped()).collect::<Vec<_>>();
    if as_json {
        println!(
            "{}",
            json!({
                "removed": escaped(&report.removed),
                "ghosts": escaped(&report.ghosts),
                "discarded": report.discarded.iter().map(|(p, d)| json!({"path": p.escaped(), "kept_in": d.display().to_string()})).collect::<Vec<_>>(),
                "failed": report.failed.iter().map(|(p, e)| json!({"path": p.escaped(), "error": e})).collect::<Vec<_>>(),
            })
        );
    } else {
        for path in &report.removed {
            println!("removed  {path}");
        }
        for path in &report.ghosts {
            println!("removed  {path}  (a ghost: deleted on the share at the next sync)");
        }
        for (path, dest) in &report.discarded {
            println!(
                "kept     {path}  (not synced: its bytes were moved to {})",
                shown(dest.display())
            );
        }
        for (path, err) in &report.failed {
            println!("failed   {path}: {}", shown(err));
        }
        println!(
            "{} items removed; the next sync deletes them on the share",
            report.removed.len() + report.ghosts.len() + report.discarded.len()
        );
    }
    Ok(if report.failed.is_empty() {
        EXIT_OK
    } else {
        EXIT_INCOMPLETE
    })
}
