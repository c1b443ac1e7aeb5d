//! Changing items that are on the share: removing, renaming and setting the
//! modification time. Each opens the item first and checks the precondition on
//! the open handle, so what is changed is exactly what was checked.

use super::lookup::{self, describe, handle, Found};
use super::meta::ns_to_filetime;
use super::names::{self, NameMatch};
use super::session::{Attempt, Fail};
use super::status::{code, status_of};
use crate::error::{ErrorKind, RemoteError};
use crate::{Expect, Stat};
use offline_core::{Kind, RelPath};
use smb::binrw_util::file_time::FileTime;
use smb::{
    FileAccessMask, FileAttributes, FileBasicInformation, FileDispositionInformation,
    FileRenameInformation, Resource, Tree,
};

fn not_found(path: &RelPath, what: &str) -> Fail {
    Fail::Remote(RemoteError::new(
        ErrorKind::NotFound,
        path,
        format!("nothing is there to {what}"),
    ))
}

/// Opens the item at `target` with `access`, checks `expect` against it, and
/// returns the open handle with what it is. An item the server knows by another
/// case is not the item asked for.
async fn open_checked(
    tree: &Tree,
    path: &RelPath,
    target: &str,
    access: FileAccessMask,
    expect: &Expect,
    what: &str,
) -> Attempt<(Resource, Stat)> {
    let resource = match lookup::open_existing(tree, target, access).await {
        Ok(resource) => resource,
        Err(err) if lookup::is_absent(&err) => {
            return Err(match expect {
                Expect::Identity(_) => changed(path, "it was removed since it was scanned"),
                _ => not_found(path, what),
            })
        }
        Err(err) => return Err(err.into()),
    };
    let checked = match describe(&resource, target).await {
        Ok(Found::Item {
            stat: Some(stat),
            name: NameMatch::Same,
        }) => match expect {
            Expect::Identity(id) if stat.identity != *id => {
                Err(changed(path, "it changed since it was scanned"))
            }
            Expect::Absent => Err(changed(
                path,
                "something appeared there since it was scanned",
            )),
            _ => Ok(stat),
        },
        Ok(Found::Item {
            stat: None,
            name: NameMatch::Same,
        }) => Err(Fail::Remote(RemoteError::new(
            ErrorKind::Unsupported,
            path,
            "a Windows symlink or junction is there; it is never followed or changed",
        ))),
        Ok(_) => Err(match expect {
            Expect::Identity(_) => changed(path, "it was removed since it was scanned"),
            _ => not_found(path, what),
        }),
        Err(err) => Err(err.into()),
    };
    match checked {
        Ok(stat) => Ok((resource, stat)),
        Err(err) => {
            lookup::close(resource).await;
            Err(err)
        }
    }
}

fn changed(path: &RelPath, message: &str) -> Fail {
    Fail::Remote(RemoteError::new(ErrorKind::Changed, path, message))
}

fn delete_access() -> FileAccessMask {
    FileAccessMask::new()
        .with_delete(true)
        .with_file_read_attributes(true)
        .with_synchronize(true)
}

/// Removes a file or an empty folder, after checking `expect`.
pub(crate) async fn remove(
    tree: &Tree,
    path: &RelPath,
    target: &str,
    expect: &Expect,
) -> Attempt<()> {
    let (resource, stat) =
        open_checked(tree, path, target, delete_access(), expect, "remove").await?;
    let marked = handle(&resource)
        .set_info(FileDispositionInformation::default())
        .await;
    if let Err(err) = marked {
        lookup::close(resource).await;
        if stat.meta.kind == Kind::Dir && status_of(&err) == Some(code::DIRECTORY_NOT_EMPTY) {
            return Err(Fail::Remote(RemoteError::new(
                ErrorKind::NotEmpty,
                path,
                "the folder is not empty",
            )));
        }
        return Err(err.into());
    }
    // The item goes when its last handle closes: a failure here is a failure.
    handle(&resource).close().await?;
    Ok(())
}

/// Renames an item without replacing anything.
pub(crate) async fn rename(
    tree: &Tree,
    (from_path, from): (&RelPath, &str),
    (to_path, to): (&RelPath, &str),
) -> Attempt<()> {
    let (resource, _) = open_checked(
        tree,
        from_path,
        from,
        delete_access(),
        &Expect::Any,
        "rename",
    )
    .await?;
    let result = rename_open(tree, &resource, from, (to_path, to)).await;
    lookup::close(resource).await;
    result
}

async fn rename_open(
    tree: &Tree,
    resource: &Resource,
    from: &str,
    (to_path, to): (&RelPath, &str),
) -> Attempt<()> {
    match lookup::lookup(tree, to).await? {
        Found::Absent => {}
        // The same item under another case: a rename that changes only case.
        Found::Item {
            name: NameMatch::OtherCase(there),
            ..
        } if there == from.trim_start_matches('\\') => {}
        Found::Item {
            name: NameMatch::OtherCase(there),
            ..
        } => return Err(names::case_clash(to_path, &there).into()),
        Found::Item { .. } => {
            return Err(Fail::Remote(RemoteError::new(
                ErrorKind::AlreadyExists,
                to_path,
                "cannot rename an item to it: something is already there",
            )))
        }
    }
    let renamed = handle(resource)
        .set_info(FileRenameInformation {
            replace_if_exists: false.into(),
            root_directory: 0,
            file_name: to.into(),
        })
        .await;
    match renamed {
        Ok(()) => Ok(()),
        Err(err) if status_of(&err) == Some(code::OBJECT_NAME_COLLISION) => {
            Err(Fail::Remote(RemoteError::new(
                ErrorKind::AlreadyExists,
                to_path,
                "cannot rename an item to it: something is already there",
            )))
        }
        Err(err) => Err(err.into()),
    }
}

/// Sets the modification time of a file (folders and modes are left alone: the
/// share keeps no modes, and a folder's time moves with its children), after
/// checking `expect`; returns the item's new stat.
pub(crate) async fn set_mtime(
    tree: &Tree,
    path: &RelPath,
    target: &str,
    mtime_ns: Option<i64>,
    expect: &Expect,
) -> Attempt<Stat> {
    let access = FileAccessMask::new()
        .with_file_read_attributes(true)
        .with_file_write_attributes(true)
        .with_synchronize(true);
    let (resource, stat) = open_checked(tree, path, target, access, expect, "change").await?;
    let result = async {
        match mtime_ns {
            Some(ns) if stat.meta.kind == Kind::File && ns != stat.meta.mtime_ns => {
                handle(&resource)
                    .set_info(FileBasicInformation {
                        creation_time: FileTime::ZERO,
                        last_access_time: FileTime::ZERO,
                        last_write_time: ns_to_filetime(ns),
                        change_time: FileTime::ZERO,
                        file_attributes: FileAttributes::new(),
                    })
                    .await?;
                match describe(&resource, target).await? {
                    Found::Item {
                        stat: Some(stat), ..
                    } => Ok(stat),
                    _ => Err(changed(path, "it vanished while its time was set")),
                }
            }
            _ => Ok(stat),
        }
    }
    .await;
    lookup::close(resource).await;
    result
}
