//! Listing folders: a folder's entries are read when the kernel asks for the first
//! of them (its cache copy's entries, then its ghosts from the state database), and
//! handed out by `readdir` (names and kinds) or `readdirplus` (with attributes, so
//! `ls -l` needs no lookup per entry). The kernel keeps the listing of a watched
//! cache folder in its page cache (`FOPEN_CACHE_DIR`): [`super::watch`] drops it
//! when a name changes there, or when the state database changes (ghosts).

use super::reply::Opened;
use super::view::{ghost_kind, io_errno, kind_of, lock, Node, OfflineFs};
use fuser::{Errno, FileType, FopenFlags, Generation, INodeNo, ReplyDirectory, ReplyDirectoryPlus};
use offline_core::{Meta, RelPath};
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

/// One entry of an open folder.
pub struct Child {
    name: Vec<u8>,
    kind: FileType,
    /// The ghost's synced metadata (`None`: a cache copy, looked at when listed).
    ghost: Option<Meta>,
}

/// A listing: the folder's path and entries.
pub struct Listing {
    path: RelPath,
    children: Vec<Child>,
}

/// An open folder: its listing, read at the first `readdir`.
pub struct OpenDir {
    ino: u64,
    listing: std::sync::Mutex<Option<Arc<Listing>>>,
}

impl OfflineFs {
    pub fn opendir_op(&self, ino: INodeNo) -> Result<Opened, Errno> {
        let path = self.path_of(ino)?;
        let node = self.node(&path).ok_or(Errno::ENOENT)?;
        if !node.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let watched = matches!(node, Node::Local(_)) && lock(&self.inodes).watch(ino.0).is_some();
        let fh = self.new_fh();
        lock(&self.dirs).insert(
            fh,
            Arc::new(OpenDir {
                ino: ino.0,
                listing: std::sync::Mutex::new(None),
            }),
        );
        let flags = if watched {
            FopenFlags::FOPEN_CACHE_DIR | FopenFlags::FOPEN_KEEP_CACHE
        } else {
            FopenFlags::empty()
        };
        Ok(Opened {
            fh,
            flags,
            backing: None,
        })
    }

    /// Reads the entries of the folder `path`.
    fn list(&self, path: RelPath) -> Result<Listing, Errno> {
        let node = self.node(&path).ok_or(Errno::ENOENT)?;
        let mut children: Vec<Child> = Vec::new();
        match node {
            Node::Local(m) if m.is_dir() => {
                let entries = fs::read_dir(self.full(&path)).map_err(|e| io_errno(&e))?;
                for entry in entries.flatten() {
                    let name = entry.file_name().as_bytes().to_vec();
                    match path.join(&name) {
                        Ok(child) if !Self::hidden(&child) => {}
                        _ => continue,
                    }
                    let kind = entry
                        .file_type()
                        .map(kind_of)
                        .unwrap_or(FileType::RegularFile);
                    children.push(Child {
                        name,
                        kind,
                        ghost: None,
                    });
                }
            }
            Node::Ghost(m) if m.is_dir() => {}
            _ => return Err(Errno::ENOTDIR),
        }
        let ghosts = self.ghosts_in(&path);
        if !ghosts.is_empty() {
            let local: HashSet<Vec<u8>> = children.iter().map(|c| c.name.clone()).collect();
            for (child, meta) in ghosts {
                let name = child.file_name().to_vec();
                if local.contains(&name) || Self::hidden(&child) {
                    continue;
                }
                children.push(Child {
                    name,
                    kind: ghost_kind(meta.kind),
                    ghost: Some(meta),
                });
            }
        }
        children.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Listing { path, children })
    }

    /// The listing of open folder `fh`: read afresh when the kernel starts at the
    /// beginning (offset 0), else the one read then.
    fn listing(&self, fh: u64, offset: u64) -> Result<Arc<Listing>, Errno> {
        let open = lock(&self.dirs).get(&fh).cloned().ok_or(Errno::EBADF)?;
        let mut held = lock(&open.listing);
        if let Some(listing) = held.as_ref().filter(|_| offset > 0) {
            return Ok(listing.clone());
        }
        let path = self.path_of(INodeNo(open.ino))?;
        let listing = Arc::new(self.list(path)?);
        *held = Some(listing.clone());
        if lock(&self.inodes).watch(open.ino).is_some() {
            // The kernel may keep it: dropped again when the folder changes.
            lock(&self.listed).insert(open.ino);
        }
        Ok(listing)
    }

    /// The folder itself and its parent, as `.` and `..` (offsets 1 and 2).
    fn dots(&self, ino: INodeNo, list: &Listing) -> [(u64, &'static [u8]); 2] {
        let parent = list
            .path
            .parent()
            .and_then(|p| lock(&self.inodes).ino_of(&p))
            .unwrap_or(1);
        [(ino.0, b"."), (parent, b"..")]
    }

    /// The number shown for a child in a plain listing: the kernel's if it holds
    /// one, else a stand-in (a plain listing creates no inode in the kernel).
    fn listed_ino(&self, path: &RelPath) -> u64 {
        lock(&self.inodes).ino_of(path).unwrap_or(u64::MAX)
    }

    pub fn readdir_op(&self, ino: INodeNo, fh: u64, offset: u64, mut reply: ReplyDirectory) {
        let list = match self.listing(fh, offset) {
            Ok(list) => list,
            Err(e) => return reply.error(e),
        };
        let mut at = offset;
        for (dot_ino, name) in self.dots(ino, &list).into_iter().skip(at as usize) {
            at += 1;
            if reply.add(
                INodeNo(dot_ino),
                at,
                FileType::Directory,
                OsStr::from_bytes(name),
            ) {
                return reply.ok();
            }
        }
        for child in list.children.iter().skip((at - 2) as usize) {
            at += 1;
            let shown = list
                .path
                .join(&child.name)
                .map(|p| self.listed_ino(&p))
                .unwrap_or(u64::MAX);
            if reply.add(
                INodeNo(shown),
                at,
                child.kind,
                OsStr::from_bytes(&child.name),
            ) {
                break;
            }
        }
        reply.ok();
    }

    pub fn readdirplus_op(
        &self,
        ino: INodeNo,
        fh: u64,
        offset: u64,
        mut reply: ReplyDirectoryPlus,
    ) {
        let list = match self.listing(fh, offset) {
            Ok(list) => list,
            Err(e) => return reply.error(e),
        };
        let mut at = offset;
        for (dot_ino, name) in self.dots(ino, &list).into_iter().skip(at as usize) {
            at += 1;
            // `.` and `..` carry no attributes and count no lookup.
            let attr = fuser::FileAttr {
                ino: INodeNo(dot_ino),
                ..self.attr(dot_ino, &Node::Ghost(Meta::dir(0, 0o755)))
            };
            if reply.add(
                INodeNo(0),
                at,
                OsStr::from_bytes(name),
                &std::time::Duration::ZERO,
                &attr,
                Generation(0),
            ) {
                return reply.ok();
            }
        }
        let dir_ino = Some(ino.0);
        for child in list.children.iter().skip((at - 2) as usize) {
            at += 1;
            let Ok(path) = list.path.join(&child.name) else {
                continue;
            };
            let node = match &child.ghost {
                None => match fs::symlink_metadata(self.full(&path)) {
                    Ok(m) => Node::Local(m),
                    // Gone since opendir.
                    Err(_) => continue,
                },
                Some(meta) => Node::Ghost(meta.clone()),
            };
            let known = lock(&self.inodes).ino_of(&path);
            let child_ino = lock(&self.inodes).number(&path, node.key());
            let attr = self.attr(child_ino, &node);
            let ttl = self.ttl(dir_ino, &node);
            let full = reply.add(
                INodeNo(child_ino),
                at,
                OsStr::from_bytes(&child.name),
                &ttl,
                &attr,
                Generation(0),
            );
            if full {
                if known != Some(child_ino) {
                    let _ = lock(&self.inodes).drop_unused(child_ino);
                }
                break;
            }
            lock(&self.inodes).looked_up(child_ino);
            if node.is_dir() && matches!(node, Node::Local(_)) {
                self.watch_dir(child_ino, &path);
            }
        }
        reply.ok();
    }

    pub fn releasedir_op(&self, fh: u64) -> Result<(), Errno> {
        lock(&self.dirs).remove(&fh);
        Ok(())
    }
}
