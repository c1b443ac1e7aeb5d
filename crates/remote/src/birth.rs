//! An item's birth time (`statx`'s `stx_btime`), where the filesystem keeps one: it
//! tells a file that took a deleted file's inode number from that file renamed (see
//! `Remote::born_ns` and the planner's rename detection).

use rustix::fs::{statx, AtFlags, StatxFlags};
use rustix::io::Errno;
use std::io;
use std::os::fd::BorrowedFd;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// The birth time in nanoseconds since the epoch of `name` in `dir` (a symlink not
/// followed); `None` when the filesystem or the kernel does not give one, or
/// nothing is there.
pub(crate) fn born_ns(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<Option<i64>> {
    let flags = AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT;
    match statx(dir, name, flags, StatxFlags::BTIME) {
        Ok(stx) if stx.stx_mask & StatxFlags::BTIME.bits() != 0 => {
            let t = stx.stx_btime;
            let ns = t
                .tv_sec
                .saturating_mul(NANOS_PER_SEC)
                .saturating_add(i64::from(t.tv_nsec));
            Ok(Some(ns))
        }
        Ok(_) | Err(Errno::NOSYS) | Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::born_ns;
    use std::os::fd::AsFd;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn a_new_file_is_born_now_and_a_missing_one_not_at_all() {
        let dir = tempfile::tempdir().expect("temp dir");
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_nanos() as i64;
        std::fs::write(dir.path().join("f"), b"x").expect("write");
        let root = std::fs::File::open(dir.path()).expect("open");
        assert_eq!(born_ns(root.as_fd(), b"missing").expect("statx"), None);
        if let Some(ns) = born_ns(root.as_fd(), b"f").expect("statx") {
            // The filesystem's clock is coarse (a tick, some milliseconds).
            assert!(ns > before - 1_000_000_000, "{ns} before {before}");
        }
    }
}
