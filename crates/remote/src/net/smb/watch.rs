//! Changes other clients make on an SMB share, as the server announces them:
//! `CHANGE_NOTIFY` on the share's folder, whole tree, kept pending on the server
//! (the `smb` crate re-arms it after every answer).

use super::lookup;
use super::session::Session;
use super::status::{fail, is_connection_failure};
use super::transport::Liveness;
use crate::error::{ErrorKind, RemoteError, Result};
use crate::{ChangeWatch, ShareChanges};
use futures_util::StreamExt;
use offline_core::{is_temp_name, RelPath};
use smb::{
    CreateDisposition, CreateOptions, DirAccessMask, Directory, FileNotifyInformation,
    NotifyFilter, Resource,
};
use std::sync::Arc;
use std::time::Duration;

/// The notifications of an armed watch, forwarded by a task that owns the
/// `smb` crate's stream (dropping the receiver ends the task and cancels the watch).
type Notices = tokio::sync::mpsc::Receiver<smb::Result<FileNotifyInformation>>;

/// A watch of the share's folder.
pub(crate) struct SmbWatch {
    session: Arc<Session>,
    /// The share's folder as the server names it.
    root: String,
    /// The folder watched, its notifications, and the connection they come on.
    active: Option<(Arc<Directory>, Notices, Arc<Liveness>)>,
}

impl SmbWatch {
    pub(crate) fn new(session: Arc<Session>, root: String) -> SmbWatch {
        SmbWatch {
            session,
            root,
            active: None,
        }
    }

    /// Opens the share's folder and arms the watch.
    async fn start(
        &self,
    ) -> std::result::Result<(Arc<Directory>, Notices, Arc<Liveness>), smb::Error> {
        let link = self.session.link().ok_or(smb::Error::ConnectionStopped)?;
        let access = DirAccessMask::new()
            .with_list_directory(true)
            .with_read_attributes(true)
            .with_synchronize(true);
        let resource = lookup::open(
            &link.tree,
            &self.root,
            access.into(),
            CreateDisposition::Open,
            CreateOptions::new().with_directory_file(true),
        )
        .await?;
        let Resource::Directory(dir) = resource else {
            lookup::close(resource).await;
            return Err(smb::Error::InvalidState(
                "the share's folder is not a folder".into(),
            ));
        };
        let dir = Arc::new(dir);
        let filter = NotifyFilter::new()
            .with_file_name(true)
            .with_dir_name(true)
            .with_size(true)
            .with_last_write(true)
            .with_creation(true);
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let watched = dir.clone();
        tokio::spawn(async move {
            let stream = match Directory::watch_stream(&watched, filter, true) {
                Ok(stream) => stream,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let mut stream = std::pin::pin!(stream);
            loop {
                tokio::select! {
                    _ = tx.closed() => break,
                    item = stream.next() => match item {
                        Some(item) => {
                            if tx.send(item).await.is_err() {
                                break;
                            }
                        }
                        None => break,
                    },
                }
            }
        });
        Ok((dir, rx, link.alive.clone()))
    }

    /// Stops the watch (dropping the stream cancels it) and closes the folder.
    fn stop(&mut self) {
        if let Some((dir, stream, _)) = self.active.take() {
            self.session.rt.block_on(async move {
                drop(stream);
                let _ = tokio::time::timeout(Duration::from_secs(2), dir.close()).await;
                drop(dir);
            });
        }
    }
}

/// A notification's item as a path (`a\b` to `a/b`); `None` for a temp file of a
/// sync or a name that cannot be an item.
fn item_of(notice: &FileNotifyInformation) -> Option<RelPath> {
    let name = String::try_from(notice.file_name.clone()).ok()?;
    let path = RelPath::new(name.replace('\\', "/").into_bytes()).ok()?;
    let temp = path.as_bytes().split(|b| *b == b'/').any(is_temp_name);
    (!temp && !path.is_root()).then_some(path)
}

impl ChangeWatch for SmbWatch {
    fn wait(&mut self, timeout: Duration) -> Result<Option<ShareChanges>> {
        let here = RelPath::root();
        if self.active.is_none() {
            let started = self.session.rt.block_on(self.start());
            self.active = Some(started.map_err(|e| fail(&here, "watch the share", &e))?);
        }
        let Some((_, stream, alive)) = self.active.as_mut() else {
            return Ok(None);
        };
        let alive = alive.clone();
        let first = self.session.rt.block_on(async {
            let first = tokio::select! {
                first = tokio::time::timeout(timeout, stream.recv()) => first,
                _ = alive.died() => Ok(Some(Err(smb::Error::ConnectionStopped))),
            };
            // Whatever else is ready now comes in the same batch.
            let mut more = Vec::new();
            if let Ok(Some(Ok(_))) = &first {
                while let Ok(next) = stream.try_recv() {
                    more.push(next);
                }
            }
            (first, more)
        });
        let (first, more) = first;
        let mut paths = Vec::new();
        let mut unknown = false;
        let mut broken = None;
        match first {
            Err(_) => return Ok(None),
            Ok(None) => unknown = true,
            Ok(Some(result)) => {
                for result in std::iter::once(result).chain(more) {
                    match result {
                        Ok(notice) => paths.extend(item_of(&notice)),
                        Err(smb::Error::BufferTooSmall { .. } | smb::Error::Cancelled(_)) => {
                            unknown = true
                        }
                        Err(err) => broken = Some(err),
                    }
                }
            }
        }
        if unknown || broken.is_some() {
            // The stream has ended: the next wait arms a new watch.
            self.stop();
        }
        if let Some(err) = broken {
            if is_connection_failure(&err) {
                return Err(fail(&here, "watch the share", &err));
            }
            return Err(RemoteError::new(
                ErrorKind::Io,
                &here,
                format!("the share's change notification failed: {err}"),
            ));
        }
        if unknown {
            return Ok(Some(ShareChanges::Unknown));
        }
        Ok((!paths.is_empty()).then_some(ShareChanges::Paths(paths)))
    }
}

impl Drop for SmbWatch {
    fn drop(&mut self) {
        self.stop();
    }
}
