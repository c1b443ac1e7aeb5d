//! The commands: `run` sends each to its family's file, and the helpers they share
//! live here (the cache of the working folder, item paths, the printer of sync-like
//! commands, the exit status of a sync, the evictions the cache limits made).
//!
//! - `setup.rs`: `init`, `repair` (making and rebuilding a cache)
//! - `sync.rs`: `sync`
//! - `pins.rs`: `pin`, `unpin`, `fetch`, `evict` (what the cache holds)
//! - `connection.rs`: `disconnect`, `reconnect`
//! - `config.rs`: `config`
//! - `status.rs`: `status`, `ls` (reading the cache's state)
//! - `conflicts.rs`: `conflicts`, `resolve`

mod config;
mod conflicts;
mod connection;
mod pins;
mod setup;
mod status;
mod sync;

use config::config;
use conflicts::{conflicts, resolve};
use connection::{disconnect, reconnect};
use pins::{evict, fetch, pin, unpin};
use setup::{init, repair};
use status::{ls, status};
use sync::{control, sync};

use crate::args::Command;
use crate::printer::{JsonPrinter, TablePrinter};
use crate::{EXIT_INCOMPLETE, EXIT_OK, EXIT_UNREACHABLE};
use anyhow::Result;
use offline_core::RelPath;
use offline_engine::{Cache, EvictReport, SyncSink, SyncSummary};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Runs one command; the exit status on success.
pub fn run(command: Command) -> Result<u8> {
    match command {
        Command::Daemon(args) => crate::service::daemon(args),
        Command::Events(args) => crate::service::events(args),
        Command::Mount(args) => crate::service::mount(args),
        Command::Ui(args) => crate::ui::ui(args),
        Command::Completions(args) => crate::extras::completions(args),
        Command::Man(args) => crate::extras::man(args),
        Command::Init {
            share,
            cache_dir,
            no_pin,
        } => init(&share, &cache_dir, no_pin),
        Command::Sync {
            paths,
            policy,
            dry_run,
            direction,
            force,
            max_delete,
            json,
        } => {
            let control = control(policy, direction);
            sync(&paths, &control, dry_run, force, max_delete, json)
        }
        Command::Status { json } => status(json),
        Command::Ls {
            path,
            json,
            flat,
            filter,
        } => ls(path.as_deref(), json, flat, &filter),
        Command::Pin {
            paths,
            no_fill,
            source,
            json,
        } => pin(&paths, !no_fill, source, json),
        Command::Unpin { paths, source } => unpin(&paths, source),
        Command::Fetch { paths, json } => fetch(&paths, json),
        Command::Evict {
            paths,
            discard_changes,
            json,
        } => evict(&paths, discard_changes, json),
        Command::Disconnect => disconnect(),
        Command::Reconnect => reconnect(),
        Command::Config {
            limit,
            auto_cache_limit,
            transfers,
            json,
            service,
            exclude,
        } => config(limit, auto_cache_limit, transfers, json, &service, &exclude),
        Command::CheckIgnore { paths, json, .. } => crate::exclude::check_ignore(&paths, json),
        Command::Conflicts { json } => conflicts(json),
        Command::Resolve { path, keep, json } => resolve(&path, keep, json),
        Command::Repair {
            share,
            no_pin,
            force,
            json,
        } => repair(share, no_pin, force, json),
    }
}

fn open_here() -> Result<Cache> {
    Ok(Cache::open(Path::new("."))?)
}

fn item_paths(cache: &Cache, paths: &[PathBuf]) -> Result<Vec<RelPath>> {
    paths
        .iter()
        .map(|p| cache.item_path(p).map_err(anyhow::Error::from))
        .collect()
}

/// A printer for sync-like commands.
fn printer(as_json: bool) -> Box<dyn SyncSink> {
    if as_json {
        Box::new(JsonPrinter)
    } else {
        Box::new(TablePrinter::new())
    }
}

fn report_evictions(report: &EvictReport, as_json: bool) {
    if report.evicted.is_empty() {
        return;
    }
    if as_json {
        println!(
            "{}",
            json!({"evicted": report.evicted.iter().map(|p| p.escaped()).collect::<Vec<_>>(), "bytes": report.bytes})
        );
    } else {
        println!(
            "evicted {} auto-cached items ({} bytes) to stay within the cache limits",
            report.evicted.len(),
            report.bytes
        );
    }
}

fn sync_exit_code(cache: &Cache, summary: &SyncSummary) -> u8 {
    let offline = matches!(
        cache.connect_state(),
        Ok((offline_core::ConnectState::Offline, _))
    );
    if summary.stopped.is_some() && offline {
        EXIT_UNREACHABLE
    } else if summary.is_clean() {
        EXIT_OK
    } else {
        EXIT_INCOMPLETE
    }
}
