//! FUSE passthrough: for files with a cache copy, the kernel reads and writes the
//! cache file itself (`FOPEN_PASSTHROUGH`, Linux ≥ 6.9), so the view runs at the
//! speed of the cache folder. It needs the kernel's support and `CAP_SYS_ADMIN`
//! (registering a backing file is a privileged ioctl); without them every read and
//! write goes through this process, and the reason is told in `offline status`.
//! The kernel wants one backing file per inode while any open of it lasts, so the
//! registrations are shared by the opens of one inode number.

use crate::mount_status::{Fallback, Io};
use fuser::{BackingId, InitFlags, KernelConfig};
use std::collections::HashMap;
use std::sync::{Arc, Weak};

/// True when this process may register backing files (`CAP_SYS_ADMIN`).
pub fn privileged() -> bool {
    rustix::thread::capabilities(None)
        .map(|caps| {
            caps.effective
                .contains(rustix::thread::CapabilitySet::SYS_ADMIN)
        })
        .unwrap_or(false)
}

/// Asks the kernel for passthrough when it and this process allow it; says how
/// content will be served.
pub fn negotiate(config: &mut KernelConfig, wanted: bool) -> Io {
    if !wanted {
        return Io::Fuse(Fallback::Disabled);
    }
    if !config.capabilities().contains(InitFlags::FUSE_PASSTHROUGH) {
        return Io::Fuse(Fallback::Kernel);
    }
    if !privileged() {
        return Io::Fuse(Fallback::Privilege);
    }
    if config
        .add_capabilities(InitFlags::FUSE_PASSTHROUGH)
        .is_err()
    {
        return Io::Fuse(Fallback::Kernel);
    }
    // The cache folder is on an ordinary file system (stacking depth 0); depth 1
    // still lets the view itself be stacked under overlayfs.
    if config.set_max_stack_depth(1).is_err() {
        return Io::Fuse(Fallback::Kernel);
    }
    Io::Passthrough
}

/// The backing files registered for open inodes.
#[derive(Default)]
pub struct Backings {
    by_ino: HashMap<u64, Weak<BackingId>>,
}

impl Backings {
    /// The registration of `ino` while any open of it lasts, else a new one made by
    /// `register`.
    pub fn get_or(
        &mut self,
        ino: u64,
        register: impl FnOnce() -> std::io::Result<BackingId>,
    ) -> std::io::Result<Arc<BackingId>> {
        if let Some(id) = self.by_ino.get(&ino).and_then(Weak::upgrade) {
            return Ok(id);
        }
        let id = Arc::new(register()?);
        self.by_ino.insert(ino, Arc::downgrade(&id));
        Ok(id)
    }

    /// True while an open of `ino` holds a registration.
    pub fn is_live(&self, ino: u64) -> bool {
        self.by_ino.get(&ino).is_some_and(|w| w.strong_count() > 0)
    }

    /// Drops the entry of `ino` once its last open is released.
    pub fn released(&mut self, ino: u64) {
        if !self.is_live(ino) {
            self.by_ino.remove(&ino);
        }
    }
}
