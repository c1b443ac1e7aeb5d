//! What an OpenDAL failure means for the engine: its kind (not found, changed, a
//! refused login, an unreachable server) and a short message without the request
//! context OpenDAL adds.

use super::ObjectRemote;
use crate::error::{ErrorKind, RemoteError};
use crate::net::{auth_failed, is_connection_failure, short_message, unreachable};
use offline_core::RelPath;

impl ObjectRemote {
    /// An OpenDAL error on `path` while doing `action`, as a [`RemoteError`].
    pub(super) fn fail(&self, path: &RelPath, action: &str, err: opendal::Error) -> RemoteError {
        use opendal::ErrorKind as K;
        let (detail, status) = describe_opendal(&err);
        if matches!(status, Some(401 | 403)) {
            return auth_failed(path, action, &detail);
        }
        let kind = match err.kind() {
            K::NotFound => ErrorKind::NotFound,
            K::PermissionDenied => return auth_failed(path, action, &detail),
            K::AlreadyExists => ErrorKind::AlreadyExists,
            K::ConditionNotMatch => ErrorKind::Changed,
            K::IsADirectory => ErrorKind::IsADirectory,
            K::NotADirectory => ErrorKind::NotADirectory,
            K::Unsupported => ErrorKind::Unsupported,
            _ if is_connection_failure(&err) || err.is_temporary() => {
                return unreachable(path, action, &detail)
            }
            _ => ErrorKind::Io,
        };
        RemoteError::new(kind, path, format!("cannot {action}: {detail}"))
    }
}

/// A short description of an OpenDAL error (without its request context, which
/// holds every response header), and the HTTP status it reports, if any.
pub(super) fn describe_opendal(err: &opendal::Error) -> (String, Option<u16>) {
    let full = short_message(err);
    let status = full.find("status: ").and_then(|at| {
        full[at + 8..]
            .chars()
            .take(3)
            .collect::<String>()
            .parse::<u16>()
            .ok()
    });
    let mut text = match full
        .find(", context: {")
        .or_else(|| full.find(" context: {"))
    {
        Some(at) => full[..at].to_string(),
        None => full.clone(),
    };
    if let Some(status) = status {
        text.push_str(&format!(" (HTTP {status})"));
    }
    if let Some(at) = full.find(" => ") {
        let body: String = full[at + 4..].chars().take(160).collect();
        text.push_str(": ");
        text.push_str(body.trim());
    }
    (text, status)
}
