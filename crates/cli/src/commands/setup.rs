//! `offline init` (make a cache of a share) and `offline repair` (rebuild a missing
//! or damaged state database by a full compare).

use super::{open_here, printer, sync_exit_code};
use crate::term::shown;
use crate::EXIT_OK;
use anyhow::Result;
use offline_engine::{Cache, InitOptions};
use std::path::{Path, PathBuf};

pub(super) fn init(share: &std::ffi::OsStr, cache_dir: &Path, no_pin: bool) -> Result<u8> {
    let cache = Cache::init(share, cache_dir, InitOptions { pin_root: !no_pin })?;
    println!(
        "Initialized the cache {} for the share {}{}.",
        shown(cache.root().display()),
        shown(cache.share_location()),
        if no_pin { " (nothing pinned)" } else { "" }
    );
    println!("Run `offline sync` in it to copy the share.");
    Ok(EXIT_OK)
}

pub(super) fn repair(
    share: Option<PathBuf>,
    no_pin: bool,
    force: bool,
    as_json: bool,
) -> Result<u8> {
    let options = offline_engine::RepairOptions {
        share,
        pin_root: !no_pin,
        force,
    };
    let mut sink = printer(as_json);
    let repaired = Cache::repair(Path::new("."), &options, sink.as_mut())?;
    let Some(summary) = &repaired.summary else {
        eprintln!(
            "offline: the state database of {} is sound; nothing to repair (`offline repair --force` rebuilds it anyway)",
            shown(repaired.root.display())
        );
        return Ok(EXIT_OK);
    };
    match &repaired.moved_to {
        Some(moved) => eprintln!(
            "offline: the damaged state database was kept as {}",
            shown(moved.display())
        ),
        None => eprintln!("offline: there was no state database; a new one was made"),
    }
    eprintln!(
        "offline: rebuilt the state database against the share {} by a full compare",
        shown(&repaired.share)
    );
    if summary.conflicts > 0 {
        eprintln!(
            "offline: {} items differ between the cache and the share; both copies were kept untouched: see `offline conflicts` and settle each with `offline resolve`",
            summary.conflicts
        );
    }
    let cache = open_here()?;
    Ok(sync_exit_code(&cache, summary))
}
