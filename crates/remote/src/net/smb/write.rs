//! Putting files and folders on the share without ever leaving half a file or
//! replacing the wrong item.
//!
//! A file is written to a temp name in its folder, hashed on the way, given its
//! modification time, flushed (the server makes it durable), and renamed over the
//! target through the still-open handle: with `ReplaceIfExists` off where nothing
//! may be there (the server refuses if something appeared), on only after the
//! target was re-checked against the identity the sync saw. The name the server
//! answers for the temp file proves that no folder above matched only by case.

use super::lookup::{self, describe, handle, Found};
use super::meta::ns_to_filetime;
use super::names::{self, NameMatch};
use super::session::{Attempt, Fail};
use super::status::{code, status_of};
use crate::error::{ErrorKind, RemoteError};
use crate::hash::read_some;
use crate::{CheckExpect, Expect, Stat, Written};
use offline_core::{Hash, Kind, RelPath, TempTag};
use smb::binrw_util::file_time::FileTime;
use smb::{
    CreateDisposition, CreateOptions, FileAccessMask, FileAttributes, FileBasicInformation,
    FileDispositionInformation, FileRenameInformation, Resource, Tree, WriteAt,
};
use std::io::Read;

/// How much is sent in one write request.
const CHUNK: usize = 1024 * 1024;

/// The folder part of a server path (`a\b\c` to `a\b`, `c` to ``).
pub(crate) fn parent_of(name: &str) -> &str {
    name.rsplit_once('\\').map(|(p, _)| p).unwrap_or("")
}

/// A fresh temp name of `tag` in the folder of the server path `target`.
pub(crate) fn temp_beside(tag: &TempTag, target: &str) -> String {
    // Only ASCII is ever in a temp name.
    let temp = String::from_utf8_lossy(&tag.temp_name(crate::sys::random_u64())).into_owned();
    match parent_of(target) {
        "" => temp,
        parent => format!("{parent}\\{temp}"),
    }
}

fn changed(path: &RelPath, message: &str) -> Fail {
    Fail::Remote(RemoteError::new(ErrorKind::Changed, path, message))
}

/// Checks `expect` against what is at `target` now; returns what is there.
pub(crate) async fn check_expect(
    tree: &Tree,
    path: &RelPath,
    target: &str,
    expect: &Expect,
) -> Attempt<Option<Stat>> {
    let found = lookup::lookup(tree, target).await?;
    let current = match found {
        Found::Absent => None,
        Found::Item {
            name: NameMatch::OtherCase(there),
            ..
        } => {
            if *expect == Expect::Absent {
                return Err(names::case_clash(path, &there).into());
            }
            // Not the item the sync saw (that one had exactly this name).
            return Err(changed(path, "it was removed since it was scanned"));
        }
        Found::Item {
            stat: None,
            name: NameMatch::Same,
        } => {
            return Err(Fail::Remote(RemoteError::new(
                ErrorKind::Unsupported,
                path,
                "a Windows symlink or junction is there; it is never followed or replaced",
            )))
        }
        Found::Item {
            stat: Some(stat),
            name: NameMatch::Same,
        } => Some(stat),
    };
    expect.verify(path, current.as_ref().map(|s| s.identity.as_str()))?;
    Ok(current)
}

/// After a refused rename or create with nothing expected there: what is there,
/// in words (a name differing by case, or a new item).
async fn explain_collision(tree: &Tree, path: &RelPath, target: &str) -> Fail {
    match lookup::lookup(tree, target).await {
        Ok(Found::Item {
            name: NameMatch::OtherCase(there),
            ..
        }) => names::case_clash(path, &there).into(),
        Ok(_) => changed(path, "something appeared there since it was scanned"),
        Err(err) => err,
    }
}

/// Fails unless the server knows the new item at `asked` by exactly that path
/// (a folder above may exist under another case); the item is then removed.
async fn require_exact_name(resource: &Resource, path: &RelPath, asked: &str) -> Attempt<Stat> {
    match describe(resource, asked).await? {
        Found::Item {
            stat: Some(stat),
            name: NameMatch::Same,
        } => Ok(stat),
        Found::Item {
            name: NameMatch::OtherCase(there),
            ..
        } => Err(names::case_clash(path, parent_of(&there)).into()),
        _ => Err(Fail::Remote(RemoteError::new(
            ErrorKind::Io,
            path,
            "the server does not describe the new item as expected",
        ))),
    }
}

/// Marks an open item of ours for deletion and closes it.
async fn discard(resource: Resource) {
    if let Err(e) = handle(&resource)
        .set_info(FileDispositionInformation::default())
        .await
    {
        tracing::warn!("could not remove a temp item on the share: {e}");
    }
    lookup::close(resource).await;
}

/// Writes a file (see the module notes).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_file(
    tree: &Tree,
    path: &RelPath,
    (target, tag): (&str, &TempTag),
    content: &mut dyn Read,
    mtime_ns: i64,
    expected_hash: Option<Hash>,
    expect: &Expect,
) -> Attempt<Written> {
    let temp = temp_beside(tag, target);
    let access = FileAccessMask::new()
        .with_generic_read(true)
        .with_generic_write(true)
        .with_delete(true)
        .with_synchronize(true);
    let resource = lookup::open(
        tree,
        &temp,
        access,
        CreateDisposition::Create,
        CreateOptions::new().with_non_directory_file(true),
    )
    .await?;
    let mut placed = false;
    let result = fill_and_place(
        tree,
        &resource,
        path,
        (target, &temp),
        content,
        mtime_ns,
        expected_hash,
        expect,
        &mut placed,
    )
    .await;
    if result.is_err() && !placed {
        discard(resource).await;
    } else {
        lookup::close(resource).await;
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn fill_and_place(
    tree: &Tree,
    resource: &Resource,
    path: &RelPath,
    (target, temp): (&str, &str),
    content: &mut dyn Read,
    mtime_ns: i64,
    expected_hash: Option<Hash>,
    expect: &Expect,
    placed: &mut bool,
) -> Attempt<Written> {
    let Resource::File(file) = resource else {
        return Err(changed(path, "a folder appeared at the temp name"));
    };
    require_exact_name(resource, path, temp).await?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut offset = 0u64;
    loop {
        let n = read_some(content, &mut buffer)
            .map_err(|e| RemoteError::from_io(path, "read the source", e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        let mut sent = 0;
        while sent < n {
            let written = file.write_at(&buffer[sent..n], offset).await?;
            if written == 0 {
                return Err(Fail::Remote(RemoteError::new(
                    ErrorKind::Io,
                    path,
                    "the server accepted no bytes of a write",
                )));
            }
            sent += written;
            offset += written as u64;
        }
    }
    let hash = *hasher.finalize().as_bytes();
    if expected_hash.is_some_and(|expected| expected != hash) {
        return Err(changed(path, "the source changed while it was copied"));
    }
    file.set_info(FileBasicInformation {
        creation_time: FileTime::ZERO,
        last_access_time: FileTime::ZERO,
        last_write_time: ns_to_filetime(mtime_ns),
        change_time: FileTime::ZERO,
        file_attributes: FileAttributes::new(),
    })
    .await?;
    file.flush().await.map_err(smb::Error::IoError)?;
    let current = match expect {
        // Nothing may be there: the rename below refuses if something is.
        Expect::Absent => None,
        _ => check_expect(tree, path, target, expect).await?,
    };
    if current.as_ref().is_some_and(|c| c.meta.kind == Kind::Dir) {
        return Err(Fail::Remote(RemoteError::new(
            ErrorKind::IsADirectory,
            path,
            "a folder is where the file should go",
        )));
    }
    // Another client may write the target here: the rename below (ReplaceIfExists
    // off where nothing may be there) is the server's own check.
    crashpoint::hit(crate::net::CHECKED);
    let renamed = file
        .set_info(FileRenameInformation {
            replace_if_exists: current.is_some().into(),
            root_directory: 0,
            file_name: target.into(),
        })
        .await;
    match renamed {
        Ok(()) => *placed = true,
        Err(err) if status_of(&err) == Some(code::OBJECT_NAME_COLLISION) => {
            return Err(explain_collision(tree, path, target).await)
        }
        Err(err) => return Err(err.into()),
    }
    let stat = require_exact_name(resource, path, target).await?;
    Ok(Written { stat, hash })
}

/// Creates a folder after checking `expect`; a folder already there is kept.
pub(crate) async fn make_dir(
    tree: &Tree,
    path: &RelPath,
    target: &str,
    expect: &Expect,
) -> Attempt<Stat> {
    match check_expect(tree, path, target, expect).await? {
        Some(stat) if stat.meta.kind == Kind::Dir => return Ok(stat),
        Some(_) => {
            return Err(Fail::Remote(RemoteError::new(
                ErrorKind::AlreadyExists,
                path,
                "a file is where the folder should be",
            )))
        }
        None => {}
    }
    let access = FileAccessMask::new()
        .with_file_read_attributes(true)
        .with_delete(true)
        .with_synchronize(true);
    let created = lookup::open(
        tree,
        target,
        access,
        CreateDisposition::Create,
        CreateOptions::new().with_directory_file(true),
    )
    .await;
    let resource = match created {
        Ok(resource) => resource,
        Err(err) if status_of(&err) == Some(code::OBJECT_NAME_COLLISION) => {
            return Err(explain_collision(tree, path, target).await)
        }
        Err(err) => return Err(err.into()),
    };
    match require_exact_name(&resource, path, target).await {
        Ok(stat) => {
            lookup::close(resource).await;
            Ok(stat)
        }
        Err(err) => {
            // Ours and empty: made under a folder whose name differs by case.
            discard(resource).await;
            Err(err)
        }
    }
}
