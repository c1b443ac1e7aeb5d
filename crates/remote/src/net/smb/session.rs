//! The connection to an SMB share: one `smb` client (one TCP connection, one
//! signed session, one tree) shared by every thread of a sync, made again when it
//! breaks, with bounded retries for requests that may be repeated.
//!
//! Sessions are always signed (the `smb` crate refuses unsigned ones unless told
//! otherwise). SMB 3 encryption is asked for first and used whenever the server
//! can; `OFFLINE_SMB_ENCRYPT=1` refuses a server that cannot, `0` leaves it to the
//! server's own setting.

use super::status::{fail, is_connection_failure};
use super::transport::{Liveness, Tcp};
use crate::error::{ErrorKind, RemoteError, Result};
use crate::net::{connect_timeout, io_timeout, unreachable, Runtime, ATTEMPTS, FIRST_BACKOFF};
use offline_core::RelPath;
use smb::connection::EncryptionMode;
use smb::{Connection, ConnectionConfig, Guid, Session as SmbSession, Tree, UncPath};
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

/// Whether the session is encrypted (SMB 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encrypt {
    /// Encrypted, or no connection (`OFFLINE_SMB_ENCRYPT=1`).
    Required,
    /// Encrypted when the server can, else signed only (the default).
    WhenOffered,
    /// As the server's settings say (`OFFLINE_SMB_ENCRYPT=0`).
    ServerChoice,
}

impl Encrypt {
    /// From the value of `OFFLINE_SMB_ENCRYPT`.
    pub(crate) fn from_setting(value: Option<&str>) -> Result<Encrypt> {
        match value.map(str::trim) {
            None | Some("") => Ok(Encrypt::WhenOffered),
            Some("1" | "true" | "yes" | "required") => Ok(Encrypt::Required),
            Some("0" | "false" | "no") => Ok(Encrypt::ServerChoice),
            Some(other) => Err(RemoteError::new(
                ErrorKind::Io,
                &RelPath::root(),
                format!("OFFLINE_SMB_ENCRYPT must be 1 (required) or 0 (the server decides), not `{other}`"),
            )),
        }
    }
}

/// Where and as whom to connect. The password is never printed.
pub(crate) struct Target {
    pub host: String,
    pub port: Option<u16>,
    /// `user`, or `DOMAIN\user`.
    pub user: String,
    pub password: String,
    pub share: String,
    pub encrypt: Encrypt,
}

/// One working connection: the TCP connection, the logged-on session, and the
/// tree of the share.
pub(crate) struct Link {
    conn: Connection,
    session: SmbSession,
    pub tree: Arc<Tree>,
    /// Whether the TCP connection still works.
    pub alive: Arc<Liveness>,
    /// Counts the connections made, so that threads that saw the same broken one
    /// make only one new one.
    pub generation: u64,
}

/// The connection of a backend, made again when it breaks.
pub(crate) struct Session {
    pub rt: Runtime,
    target: Target,
    link: Mutex<Option<Arc<Link>>>,
    reconnecting: tokio::sync::Mutex<()>,
    /// When the server last stayed away through every retry: for a short while
    /// after, requests fail at once instead of each waiting through its retries.
    gave_up: Mutex<Option<std::time::Instant>>,
}

/// How long requests fail at once after the server stayed away.
const FAIL_FAST: std::time::Duration = std::time::Duration::from_secs(10);

/// A failure inside one attempt: an answer or a broken connection of the server,
/// or a decision of this backend (a precondition, a refused name).
pub(crate) enum Fail {
    Smb(smb::Error),
    Remote(RemoteError),
}

impl From<smb::Error> for Fail {
    fn from(err: smb::Error) -> Fail {
        Fail::Smb(err)
    }
}

impl From<RemoteError> for Fail {
    fn from(err: RemoteError) -> Fail {
        Fail::Remote(err)
    }
}

impl Fail {
    pub(crate) fn into_remote(self, path: &RelPath, action: &str) -> RemoteError {
        match self {
            Fail::Smb(err) => fail(path, action, &err),
            Fail::Remote(err) => err,
        }
    }

    fn is_connection_failure(&self) -> bool {
        matches!(self, Fail::Smb(err) if is_connection_failure(err))
    }
}

/// The result of one attempt.
pub(crate) type Attempt<T> = std::result::Result<T, Fail>;

impl Session {
    /// Connects (and logs on) to the share.
    pub(crate) fn open(target: Target) -> Result<Session> {
        let session = Session {
            rt: Runtime::new()?,
            target,
            link: Mutex::new(None),
            reconnecting: tokio::sync::Mutex::new(()),
            gave_up: Mutex::new(None),
        };
        let link = session.rt.block_on(session.connect(0))?;
        *session.lock() = Some(Arc::new(link));
        Ok(session)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Link>>> {
        self.link.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn unc(&self) -> Result<UncPath> {
        let host = if self.target.host.contains(':') {
            format!("[{}]", self.target.host)
        } else {
            self.target.host.clone()
        };
        UncPath::from_str(&format!(r"\\{host}\{}", self.target.share)).map_err(|e| {
            RemoteError::new(
                ErrorKind::Io,
                &RelPath::root(),
                format!("the share's address is not usable: {e}"),
            )
        })
    }

    /// Makes a new connection: negotiate, log on, connect the share's tree.
    async fn connect(&self, generation: u64) -> Result<Link> {
        let here = RelPath::root();
        let unc = self.unc()?;
        let mut mode = match self.target.encrypt {
            Encrypt::ServerChoice => EncryptionMode::Allowed,
            Encrypt::Required | Encrypt::WhenOffered => EncryptionMode::Required,
        };
        let mut garbled = 0;
        loop {
            let limit = connect_timeout();
            let attempt = tokio::time::timeout(limit, self.connect_once(&unc, mode));
            let result = match attempt.await {
                Err(_) => {
                    return Err(unreachable(
                        &here,
                        "connect to the server",
                        &format!("no answer within {} ms", limit.as_millis()),
                    ))
                }
                Ok(result) => result,
            };
            match result {
                Ok((conn, session, tree, alive)) => {
                    tracing::debug!("connected to {} (encryption {mode:?})", self.target.host);
                    return Ok(Link {
                        conn,
                        session,
                        tree: Arc::new(tree),
                        alive,
                        generation: generation + 1,
                    });
                }
                Err(err) if mode == EncryptionMode::Required && no_encryption(&err) => {
                    if self.target.encrypt == Encrypt::Required {
                        return Err(RemoteError::new(
                            ErrorKind::PermissionDenied,
                            &here,
                            "cannot connect to the share: the server does not offer SMB 3 encryption, which OFFLINE_SMB_ENCRYPT=1 requires",
                        ));
                    }
                    tracing::info!(
                        "{}: the server offers no SMB 3 encryption; the session is signed only",
                        self.target.host
                    );
                    mode = EncryptionMode::Allowed;
                }
                // The smb crate now and then fails to verify the signature of
                // an answer during the logon (seen against Samba with encryption
                // required): a fresh connection then works.
                Err(smb::Error::TranformFailed(e)) if garbled + 1 < ATTEMPTS => {
                    garbled += 1;
                    tracing::debug!(
                        "{}: connecting failed ({e}); trying again",
                        self.target.host
                    );
                    tokio::time::sleep(FIRST_BACKOFF).await;
                }
                Err(err) => return Err(fail(&here, "connect to the share", &err)),
            }
        }
    }

    /// One try at connecting with the encryption `mode`.
    async fn connect_once(
        &self,
        unc: &UncPath,
        mode: EncryptionMode,
    ) -> smb::Result<(Connection, SmbSession, Tree, Arc<Liveness>)> {
        let port = self.target.port.unwrap_or(445);
        let tcp = Tcp::connect(&self.target.host, port)
            .await
            .map_err(smb::Error::IoError)?;
        let alive = tcp.liveness();
        let mut config = ConnectionConfig {
            port: Some(port),
            timeout: Some(io_timeout()),
            encryption_mode: mode,
            ..ConnectionConfig::default()
        };
        config.auth_methods.kerberos = false;
        config.auth_methods.ntlm = true;
        let conn =
            Connection::from_transport(Box::new(tcp), &self.target.host, Guid::generate(), config)
                .await?;
        let identity = sspi::AuthIdentity {
            username: sspi::Username::parse(&self.target.user)
                .map_err(|e| smb::Error::SspiError(e.into()))?,
            password: sspi::Secret::from(self.target.password.clone()),
        };
        let session = match conn.authenticate(identity).await {
            Ok(session) => session,
            Err(err) => {
                let _ = conn.close().await;
                return Err(err);
            }
        };
        match session.tree_connect(unc).await {
            Ok(tree) => Ok((conn, session, tree, alive)),
            Err(err) => {
                let _ = session.logoff().await;
                let _ = conn.close().await;
                Err(err)
            }
        }
    }

    /// The current connection (there is always one once opened).
    pub(crate) fn link(&self) -> Option<Arc<Link>> {
        self.lock().clone()
    }

    /// Replaces the broken connection `seen` by a new one (once, however many
    /// threads saw it break).
    async fn reconnect(&self, seen: u64) -> Result<()> {
        let _one = self.reconnecting.lock().await;
        let current = self.link().map(|l| l.generation).unwrap_or(0);
        if current != seen {
            return Ok(());
        }
        let link = self.connect(current).await?;
        let old = self.lock().replace(Arc::new(link));
        if let Some(old) = old {
            old.close(std::time::Duration::from_secs(2)).await;
        }
        Ok(())
    }

    /// Runs `attempt` up to [`ATTEMPTS`] times while the connection fails,
    /// making a new connection in between.
    fn retry_with<T>(
        &self,
        path: &RelPath,
        action: &str,
        mut attempt: impl FnMut(Arc<Link>) -> Attempt<T>,
    ) -> Result<T> {
        let mut wait = FIRST_BACKOFF;
        let mut tries = 1;
        let gave_up = *self.gave_up.lock().unwrap_or_else(|p| p.into_inner());
        if gave_up.is_some_and(|at| at.elapsed() < FAIL_FAST) {
            return Err(unreachable(path, action, "the server stopped answering"));
        }
        loop {
            let Some(link) = self.link() else {
                return Err(unreachable(path, action, "the connection is closed"));
            };
            let generation = link.generation;
            match attempt(link) {
                Ok(value) => return Ok(value),
                Err(err) if tries < ATTEMPTS && err.is_connection_failure() => {
                    tracing::debug!("{path}: the SMB connection failed; trying again");
                    std::thread::sleep(wait);
                    wait *= 2;
                    tries += 1;
                    if let Err(e) = self.rt.block_on(self.reconnect(generation)) {
                        if e.kind != ErrorKind::Unreachable || tries >= ATTEMPTS {
                            if e.kind == ErrorKind::Unreachable {
                                *self.gave_up.lock().unwrap_or_else(|p| p.into_inner()) =
                                    Some(std::time::Instant::now());
                            }
                            return Err(e);
                        }
                    }
                }
                Err(err) => {
                    if err.is_connection_failure() {
                        *self.gave_up.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(std::time::Instant::now());
                    }
                    return Err(err.into_remote(path, action));
                }
            }
        }
    }

    /// Runs `op` (which may be repeated) up to [`ATTEMPTS`] times while the
    /// connection fails, making a new connection in between.
    pub(crate) fn retrying<T, F, Fut>(&self, path: &RelPath, action: &str, op: F) -> Result<T>
    where
        F: Fn(Arc<Link>) -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        self.retry_with(path, action, |link| {
            self.rt.block_on(until_broken(&link, op(link.clone())))
        })
    }

    /// Like [`Session::retrying`], but each attempt runs on a runtime of its own
    /// on the calling thread. Folder listings need it: the `smb` crate's listing
    /// stream hands batches between two tasks through `Notify::notify_waiters`,
    /// which loses the wake-up (and hangs) when the two run on different threads
    /// at once; on one thread they never do.
    pub(crate) fn retrying_on_this_thread<T, F, Fut>(
        &self,
        path: &RelPath,
        action: &str,
        op: F,
    ) -> Result<T>
    where
        F: Fn(Arc<Link>) -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        self.retry_with(path, action, |link| {
            let local = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .map_err(|e| Fail::Remote(RemoteError::io(path, e)))?;
            local.block_on(until_broken(&link, op(link.clone())))
        })
    }

    /// Runs `op` once (a change that must not be repeated blindly).
    pub(crate) fn once<T, F, Fut>(&self, path: &RelPath, action: &str, op: F) -> Result<T>
    where
        F: FnOnce(Arc<Link>) -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        self.rt.block_on(async {
            let Some(link) = self.link() else {
                return Err(unreachable(path, action, "the connection is closed"));
            };
            until_broken(&link, op(link.clone()))
                .await
                .map_err(|e| e.into_remote(path, action))
        })
    }

    /// Closes the connection (logoff, disconnect); everything the client spawned
    /// is dropped inside the runtime.
    pub(crate) fn close(&self) {
        let link = self.lock().take();
        if let Some(link) = link {
            self.rt.block_on(async move {
                link.close(std::time::Duration::from_secs(5)).await;
                drop(link);
            });
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}

/// Runs `op` until it ends or the connection of `link` breaks, whichever is
/// first (the `smb` crate leaves requests of a broken connection waiting).
pub(crate) async fn until_broken<T>(
    link: &Link,
    op: impl Future<Output = Attempt<T>>,
) -> Attempt<T> {
    tokio::select! {
        result = op => result,
        _ = link.alive.died() => Err(Fail::Smb(smb::Error::ConnectionStopped)),
    }
}

impl Link {
    /// Disconnects the tree, logs off and closes the connection, each step given
    /// at most `limit`.
    async fn close(&self, limit: std::time::Duration) {
        let _ = tokio::time::timeout(limit, self.tree.disconnect()).await;
        let _ = tokio::time::timeout(limit, self.session.logoff()).await;
        let _ = tokio::time::timeout(limit, self.conn.close()).await;
    }
}

/// The server cannot encrypt, but encryption was asked for.
fn no_encryption(err: &smb::Error) -> bool {
    matches!(
        err,
        smb::Error::InvalidMessage(text) | smb::Error::NegotiationError(text)
            if text.contains("Encryption is required")
    )
}
