//! A file on the SFTP share read from the engine's synchronous code, holding the
//! session it is open on until the read is done.

use super::pool;
use openssh_sftp_client::file::TokioCompatFile;
use std::io::{self, Read};

/// A download read from synchronous code.
pub(super) struct BlockingRead {
    pub(super) handle: tokio::runtime::Handle,
    pub(super) file: std::pin::Pin<Box<TokioCompatFile>>,
    /// The session the file is open on, busy until the read is done.
    pub(super) _session: pool::Lease,
}

impl Read for BlockingRead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        use tokio::io::AsyncReadExt;
        let file = &mut self.file;
        self.handle.block_on(file.read(out))
    }
}
