//! `offline sync`: a dry run prints the plan; otherwise one sync, both ways or in the
//! direction asked, printed as it goes, then the evictions the cache limits call for.

use super::{item_paths, open_here, printer, report_evictions, sync_exit_code};
use crate::args::{DirectionArg, PolicyArg};
use crate::printer::print_plan;
use crate::term::shown;
use crate::{EXIT_INCOMPLETE, EXIT_OK};
use anyhow::Result;
use offline_core::{ConflictPolicy, SyncControl};
use offline_engine::PrepareOptions;
use std::path::PathBuf;

pub(super) fn control(policy: PolicyArg, direction: DirectionArg) -> SyncControl {
    let policy = match policy {
        PolicyArg::Log => ConflictPolicy::Log,
        PolicyArg::KeepLocal => ConflictPolicy::KeepLocal,
        PolicyArg::KeepRemote => ConflictPolicy::KeepRemote,
        PolicyArg::KeepLatest => ConflictPolicy::KeepLatest,
        PolicyArg::KeepAll => ConflictPolicy::KeepAll,
    };
    SyncControl {
        sync_in: direction != DirectionArg::ToServer,
        sync_out: direction != DirectionArg::ToClient,
        policy,
        ..SyncControl::default()
    }
}

pub(super) fn sync(
    paths: &[PathBuf],
    control: &SyncControl,
    dry_run: bool,
    force: bool,
    max_delete_percent: Option<u32>,
    as_json: bool,
) -> Result<u8> {
    let mut cache = open_here()?;
    let options = PrepareOptions {
        scope: item_paths(&cache, paths)?,
        force,
        max_delete_percent,
        ..PrepareOptions::default()
    };
    if dry_run {
        let share = cache.open_share()?;
        let prepared = cache.prepare(share.as_ref(), control, &options)?;
        let reports: Vec<_> = prepared
            .problems
            .iter()
            .chain(&prepared.skipped)
            .cloned()
            .collect();
        print_plan(&prepared.plan, &reports, as_json);
        let failed = !prepared.problems.is_empty();
        return Ok(if failed { EXIT_INCOMPLETE } else { EXIT_OK });
    }
    let mut sink = printer(as_json);
    let summary = cache.synchronize(control, &options, sink.as_mut())?;
    if let Some(recovery) = &summary.recovered {
        eprintln!("offline: note: {}", shown(recovery.describe()));
    }
    report_evictions(&cache.enforce_limits()?, as_json);
    Ok(sync_exit_code(&cache, &summary))
}
