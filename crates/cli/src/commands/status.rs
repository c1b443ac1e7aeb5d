//! Reading the cache's state: `offline status` (connect state, what waits, space,
//! the daemon) and `offline ls` (items with their flags, filtered).

use super::open_here;
use crate::args::FilterArg;
use crate::term::shown;
use crate::EXIT_OK;
use anyhow::Result;
use offline_engine::{conflict::utc_stamp, ItemInfo};
use serde_json::json;
use std::path::Path;

pub(super) fn status(as_json: bool) -> Result<u8> {
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
                "mounts": crate::service::mounts_json(&cache),
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

pub(super) fn flags_of(item: &ItemInfo) -> String {
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

pub(super) fn matches_filter(item: &ItemInfo, filter: &[FilterArg]) -> bool {
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

pub(super) fn ls(
    path: Option<&Path>,
    as_json: bool,
    flat: bool,
    filter: &[FilterArg],
) -> Result<u8> {
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
