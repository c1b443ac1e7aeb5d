//! `offline config`: the cache's limits, transfers, the daemon's settings and the
//! exclusions; prints them after any change.

use super::open_here;
use crate::EXIT_OK;
use anyhow::Result;
use serde_json::json;

pub(super) fn config(
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
