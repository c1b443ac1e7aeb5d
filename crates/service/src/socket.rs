//! Where the events socket lives, and what may happen to the files around it. The
//! socket's default folder (`$XDG_RUNTIME_DIR/offline-files`, else
//! `$TMPDIR/offline-files-$UID`) must belong to this user alone, as ssh-agent and
//! systemd require: it is made 0700 in one step, and a folder found there that is
//! a symlink, belongs to another user or lets others in is refused (another user
//! could replace the socket, or read the events). Only a socket is ever removed at
//! the socket's path, and only after a connection shows that no daemon listens.

use anyhow::{bail, Context, Result};
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// Overrides the socket's path.
pub const SOCKET_ENV: &str = "OFFLINE_EVENTS_SOCKET";
/// The socket's file name in its default folder.
const SOCKET_NAME: &str = "events.sock";

/// The events socket of this user: `$OFFLINE_EVENTS_SOCKET`, else
/// `$XDG_RUNTIME_DIR/offline-files/events.sock`, else
/// `$TMPDIR/offline-files-$UID/events.sock` (`/tmp` without `TMPDIR`).
pub fn socket_path() -> PathBuf {
    match std::env::var_os(SOCKET_ENV).filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => default_dir().join(SOCKET_NAME),
    }
}

/// The socket's default folder.
fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|p| !p.is_empty()) {
        return PathBuf::from(dir).join("offline-files");
    }
    let uid = rustix::process::geteuid().as_raw();
    std::env::temp_dir().join(format!("offline-files-{uid}"))
}

/// True when `socket` lies in the default folder (which must be this user's alone).
fn in_default_dir(socket: &Path) -> bool {
    socket.parent() == Some(default_dir().as_path())
}

/// Makes the socket's folder ready for a daemon to listen in `socket`: the default
/// folder is made private (or checked to be); a folder named by
/// `OFFLINE_EVENTS_SOCKET` is made 0700 if missing, else used as it is. Then a
/// stale socket left at `socket` is removed.
pub fn prepare_to_listen(socket: &Path) -> Result<()> {
    if let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) {
        if in_default_dir(socket) {
            private_dir(dir)?;
        } else if fs::symlink_metadata(dir).is_err() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    remove_stale(socket)
}

/// Checks the socket's folder before a subscriber trusts what it reads there: a
/// default folder that exists must be this user's alone.
pub fn check_before_subscribing(socket: &Path) -> Result<()> {
    match socket.parent() {
        Some(dir) if in_default_dir(socket) && fs::symlink_metadata(dir).is_ok() => {
            check_private(dir)
        }
        _ => Ok(()),
    }
}

/// Creates `dir` 0700 in one step, or checks the folder that is there.
fn private_dir(dir: &Path) -> Result<()> {
    if let Some(parent) = dir.parent() {
        if !parent.as_os_str().is_empty() && fs::symlink_metadata(parent).is_err() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
    }
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
    }
    check_private(dir)
}

/// A folder (not a symlink) of this user that no one else may enter or change.
fn check_private(dir: &Path) -> Result<()> {
    let meta =
        fs::symlink_metadata(dir).with_context(|| format!("looking at {}", dir.display()))?;
    let me = rustix::process::geteuid().as_raw();
    let refuse = |why: String| -> Result<()> {
        bail!(
            "refusing the events folder {}: {why}; another user could take over the events socket. Remove it (or set {SOCKET_ENV}) and start again",
            dir.display()
        )
    };
    if meta.file_type().is_symlink() {
        return refuse("it is a symlink".into());
    }
    if !meta.is_dir() {
        return refuse("it is not a folder".into());
    }
    if meta.uid() != me {
        return refuse(format!(
            "it belongs to user {}, not to you ({me})",
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        return refuse(format!(
            "its mode {:o} lets other users in (it must be 700)",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// Removes what is at `socket` only when it is a socket no daemon listens on;
/// anything else there is refused, never removed.
fn remove_stale(socket: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(socket) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("looking at {}", socket.display())),
    };
    if !meta.file_type().is_socket() {
        bail!(
            "{} is not a socket (a file, folder or symlink is there); it is left alone. Move it away, or choose another path with {SOCKET_ENV}",
            socket.display()
        );
    }
    match UnixStream::connect(socket) {
        Ok(_) => bail!(
            "another offline daemon already publishes events on {} (one daemon serves all caches: `offline daemon CACHE1 CACHE2 ...`)",
            socket.display()
        ),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => fs::remove_file(socket)
            .with_context(|| format!("removing the stale socket {}", socket.display())),
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot tell whether a daemon listens on {}; it is left alone",
                socket.display()
            )
        }),
    }
}

/// The identity (device, inode) of the socket file this daemon made, to remove
/// exactly that file when it stops.
pub fn identity(socket: &Path) -> Option<(u64, u64)> {
    fs::symlink_metadata(socket)
        .ok()
        .filter(|m| m.file_type().is_socket())
        .map(|m| (m.dev(), m.ino()))
}

/// Removes `socket` if it still is the socket this daemon made.
pub fn remove_own(socket: &Path, made: Option<(u64, u64)>) {
    if made.is_some() && identity(socket) == made {
        let _ = fs::remove_file(socket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixListener;

    #[test]
    fn only_a_stale_socket_is_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("p.txt");
        fs::write(&file, b"keep me").unwrap();
        assert!(prepare_to_listen(&file).is_err());
        assert_eq!(fs::read(&file).unwrap(), b"keep me");

        let sock = tmp.path().join("s.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let err = prepare_to_listen(&sock).unwrap_err();
        assert!(
            format!("{err:#}").contains("another offline daemon"),
            "{err:#}"
        );
        drop(listener);
        prepare_to_listen(&sock).unwrap();
        assert!(
            fs::symlink_metadata(&sock).is_err(),
            "the stale socket is gone"
        );
    }

    #[test]
    fn a_folder_others_can_enter_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("offline-files-x");
        private_dir(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(private_dir(&dir).is_err());
        assert_eq!(
            fs::metadata(&dir).unwrap().mode() & 0o777,
            0o777,
            "never changed, only refused"
        );
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(tmp.path(), &link).unwrap();
        assert!(private_dir(&link).is_err());
    }
}
