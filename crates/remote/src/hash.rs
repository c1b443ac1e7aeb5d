//! Streaming BLAKE3 hashing of content, in bounded memory.

use offline_core::Hash;
use std::io::{self, Read};

/// The size of the buffer content is streamed through when hashed or copied.
pub(crate) const BUFFER_SIZE: usize = 256 * 1024;

/// The BLAKE3 hash of everything `reader` yields, and how many bytes that was.
pub fn hash_reader(reader: &mut dyn Read) -> io::Result<(Hash, u64)> {
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; BUFFER_SIZE];
    let mut length = 0u64;
    loop {
        let n = read_some(reader, &mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        length += n as u64;
    }
    Ok((*hasher.finalize().as_bytes(), length))
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
}
