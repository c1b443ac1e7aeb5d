//! What an SMB server says about an item, as a [`Stat`]: kind, size, last write
//! time, and an identity made of the server's file id, last write time, change
//! time and size (a new version written through a temp file has a new file id,
//! and its change time moves with every change, to 100 ns).

use crate::Stat;
use offline_core::{Kind, Meta};
use smb::binrw_util::file_time::FileTime;
use smb::{FileAllInformation, FileAttributes, FileIdFullDirectoryInformation};

/// Mode reported for files and folders: SMB keeps no permission bits (the engine
/// carries the last synced mode over, see `Capabilities::modes`).
const FILE_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;

/// FILETIME (100 ns since 1601) of the Unix epoch.
const UNIX_EPOCH_FILETIME: i128 = 116_444_736_000_000_000;

/// Nanoseconds since the Unix epoch of a FILETIME.
pub(crate) fn filetime_to_ns(time: FileTime) -> i64 {
    let ticks = *time as i128 - UNIX_EPOCH_FILETIME;
    (ticks * 100).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// The FILETIME of nanoseconds since the Unix epoch; never 0 (which means "leave
/// unchanged" in a set-info request).
pub(crate) fn ns_to_filetime(ns: i64) -> FileTime {
    let ticks = (ns as i128).div_euclid(100) + UNIX_EPOCH_FILETIME;
    FileTime::from(ticks.clamp(1, u64::MAX as i128) as u64)
}

/// The fields a [`Stat`] is made of, from a listing or from an open item.
pub(crate) struct Raw {
    pub file_id: u64,
    pub last_write: FileTime,
    pub change: FileTime,
    pub size: u64,
    pub attributes: FileAttributes,
}

impl Raw {
    pub(crate) fn from_listing(entry: &FileIdFullDirectoryInformation) -> Raw {
        Raw {
            file_id: entry.file_id,
            last_write: entry.last_write_time,
            change: entry.change_time,
            size: entry.end_of_file,
            attributes: entry.file_attributes,
        }
    }

    pub(crate) fn from_all(info: &FileAllInformation) -> Raw {
        let mut attributes = info.basic.file_attributes;
        if bool::from(info.standard.directory) {
            attributes.set_directory(true);
        }
        Raw {
            file_id: info.internal.index_number,
            last_write: info.basic.last_write_time,
            change: info.basic.change_time,
            size: info.standard.end_of_file,
            attributes,
        }
    }

    /// The item as a [`Stat`]; `None` for a reparse point (a Windows symlink or
    /// junction), which is never followed.
    pub(crate) fn to_stat(&self) -> Option<Stat> {
        if self.attributes.reparse_point() {
            return None;
        }
        let mtime_ns = filetime_to_ns(self.last_write);
        if self.attributes.directory() {
            return Some(Stat {
                meta: Meta::dir(mtime_ns, DIR_MODE),
                identity: format!("dir:{}", self.file_id),
            });
        }
        Some(Stat {
            meta: Meta {
                kind: Kind::File,
                size: self.size,
                mtime_ns,
                mode: FILE_MODE,
                hash: None,
                target: None,
            },
            identity: format!(
                "id:{}:w:{}:c:{}:s:{}",
                self.file_id, *self.last_write, *self.change, self.size
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_convert_both_ways_to_100_ns() {
        let ns = 1_764_000_000_123_456_700;
        assert_eq!(filetime_to_ns(ns_to_filetime(ns)), ns);
        assert_eq!(filetime_to_ns(ns_to_filetime(0)), 0);
        assert!(*ns_to_filetime(i64::MIN) > 0, "never the 'unchanged' 0");
    }

    fn raw(file_id: u64, change: u64, directory: bool) -> Raw {
        Raw {
            file_id,
            last_write: FileTime::from(133_818_609_802_776_324),
            change: FileTime::from(change),
            size: 5,
            attributes: FileAttributes::new().with_directory(directory),
        }
    }

    #[test]
    fn identity_moves_with_the_file_id_and_the_change_time() {
        let a = raw(7, 100, false).to_stat().unwrap();
        assert_eq!(a.meta.kind, Kind::File);
        assert_ne!(a.identity, raw(8, 100, false).to_stat().unwrap().identity);
        assert_ne!(a.identity, raw(7, 101, false).to_stat().unwrap().identity);
        let dir = raw(7, 100, true).to_stat().unwrap();
        assert_eq!(dir.meta.kind, Kind::Dir);
        assert_eq!(dir.identity, raw(7, 999, true).to_stat().unwrap().identity);
        let mut link = raw(7, 100, false);
        link.attributes.set_reparse_point(true);
        assert!(link.to_stat().is_none());
    }
}
