//! The SFTP sessions of one share. A server's `sftp-server` answers one request
//! after the other; a copy's requests wait for their answers one after the other,
//! so copies share a session well (their requests interleave) unless one waits for
//! the disk (`fsync`), which batched uploads do only all together ([`super::stage`]).
//! A copy takes a session of its own while there are fewer than [`MAX_SESSIONS`]
//! (another SSH connection, opened on demand and kept while the share is open),
//! else the least busy one. Few sessions: opening one (an `ssh` process and its
//! handshake) costs more than many files' requests (at 16 copies in flight, 2,000
//! small files: 2.4 s with 4 sessions against 5.7 s with 16). Quick requests
//! (listings, a stat) take the least busy session.

use super::super::Runtime;
use openssh::SessionBuilder;
use openssh_sftp_client::{Sftp, SftpOptions};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The most SSH connections one share opens.
pub const MAX_SESSIONS: usize = 4;

/// One session and how many operations use it now.
pub(super) struct Slot {
    sftp: Sftp,
    busy: AtomicUsize,
}

/// A session taken for one operation (a copy holds it until it is done).
pub(super) struct Lease {
    slot: Arc<Slot>,
}

impl Deref for Lease {
    type Target = Sftp;
    fn deref(&self) -> &Sftp {
        &self.slot.sftp
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.slot.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The sessions, and how to open another.
pub(super) struct Pool {
    builder: SessionBuilder,
    host: String,
    slots: Mutex<Vec<Arc<Slot>>>,
    /// Another session is being opened (one at a time).
    growing: AtomicBool,
}

/// Opens one session with `builder`.
pub(super) async fn open(builder: &SessionBuilder, host: &str) -> Result<Sftp, Opening> {
    let session = builder.connect(host).await.map_err(Opening::Ssh)?;
    // Each request is sent at once (the default holds it up to 0.5 ms to group
    // it with others): a copy waits for its answers one after the other.
    let options = SftpOptions::default().flush_interval(Duration::ZERO);
    Sftp::from_session(session, options)
        .await
        .map_err(Opening::Sftp)
}

/// Why a session could not be opened.
pub(super) enum Opening {
    Ssh(openssh::Error),
    Sftp(openssh_sftp_client::Error),
}

impl Pool {
    /// A pool holding the first session.
    pub(super) fn new(builder: SessionBuilder, host: &str, first: Sftp) -> Pool {
        Pool {
            builder,
            host: host.to_string(),
            slots: Mutex::new(vec![Arc::new(Slot {
                sftp: first,
                busy: AtomicUsize::new(0),
            })]),
            growing: AtomicBool::new(false),
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Slot>>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The least busy session.
    pub(super) fn any(&self) -> Lease {
        let slots = self.slots();
        let slot = slots
            .iter()
            .min_by_key(|s| s.busy.load(Ordering::SeqCst))
            .expect("the pool holds its first session")
            .clone();
        slot.busy.fetch_add(1, Ordering::SeqCst);
        Lease { slot }
    }

    /// A session for a copy: an idle one, else a new one while there may be more,
    /// else the least busy. Called outside the runtime (it may connect).
    pub(super) fn for_copy(&self, rt: &Runtime) -> Lease {
        let lease = self.any();
        if lease.slot.busy.load(Ordering::SeqCst) == 1 || self.slots().len() >= MAX_SESSIONS {
            return lease;
        }
        if self.growing.swap(true, Ordering::SeqCst) {
            // Another copy is opening one now.
            return lease;
        }
        let opened = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), open(&self.builder, &self.host)).await
        });
        self.growing.store(false, Ordering::SeqCst);
        match opened {
            Ok(Ok(sftp)) => {
                drop(lease);
                let slot = Arc::new(Slot {
                    sftp,
                    busy: AtomicUsize::new(1),
                });
                self.slots().push(slot.clone());
                tracing::debug!(sessions = self.slots().len(), "another sftp session");
                Lease { slot }
            }
            Ok(Err(_)) | Err(_) => {
                tracing::debug!("could not open another sftp session; sharing one");
                lease
            }
        }
    }

    /// Closes every session (each given a few seconds).
    pub(super) fn close(&self, rt: &Runtime) {
        let slots: Vec<Arc<Slot>> = std::mem::take(&mut *self.slots());
        for slot in slots {
            if let Ok(slot) = Arc::try_unwrap(slot) {
                let _ = rt.block_on(async {
                    tokio::time::timeout(Duration::from_secs(5), slot.sftp.close()).await
                });
            }
        }
    }
}
