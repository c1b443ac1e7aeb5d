//! `offline ui`: prints the Sync Center's login address (the page's URL with its
//! token) on one line, and with `--open` opens it with `xdg-open`. The address comes
//! from the `daemon.json` of a cache a running daemon serves (the cache here, else
//! those listed in `$XDG_CONFIG_HOME/offline-files/caches`); the token from the token
//! file the daemon made.

use crate::EXIT_OK;
use anyhow::{Context, Result};
use clap::Args;
use offline_engine::Cache;
use offline_service::{daemon, status};
use std::path::{Path, PathBuf};

/// `offline ui`.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Also open the page in the desktop's browser (xdg-open).
    #[arg(long)]
    pub open: bool,
}

/// The page's address recorded by the daemon serving the cache at `dir`.
fn served_at(dir: &Path) -> Option<String> {
    let cache = Cache::open(dir).ok()?;
    let found = status::read(&cache.meta_dir())?;
    found.running.then_some(found.status.ui).flatten()
}

/// The page's address (no token): the cache here first, then the listed caches.
fn find_url() -> Option<String> {
    let mut places: Vec<PathBuf> = vec![PathBuf::from(".")];
    places.extend(daemon::listed_caches());
    places.iter().find_map(|p| served_at(p))
}

/// The login token the daemon made.
#[cfg(feature = "ui")]
fn token() -> Result<String> {
    offline_service::ui::token::read_token().map_err(crate::service::usage)
}

#[cfg(not(feature = "ui"))]
fn token() -> Result<String> {
    Err(crate::service::usage(anyhow::anyhow!(
        "this `offline` was built without the Sync Center (cargo feature `ui`)"
    )))
}

/// `offline ui`.
pub fn ui(args: UiArgs) -> Result<u8> {
    let base = find_url().ok_or_else(|| {
        crate::service::usage(anyhow::anyhow!(
            "no running offline daemon serves the Sync Center for this cache or the caches listed in {}; start one with `offline daemon`",
            daemon::caches_file()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "$XDG_CONFIG_HOME/offline-files/caches".into())
        ))
    })?;
    let url = offline_service::ui::login_url(&base, &token()?);
    println!("{url}");
    if args.open {
        let status = std::process::Command::new("xdg-open")
            .arg(&url)
            .stdin(std::process::Stdio::null())
            .status()
            .context("running xdg-open (open the address above in a browser yourself)")?;
        if !status.success() {
            anyhow::bail!(
                "xdg-open failed ({status}); open the address above in a browser yourself"
            );
        }
    }
    Ok(EXIT_OK)
}
