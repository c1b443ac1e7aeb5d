//! What an SFTP failure means for the engine: an answer of the server keeps its
//! meaning (no such file, permission denied), a broken ssh connection or a refused
//! login is an unreachable share or a failed authentication, with a short message.

use crate::error::{ErrorKind, RemoteError};
use crate::net::{auth_failed, is_connection_failure, short_message, unreachable};
use offline_core::RelPath;
use openssh_sftp_client::error::SftpErrorKind;
use openssh_sftp_client::Error as SftpError;

/// Classifies an SFTP failure: an answer of the server keeps its meaning, any
/// other failure (the ssh connection broke) means the server is unreachable.
pub(super) fn fail(path: &RelPath, action: &str, err: SftpError) -> RemoteError {
    let detail = short_message(&err);
    let kind = match &err {
        SftpError::SftpError(kind, _) => match kind {
            SftpErrorKind::NoSuchFile => ErrorKind::NotFound,
            SftpErrorKind::PermDenied => ErrorKind::PermissionDenied,
            SftpErrorKind::OpUnsupported => ErrorKind::Unsupported,
            _ => ErrorKind::Io,
        },
        SftpError::UnsupportedExtension(_) => ErrorKind::Unsupported,
        SftpError::RemoteChildSpawnError(ssh) => return ssh_error(path, action, ssh),
        _ => return unreachable(path, action, &detail),
    };
    RemoteError::new(kind, path, format!("cannot {action}: {detail}"))
}

pub(super) fn ssh_error(path: &RelPath, action: &str, err: &openssh::Error) -> RemoteError {
    let detail = short_message(err);
    let lower = detail.to_ascii_lowercase();
    if lower.contains("permission denied") || lower.contains("authentication") {
        auth_failed(path, action, &detail)
    } else if lower.contains("host key verification failed") {
        RemoteError::new(
            ErrorKind::PermissionDenied,
            path,
            format!("cannot {action}: the server's host key is unknown or changed; check it and add it to known_hosts ({detail})"),
        )
    } else if is_connection_failure(err) || lower.contains("could not resolve") {
        unreachable(path, action, &detail)
    } else {
        RemoteError::new(
            ErrorKind::Unreachable,
            path,
            format!("cannot {action}: the ssh connection failed ({detail})"),
        )
    }
}

/// Worth another try: the connection hiccuped (not an answer of the server).
pub(super) fn transient(err: &SftpError) -> bool {
    !matches!(
        err,
        SftpError::SftpError(..) | SftpError::UnsupportedExtension(_)
    ) && is_connection_failure(err)
}

pub(super) fn is_not_found(err: &SftpError) -> bool {
    matches!(err, SftpError::SftpError(SftpErrorKind::NoSuchFile, _))
}
