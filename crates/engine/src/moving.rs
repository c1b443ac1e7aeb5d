//! Moving an item that holds ghosts (or is one) from outside a sync, for `offline
//! mount`: a ghost has no copy in the cache, so a rename of the cache folder alone
//! would leave it behind. The item is renamed on the share first (checked against
//! its base, never replacing anything, no byte moved), then its cache copy, then its
//! base (originals, pins, conflicts) moves in one commit. Interrupted after the
//! share's rename, the next sync finds that rename (the share renamed it) and
//! renames the cache's copy as for any rename there.

use crate::cache::Cache;
use crate::error::{EngineError, Result};
use offline_core::{Kind, RelPath};
use offline_remote::{ErrorKind, Expect, Remote, RemoteError};

impl Cache {
    /// Renames `from` (with everything under it, ghosts included) to `to` on the
    /// share and in the cache, and moves its base along.
    pub fn move_item(&mut self, from: &RelPath, to: &RelPath) -> Result<()> {
        let _lock = self.lock()?;
        if from.is_root() || to.is_root() || from.contains(to) {
            return Err(EngineError::Usage(format!(
                "cannot move {from} to {to}: not into itself, nor the root"
            )));
        }
        let Some(original) = self.store.original(from)? else {
            return Err(EngineError::Usage(format!(
                "{from} is not synced yet: sync it first"
            )));
        };
        let share = self.open_share()?;
        let remote_error = |e: RemoteError| EngineError::from(e);
        // Safety rule 2: the share's copy is the one the base knows (a folder only
        // has to still be a folder: its own stat moves as its content changes).
        let expect = match (original.meta.kind, &original.remote_identity) {
            (Kind::Dir, _) => match share.stat(from).map_err(remote_error)? {
                Some(now) if now.meta.is_dir() => Expect::Identity(now.identity),
                _ => {
                    return Err(remote_error(RemoteError::new(
                        ErrorKind::Changed,
                        from,
                        "it is no longer a folder on the share; sync first",
                    )))
                }
            },
            (_, Some(identity)) => Expect::Identity(identity.clone()),
            (_, None) => {
                return Err(EngineError::Usage(format!(
                    "{from} is not on the share yet: sync it first"
                )))
            }
        };
        if self.local.stat(to).map_err(remote_error)?.is_some() {
            return Err(remote_error(RemoteError::new(
                ErrorKind::AlreadyExists,
                to,
                "something is already there in the cache",
            )));
        }
        share.move_item(from, to, &expect).map_err(remote_error)?;
        crashpoint::hit("engine.move_item.share_renamed");
        if self.local.stat(from).map_err(remote_error)?.is_some() {
            self.local
                .move_item(from, to, &Expect::Any)
                .map_err(remote_error)?;
        }
        let batch = self.store.transaction()?;
        batch.move_item(from, to)?;
        batch.commit()?;
        Ok(())
    }
}
