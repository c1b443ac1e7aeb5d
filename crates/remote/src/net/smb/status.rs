//! What an SMB failure means for the engine: the NT status codes a server answers
//! mapped to [`ErrorKind`], and a broken connection told apart from an answer.

use super::names;
use crate::error::{ErrorKind, RemoteError};
use crate::net::{auth_failed, short_message, unreachable};
use offline_core::RelPath;

/// NT status codes this backend tells apart (MS-ERREF 2.3.1).
pub(crate) mod code {
    pub const ACCESS_DENIED: u32 = 0xC000_0022;
    pub const OBJECT_NAME_INVALID: u32 = 0xC000_0033;
    pub const OBJECT_NAME_NOT_FOUND: u32 = 0xC000_0034;
    pub const OBJECT_NAME_COLLISION: u32 = 0xC000_0035;
    pub const OBJECT_PATH_INVALID: u32 = 0xC000_0039;
    pub const OBJECT_PATH_NOT_FOUND: u32 = 0xC000_003A;
    pub const OBJECT_PATH_SYNTAX_BAD: u32 = 0xC000_003B;
    pub const SHARING_VIOLATION: u32 = 0xC000_0043;
    pub const QUOTA_EXCEEDED: u32 = 0xC000_0044;
    pub const FILE_LOCK_CONFLICT: u32 = 0xC000_0054;
    pub const LOCK_NOT_GRANTED: u32 = 0xC000_0055;
    pub const DELETE_PENDING: u32 = 0xC000_0056;
    pub const LOGON_FAILURE: u32 = 0xC000_006D;
    pub const ACCOUNT_RESTRICTION: u32 = 0xC000_006E;
    pub const PASSWORD_EXPIRED: u32 = 0xC000_0071;
    pub const ACCOUNT_DISABLED: u32 = 0xC000_0072;
    pub const DISK_FULL: u32 = 0xC000_007F;
    pub const FILE_IS_A_DIRECTORY: u32 = 0xC000_00BA;
    pub const NETWORK_NAME_DELETED: u32 = 0xC000_00C9;
    pub const BAD_NETWORK_NAME: u32 = 0xC000_00CC;
    pub const DIRECTORY_NOT_EMPTY: u32 = 0xC000_0101;
    pub const NOT_A_DIRECTORY: u32 = 0xC000_0103;
    pub const NAME_TOO_LONG: u32 = 0xC000_0106;
    pub const USER_SESSION_DELETED: u32 = 0xC000_0203;
    pub const ACCOUNT_LOCKED_OUT: u32 = 0xC000_0234;
    pub const NETWORK_SESSION_EXPIRED: u32 = 0xC000_035C;
    pub const PASSWORD_MUST_CHANGE: u32 = 0xC000_0224;
}

/// The status code of a server's answer, when the failure is one. Reads and writes
/// of the `smb` crate return it inside an I/O error's text (`... (0xc0000043)`).
pub(crate) fn status_of(err: &smb::Error) -> Option<u32> {
    match err {
        smb::Error::UnexpectedMessageStatus(s) | smb::Error::ReceivedErrorMessage(s, _) => Some(*s),
        smb::Error::IoError(io) => status_in_text(&io.to_string()),
        _ => None,
    }
}

/// The last `(0x........)` in a message, as a status code.
pub(crate) fn status_in_text(text: &str) -> Option<u32> {
    let start = text.rfind("(0x")? + 3;
    let digits: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    u32::from_str_radix(&digits, 16).ok()
}

/// True when the connection itself failed (no answer came): the server is
/// unreachable, the session must be made again.
pub(crate) fn is_connection_failure(err: &smb::Error) -> bool {
    if let Some(status) = status_of(err) {
        return matches!(
            status,
            code::NETWORK_NAME_DELETED | code::USER_SESSION_DELETED | code::NETWORK_SESSION_EXPIRED
        );
    }
    match err {
        smb::Error::ConnectionStopped
        | smb::Error::TransportError(_)
        | smb::Error::OperationTimeout(..)
        | smb::Error::Cancelled(_)
        | smb::Error::SignatureVerificationFailed
        | smb::Error::AcquireError(_)
        | smb::Error::JoinError(_)
        | smb::Error::LockError => true,
        smb::Error::IoError(io) => {
            let text = io.to_string().to_ascii_lowercase();
            crate::net::is_connection_failure(io)
                || text.contains("connection is stopped")
                || text.contains("transport error")
        }
        _ => false,
    }
}

/// True when a logon was refused (wrong user name or password, locked account).
pub(crate) fn is_logon_failure(err: &smb::Error) -> bool {
    matches!(
        status_of(err),
        Some(
            code::LOGON_FAILURE
                | code::ACCOUNT_RESTRICTION
                | code::PASSWORD_EXPIRED
                | code::ACCOUNT_DISABLED
                | code::ACCOUNT_LOCKED_OUT
                | code::PASSWORD_MUST_CHANGE
        )
    ) || matches!(err, smb::Error::SspiError(_))
}

/// The error for a failed `action` on `path`: an answer of the server keeps its
/// meaning, a broken connection makes the share unreachable.
pub(crate) fn fail(path: &RelPath, action: &str, err: &smb::Error) -> RemoteError {
    let detail = short_message(err);
    if is_logon_failure(err) {
        return auth_failed(path, action, &detail);
    }
    if is_connection_failure(err) {
        return unreachable(path, action, &detail);
    }
    let Some(status) = status_of(err) else {
        return RemoteError::new(ErrorKind::Io, path, format!("cannot {action}: {detail}"));
    };
    let (kind, words) = match status {
        code::OBJECT_NAME_NOT_FOUND | code::OBJECT_PATH_NOT_FOUND => {
            (ErrorKind::NotFound, "nothing is there".to_string())
        }
        code::ACCESS_DENIED => (
            ErrorKind::PermissionDenied,
            "the server denied the access".to_string(),
        ),
        code::OBJECT_NAME_COLLISION => (
            ErrorKind::AlreadyExists,
            "something is already there".to_string(),
        ),
        code::OBJECT_NAME_INVALID | code::OBJECT_PATH_INVALID | code::OBJECT_PATH_SYNTAX_BAD => {
            return names::server_refused(path)
        }
        code::NAME_TOO_LONG => (
            ErrorKind::NameNotAllowed,
            "the name is too long for the server".to_string(),
        ),
        code::SHARING_VIOLATION | code::FILE_LOCK_CONFLICT | code::LOCK_NOT_GRANTED => (
            ErrorKind::InUse,
            "another program on the share has the file open and does not allow this (a sharing violation); it is tried again at the next sync".to_string(),
        ),
        code::DELETE_PENDING => (
            ErrorKind::InUse,
            "the item is being deleted by another program on the share".to_string(),
        ),
        code::DISK_FULL | code::QUOTA_EXCEEDED => (
            ErrorKind::NoSpace,
            ErrorKind::NoSpace.describe().to_string(),
        ),
        code::DIRECTORY_NOT_EMPTY => (ErrorKind::NotEmpty, "the folder is not empty".to_string()),
        code::FILE_IS_A_DIRECTORY => (
            ErrorKind::IsADirectory,
            "a folder is there, not a file".to_string(),
        ),
        code::NOT_A_DIRECTORY => (
            ErrorKind::NotADirectory,
            "a file is where a folder should be".to_string(),
        ),
        code::BAD_NETWORK_NAME => (
            ErrorKind::Unreachable,
            "the server has no share of that name".to_string(),
        ),
        _ => (ErrorKind::Io, detail),
    };
    RemoteError::new(kind, path, format!("cannot {action}: {words}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_read_from_answers_and_from_io_texts() {
        let err = smb::Error::UnexpectedMessageStatus(code::SHARING_VIOLATION);
        assert_eq!(status_of(&err), Some(code::SHARING_VIOLATION));
        let io =
            std::io::Error::other("Unexpected message status: Sharing Violation (0xc0000043).");
        assert_eq!(
            status_of(&smb::Error::IoError(io)),
            Some(code::SHARING_VIOLATION)
        );
        assert_eq!(status_in_text("no code here"), None);
    }

    #[test]
    fn statuses_map_to_kinds() {
        let path = RelPath::from_str_lossy("a/b").unwrap();
        let kind = |s| fail(&path, "x", &smb::Error::UnexpectedMessageStatus(s)).kind;
        assert_eq!(kind(code::OBJECT_NAME_NOT_FOUND), ErrorKind::NotFound);
        assert_eq!(kind(code::SHARING_VIOLATION), ErrorKind::InUse);
        assert_eq!(kind(code::OBJECT_NAME_INVALID), ErrorKind::NameNotAllowed);
        assert_eq!(kind(code::OBJECT_NAME_COLLISION), ErrorKind::AlreadyExists);
        assert_eq!(kind(code::DIRECTORY_NOT_EMPTY), ErrorKind::NotEmpty);
        assert_eq!(kind(code::LOGON_FAILURE), ErrorKind::PermissionDenied);
        assert_eq!(kind(code::NETWORK_NAME_DELETED), ErrorKind::Unreachable);
        assert_eq!(
            fail(&path, "x", &smb::Error::ConnectionStopped).kind,
            ErrorKind::Unreachable
        );
        let refused = fail(
            &path,
            "x",
            &smb::Error::UnexpectedMessageStatus(code::LOGON_FAILURE),
        );
        assert!(refused.message.contains("refused the credentials"));
    }
}
