//! A download from WebDAV or S3 read from the engine's synchronous code: OpenDAL's
//! byte stream, polled on the backend's runtime a chunk at a time.

use futures_util::StreamExt;
use std::io::{self, Read};

/// A streamed download read from synchronous code.
pub(super) struct BlockingRead {
    pub(super) handle: tokio::runtime::Handle,
    pub(super) stream: opendal::FuturesBytesStream,
    pub(super) buffer: bytes::Bytes,
}

impl Read for BlockingRead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.buffer.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                Some(Ok(bytes)) => self.buffer = bytes,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buffer.len());
        out[..n].copy_from_slice(&self.buffer[..n]);
        self.buffer = self.buffer.slice(n..);
        Ok(n)
    }
}
