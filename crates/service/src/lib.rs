//! The Offline Files service (reference §4.3, §5.1–5.2): what keeps caches in sync
//! without a person typing `offline sync`.
//!
//! - [`daemon`]: `offline daemon`, one process serving many caches ([`worker`]: a
//!   thread per cache with scheduled syncs, pushes of local changes, rescans and
//!   automatic reconnect; [`settings`]: its per-cache settings; [`status`]: what it
//!   tells `offline status`; [`excluded`]: the changes it ignores; [`share_watch`]:
//!   changes other clients make on the share, announced by the server, seen by
//!   inotify, or polled).
//! - [`events`], [`bus`], [`subscribe`]: the events socket with Windows' event ids;
//!   [`sink`] turns a sync's reports into events; [`outcome`] names how a sync
//!   ended; [`socket`]: where the socket lives and what may be removed there.
//! - `mount` (feature `fuse`): the FUSE view of the whole share namespace.
//! - [`ui`] (its server with feature `ui`): the Sync Center, the daemon's web page.

pub mod bus;
pub mod daemon;
pub mod events;
pub mod excluded;
#[cfg(feature = "fuse")]
pub mod mount;
pub mod mount_status;
pub mod outcome;
pub mod rescan;
pub mod settings;
pub mod share_watch;
pub mod sink;
pub mod socket;
pub mod status;
pub mod subscribe;
pub mod ui;
pub mod worker;
