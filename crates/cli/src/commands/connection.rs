//! `offline disconnect` (work offline on purpose) and `offline reconnect` (check
//! the share and go online).

use super::open_here;
use crate::term::shown;
use crate::{EXIT_OK, EXIT_UNREACHABLE};
use anyhow::Result;

pub(super) fn disconnect() -> Result<u8> {
    let cache = open_here()?;
    cache.disconnect()?;
    println!(
        "working offline: syncs wait until `offline reconnect`; keep working in {}",
        shown(cache.root().display())
    );
    Ok(EXIT_OK)
}

pub(super) fn reconnect() -> Result<u8> {
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
