//! Writing a copy that keeps its holes. A sparse file (a disk image, a database
//! with room reserved) may be mostly holes: written out byte for byte it would take
//! its full length on disk (a 2 GiB file with 100 MiB of data took 2.1 GiB in the
//! cache). Blocks of zeros are skipped with a seek instead of written, so the copy
//! on a folder share or in the cache gets holes where the content is zeros, and the
//! length is set at the end. The bytes read back are the same either way.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};

/// Zero runs shorter than this are written (a file system allocates whole blocks).
const HOLE_BLOCK: usize = 4096;

/// Writes content into a new file, seeking over whole blocks of zeros.
pub(crate) struct SparseWriter<'a> {
    file: &'a mut File,
    /// Zeros seen and not written yet.
    hole: u64,
    /// Bytes of content so far.
    len: u64,
}

impl<'a> SparseWriter<'a> {
    /// A writer at the start of an empty `file`.
    pub(crate) fn new(file: &'a mut File) -> SparseWriter<'a> {
        SparseWriter {
            file,
            hole: 0,
            len: 0,
        }
    }

    /// Appends `data`: runs of zero blocks become holes, the rest is written.
    pub(crate) fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.len += data.len() as u64;
        let mut start = 0;
        while start < data.len() {
            let end = (start + HOLE_BLOCK).min(data.len());
            let block = &data[start..end];
            if block.len() == HOLE_BLOCK && is_zero(block) {
                self.hole += block.len() as u64;
            } else {
                // A run of data blocks up to the next zero block, in one write.
                let mut stop = end;
                while stop < data.len() {
                    let next = (stop + HOLE_BLOCK).min(data.len());
                    if next - stop == HOLE_BLOCK && is_zero(&data[stop..next]) {
                        break;
                    }
                    stop = next;
                }
                self.skip_hole()?;
                self.file.write_all(&data[start..stop])?;
                start = stop;
                continue;
            }
            start = end;
        }
        Ok(())
    }

    /// Ends the content: a hole at the end is made by setting the length.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if self.hole > 0 {
            self.hole = 0;
            self.file.set_len(self.len)?;
        }
        Ok(())
    }

    fn skip_hole(&mut self) -> io::Result<()> {
        if self.hole > 0 {
            let skip = i64::try_from(self.hole).map_err(io::Error::other)?;
            self.file.seek(SeekFrom::Current(skip))?;
            self.hole = 0;
        }
        Ok(())
    }
}

fn is_zero(block: &[u8]) -> bool {
    block.iter().all(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;

    fn copy(chunks: &[Vec<u8>]) -> (Vec<u8>, u64) {
        let mut file = tempfile::tempfile().unwrap();
        let mut writer = SparseWriter::new(&mut file);
        for chunk in chunks {
            writer.write(chunk).unwrap();
        }
        writer.finish().unwrap();
        let blocks = file.metadata().unwrap().blocks();
        let mut back = Vec::new();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.read_to_end(&mut back).unwrap();
        (back, blocks)
    }

    #[test]
    fn zeros_become_holes_and_the_content_stays() {
        let mut data = vec![0u8; 8 << 20];
        data[5] = 1;
        data[3 << 20] = 2;
        data[(3 << 20) + 4095] = 3;
        let chunks: Vec<Vec<u8>> = data.chunks(256 * 1024 + 7).map(<[u8]>::to_vec).collect();
        let (back, blocks) = copy(&chunks);
        assert_eq!(back, data);
        assert!(blocks * 512 < 1 << 20, "{} bytes on disk", blocks * 512);
        let (back, _) = copy(&[vec![0u8; 10_000]]);
        assert_eq!(back, vec![0u8; 10_000]);
        let (back, _) = copy(&[b"abc".to_vec(), vec![], b"def".to_vec()]);
        assert_eq!(back, b"abcdef");
    }
}
