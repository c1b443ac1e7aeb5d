//! A counting TCP proxy on loopback, put between the client and a test server to
//! measure what a command sends and receives (the bytes on the wire, whatever the
//! protocol: HTTP for WebDAV and S3, SSH for SFTP). Each connection is forwarded to
//! the server's port by two threads that count the bytes of each direction.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The proxy; its threads live as long as the test process.
pub struct CountingProxy {
    /// The port clients connect to instead of the server's.
    pub port: u16,
    /// Bytes from clients to the server.
    up: Arc<AtomicU64>,
    /// Bytes from the server to clients.
    down: Arc<AtomicU64>,
}

impl CountingProxy {
    /// Starts a proxy to `127.0.0.1:target` on a free port.
    pub fn start(target: u16) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the proxy");
        let port = listener.local_addr().expect("its address").port();
        let up = Arc::new(AtomicU64::new(0));
        let down = Arc::new(AtomicU64::new(0));
        let (u, d) = (up.clone(), down.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let (c2, s2) = match (client.try_clone(), server.try_clone()) {
                    (Ok(c), Ok(s)) => (c, s),
                    _ => continue,
                };
                let (u, d) = (u.clone(), d.clone());
                std::thread::spawn(move || pump(client, server, &u));
                std::thread::spawn(move || pump(s2, c2, &d));
            }
        });
        CountingProxy { port, up, down }
    }

    /// Bytes sent to the server since the last reset.
    pub fn sent(&self) -> u64 {
        self.up.load(Ordering::SeqCst)
    }

    /// Bytes received from the server since the last reset.
    pub fn received(&self) -> u64 {
        self.down.load(Ordering::SeqCst)
    }

    /// Sets both counts to zero.
    pub fn reset(&self) {
        self.up.store(0, Ordering::SeqCst);
        self.down.store(0, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until `from` ends, counting into `count`; then ends `to`'s
/// writing half so the other side sees the end too.
fn pump(mut from: TcpStream, mut to: TcpStream, count: &AtomicU64) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                count.fetch_add(n as u64, Ordering::SeqCst);
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
