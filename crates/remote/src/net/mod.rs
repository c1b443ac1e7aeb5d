//! What the network backends share: a tokio runtime owned by each backend (the
//! engine is synchronous), bounded retries with backoff, the mapping of network
//! failures to [`ErrorKind`], and item names as UTF-8 keys.

// Builds with only some of the backends leave some helpers unused.
#![cfg_attr(
    not(all(feature = "webdav", feature = "sftp", feature = "s3", feature = "smb")),
    allow(dead_code)
)]

#[cfg(feature = "webdav")]
pub(crate) mod dav_list;
mod guard;
#[cfg(any(feature = "webdav", feature = "s3"))]
pub(crate) mod object;
#[cfg(feature = "sftp")]
pub(crate) mod sftp;
#[cfg(feature = "smb")]
pub(crate) mod smb;
#[cfg(any(feature = "sftp", feature = "smb", feature = "webdav"))]
mod temp_sweep;

use crate::error::{ErrorKind, RemoteError, Result};
use offline_core::RelPath;
use std::future::Future;
use std::time::Duration;

/// How often a failed idempotent request is tried in all (transient failures only).
pub(crate) const ATTEMPTS: u32 = 3;
/// The first wait before a retry; doubled for each further one.
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// How long a connection may take to open.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may wait for an answer or for the next bytes.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// The crash point between the client's check of a file's target and the write
/// that the server checks again (`If-Match` / `If-None-Match: *` on S3, `MOVE` with
/// `Overwrite: F` on WebDAV, a hard link on SFTP): a test changes the target there.
pub(crate) const CHECKED: &str = "net.write_file.checked";

/// `OFFLINE_NET_TIMEOUT_MS=N` shortens both timeouts to N ms, so that a test of a
/// server that never answers need not wait a minute per attempt.
const TIMEOUT_VAR: &str = "OFFLINE_NET_TIMEOUT_MS";

/// The timeout of `default`, or the one `OFFLINE_NET_TIMEOUT_MS` sets.
fn timeout_or_env(default: Duration) -> Duration {
    std::env::var(TIMEOUT_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&ms| ms > 0)
        .map_or(default, Duration::from_millis)
}

/// How long a connection may take to open (10 s).
pub(crate) fn connect_timeout() -> Duration {
    timeout_or_env(CONNECT_TIMEOUT)
}

/// How long one request may wait for an answer or the next bytes (60 s).
pub(crate) fn io_timeout() -> Duration {
    timeout_or_env(IO_TIMEOUT)
}

/// The runtime a backend's network work runs on. Every call blocks the calling
/// (synchronous) thread; it must never be made from async code.
pub(crate) struct Runtime {
    rt: tokio::runtime::Runtime,
}

impl Runtime {
    /// A runtime with two worker threads for the connections' background work.
    /// Calls come from several threads at once (the engine's copies in flight, each
    /// blocking its own thread), so every backend's state is shared safely.
    pub(crate) fn new() -> Result<Runtime> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("offline-net")
            .enable_all()
            .build()
            .map_err(|e| RemoteError::io(&RelPath::root(), e))?;
        Ok(Runtime { rt })
    }

    /// Runs `future` to completion on the runtime.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    /// Runs an OpenDAL call to completion. A panic inside it (the library tripping
    /// over an answer it did not expect, such as an href outside the share) is
    /// caught and becomes an error of that call: no server answer stops the program.
    pub(crate) fn guarded<T, F>(&self, future: F) -> opendal::Result<T>
    where
        F: Future<Output = opendal::Result<T>>,
    {
        guard::catch(|| self.rt.block_on(future)).unwrap_or_else(|reason| {
            Err(opendal::Error::new(
                opendal::ErrorKind::Unexpected,
                format!("the server's answer could not be read ({reason})"),
            ))
        })
    }

    /// A handle for readers that outlive one call.
    pub(crate) fn handle(&self) -> tokio::runtime::Handle {
        self.rt.handle().clone()
    }
}

/// Runs `op` up to [`ATTEMPTS`] times while it fails with a transient error
/// (`transient` says which), waiting 200 ms, 400 ms, ... in between.
pub(crate) async fn retry<T, E, F, Fut>(
    mut op: F,
    transient: impl Fn(&E) -> bool,
) -> std::result::Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, E>>,
{
    let mut wait = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match op().await {
            Err(err) if attempt < ATTEMPTS && transient(&err) => {
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The item's path as a UTF-8 key (`a/b`); names that are not UTF-8 cannot be
/// stored on these backends.
pub(crate) fn key(path: &RelPath) -> Result<&str> {
    std::str::from_utf8(path.as_bytes()).map_err(|_| {
        RemoteError::new(
            ErrorKind::NameNotAllowed,
            path,
            "the name is not valid UTF-8, which this kind of share cannot store",
        )
    })
}

/// True when some error in the chain of `err` says the connection failed
/// (refused, reset, closed, timed out, host unreachable).
pub(crate) fn is_connection_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if ErrorKind::from_io(io) == ErrorKind::Unreachable
                || matches!(
                    io.kind(),
                    std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::UnexpectedEof
                )
            {
                return true;
            }
        }
        if let Some(http) = e.downcast_ref::<reqwest::Error>() {
            if http.is_connect() || http.is_timeout() {
                return true;
            }
        }
        let text = e.to_string().to_ascii_lowercase();
        if [
            "connection refused",
            "connection reset",
            "connection closed",
            "connection aborted",
            "broken pipe",
            "timed out",
            "no route to host",
            "network is unreachable",
            "error sending request",
            "error trying to connect",
            "operation timed out",
            "connection request: timeout",
        ]
        .iter()
        .any(|needle| text.contains(needle))
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// A short message for an error chain: at most `MAX` characters, one line.
pub(crate) fn short_message(err: &(dyn std::error::Error + 'static)) -> String {
    const MAX: usize = 400;
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    let mut text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.len() > MAX {
        let mut cut = MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// An error for a failed connection to the share.
pub(crate) fn unreachable(path: &RelPath, action: &str, detail: &str) -> RemoteError {
    RemoteError::new(
        ErrorKind::Unreachable,
        path,
        format!("cannot {action}: the server cannot be reached ({detail})"),
    )
}

/// An error for refused credentials.
pub(crate) fn auth_failed(path: &RelPath, action: &str, detail: &str) -> RemoteError {
    RemoteError::new(
        ErrorKind::PermissionDenied,
        path,
        format!(
            "cannot {action}: the server refused the credentials or the access (wrong user name, password or key?): {detail}"
        ),
    )
}

/// A symlink cannot be stored on this kind of share.
pub(crate) fn no_symlinks(path: &RelPath) -> RemoteError {
    RemoteError::new(
        ErrorKind::Unsupported,
        path,
        "this kind of share cannot store symlinks; the link stays in the cache only",
    )
}

/// A temp name of `tag` in the folder of `path` (`dir/.offline-tmp-<tag>-<random>`).
pub(crate) fn temp_key(tag: &offline_core::TempTag, path: &RelPath) -> Result<String> {
    // Only ASCII is ever in a temp name.
    let name = String::from_utf8_lossy(&tag.temp_name(crate::sys::random_u64())).into_owned();
    Ok(match path.parent().filter(|p| !p.is_root()) {
        Some(parent) => format!("{}/{name}", key(&parent)?),
        None => name,
    })
}

/// A listed entry whose name cannot be an item (`..`, a name with `/` or NUL, an
/// entry outside the listed folder): passed on with its name as the server gave
/// it, for the engine to report and skip. Its stat is never used.
pub(crate) fn unusable_entry(name: Vec<u8>) -> crate::Entry {
    crate::Entry {
        name,
        stat: crate::Stat {
            meta: offline_core::Meta::dir(0, 0o700),
            identity: String::new(),
        },
    }
}

/// Nanoseconds since the epoch of a time in seconds.
pub(crate) fn secs_to_ns(secs: i64) -> i64 {
    secs.saturating_mul(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_recognized_through_the_chain() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(is_connection_failure(&io));
        let other = std::io::Error::other("disk on fire");
        assert!(!is_connection_failure(&other));
        let wrapped = RemoteError {
            kind: ErrorKind::Io,
            path: RelPath::root(),
            message: "x".into(),
            source: Some(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        };
        assert!(is_connection_failure(&wrapped));
    }

    #[test]
    fn retries_transient_failures_a_bounded_number_of_times() {
        let rt = Runtime::new().unwrap();
        let mut calls = 0;
        let result: std::result::Result<(), &str> = rt.block_on(retry(
            || {
                calls += 1;
                async { Err("busy") }
            },
            |_| true,
        ));
        assert!(result.is_err());
        assert_eq!(calls, ATTEMPTS);
        let mut calls = 0;
        let _ = rt.block_on(retry(
            || {
                calls += 1;
                async { Err::<(), _>("final") }
            },
            |_| false,
        ));
        assert_eq!(calls, 1);
    }

    #[test]
    fn messages_are_short_single_lines() {
        let long = std::io::Error::other("a\nb".repeat(500));
        let text = short_message(&long);
        assert!(!text.contains('\n'));
        assert!(text.chars().count() <= 401);
    }
}

#[cfg(test)]
mod timeout_tests {
    use super::*;

    /// README: "Connections time out after 10 s, requests after 60 s without progress."
    #[test]
    fn the_default_timeouts_are_the_documented_ones() {
        assert_eq!(CONNECT_TIMEOUT, Duration::from_secs(10));
        assert_eq!(IO_TIMEOUT, Duration::from_secs(60));
        assert_eq!(timeout_or_env(IO_TIMEOUT), Duration::from_secs(60));
    }
}
