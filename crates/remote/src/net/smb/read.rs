//! Reading a file of the share from synchronous code, a megabyte per request.

use super::status::is_connection_failure;
use super::transport::Liveness;
use smb::{File, ReadAt};
use std::io::{self, Read};
use std::sync::Arc;

/// How much is asked for in one read request.
const CHUNK: usize = 1024 * 1024;

/// An open file of the share, read in order; closed at the end or when dropped.
pub(crate) struct SmbRead {
    rt: tokio::runtime::Handle,
    alive: Arc<Liveness>,
    file: Option<File>,
    offset: u64,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
}

impl SmbRead {
    pub(crate) fn new(rt: tokio::runtime::Handle, alive: Arc<Liveness>, file: File) -> SmbRead {
        SmbRead {
            rt,
            alive,
            file: Some(file),
            offset: 0,
            buffer: Vec::new(),
            start: 0,
            end: 0,
        }
    }

    /// Reads the next chunk into the buffer; `false` at the end of the file.
    fn fill(&mut self) -> io::Result<bool> {
        let Some(file) = self.file.as_ref() else {
            return Ok(false);
        };
        if self.buffer.is_empty() {
            self.buffer = vec![0u8; CHUNK];
        }
        let offset = self.offset;
        let buffer = &mut self.buffer;
        let alive = &self.alive;
        let n = self
            .rt
            .block_on(async {
                tokio::select! {
                    read = file.read_at(buffer, offset) => read,
                    _ = alive.died() => Err(smb::Error::ConnectionStopped),
                }
            })
            .map_err(|e| {
                let kind = if is_connection_failure(&e) {
                    io::ErrorKind::ConnectionAborted
                } else {
                    io::ErrorKind::Other
                };
                io::Error::new(kind, format!("reading from the SMB share failed: {e}"))
            })?;
        if n == 0 {
            self.close();
            return Ok(false);
        }
        self.offset += n as u64;
        self.start = 0;
        self.end = n;
        Ok(true)
    }

    fn close(&mut self) {
        if let Some(file) = self.file.take() {
            let rt = self.rt.clone();
            rt.block_on(async move {
                if let Err(e) = file.close().await {
                    tracing::debug!("closing an SMB file failed: {e}");
                }
            });
        }
    }
}

impl Read for SmbRead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.start == self.end && !self.fill()? {
            return Ok(0);
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buffer[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

impl Drop for SmbRead {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            // Closing spawns on the runtime; a reader may be dropped anywhere.
            let _inside = self.rt.enter();
            drop(file);
        }
    }
}
