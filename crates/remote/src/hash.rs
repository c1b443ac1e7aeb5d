//! Streaming content through BLAKE3 in bounded memory: the one loop that reads a
//! source in chunks, hashes each chunk and hands it on (to a temp file, a spool
//! file, an upload), used by every backend that writes, and by plain hashing.

use crate::error::{RemoteError, Result};
use offline_core::{Hash, RelPath};
use std::convert::Infallible;
use std::io::{self, Read};

/// The size of the buffer content is streamed through when hashed or copied.
pub(crate) const BUFFER_SIZE: usize = 256 * 1024;

/// Why streaming stopped early.
pub(crate) enum Stop<E> {
    /// The source could not be read.
    Read(io::Error),
    /// The receiver of the chunks failed.
    Write(E),
}

/// Reads `content` to its end in chunks, hashes each and gives it to `write`;
/// returns the BLAKE3 hash of everything and its length.
pub(crate) fn stream_hashed<E>(
    content: &mut dyn Read,
    mut write: impl FnMut(&[u8]) -> std::result::Result<(), E>,
) -> std::result::Result<(Hash, u64), Stop<E>> {
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; BUFFER_SIZE];
    let mut length = 0u64;
    loop {
        let n = read_some(content, &mut buffer).map_err(Stop::Read)?;
        if n == 0 {
            return Ok((*hasher.finalize().as_bytes(), length));
        }
        hasher.update(&buffer[..n]);
        length += n as u64;
        write(&buffer[..n]).map_err(Stop::Write)?;
    }
}

/// [`stream_hashed`] for a copy of the item at `path`: a failed read of the source
/// is an error on `path` ("read the source"), a failed write is `write`'s own.
pub(crate) fn copy_hashed(
    path: &RelPath,
    content: &mut dyn Read,
    write: impl FnMut(&[u8]) -> Result<()>,
) -> Result<(Hash, u64)> {
    stream_hashed(content, write).map_err(|stop| match stop {
        Stop::Read(err) => RemoteError::from_io(path, "read the source", err),
        Stop::Write(err) => err,
    })
}

/// The BLAKE3 hash of everything `reader` yields, and how many bytes that was.
pub fn hash_reader(reader: &mut dyn Read) -> io::Result<(Hash, u64)> {
    stream_hashed(reader, |_| Ok::<(), Infallible>(())).map_err(|stop| match stop {
        Stop::Read(err) => err,
        Stop::Write(never) => match never {},
    })
}

/// One `read`, retried when interrupted by a signal.
pub(crate) fn read_some(reader: &mut dyn Read, buffer: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buffer) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_what_blake3_hashes_across_buffer_boundaries() {
        let data: Vec<u8> = (0..BUFFER_SIZE * 2 + 17).map(|i| (i % 251) as u8).collect();
        let (hash, length) = hash_reader(&mut data.as_slice()).unwrap();
        assert_eq!(length, data.len() as u64);
        assert_eq!(hash, *blake3::hash(&data).as_bytes());
    }

    #[test]
    fn empty_input_has_the_empty_hash() {
        let (hash, length) = hash_reader(&mut io::empty()).unwrap();
        assert_eq!(length, 0);
        assert_eq!(hash, *blake3::hash(b"").as_bytes());
    }

    #[test]
    fn a_copy_hands_on_every_byte_and_stops_at_the_first_failed_write() {
        let data: Vec<u8> = (0..BUFFER_SIZE + 5).map(|i| (i % 7) as u8).collect();
        let path = RelPath::new(b"f").unwrap();
        let mut out = Vec::new();
        let (hash, length) = copy_hashed(&path, &mut data.as_slice(), |chunk| {
            out.extend_from_slice(chunk);
            Ok(())
        })
        .unwrap();
        assert_eq!((out, length), (data.clone(), data.len() as u64));
        assert_eq!(hash, *blake3::hash(&data).as_bytes());
        let mut calls = 0;
        let failed = copy_hashed(&path, &mut data.as_slice(), |_| {
            calls += 1;
            Err(RemoteError::new(crate::ErrorKind::NoSpace, &path, "full"))
        });
        assert_eq!(failed.unwrap_err().kind, crate::ErrorKind::NoSpace);
        assert_eq!(calls, 1);
    }
}
