//! Thin wrappers over the `*at` system calls the directory backend is built on.
//!
//! Every item is reached from a handle on its folder, and folders are opened below
//! the root without following any symlink on the way (`openat2` with
//! `RESOLVE_NO_SYMLINKS`, or one `O_NOFOLLOW` step per component where `openat2`
//! is missing), so a symlink that replaced a folder mid-sync can never lead a
//! write or a delete out of the tree.

use rustix::fs::{self, AtFlags, FileType, Mode, OFlags, ResolveFlags, Timespec, Timestamps};
use rustix::io::Errno;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The operating system's `struct stat`.
pub(crate) type RawStat = fs::Stat;

/// What a folder handle is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reading the entries: needs read permission.
    List,
    /// A base for `*at` calls (and an `fsync` where read permission allows).
    Handle,
}

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// False once `openat2` turned out to be missing (old kernel or a seccomp filter).
static OPENAT2_WORKS: AtomicBool = AtomicBool::new(true);

fn list_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
}

fn path_flags() -> OFlags {
    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC
}

/// Opens with read access, or for `Access::Handle` falls back to an `O_PATH`
/// handle when read permission is missing (a folder may allow `x` but not `r`).
fn with_access(
    access: Access,
    open: impl Fn(OFlags) -> Result<OwnedFd, Errno>,
) -> io::Result<OwnedFd> {
    match (open(list_flags()), access) {
        (Err(Errno::ACCESS), Access::Handle) => Ok(open(path_flags())?),
        (result, _) => Ok(result?),
    }
}

/// Opens the root folder. Symlinks in the root's own path are followed: the root
/// is what the person configured.
pub(crate) fn open_root(root: &Path, access: Access) -> io::Result<OwnedFd> {
    with_access(access, |flags| fs::open(root, flags, Mode::empty()))
}

/// Opens the folder `rel` (a `/`-separated relative path, not empty) below `base`
/// without following any symlink.
pub(crate) fn open_below(base: BorrowedFd<'_>, rel: &[u8], access: Access) -> io::Result<OwnedFd> {
    with_access(access, |flags| open_beneath(base, rel, flags))
}

fn open_beneath(base: BorrowedFd<'_>, rel: &[u8], flags: OFlags) -> Result<OwnedFd, Errno> {
    if OPENAT2_WORKS.load(Ordering::Relaxed) {
        let resolve =
            ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS | ResolveFlags::BENEATH;
        // No O_NOFOLLOW: with it a trailing symlink would be opened as itself and
        // fail as "not a folder"; RESOLVE_NO_SYMLINKS refuses it with ELOOP.
        match fs::openat2(base, rel, flags, Mode::empty(), resolve) {
            Err(Errno::NOSYS) | Err(Errno::PERM) => OPENAT2_WORKS.store(false, Ordering::Relaxed),
            // A concurrent rename made the kernel give up; the walk below decides.
            Err(Errno::AGAIN) => {}
            other => return other,
        }
    }
    walk(base, rel, flags)
}

/// Opens `rel` one component at a time, refusing symlinks at every step.
fn walk(base: BorrowedFd<'_>, rel: &[u8], flags: OFlags) -> Result<OwnedFd, Errno> {
    let mut current: Option<OwnedFd> = None;
    let mut parts = rel.split(|&b| b == b'/').peekable();
    while let Some(part) = parts.next() {
        let step_flags = if parts.peek().is_some() {
            path_flags()
        } else {
            flags
        };
        let dir = current.as_ref().map_or(base, |fd| fd.as_fd());
        current = Some(open_step(dir, part, step_flags)?);
    }
    current.ok_or(Errno::INVAL)
}

/// Opens one component without following it; a symlink fails with `ELOOP`, as
/// it does with `openat2`.
fn open_step(dir: BorrowedFd<'_>, name: &[u8], flags: OFlags) -> Result<OwnedFd, Errno> {
    match fs::openat(dir, name, flags | OFlags::NOFOLLOW, Mode::empty()) {
        Err(Errno::NOTDIR) => match fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink => {
                Err(Errno::LOOP)
            }
            _ => Err(Errno::NOTDIR),
        },
        other => other,
    }
}

/// Opens a regular file for reading, refusing a symlink, and without blocking on
/// a FIFO; the caller checks the type with `fstat`. Reads for syncing do not count
/// as use: the access time is left alone where the system allows (`O_NOATIME`, for
/// the file's owner or root), since it orders eviction.
pub(crate) fn open_file_read(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<OwnedFd> {
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    match fs::openat(dir, name, flags | OFlags::NOATIME, Mode::empty()) {
        Err(Errno::PERM) => Ok(fs::openat(dir, name, flags, Mode::empty())?),
        other => Ok(other?),
    }
}

/// Switches a file back to blocking reads, keeping its other status flags.
pub(crate) fn set_blocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = fs::fcntl_getfl(fd)?;
    fs::fcntl_setfl(fd, flags & !OFlags::NONBLOCK)?;
    Ok(())
}

/// Creates a new file `name` (never an existing one) for writing, mode 0600.
pub(crate) fn create_new(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<OwnedFd> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(fs::openat(dir, name, flags, Mode::from_raw_mode(0o600))?)
}

/// `lstat` of `name` in `dir`; `Ok(None)` when nothing is there.
pub(crate) fn lstat(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<Option<RawStat>> {
    match fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(stat)),
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// `fstat`.
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> io::Result<RawStat> {
    Ok(fs::fstat(fd)?)
}

/// The target of the symlink `name` in `dir`.
pub(crate) fn read_link(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<Vec<u8>> {
    Ok(fs::readlinkat(dir, name, Vec::new())?.into_bytes())
}

/// The names in a folder, without `.` and `..`.
pub(crate) fn read_names(dir: OwnedFd) -> io::Result<Vec<Vec<u8>>> {
    let mut names = Vec::new();
    for entry in fs::Dir::new(dir)? {
        let name = entry?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            names.push(name);
        }
    }
    Ok(names)
}

/// Sets the permission bits of `name` in `dir` (the caller made sure it is no symlink).
pub(crate) fn chmod(dir: BorrowedFd<'_>, name: &[u8], mode: u32) -> io::Result<()> {
    Ok(fs::chmodat(
        dir,
        name,
        Mode::from_raw_mode(mode & 0o7777),
        AtFlags::empty(),
    )?)
}

/// Sets the mtime of `name` in `dir` (of a symlink itself, never its target).
pub(crate) fn set_mtime(dir: BorrowedFd<'_>, name: &[u8], mtime_ns: i64) -> io::Result<()> {
    Ok(fs::utimensat(
        dir,
        name,
        &mtime_only(mtime_ns),
        AtFlags::SYMLINK_NOFOLLOW,
    )?)
}

/// Sets mode and mtime of an open file.
pub(crate) fn set_file_attrs(fd: BorrowedFd<'_>, mode: u32, mtime_ns: i64) -> io::Result<()> {
    fs::fchmod(fd, Mode::from_raw_mode(mode & 0o7777))?;
    fs::futimens(fd, &mtime_only(mtime_ns))?;
    Ok(())
}

/// Timestamps that set the mtime and leave the atime alone.
fn mtime_only(mtime_ns: i64) -> Timestamps {
    Timestamps {
        last_access: Timespec {
            tv_sec: 0,
            tv_nsec: fs::UTIME_OMIT,
        },
        last_modification: Timespec {
            tv_sec: mtime_ns.div_euclid(NANOS_PER_SEC),
            tv_nsec: mtime_ns.rem_euclid(NANOS_PER_SEC),
        },
    }
}

/// Flushes a file's data and metadata to stable storage.
pub(crate) fn fsync_file(fd: BorrowedFd<'_>) -> io::Result<()> {
    Ok(fs::fsync(fd)?)
}

/// Flushes a folder's entries. Folders opened as `O_PATH` handles, and file
/// systems that cannot sync folders, are skipped: there is nothing more to do.
pub(crate) fn fsync_dir(fd: BorrowedFd<'_>) -> io::Result<()> {
    match fs::fsync(fd) {
        Err(Errno::BADF) | Err(Errno::INVAL) | Err(Errno::OPNOTSUPP) => {
            tracing::debug!("folder fsync not supported here; skipped");
            Ok(())
        }
        other => Ok(other?),
    }
}

/// Creates the folder `name` in `dir`, owner-only until its mode is set.
pub(crate) fn mkdir(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    Ok(fs::mkdirat(dir, name, Mode::from_raw_mode(0o700))?)
}

/// Creates the symlink `name` in `dir` pointing at `target`.
pub(crate) fn symlink(target: &[u8], dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    Ok(fs::symlinkat(target, dir, name)?)
}

/// Removes a file or symlink (`is_dir` false) or an empty folder.
pub(crate) fn unlink(dir: BorrowedFd<'_>, name: &[u8], is_dir: bool) -> io::Result<()> {
    let flags = if is_dir {
        AtFlags::REMOVEDIR
    } else {
        AtFlags::empty()
    };
    match fs::unlinkat(dir, name, flags) {
        // Some systems say EEXIST for a folder that is not empty.
        Err(Errno::EXIST) if is_dir => Err(Errno::NOTEMPTY.into()),
        other => Ok(other?),
    }
}

/// Renames `from` to `to`, replacing whatever `to` is.
pub(crate) fn rename(
    from_dir: BorrowedFd<'_>,
    from: &[u8],
    to_dir: BorrowedFd<'_>,
    to: &[u8],
) -> io::Result<()> {
    Ok(fs::renameat(from_dir, from, to_dir, to)?)
}

/// Renames `from` to `to` only when nothing is at `to` (`EEXIST` otherwise).
///
/// Where the file system lacks `RENAME_NOREPLACE` (SMB, NFS, many FUSE mounts),
/// falls back to a check followed by a plain rename, which leaves a short race.
pub(crate) fn rename_no_replace(
    from_dir: BorrowedFd<'_>,
    from: &[u8],
    to_dir: BorrowedFd<'_>,
    to: &[u8],
) -> io::Result<()> {
    match fs::renameat_with(from_dir, from, to_dir, to, fs::RenameFlags::NOREPLACE) {
        Err(Errno::INVAL) | Err(Errno::NOSYS) | Err(Errno::OPNOTSUPP) => {
            tracing::debug!("RENAME_NOREPLACE not supported here; checking first");
            if lstat(to_dir, to)?.is_some() {
                return Err(Errno::EXIST.into());
            }
            rename(from_dir, from, to_dir, to)
        }
        other => Ok(other?),
    }
}

/// What kind of item a stat describes.
pub(crate) fn file_type(stat: &RawStat) -> FileType {
    FileType::from_raw_mode(stat.st_mode)
}

/// The permission bits.
pub(crate) fn mode(stat: &RawStat) -> u32 {
    stat.st_mode & 0o7777
}

/// The size in bytes.
#[allow(clippy::unnecessary_cast)] // the field types differ between architectures
pub(crate) fn size(stat: &RawStat) -> u64 {
    stat.st_size.max(0) as u64
}

/// The modification time in nanoseconds since the epoch.
#[allow(clippy::unnecessary_cast)] // the field types differ between architectures
pub(crate) fn mtime_ns(stat: &RawStat) -> i64 {
    nanos(stat.st_mtime as i64, stat.st_mtime_nsec as i64)
}

fn nanos(secs: i64, nsecs: i64) -> i64 {
    secs.saturating_mul(NANOS_PER_SEC).saturating_add(nsecs)
}

/// The fingerprint `dev:ino:ctime_sec.ctime_nsec:size:mtime_ns`.
///
/// Written digit by digit rather than with `format!`: it is made for every listed
/// item, and the formatting machinery was a fifth of a no-change sync's work. The
/// text is exactly what `format!("{}:{}:{}.{:09}:{}:{}", ...)` gives (it is stored).
#[allow(clippy::unnecessary_cast)] // the field types differ between architectures
pub(crate) fn identity(stat: &RawStat) -> String {
    let nsec = stat.st_ctime_nsec as i64;
    let mut out = Digits::default();
    out.unsigned(stat.st_dev as u64);
    out.byte(b':');
    out.unsigned(stat.st_ino as u64);
    out.byte(b':');
    out.signed(stat.st_ctime as i64);
    out.byte(b'.');
    if (0..NANOS_PER_SEC).contains(&nsec) {
        out.padded(nsec as u64, 9);
    } else {
        out.text(format!("{nsec:09}").as_bytes());
    }
    out.byte(b':');
    out.unsigned(size(stat));
    out.byte(b':');
    out.signed(mtime_ns(stat));
    out.into_string()
}

/// A short ASCII text built on the stack (an identity is at most 5 numbers of 20
/// digits and their separators).
struct Digits {
    buf: [u8; 128],
    len: usize,
}

impl Default for Digits {
    fn default() -> Digits {
        Digits {
            buf: [0; 128],
            len: 0,
        }
    }
}

impl Digits {
    fn text(&mut self, bytes: &[u8]) {
        let end = (self.len + bytes.len()).min(self.buf.len());
        let n = end - self.len;
        self.buf[self.len..end].copy_from_slice(&bytes[..n]);
        self.len = end;
    }

    fn byte(&mut self, b: u8) {
        self.text(&[b]);
    }

    /// `value` in decimal, at least `width` digits (zeros in front). Two digits per
    /// step: the identity's numbers are long (a time in nanoseconds has 19 digits).
    fn padded(&mut self, mut value: u64, width: usize) {
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        let mut digits = [b'0'; 20];
        let mut at = digits.len();
        while value >= 100 {
            let pair = (value % 100) as usize * 2;
            value /= 100;
            at -= 2;
            digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        }
        if value >= 10 {
            let pair = value as usize * 2;
            at -= 2;
            digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        } else {
            at -= 1;
            digits[at] = b'0' + value as u8;
        }
        let start = at.min(digits.len() - width.min(digits.len()));
        self.text(&digits[start..]);
    }

    fn unsigned(&mut self, value: u64) {
        self.padded(value, 1);
    }

    fn signed(&mut self, value: i64) {
        if value < 0 {
            self.byte(b'-');
        }
        self.unsigned(value.unsigned_abs());
    }

    fn into_string(self) -> String {
        // Only ASCII digits, '-', ':' and '.' are ever written.
        String::from_utf8(self.buf[..self.len].to_vec()).unwrap_or_default()
    }
}

/// 64 fresh random bits, for the random part of a temp name and for a new cache's
/// temp tag (a per-process random key, a counter and the time, hashed).
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_times_split_into_seconds_and_positive_nanos() {
        let t = mtime_only(-1_500_000_000).last_modification;
        assert_eq!((t.tv_sec, t.tv_nsec), (-2, 500_000_000));
        assert_eq!(nanos(t.tv_sec, t.tv_nsec), -1_500_000_000);
        let t = mtime_only(1_700_000_000_123_456_789).last_modification;
        assert_eq!((t.tv_sec, t.tv_nsec), (1_700_000_000, 123_456_789));
    }

    #[test]
    fn both_ways_of_opening_refuse_symlinks_with_eloop() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("a/b")).unwrap();
        std::os::unix::fs::symlink("a", tmp.path().join("link")).unwrap();
        std::os::unix::fs::symlink("b", tmp.path().join("a/inner")).unwrap();
        let root = open_root(tmp.path(), Access::Handle).unwrap();
        for rel in [&b"link"[..], b"link/b", b"a/inner"] {
            assert_eq!(
                walk(root.as_fd(), rel, list_flags()).err(),
                Some(Errno::LOOP)
            );
            let err = open_below(root.as_fd(), rel, Access::List).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(Errno::LOOP.raw_os_error()));
        }
        assert!(walk(root.as_fd(), b"a/b", list_flags()).is_ok());
        assert!(open_below(root.as_fd(), b"a/b", Access::Handle).is_ok());
    }

    #[test]
    #[allow(clippy::unnecessary_cast)] // the field types differ between architectures
    fn identity_text_is_the_stored_format() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("f"), b"abc").unwrap();
        let root = open_root(tmp.path(), Access::Handle).unwrap();
        let mut stat = lstat(root.as_fd(), b"f").unwrap().unwrap();
        let old = |s: &RawStat| {
            format!(
                "{}:{}:{}.{:09}:{}:{}",
                s.st_dev as u64,
                s.st_ino as u64,
                s.st_ctime as i64,
                s.st_ctime_nsec as i64,
                size(s),
                mtime_ns(s)
            )
        };
        assert_eq!(identity(&stat), old(&stat));
        for (ctime, nsec, mtime) in [
            (0, 0, 0),
            (-5, 7, -1_500_000_000),
            (i64::MAX, 999_999_999, i64::MIN),
        ] {
            stat.st_ctime = ctime as _;
            stat.st_ctime_nsec = nsec as _;
            stat.st_mtime = (mtime / NANOS_PER_SEC) as _;
            stat.st_mtime_nsec = 0;
            stat.st_dev = u64::MAX as _;
            assert_eq!(identity(&stat), old(&stat));
        }
    }

    #[test]
    fn digits_match_the_formatter() {
        let mut values = vec![0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, u64::MAX];
        values.extend((0..20).map(|k| 10u64.pow(k) - 1));
        values.extend((0..20).map(|k| (10u64.pow(k) / 3).saturating_mul(7)));
        for v in values {
            for width in [1, 9] {
                let mut d = Digits::default();
                d.padded(v, width);
                assert_eq!(d.into_string(), format!("{v:0width$}"));
            }
        }
    }

    #[test]
    fn random_numbers_differ() {
        assert_ne!(random_u64(), random_u64());
    }
}
