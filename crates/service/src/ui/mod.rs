//! The Sync Center: the daemon's own local web page (issue 15). It shows every cache
//! the daemon serves (connect state and reason, last good sync, what waits,
//! conflicts, space, what the daemon does and a running sync's progress, live by
//! Server-Sent Events from the events bus) and settles conflicts, pins, fetches,
//! evicts, syncs, disconnects and reconnects through the engine's `Cache` API, as
//! the CLI's commands do.
//!
//! One job per file: [`token`] (the login token file), `auth` (who may ask: Host,
//! token or cookie, Origin), `live` (the bus bridge: progress and recent results),
//! `view` (what a page shows, read from the caches), `pages` / `browse` /
//! `compare` (the HTML, by maud), `actions` (the POSTs), `server` (axum on a tokio
//! runtime of its own). Served only on loopback; see the README's "Sync Center".

use anyhow::{bail, Context, Result};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

#[cfg(feature = "ui")]
pub mod token;

#[cfg(feature = "ui")]
mod actions;
#[cfg(feature = "ui")]
mod auth;
#[cfg(feature = "ui")]
mod browse;
#[cfg(feature = "ui")]
mod compare;
#[cfg(feature = "ui")]
mod live;
#[cfg(feature = "ui")]
mod pages;
#[cfg(feature = "ui")]
mod server;
#[cfg(feature = "ui")]
mod view;

#[cfg(feature = "ui")]
pub use server::{Bound, UiServer};

/// Binds the page's address before the daemon's workers start (`None`: no page).
#[cfg(feature = "ui")]
pub fn bind(listen: Listen) -> Result<Option<Bound>> {
    Bound::bind(listen)
}

/// Without the `ui` feature there is no page: `--ui` is refused, the default is off.
#[cfg(not(feature = "ui"))]
pub fn bind(listen: Listen) -> Result<Option<Bound>> {
    match listen {
        Listen::At(_) => {
            bail!("this `offline` was built without the Sync Center (cargo feature `ui`)")
        }
        Listen::Off | Listen::Default => Ok(None),
    }
}

/// No page without the `ui` feature (never made).
#[cfg(not(feature = "ui"))]
pub enum Bound {}

#[cfg(not(feature = "ui"))]
impl Bound {
    /// Never called.
    pub fn url(&self) -> String {
        match *self {}
    }

    /// Never called.
    pub fn serve(
        self,
        _roots: Vec<std::path::PathBuf>,
        _bus: &crate::bus::Bus,
        _stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<UiServer> {
        match self {}
    }
}

/// No page without the `ui` feature (never made).
#[cfg(not(feature = "ui"))]
pub enum UiServer {}

#[cfg(not(feature = "ui"))]
impl UiServer {
    /// Never called.
    pub fn stop(self) {
        match self {}
    }
}

/// Where the page is served unless told otherwise.
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7531);

/// Whether and where `offline daemon` serves the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Listen {
    /// `--no-ui`.
    Off,
    /// No option: [`DEFAULT_ADDR`]; when that port is taken, the daemon runs
    /// without the page and says so.
    #[default]
    Default,
    /// `--ui ADDR`: there, or the daemon does not start.
    At(SocketAddr),
}

/// Reads `--ui ADDR`: `IP:PORT`, `[IPv6]:PORT`, `localhost:PORT` or `:PORT` (on
/// 127.0.0.1); port 0 takes a free one. Only loopback addresses are accepted: the
/// page is for the people of this machine, and plain HTTP must not leave it.
pub fn parse_listen(text: &str) -> Result<SocketAddr> {
    let text = text.trim();
    let addr = if let Some(port) = text.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .with_context(|| format!("`{text}` has no port number"))?;
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    } else if let Ok(addr) = text.parse::<SocketAddr>() {
        addr
    } else if let Some(port) = text.strip_prefix("localhost:") {
        let port: u16 = port
            .parse()
            .with_context(|| format!("`{text}` has no port number"))?;
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    } else {
        // A name other than localhost is refused below once resolved.
        text.to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .with_context(|| {
                format!("`{text}` is not an address to listen on (e.g. 127.0.0.1:7531)")
            })?
    };
    if !addr.ip().is_loopback() {
        bail!(
            "the Sync Center listens on loopback only (127.0.0.1 or [::1]), not on {}: \
             anyone on the network could reach it",
            addr.ip()
        );
    }
    Ok(addr)
}

/// The page's address as a URL (no token).
pub fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}/")
}

/// The URL that logs in: the base URL with the token.
pub fn login_url(base: &str, token: &str) -> String {
    format!("{}/?token={token}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_loopback_only() {
        assert_eq!(
            parse_listen("127.0.0.1:7531").unwrap(),
            "127.0.0.1:7531".parse().unwrap()
        );
        assert_eq!(parse_listen(":0").unwrap(), "127.0.0.1:0".parse().unwrap());
        assert_eq!(
            parse_listen("localhost:8080").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(parse_listen("[::1]:9").unwrap(), "[::1]:9".parse().unwrap());
        assert!(parse_listen("0.0.0.0:7531").is_err());
        assert!(parse_listen("192.168.1.4:7531").is_err());
        assert!(parse_listen("nonsense").is_err());
    }

    #[test]
    fn urls() {
        let base = base_url("127.0.0.1:7531".parse().unwrap());
        assert_eq!(base, "http://127.0.0.1:7531/");
        assert_eq!(login_url(&base, "ab"), "http://127.0.0.1:7531/?token=ab");
    }
}
