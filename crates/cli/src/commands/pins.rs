//! What the cache holds: `offline pin` and `unpin` (pins, filling the content),
//! `fetch` (content without a pin) and `evict` (drop clean copies, keep ghosts).

use super::{item_paths, open_here, printer, report_evictions, sync_exit_code};
use crate::args::SourceArg;
use crate::term::shown;
use crate::{EXIT_INCOMPLETE, EXIT_OK};
use anyhow::Result;
use offline_engine::UnpinOutcome;
use offline_store::PinSource;
use serde_json::json;
use std::path::PathBuf;

pub(super) fn pin_source(source: SourceArg) -> PinSource {
    match source {
        SourceArg::User => PinSource::User,
        SourceArg::AllUsers => PinSource::AllUsers,
        SourceArg::Policy => PinSource::Policy,
    }
}

pub(super) fn pin(paths: &[PathBuf], fill: bool, source: SourceArg, as_json: bool) -> Result<u8> {
    let mut cache = open_here()?;
    let items = item_paths(&cache, paths)?;
    let mut sink = printer(as_json);
    let summary = cache.pin(&items, pin_source(source), fill, sink.as_mut())?;
    match summary {
        Some(summary) => {
            report_evictions(&cache.enforce_limits()?, as_json);
            Ok(sync_exit_code(&cache, &summary))
        }
        None => {
            if !as_json {
                println!(
                    "pinned {} items; the next sync brings their content",
                    items.len()
                );
            }
            Ok(EXIT_OK)
        }
    }
}

pub(super) fn unpin(paths: &[PathBuf], source: SourceArg) -> Result<u8> {
    let mut cache = open_here()?;
    let items = item_paths(&cache, paths)?;
    let outcomes = cache.unpin(&items, pin_source(source))?;
    let mut code = EXIT_OK;
    for (path, outcome) in items.iter().zip(outcomes) {
        match outcome {
            UnpinOutcome::Unpinned => println!("unpinned {path}; its content stays until evicted"),
            UnpinOutcome::NotPinned => {
                eprintln!("offline: {path} has no {} pin", pin_source(source).name());
                code = EXIT_INCOMPLETE;
            }
            UnpinOutcome::PinnedAbove(above) => {
                eprintln!("offline: {path} stays pinned through the pin on {above}; unpin that folder instead");
                code = EXIT_INCOMPLETE;
            }
        }
    }
    Ok(code)
}

pub(super) fn fetch(paths: &[PathBuf], as_json: bool) -> Result<u8> {
    let mut cache = open_here()?;
    let items = item_paths(&cache, paths)?;
    let mut sink = printer(as_json);
    let summary = cache.fetch(&items, sink.as_mut())?;
    report_evictions(&cache.enforce_limits()?, as_json);
    Ok(sync_exit_code(&cache, &summary))
}

pub(super) fn evict(paths: &[PathBuf], discard_changes: bool, as_json: bool) -> Result<u8> {
    let mut cache = open_here()?;
    let items = item_paths(&cache, paths)?;
    let report = cache.evict(&items, discard_changes)?;
    if as_json {
        println!(
            "{}",
            json!({
                "evicted": report.evicted.iter().map(|p| p.escaped()).collect::<Vec<_>>(),
                "bytes": report.bytes,
                "kept_dirty": report.kept_dirty.iter().map(|p| p.escaped()).collect::<Vec<_>>(),
                "discarded": report.discarded.iter().map(|(p, d)| json!({"path": p.escaped(), "kept_in": d.display().to_string()})).collect::<Vec<_>>(),
                "failed": report.failed.iter().map(|(p, e)| json!({"path": p.escaped(), "error": e})).collect::<Vec<_>>(),
            })
        );
    } else {
        for path in &report.evicted {
            println!("evicted  {path}");
        }
        for path in &report.kept_dirty {
            println!("kept     {path}  (changed since the last sync; sync it first, or pass --discard-changes)");
        }
        for (path, dest) in &report.discarded {
            println!(
                "dropped  {path}  (its changed bytes were moved to {})",
                shown(dest.display())
            );
        }
        for (path, err) in &report.failed {
            println!("failed   {path}: {}", shown(err));
        }
        println!(
            "{} items evicted, {} bytes freed",
            report.evicted.len(),
            report.bytes
        );
    }
    let complete = report.failed.is_empty() && report.kept_dirty.is_empty();
    Ok(if complete { EXIT_OK } else { EXIT_INCOMPLETE })
}
