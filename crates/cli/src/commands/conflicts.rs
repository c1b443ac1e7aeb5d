//! `offline conflicts` (list them with both versions) and `offline resolve` (settle
//! one by a sync of that path under the chosen policy).

use super::sync::control;
use super::{open_here, printer, sync_exit_code};
use crate::args::{DirectionArg, KeepArg, PolicyArg};
use crate::{json, EXIT_INCOMPLETE, EXIT_OK, EXIT_UNREACHABLE};
use anyhow::{Context, Result};
use offline_engine::{conflict::utc_stamp, EngineError, PrepareOptions};
use serde_json::json;
use std::path::Path;

pub(super) fn conflicts(as_json: bool) -> Result<u8> {
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

pub(super) fn resolve(path: &Path, keep: KeepArg, as_json: bool) -> Result<u8> {
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
    let mut sink = printer(as_json);
    let summary = cache.synchronize(&control, &options, sink.as_mut())?;
    Ok(match sync_exit_code(&cache, &summary) {
        EXIT_UNREACHABLE => EXIT_UNREACHABLE,
        code if code == EXIT_OK => EXIT_OK,
        _ => EXIT_INCOMPLETE,
    })
}
