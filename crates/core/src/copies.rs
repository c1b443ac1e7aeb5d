//! The copies of one item that a sync compares: a side's copy as scanned now
//! ([`Scanned`]), the base, the state at the item's last sync ([`Original`]), and the
//! precondition a change checks right before it acts ([`Expect`], safety rule 2).

use crate::meta::Meta;
use crate::side::Side;

/// One side's copy of an item, as scanned by this sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    /// Its metadata, with the content hash for files where it was needed.
    pub meta: Meta,
    /// Its opaque stat fingerprint on this side (inode and times, an ETag...): it
    /// changes whenever content, mode or time change.
    pub identity: Box<str>,
}

impl Scanned {
    /// A copy with its identity.
    pub fn new(meta: Meta, identity: impl Into<Box<str>>) -> Scanned {
        Scanned {
            meta,
            identity: identity.into(),
        }
    }
}

/// The base of one path: the state at its last successful sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    /// Kind, size, time, mode, hash and target as they were synced.
    pub meta: Meta,
    /// Opaque stat fingerprint of the cache copy (inode, ctime...).
    pub local_identity: Option<String>,
    /// Opaque fingerprint or etag of the share copy.
    pub remote_identity: Option<String>,
    /// False for a ghost: known by name, no content in the cache.
    pub cached: bool,
}

impl Original {
    /// The base of an item without any side's fingerprint (tests, rebuilt bases).
    pub fn of(meta: Meta) -> Original {
        Original {
            meta,
            local_identity: None,
            remote_identity: None,
            cached: true,
        }
    }

    /// The fingerprint stored for `side`.
    pub fn identity(&self, side: Side) -> Option<&str> {
        match side {
            Side::Cache => self.local_identity.as_deref(),
            Side::Share => self.remote_identity.as_deref(),
        }
    }

    /// Sets the fingerprint stored for `side`.
    pub fn set_identity(&mut self, side: Side, identity: Option<String>) {
        match side {
            Side::Cache => self.local_identity = identity,
            Side::Share => self.remote_identity = identity,
        }
    }
}

/// A precondition checked right before a replace or delete (safety rule 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Whatever is there (or nothing).
    Any,
    /// Nothing may be there.
    Absent,
    /// The item must be there with exactly this identity (a [`Scanned::identity`]).
    Identity(String),
}

impl Expect {
    /// Checks the precondition against the identity of what is at the path now
    /// (`None`: nothing is there); on failure, says what changed since the scan.
    pub fn check(&self, current: Option<&str>) -> Result<(), &'static str> {
        match (self, current) {
            (Expect::Any, _) | (Expect::Absent, None) => Ok(()),
            (Expect::Absent, Some(_)) => Err("something appeared there since it was scanned"),
            (Expect::Identity(_), None) => Err("it was removed since it was scanned"),
            (Expect::Identity(id), Some(now)) if id == now => Ok(()),
            (Expect::Identity(_), Some(_)) => Err("it changed since it was scanned"),
        }
    }
}
