//! `offline mount CACHE MOUNTPOINT`: a FUSE view of the whole share namespace.
//!
//! Items with a cache copy are served from the cache folder (reads and writes go to
//! that copy, which is then dirty and pushed by the daemon), passed through by the
//! kernel where it allows ([`passthrough`]). Ghosts (known by name only) are listed
//! from the state database with their synced metadata, and fetched on open while the
//! share is online (they become auto-cached). While the share is offline, opening a
//! ghost fails with `EHOSTDOWN` ("Host is down"); everything cached keeps working.
//! Removing a ghost, or replacing it (a rename over it, an open with `O_TRUNC`),
//! needs no content: the ghost is marked as deleted in the cache, and the next sync
//! carries that out on the share. The cache's own `.offline/` folder and the sync's
//! temp files are hidden. The kernel keeps names and attributes; [`watch`] tells it
//! when the cache folder changes under the view.
//!
//! Rooms: [`session`] mounts and serves; [`fs`] is the kernel's entry points,
//! answered through [`reply`]; [`names`], [`files`] and [`dirs`] are the operations;
//! [`view`] says what is at a path, [`ghosts`] what the state database knows;
//! [`inodes`] numbers what the kernel holds.

mod dirs;
mod files;
mod fs;
mod ghosts;
mod inodes;
mod names;
mod passthrough;
mod reply;
mod session;
mod view;
mod watch;

pub use ghosts::OFFLINE_ERRNO;
pub use session::{run, Options};
