//! Errors of the operations on a side: what kind of failure, on which path, what
//! happened, and what the person can do about it.

use offline_core::RelPath;
use rustix::io::Errno;
use std::io;

/// The kind of a failure, as the engine and the person need to tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Nothing is at the path.
    NotFound,
    /// The operating system or the server refused the access.
    PermissionDenied,
    /// The disk or the quota is full.
    NoSpace,
    /// Something is already at the path.
    AlreadyExists,
    /// A folder to remove still has children.
    NotEmpty,
    /// The item is no longer what the caller expected (safety rule 2).
    Changed,
    /// The share cannot be reached (connection lost, stale handle, missing root).
    Unreachable,
    /// The file system refuses the name (too long, bad characters or encoding).
    NameNotAllowed,
    /// A symlink is in the way of the path.
    Loop,
    /// A component above the item is not a folder.
    NotADirectory,
    /// A folder is where a file was expected.
    IsADirectory,
    /// This kind of share cannot store the item (a symlink on an object store).
    Unsupported,
    /// Another program holds the item open and does not allow the change (an SMB
    /// sharing violation or lock conflict); the next sync tries again.
    InUse,
    /// Any other input/output failure.
    Io,
}

impl ErrorKind {
    /// Classifies an I/O error by its OS error code (or, without one, its std kind).
    pub fn from_io(err: &io::Error) -> ErrorKind {
        match err.raw_os_error() {
            Some(code) => ErrorKind::from_errno(Errno::from_raw_os_error(code)),
            None => ErrorKind::from_std_kind(err.kind()),
        }
    }

    /// Like [`ErrorKind::from_io`], for an operation that gives an item its name
    /// (create, rename): there `EINVAL` means the file system refuses the name.
    pub fn from_io_on_name(err: &io::Error) -> ErrorKind {
        if err.raw_os_error() == Some(Errno::INVAL.raw_os_error()) {
            ErrorKind::NameNotAllowed
        } else {
            ErrorKind::from_io(err)
        }
    }

    fn from_errno(errno: Errno) -> ErrorKind {
        match errno {
            Errno::NOENT => ErrorKind::NotFound,
            Errno::ACCESS | Errno::PERM => ErrorKind::PermissionDenied,
            Errno::NOSPC | Errno::DQUOT => ErrorKind::NoSpace,
            Errno::EXIST => ErrorKind::AlreadyExists,
            Errno::NOTEMPTY => ErrorKind::NotEmpty,
            Errno::NAMETOOLONG | Errno::ILSEQ => ErrorKind::NameNotAllowed,
            Errno::LOOP => ErrorKind::Loop,
            Errno::NOTDIR => ErrorKind::NotADirectory,
            Errno::ISDIR => ErrorKind::IsADirectory,
            Errno::NOTCONN
            | Errno::STALE
            | Errno::HOSTUNREACH
            | Errno::HOSTDOWN
            | Errno::NETUNREACH
            | Errno::NETDOWN
            | Errno::CONNRESET
            | Errno::CONNREFUSED
            | Errno::TIMEDOUT => ErrorKind::Unreachable,
            _ => ErrorKind::Io,
        }
    }

    fn from_std_kind(kind: io::ErrorKind) -> ErrorKind {
        use io::ErrorKind as K;
        match kind {
            K::NotFound => ErrorKind::NotFound,
            K::PermissionDenied => ErrorKind::PermissionDenied,
            K::StorageFull | K::QuotaExceeded => ErrorKind::NoSpace,
            K::AlreadyExists => ErrorKind::AlreadyExists,
            K::DirectoryNotEmpty => ErrorKind::NotEmpty,
            K::NotADirectory => ErrorKind::NotADirectory,
            K::IsADirectory => ErrorKind::IsADirectory,
            K::NotConnected
            | K::StaleNetworkFileHandle
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::NetworkDown
            | K::ConnectionReset
            | K::ConnectionRefused
            | K::ConnectionAborted
            | K::TimedOut => ErrorKind::Unreachable,
            _ => ErrorKind::Io,
        }
    }

    /// A short description of the failure, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "nothing is there",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::NoSpace => "no space left (disk or quota full)",
            ErrorKind::AlreadyExists => "something is already there",
            ErrorKind::NotEmpty => "the folder is not empty",
            ErrorKind::Changed => "the item changed meanwhile",
            ErrorKind::Unreachable => "the share cannot be reached",
            ErrorKind::NameNotAllowed => "the name is not allowed there",
            ErrorKind::Loop => "a symlink is in the way",
            ErrorKind::NotADirectory => "a file is where a folder should be",
            ErrorKind::IsADirectory => "a folder is where a file should be",
            ErrorKind::Unsupported => "this kind of share cannot store it",
            ErrorKind::InUse => "another program has it open",
            ErrorKind::Io => "input/output error",
        }
    }

    /// What the person can do about a failure of this kind.
    pub fn hint(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "the item was moved or deleted meanwhile; sync again",
            ErrorKind::PermissionDenied => "check the permissions of the file and its folder",
            ErrorKind::NoSpace => {
                "free some space (or raise the quota) on that side, then sync again"
            }
            ErrorKind::AlreadyExists => "move the item that is in the way, or sync again",
            ErrorKind::NotEmpty => "the folder still holds items; sync again once they are handled",
            ErrorKind::Changed => {
                "the item changed during the sync; sync again to pick up the change"
            }
            ErrorKind::Unreachable => {
                "check that the share is mounted and reachable, then sync again"
            }
            ErrorKind::NameNotAllowed => "rename the item: that side does not accept its name",
            ErrorKind::Loop => {
                "a symlink replaced a folder on the path; check the folders above the item"
            }
            ErrorKind::NotADirectory => {
                "a file replaced a folder on the path; check the folders above the item"
            }
            ErrorKind::IsADirectory => {
                "a folder is in the way; move it or resolve the change by hand"
            }
            ErrorKind::Unsupported => {
                "keep the item in the cache only, or replace it (e.g. a symlink by a copy)"
            }
            ErrorKind::InUse => {
                "close the file in the program that holds it open; the next sync tries again"
            }
            ErrorKind::Io => "check the disk or the connection, then sync again",
        }
    }
}

/// A failed operation on one side: its kind, the item's path, and what happened.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RemoteError {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// The item the operation was about (`.` is the root).
    pub path: RelPath,
    /// What happened, in words.
    pub message: String,
    /// The I/O error behind it, when there is one.
    #[source]
    pub source: Option<io::Error>,
}

impl RemoteError {
    /// A failure without an I/O error behind it.
    pub fn new(kind: ErrorKind, path: &RelPath, message: impl Into<String>) -> RemoteError {
        RemoteError {
            kind,
            path: path.clone(),
            message: message.into(),
            source: None,
        }
    }

    /// An I/O error on `path`, classified by [`ErrorKind::from_io`].
    pub fn io(path: &RelPath, err: io::Error) -> RemoteError {
        let kind = ErrorKind::from_io(&err);
        RemoteError::with_kind(kind, path, reason(kind, &err), err)
    }

    /// An I/O error while doing `action` (e.g. "open the folder") on `path`.
    pub fn from_io(path: &RelPath, action: &str, err: io::Error) -> RemoteError {
        let kind = ErrorKind::from_io(&err);
        RemoteError::with_action(kind, path, action, err)
    }

    /// Like [`RemoteError::from_io`] for an operation that gives the item its name,
    /// classified by [`ErrorKind::from_io_on_name`].
    pub fn from_io_on_name(path: &RelPath, action: &str, err: io::Error) -> RemoteError {
        let kind = ErrorKind::from_io_on_name(&err);
        RemoteError::with_action(kind, path, action, err)
    }

    /// What the person can do about it.
    pub fn hint(&self) -> &'static str {
        self.kind.hint()
    }

    fn with_action(kind: ErrorKind, path: &RelPath, action: &str, err: io::Error) -> RemoteError {
        let message = format!("cannot {action}: {}", reason(kind, &err));
        RemoteError::with_kind(kind, path, message, err)
    }

    fn with_kind(kind: ErrorKind, path: &RelPath, message: String, err: io::Error) -> RemoteError {
        RemoteError {
            kind,
            path: path.clone(),
            message,
            source: Some(err),
        }
    }
}

/// The reason for a message: the kind's description, or the OS's own words when
/// the kind is the catch-all [`ErrorKind::Io`].
fn reason(kind: ErrorKind, err: &io::Error) -> String {
    match kind {
        ErrorKind::Io => err.to_string(),
        _ => kind.describe().to_string(),
    }
}

/// Results of the operations on a side.
pub type Result<T> = std::result::Result<T, RemoteError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(code: Errno) -> ErrorKind {
        ErrorKind::from_io(&io::Error::from_raw_os_error(code.raw_os_error()))
    }

    #[test]
    fn os_codes_map_to_kinds() {
        assert_eq!(kind_of(Errno::NOSPC), ErrorKind::NoSpace);
        assert_eq!(kind_of(Errno::DQUOT), ErrorKind::NoSpace);
        assert_eq!(kind_of(Errno::NOENT), ErrorKind::NotFound);
        assert_eq!(kind_of(Errno::ACCESS), ErrorKind::PermissionDenied);
        assert_eq!(kind_of(Errno::PERM), ErrorKind::PermissionDenied);
        assert_eq!(kind_of(Errno::NOTEMPTY), ErrorKind::NotEmpty);
        assert_eq!(kind_of(Errno::NAMETOOLONG), ErrorKind::NameNotAllowed);
        assert_eq!(kind_of(Errno::LOOP), ErrorKind::Loop);
        assert_eq!(kind_of(Errno::NOTCONN), ErrorKind::Unreachable);
        assert_eq!(kind_of(Errno::STALE), ErrorKind::Unreachable);
        assert_eq!(kind_of(Errno::IO), ErrorKind::Io);
        assert_eq!(kind_of(Errno::INVAL), ErrorKind::Io);
    }

    #[test]
    fn einval_on_a_name_is_a_refused_name() {
        let err = io::Error::from_raw_os_error(Errno::INVAL.raw_os_error());
        assert_eq!(ErrorKind::from_io_on_name(&err), ErrorKind::NameNotAllowed);
        let err = io::Error::from_raw_os_error(Errno::NOSPC.raw_os_error());
        assert_eq!(ErrorKind::from_io_on_name(&err), ErrorKind::NoSpace);
    }

    #[test]
    fn errors_without_os_code_use_the_std_kind() {
        let err = io::Error::new(io::ErrorKind::ConnectionReset, "peer went away");
        assert_eq!(ErrorKind::from_io(&err), ErrorKind::Unreachable);
        let err = io::Error::new(io::ErrorKind::UnexpectedEof, "short read");
        assert_eq!(ErrorKind::from_io(&err), ErrorKind::Io);
    }

    #[test]
    fn message_names_the_path_the_action_and_the_reason() {
        let path = RelPath::from_str_lossy("docs/a.txt").unwrap();
        let err = io::Error::from_raw_os_error(Errno::NOSPC.raw_os_error());
        let err = RemoteError::from_io(&path, "write the temp file", err);
        assert_eq!(err.kind, ErrorKind::NoSpace);
        assert_eq!(
            err.to_string(),
            "docs/a.txt: cannot write the temp file: no space left (disk or quota full)"
        );
        assert!(err.hint().contains("free some space"));
        let root = RemoteError::new(ErrorKind::Changed, &RelPath::root(), "x");
        assert_eq!(root.to_string(), ".: x");
    }
}
