//! The TCP connection under an SMB session. The `smb` crate's own TCP transport
//! writes a message's 4-byte header and its parts in separate writes without
//! `TCP_NODELAY`: Nagle's algorithm then holds each request's tail until the
//! server's delayed ACK (40 ms on Linux), which made every request cost 40 ms on
//! loopback. This one sends each message in one write, with `TCP_NODELAY`.

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use smb::transport::{
    IoVec, SmbTcpMessageHeader, SmbTransport, SmbTransportRead, SmbTransportWrite, TransportError,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

type Result<T> = std::result::Result<T, TransportError>;

/// Whether the TCP connection still works. The `smb` crate does not fail the
/// requests sent after its connection broke (they wait for their full timeout):
/// the session races every request against [`Liveness::died`].
#[derive(Default)]
pub(crate) struct Liveness {
    dead: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Liveness {
    fn mark_dead(&self) {
        self.dead.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// True once the connection broke.
    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// Completes when the connection breaks.
    pub(crate) async fn died(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_dead() {
                return;
            }
            notified.await;
        }
    }
}

/// A connected TCP stream to an SMB server (port 445 unless told otherwise).
pub(crate) struct Tcp {
    reader: Option<OwnedReadHalf>,
    writer: Option<OwnedWriteHalf>,
    remote: SocketAddr,
    alive: Arc<Liveness>,
}

impl Tcp {
    /// Connects to the first address of `host:port` that answers.
    pub(crate) async fn connect(host: &str, port: u16) -> std::io::Result<Tcp> {
        let mut last = None;
        for address in tokio::net::lookup_host((host, port)).await? {
            match TcpStream::connect(address).await {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    let (reader, writer) = stream.into_split();
                    return Ok(Tcp {
                        reader: Some(reader),
                        writer: Some(writer),
                        remote: address,
                        alive: Arc::default(),
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("the host name {host} has no address"),
            )
        }))
    }

    /// What tells whether this connection still works.
    pub(crate) fn liveness(&self) -> Arc<Liveness> {
        self.alive.clone()
    }
}

impl Tcp {
    /// The transport's error for a failed read or write, which ends the
    /// connection; a closed connection is `NotConnected`.
    fn broken(&self, e: std::io::Error) -> TransportError {
        self.alive.mark_dead();
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionAborted => {
                TransportError::NotConnected
            }
            _ => e.into(),
        }
    }
}

impl SmbTransport for Tcp {
    fn connect<'a>(&'a mut self, _: &'a str, _: SocketAddr) -> BoxFuture<'a, Result<()>> {
        // Connected when made.
        async { Err(TransportError::AlreadyConnected) }.boxed()
    }

    fn default_port(&self) -> u16 {
        445
    }

    fn split(self: Box<Self>) -> Result<(Box<dyn SmbTransportRead>, Box<dyn SmbTransportWrite>)> {
        let Tcp {
            reader,
            writer,
            remote,
            alive,
        } = *self;
        Ok((
            Box::new(Tcp {
                reader,
                writer: None,
                remote,
                alive: alive.clone(),
            }),
            Box::new(Tcp {
                reader: None,
                writer,
                remote,
                alive,
            }),
        ))
    }

    fn remote_address(&self) -> Result<SocketAddr> {
        Ok(self.remote)
    }
}

impl SmbTransportWrite for Tcp {
    fn send_raw<'a>(&'a mut self, buf: &'a [u8]) -> BoxFuture<'a, Result<()>> {
        async move {
            let writer = self.writer.as_mut().ok_or(TransportError::NotConnected)?;
            let written = writer.write_all(buf).await;
            written.map_err(|e| self.broken(e))
        }
        .boxed()
    }

    fn send<'a>(&'a mut self, data: &'a IoVec) -> BoxFuture<'a, Result<()>> {
        async move {
            let size = data.total_size();
            if size >= 1 << 24 {
                return Err(TransportError::InvalidMessage);
            }
            let mut message = Vec::with_capacity(SmbTcpMessageHeader::SIZE + size);
            // Direct TCP transport header: a zero byte, then the length (24 bits).
            message.push(0);
            message.extend_from_slice(&(size as u32).to_be_bytes()[1..]);
            for part in data.iter() {
                message.extend_from_slice(part);
            }
            let writer = self.writer.as_mut().ok_or(TransportError::NotConnected)?;
            let written = writer.write_all(&message).await;
            written.map_err(|e| self.broken(e))
        }
        .boxed()
    }
}

impl SmbTransportRead for Tcp {
    fn receive_exact<'a>(&'a mut self, out: &'a mut [u8]) -> BoxFuture<'a, Result<()>> {
        async move {
            let reader = self.reader.as_mut().ok_or(TransportError::NotConnected)?;
            let read = reader.read_exact(out).await;
            read.map_err(|e| self.broken(e))?;
            Ok(())
        }
        .boxed()
    }
}
