//! Opening, creating, reading and writing files. A file with a cache copy is opened
//! in the cache folder; with passthrough the kernel then reads and writes that file
//! itself, otherwise `read` and `write` go through here. A ghost is fetched on open,
//! or claimed when it is opened to be overwritten (`O_TRUNC`: no content needed).

use super::inodes::Key;
use super::reply::{Created, Opened};
use super::view::{io_errno, lock, Handle, Node, OfflineFs};
use crate::mount_status::{Fallback, Io};
use fuser::{BackingId, Errno, FopenFlags, INodeNo};
use offline_core::{Kind, RelPath};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::sync::Arc;

/// Registers an open cache file for passthrough (the reply's `open_backing`).
pub type Register<'a> = &'a dyn Fn(&File) -> io::Result<BackingId>;

impl OfflineFs {
    pub fn open_file(
        &self,
        path: &RelPath,
        flags: i32,
        create_mode: Option<u32>,
    ) -> io::Result<File> {
        let acc = flags & libc::O_ACCMODE;
        let mut options = fs::OpenOptions::new();
        options
            .read(acc == libc::O_RDONLY || acc == libc::O_RDWR)
            .write(acc == libc::O_WRONLY || acc == libc::O_RDWR)
            .append(flags & libc::O_APPEND != 0)
            .truncate(flags & libc::O_TRUNC != 0 && acc != libc::O_RDONLY)
            .custom_flags(flags & (libc::O_SYNC | libc::O_DSYNC | libc::O_NOFOLLOW));
        if let Some(mode) = create_mode {
            if flags & libc::O_EXCL != 0 {
                options.create_new(true);
            } else {
                options.create(true);
            }
            options.mode(mode);
            if acc == libc::O_RDONLY {
                // create(true) needs write access in std; the kernel asked for read only.
                options.write(true);
            }
        }
        options.open(self.full(path))
    }

    /// Keeps `file` open as `ino`, passed through by the kernel when it can be.
    fn hand_out(&self, ino: u64, file: File, register: Register) -> Result<Opened, Errno> {
        let meta = file.metadata().map_err(|e| io_errno(&e))?;
        let key = Key::Local {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        {
            let mut backings = lock(&self.backings);
            let mut inodes = lock(&self.inodes);
            match inodes.key(ino) {
                // The name now leads to another file while the old one is open here
                // through the kernel (a sync replaced it a moment ago): the kernel
                // allows one cache file per open inode.
                Some(k @ Key::Local { .. }) if k != key && backings.is_live(ino) => {
                    return Err(Errno::ESTALE)
                }
                _ => inodes.rekey(ino, key),
            }
            drop(inodes);
            let passthrough = matches!(*lock(&self.io), Some(Io::Passthrough)) && meta.is_file();
            let mut backing = None;
            if passthrough {
                match backings.get_or(ino, || register(&file)) {
                    Ok(id) => backing = Some(id),
                    Err(e) => self.passthrough_refused(&e),
                }
            }
            let fh = self.new_fh();
            lock(&self.files).insert(
                fh,
                Handle {
                    ino,
                    file: Arc::new(file),
                    _backing: backing.clone(),
                },
            );
            let flags = match &backing {
                Some(_) => FopenFlags::empty(),
                // The kernel may keep the pages between opens: a change in the cache
                // folder invalidates them.
                None if self.parent_watched(ino) => FopenFlags::FOPEN_KEEP_CACHE,
                None => FopenFlags::empty(),
            };
            Ok(Opened { fh, flags, backing })
        }
    }

    fn parent_watched(&self, ino: u64) -> bool {
        let inodes = lock(&self.inodes);
        inodes
            .path(ino)
            .and_then(|p| p.parent())
            .and_then(|p| inodes.ino_of(&p))
            .is_some_and(|dir| inodes.watch(dir).is_some())
    }

    /// The kernel would not take a cache file: serve content here from now on, and
    /// say why in `offline status`.
    fn passthrough_refused(&self, e: &io::Error) {
        let errno = e.raw_os_error().unwrap_or(libc::EIO);
        let mut io = lock(&self.io);
        if *io == Some(Io::Passthrough) {
            tracing::warn!(
                "FUSE passthrough refused ({e}); serving file content through the mount process"
            );
            *io = Some(Io::Fuse(Fallback::Refused(errno)));
        }
    }

    pub fn open_op(&self, ino: INodeNo, flags: i32, register: Register) -> Result<Opened, Errno> {
        let path = self.path_of(ino)?;
        let writing = flags & libc::O_ACCMODE != libc::O_RDONLY;
        let mut create_mode = None;
        match self.node(&path) {
            Some(Node::Local(_)) => {}
            Some(Node::Ghost(meta))
                if meta.kind == Kind::File && writing && flags & libc::O_TRUNC != 0 =>
            {
                // New content replaces the ghost: nothing to fetch.
                self.claim(&path)?;
                create_mode = Some(meta.mode & 0o7777);
            }
            Some(Node::Ghost(_)) => self.fetch(&path)?,
            None => return Err(Errno::ENOENT),
        }
        let file = self
            .open_file(&path, flags, create_mode)
            .map_err(|e| io_errno(&e))?;
        self.hand_out(ino.0, file, register)
    }

    pub fn create_op(
        &self,
        parent: INodeNo,
        name: &std::ffi::OsStr,
        mode: u32,
        flags: i32,
        register: Register,
    ) -> Result<Created, Errno> {
        let path = self.child(parent, name)?;
        if Self::hidden(&path) {
            return Err(Errno::EPERM);
        }
        self.local_parent(&path)?;
        let mut flags = flags;
        match self.node(&path) {
            Some(Node::Ghost(_)) if flags & libc::O_EXCL != 0 => return Err(Errno::EEXIST),
            Some(Node::Ghost(meta)) if meta.kind == Kind::File => {
                if flags & libc::O_TRUNC != 0 {
                    self.claim(&path)?;
                } else {
                    self.fetch(&path)?;
                }
            }
            Some(Node::Ghost(_)) => return Err(Errno::EISDIR),
            Some(Node::Local(_)) | None => {}
        }
        if flags & libc::O_ACCMODE == libc::O_RDONLY {
            flags |= libc::O_RDWR;
        }
        let file = self
            .open_file(&path, flags, Some(mode))
            .map_err(|e| io_errno(&e))?;
        let entry = self.entry_of(Some(parent.0), &path)?;
        let opened = self.hand_out(entry.attr.ino.0, file, register)?;
        Ok(Created { entry, opened })
    }

    fn handle_file(&self, fh: u64) -> Result<Arc<File>, Errno> {
        lock(&self.files)
            .get(&fh)
            .map(|h| h.file.clone())
            .ok_or(Errno::EBADF)
    }

    /// The open file behind `fh`, if any.
    pub fn open_handle(&self, fh: Option<u64>) -> Option<Arc<File>> {
        fh.and_then(|fh| self.handle_file(fh).ok())
    }

    pub fn read_op(&self, fh: u64, offset: u64, size: u32) -> Result<Vec<u8>, Errno> {
        let file = self.handle_file(fh)?;
        let mut buf = vec![0u8; size as usize];
        let mut filled = 0;
        while filled < buf.len() {
            match file.read_at(&mut buf[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_errno(&e)),
            }
        }
        buf.truncate(filled);
        Ok(buf)
    }

    pub fn write_op(&self, fh: u64, offset: u64, data: &[u8]) -> Result<u32, Errno> {
        let file = self.handle_file(fh)?;
        file.write_all_at(data, offset).map_err(|e| io_errno(&e))?;
        Ok(data.len() as u32)
    }

    pub fn release_op(&self, fh: u64) -> Result<(), Errno> {
        let handle = lock(&self.files).remove(&fh);
        if let Some(h) = handle {
            let ino = h.ino;
            drop(h);
            lock(&self.backings).released(ino);
        }
        Ok(())
    }

    /// Copies between two open cache files in the kernel (`cp` inside the view).
    pub fn copy_range_op(
        &self,
        (fh_in, offset_in): (u64, u64),
        (fh_out, offset_out): (u64, u64),
        len: u64,
    ) -> Result<u32, Errno> {
        let (from, to) = (self.handle_file(fh_in)?, self.handle_file(fh_out)?);
        let (mut off_in, mut off_out) = (offset_in, offset_out);
        let len = usize::try_from(len.min(u64::from(u32::MAX))).unwrap_or(u32::MAX as usize);
        let copied =
            rustix::fs::copy_file_range(&*from, Some(&mut off_in), &*to, Some(&mut off_out), len)
                .map_err(|e| Errno::from_i32(e.raw_os_error()))?;
        Ok(copied as u32)
    }

    pub fn fsync_op(&self, fh: u64, datasync: bool) -> Result<(), Errno> {
        let file = self.handle_file(fh)?;
        let done = if datasync {
            file.sync_data()
        } else {
            file.sync_all()
        };
        done.map_err(|e| io_errno(&e))
    }
}
