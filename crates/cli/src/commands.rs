//! One function per command: each calls the Cache API and prints the outcome.

use crate::args::{Command, DirectionArg, FilterArg, KeepArg, PolicyArg, SourceArg};
use crate::printer::{print_plan, JsonPrinter, TablePrinter};
use crate::term::shown;
use crate::{json, EXIT_INCOMPLETE, EXIT_OK, EXIT_UNREACHABLE};
use anyhow::{Context, Result};
use offline_core::{ConflictPolicy, RelPath, SyncControl};
use offline_engine::{
    conflict::utc_stamp, Cache, EngineError, EvictReport, InitOptions, ItemInfo, PrepareOptions,
    SyncSink, SyncSummary, UnpinOutcome,
};
use offline_store::PinSource;
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

fn init(share: &std::ffi::OsStr, cache_dir: &Path, no_pin: bool) -> Result<u8> {
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

fn control(policy: PolicyArg, direction: DirectionArg) -> SyncControl {
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

fn item_paths(cache: &Cache, paths: &[PathBuf]) -> Result<Vec<RelPath>> {
    paths
        .iter()
        .map(|p| cache.item_path(p).map_err(anyhow::Error::from))
        .collect()
}

fn sync(
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
    let mut table = TablePrinter::new();
    let mut json_printer = JsonPrinter;
    let sink: &mut dyn SyncSink = if as_json {
        &mut json_printer
    } else {
        &mut table
    };
    let summary = cache.synchronize(control, &options, sink)?;
    if let Some(recovery) = &summary.recovered {
        eprintln!("offline: note: {}", shown(recovery.describe()));
    }
    report_evictions(&cache.enforce_limits()?, as_json);
    Ok(sync_exit_code(&cache, &summary))
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

fn pin_source(source: SourceArg) -> PinSource {
    match source {
        SourceArg::User => PinSource::User,
        SourceArg::AllUsers => PinSource::AllUsers,
        SourceArg::Policy => PinSource::Policy,
    }
}

fn pin(paths: &[PathBuf], fill: bool, source: SourceArg, as_json: bool) -> Result<u8> {
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

fn unpin(paths: &[PathBuf], source: SourceArg) -> Result<u8> {
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

fn fetch(paths: &[PathBuf], as_json: bool) -> Result<u8> {
    let mut cache = open_here()?;
    let items = item_paths(&cache, paths)?;
    let mut sink = printer(as_json);
    let summary = cache.fetch(&items, sink.as_mut())?;
    report_evictions(&cache.enforce_limits()?, as_json);
    Ok(sync_exit_code(&cache, &summary))
}

fn evict(paths: &[PathBuf], discard_changes: bool, as_json: bool) -> Result<u8> {
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

fn disconnect() -> Result<u8> {
    let cache = open_here()?;
    cache.disconnect()?;
    println!(
        "working offline: syncs wait until `offline reconnect`; keep working in {}",
        shown(cache.root().display())
    );
    Ok(EXIT_OK)
}

fn reconnect() -> Result<u8> {
    let cache = open_here()?;
    cache.reconnect()?;
    let (state, reason) = cache.connect_state()?;
    if state == offline_core::ConnectState::Online {
        println!("online: run `offline sync` to send what waits");
        Ok(EXIT_OK)
    } else {
        eprintln!(
            "offline: the share {} cannot be reached ({}); the next sync that reaches it goes online",
            shown(cache.share_location()),
            reason.name()
        );
        Ok(EXIT_UNREACHABLE)
    }
}

fn config(
    limit: Option<u64>,
    auto_limit: Option<u64>,
    transfers: Option<u16>,
    as_json: bool,
    service: &crate::service::ConfigArgs,
    exclude: &crate::exclude::ExcludeArgs,
) -> Result<u8> {
    let cache = open_here()?;
    crate::exclude::apply(&cache, exclude)?;
    cache.set_limits(limit, auto_limit)?;
    if let Some(n) = transfers {
        cache.set_transfers(usize::from(n))?;
    }
    crate::service::apply_config(&cache, service)?;
    let space = cache.space_use()?;
    let transfers = cache.transfers()?;
    if as_json {
        println!(
            "{}",
            json!({"limit": space.limit, "auto_cache_limit": space.auto_limit, "used": space.used, "auto_used": space.auto_used, "transfers": transfers, "daemon": crate::service::config_json(&cache), "exclude": crate::exclude::config_json(&cache)?})
        );
    } else {
        let show = |n: u64| {
            if n == 0 {
                "none".to_string()
            } else {
                format!("{n} bytes")
            }
        };
        println!("cache limit:       {}", show(space.limit));
        println!("auto-cache limit:  {}", show(space.auto_limit));
        println!(
            "used:              {} bytes ({} auto-cached)",
            space.used, space.auto_used
        );
        println!("transfers:         {transfers} at once");
        crate::service::print_config(&cache);
        crate::exclude::print_config(&cache)?;
    }
    Ok(EXIT_OK)
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

fn status(as_json: bool) -> Result<u8> {
    let cache = open_here()?;
    let s = cache.status()?;
    if as_json {
        println!(
            "{}",
            json!({
                "cache": cache.root().display().to_string(),
                "share": s.share,
                "connect_state": s.connect_state.name(),
                "offline_reason": s.offline_reason.name(),
                "known_items": s.known_items,
                "dirty_items": s.dirty_items,
                "dirty_bytes": s.dirty_bytes,
                "ghost_items": s.ghost_items,
                "conflicts": s.conflicts,
                "pins": s.pins,
                "last_good_sync_ns": s.last_good_sync_ns,
                "seconds_since_last_good_sync": s.last_good_sync_ns.map(|ns| (offline_engine::cache::now_ns() - ns) / 1_000_000_000),
                "interrupted": s.interrupted,
                "sparse_items": s.sparse_items,
                "excluded_items": s.excluded_items,
                "daemon": crate::service::status_json(&cache),
                "space": {"used": s.space.used, "auto_used": s.space.auto_used, "limit": s.space.limit, "auto_cache_limit": s.space.auto_limit},
            })
        );
        return Ok(EXIT_OK);
    }
    println!("cache:        {}", shown(cache.root().display()));
    println!("share:        {}", shown(&s.share));
    let reason = match s.connect_state {
        offline_core::ConnectState::Offline => format!(" ({})", s.offline_reason.name()),
        _ => String::new(),
    };
    println!("state:        {}{reason}", s.connect_state.name());
    println!("known items:  {}", s.known_items);
    println!(
        "waiting:      {} changed items, {} bytes",
        s.dirty_items, s.dirty_bytes
    );
    println!(
        "ghosts:       {} ({} pinned, waiting for content)",
        s.ghost_items, s.sparse_items
    );
    println!("pins:         {}", s.pins);
    println!(
        "space:        {} bytes cached ({} auto-cached){}",
        s.space.used,
        s.space.auto_used,
        if s.space.limit > 0 {
            format!(", limit {} bytes", s.space.limit)
        } else {
            String::new()
        }
    );
    println!("conflicts:    {}", s.conflicts);
    if s.excluded_items > 0 {
        println!(
            "excluded:     {} items in the cache folder never sync (`offline ls --flat --filter excluded`)",
            s.excluded_items
        );
    }
    match s.last_good_sync_ns {
        Some(ns) => {
            let ago = (offline_engine::cache::now_ns() - ns) / 1_000_000_000;
            println!("last sync:    {} ({ago} s ago)", utc_stamp(ns));
        }
        None => println!("last sync:    never"),
    }
    crate::service::print_status(&cache);
    if s.interrupted {
        println!("note:         the last sync was interrupted; the next one finishes it");
    }
    Ok(EXIT_OK)
}

fn flags_of(item: &ItemInfo) -> String {
    let mut f = String::new();
    f.push(if item.pinned {
        'P'
    } else if item.auto_cached {
        'A'
    } else {
        '-'
    });
    f.push(if item.sparse {
        'S'
    } else if item.ghost {
        'G'
    } else {
        '-'
    });
    f.push(if item.dirty { 'D' } else { '-' });
    f.push(if item.deleted { 'X' } else { '-' });
    f.push(if item.conflict { 'C' } else { '-' });
    f
}

fn matches_filter(item: &ItemInfo, filter: &[FilterArg]) -> bool {
    filter.is_empty()
        || filter.iter().any(|f| match f {
            FilterArg::Dirty => item.dirty,
            FilterArg::Pinned => item.pinned,
            FilterArg::Ghost => item.ghost,
            FilterArg::Sparse => item.sparse,
            FilterArg::Conflict => item.conflict,
            FilterArg::Excluded => false,
        })
}

fn ls(path: Option<&Path>, as_json: bool, flat: bool, filter: &[FilterArg]) -> Result<u8> {
    let cache = open_here()?;
    let dir = cache.item_path(path.unwrap_or(Path::new(".")))?;
    let (state, reason) = cache.connect_state()?;
    let (items, excluded) = cache.items_and_excluded(&dir, flat)?;
    let only_excluded = filter.iter().all(|f| *f == FilterArg::Excluded) && !filter.is_empty();
    for item in items {
        if only_excluded || !matches_filter(&item, filter) {
            continue;
        }
        if as_json {
            println!(
                "{}",
                json!({
                    "path": item.path.escaped(),
                    "kind": item.meta.kind.name(),
                    "size": item.meta.size,
                    "mtime_ns": item.meta.mtime_ns,
                    "pinned": item.pinned,
                    "pinned_by": item.pinned_by.iter().map(|s| s.name()).collect::<Vec<_>>(),
                    "auto_cached": item.auto_cached,
                    "ghost": item.ghost,
                    "sparse": item.sparse,
                    "dirty": item.dirty,
                    "deleted": item.deleted,
                    "conflict": item.conflict,
                    "connect_state": state.name(),
                    "offline_reason": reason.name(),
                })
            );
        } else {
            println!(
                "{} {:<7} {:>12} {}",
                flags_of(&item),
                item.meta.kind.name(),
                item.meta.size,
                item.path
            );
        }
    }
    if filter.contains(&FilterArg::Excluded) {
        crate::exclude::print_excluded(&excluded, as_json);
    }
    Ok(EXIT_OK)
}

fn conflicts(as_json: bool) -> Result<u8> {
    let cache = open_here()?;
    let records = cache.store().conflicts().context("reading the conflicts")?;
    for c in &records {
        if as_json {
            println!(
                "{}",
                json!({
                    "path": c.path.escaped(),
                    "state": c.state.name(),
                    "state_code": c.state.code(),
                    "detected_ns": c.detected_ns,
                    "local": json::meta(c.local.as_ref()),
                    "remote": json::meta(c.remote.as_ref()),
                    "original": json::meta(c.original.as_ref()),
                })
            );
        } else {
            let describe = |m: Option<&offline_core::Meta>| match m {
                Some(m) => format!(
                    "{} {} bytes, modified {}",
                    m.kind,
                    m.size,
                    utc_stamp(m.mtime_ns)
                ),
                None => "absent".to_string(),
            };
            println!(
                "{}  ({}, found {})",
                c.path,
                c.state.name(),
                utc_stamp(c.detected_ns)
            );
            println!("    cache: {}", describe(c.local.as_ref()));
            println!("    share: {}", describe(c.remote.as_ref()));
        }
    }
    if !as_json {
        if records.is_empty() {
            println!("no conflicts");
        } else {
            println!(
                "{} conflicts; settle one with `offline resolve PATH --keep local|remote|latest|all`",
                records.len()
            );
        }
    }
    Ok(EXIT_OK)
}

fn resolve(path: &Path, keep: KeepArg, as_json: bool) -> Result<u8> {
    let mut cache = open_here()?;
    let item = cache.item_path(path)?;
    if cache.store().conflict(&item)?.is_none() {
        return Err(EngineError::Usage(format!(
            "{} is not in conflict (see `offline conflicts`)",
            path.display()
        ))
        .into());
    }
    let policy = match keep {
        KeepArg::Local => PolicyArg::KeepLocal,
        KeepArg::Remote => PolicyArg::KeepRemote,
        KeepArg::Latest => PolicyArg::KeepLatest,
        KeepArg::All => PolicyArg::KeepAll,
    };
    let control = control(policy, DirectionArg::Both);
    let options = PrepareOptions {
        scope: vec![item],
        force: true,
        ..PrepareOptions::default()
    };
    let mut table = TablePrinter::new();
    let mut json_printer = JsonPrinter;
    let sink: &mut dyn SyncSink = if as_json {
        &mut json_printer
    } else {
        &mut table
    };
    let summary = cache.synchronize(&control, &options, sink)?;
    Ok(match sync_exit_code(&cache, &summary) {
        EXIT_UNREACHABLE => EXIT_UNREACHABLE,
        code if code == EXIT_OK => EXIT_OK,
        _ => EXIT_INCOMPLETE,
    })
}

fn repair(share: Option<PathBuf>, no_pin: bool, force: bool, as_json: bool) -> Result<u8> {
    let options = offline_engine::RepairOptions {
        share,
        pin_root: !no_pin,
        force,
    };
    let mut table = TablePrinter::new();
    let mut json_printer = JsonPrinter;
    let sink: &mut dyn SyncSink = if as_json {
        &mut json_printer
    } else {
        &mut table
    };
    let repaired = Cache::repair(Path::new("."), &options, sink)?;
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
