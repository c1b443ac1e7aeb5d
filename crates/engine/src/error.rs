//! Errors of the Cache API: fatal ones that stop a command ([`EngineError`]) and
//! per-item ones that a sync reports and goes past ([`ItemError`]).

use offline_core::{Meta, RelPath, Side, SyncOperation};
use offline_remote::{ErrorKind, RemoteError};
use offline_store::StoreError;
use std::path::PathBuf;

/// An error that stops the whole command.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No cache here.
    #[error("{dir} is not inside an offline cache (no .offline/ folder found above it); run `offline init SHARE CACHE_DIR` first, or pass -C CACHE_DIR")]
    NotACache {
        /// Where the search started.
        dir: PathBuf,
    },
    /// `init` on a folder that already is a cache.
    #[error("{dir} already is an offline cache")]
    AlreadyACache {
        /// The cache folder.
        dir: PathBuf,
    },
    /// Wrong arguments that only the engine can judge.
    #[error("{0}")]
    Usage(String),
    /// The share cannot be reached: nothing was changed.
    #[error("the share {share} is unreachable: {reason}. Nothing was changed; the cache keeps working and the next sync that reaches the share sends what waits")]
    Unreachable {
        /// The share's location.
        share: String,
        /// What was seen.
        reason: String,
    },
    /// The share was put offline on purpose.
    #[error("the share {share} is disconnected (offline on purpose); run `offline reconnect` to sync again")]
    Disconnected {
        /// The share's location.
        share: String,
    },
    /// Another `offline` process works on this cache.
    #[error("another offline process is working on this cache ({lock}); wait for it to finish")]
    Busy {
        /// The lock file.
        lock: PathBuf,
    },
    /// The sync would delete too much.
    #[error("this sync would delete {count} of the {total} items on the {} side (more than {percent}%); if that is what you want, run it again with --force", side.place())]
    MassDelete {
        /// The side it would delete on.
        side: Side,
        /// Items it would delete.
        count: usize,
        /// Items known on that side.
        total: usize,
        /// The limit.
        percent: u32,
    },
    /// The state database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The progress output could not be written (what was done stays done).
    #[error("the progress output failed: {0}")]
    Sink(#[from] crate::sink::SinkError),
    /// A side failed outside any one item (cache folder missing, for example).
    #[error("{0}")]
    Remote(#[from] RemoteError),
    /// The cache's own files could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The result type of the Cache API.
pub type Result<T> = std::result::Result<T, EngineError>;

/// What went wrong with one item: the operation, the cause, what to do, and the copies
/// that were seen (Windows' sync error info).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// The operation that failed.
    pub operation: SyncOperation,
    /// The class of failure.
    pub kind: ErrorKind,
    /// What happened.
    pub message: String,
    /// What the person can do.
    pub hint: String,
    /// Which fields differ between the cache copy and the share copy
    /// ("size", "mtime", "mode", "kind", "content").
    pub differences: Vec<&'static str>,
    /// The cache copy prepare saw.
    pub local: Option<Meta>,
    /// The share copy prepare saw.
    pub remote: Option<Meta>,
    /// The original.
    pub original: Option<Meta>,
}

impl ItemError {
    /// Wraps a side's error for `operation`.
    pub fn from_remote(operation: SyncOperation, err: &RemoteError) -> ItemError {
        ItemError {
            operation,
            kind: err.kind,
            message: err.to_string(),
            hint: err.hint().to_string(),
            differences: Vec::new(),
            local: None,
            remote: None,
            original: None,
        }
    }

    /// An error of this engine's own making.
    pub fn new(
        operation: SyncOperation,
        kind: ErrorKind,
        message: String,
        hint: &str,
    ) -> ItemError {
        ItemError {
            operation,
            kind,
            message,
            hint: hint.to_string(),
            differences: Vec::new(),
            local: None,
            remote: None,
            original: None,
        }
    }

    /// Attaches the copies seen and which fields differ.
    pub fn with_copies(
        mut self,
        local: Option<&Meta>,
        remote: Option<&Meta>,
        original: Option<&Meta>,
    ) -> ItemError {
        self.differences = differences(local, remote);
        self.local = local.cloned();
        self.remote = remote.cloned();
        self.original = original.cloned();
        self
    }
}

/// The fields in which two copies differ.
pub fn differences(a: Option<&Meta>, b: Option<&Meta>) -> Vec<&'static str> {
    let (Some(a), Some(b)) = (a, b) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if a.kind != b.kind {
        out.push("kind");
    }
    if a.size != b.size {
        out.push("size");
    }
    if a.mtime_ns != b.mtime_ns {
        out.push("mtime");
    }
    if a.mode != b.mode {
        out.push("mode");
    }
    if a.kind == b.kind && !a.same_content(b) && a.size == b.size {
        out.push("content");
    }
    out
}

/// The path of an item error, for messages.
pub fn describe_path(path: &RelPath) -> String {
    path.to_string()
}
