//! The one way the view answers the kernel: each operation returns a `Result`, and
//! [`Answer`] sends its value as the reply the request expects, or its errno.

use fuser::{
    BackingId, Errno, FileAttr, FileHandle, FopenFlags, Generation, ReplyAttr, ReplyCreate,
    ReplyData, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite,
};
use std::sync::Arc;
use std::time::Duration;

/// Attributes and how long the kernel may keep them (and the name, for entries).
#[derive(Debug, Clone)]
pub struct Entry {
    pub attr: FileAttr,
    pub ttl: Duration,
}

/// An opened file or folder.
#[derive(Debug)]
pub struct Opened {
    pub fh: u64,
    pub flags: FopenFlags,
    /// The cache file the kernel reads and writes itself (passthrough).
    pub backing: Option<Arc<BackingId>>,
}

/// A file created and opened.
#[derive(Debug)]
pub struct Created {
    pub entry: Entry,
    pub opened: Opened,
}

/// What `statfs` tells.
#[derive(Debug)]
pub struct Statfs {
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub bsize: u32,
    pub namelen: u32,
    pub frsize: u32,
}

/// Sends an operation's result as the reply.
pub trait Answer<T> {
    fn answer(self, result: Result<T, Errno>);
}

impl Answer<Entry> for ReplyEntry {
    fn answer(self, result: Result<Entry, Errno>) {
        match result {
            Ok(e) => self.entry(&e.ttl, &e.attr, Generation(0)),
            Err(e) => self.error(e),
        }
    }
}

impl Answer<Entry> for ReplyAttr {
    fn answer(self, result: Result<Entry, Errno>) {
        match result {
            Ok(e) => self.attr(&e.ttl, &e.attr),
            Err(e) => self.error(e),
        }
    }
}

impl Answer<()> for ReplyEmpty {
    fn answer(self, result: Result<(), Errno>) {
        match result {
            Ok(()) => self.ok(),
            Err(e) => self.error(e),
        }
    }
}

impl Answer<Vec<u8>> for ReplyData {
    fn answer(self, result: Result<Vec<u8>, Errno>) {
        match result {
            Ok(data) => self.data(&data),
            Err(e) => self.error(e),
        }
    }
}

impl Answer<u32> for ReplyWrite {
    fn answer(self, result: Result<u32, Errno>) {
        match result {
            Ok(n) => self.written(n),
            Err(e) => self.error(e),
        }
    }
}

impl Answer<Opened> for ReplyOpen {
    fn answer(self, result: Result<Opened, Errno>) {
        match result {
            Ok(Opened {
                fh,
                flags,
                backing: Some(id),
            }) => self.opened_passthrough(FileHandle(fh), flags, &id),
            Ok(o) => self.opened(FileHandle(o.fh), o.flags),
            Err(e) => self.error(e),
        }
    }
}

impl Answer<Created> for ReplyCreate {
    fn answer(self, result: Result<Created, Errno>) {
        match result {
            Ok(Created { entry, opened }) => match opened.backing {
                Some(id) => self.created_passthrough(
                    &entry.ttl,
                    &entry.attr,
                    Generation(0),
                    FileHandle(opened.fh),
                    opened.flags,
                    &id,
                ),
                None => self.created(
                    &entry.ttl,
                    &entry.attr,
                    Generation(0),
                    FileHandle(opened.fh),
                    opened.flags,
                ),
            },
            Err(e) => self.error(e),
        }
    }
}

impl Answer<Statfs> for ReplyStatfs {
    fn answer(self, result: Result<Statfs, Errno>) {
        match result {
            Ok(s) => self.statfs(
                s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.bsize, s.namelen, s.frsize,
            ),
            Err(e) => self.error(e),
        }
    }
}
