//! Reading the share: opening items (and always closing them), an item's
//! [`Stat`] together with the name the server knows it by, and folder listings.

use super::meta::Raw;
use super::names::{compare, NameMatch};
use super::session::Attempt;
use super::status::{code, status_of};
use crate::Stat;
use futures_util::StreamExt;
use smb::{
    CreateDisposition, CreateOptions, DirAccessMask, Directory, FileAccessMask, FileAllInformation,
    FileAttributes, FileCreateArgs, FileIdFullDirectoryInformation, Resource, ResourceHandle, Tree,
};
use std::sync::Arc;

/// The handle of any opened resource.
pub(crate) fn handle(resource: &Resource) -> &ResourceHandle {
    match resource {
        Resource::File(f) => f,
        Resource::Directory(d) => d,
        Resource::Pipe(p) => p,
    }
}

/// Opens `name` (a path from the share's root) with `access`, creating it as
/// `disposition` says.
pub(crate) async fn open(
    tree: &Tree,
    name: &str,
    access: FileAccessMask,
    disposition: CreateDisposition,
    options: CreateOptions,
) -> smb::Result<Resource> {
    let args = FileCreateArgs {
        disposition,
        attributes: FileAttributes::new(),
        options,
        desired_access: access,
    };
    tree.create(name, &args).await
}

/// Opens an existing item of any kind with `access`.
pub(crate) async fn open_existing(
    tree: &Tree,
    name: &str,
    access: FileAccessMask,
) -> smb::Result<Resource> {
    open(
        tree,
        name,
        access,
        CreateDisposition::Open,
        CreateOptions::new(),
    )
    .await
}

/// Closes a handle; a failure to close is only logged (the server closes it with
/// the session at the latest).
pub(crate) async fn close(resource: Resource) {
    if let Err(e) = handle(&resource).close().await {
        tracing::debug!("closing an SMB handle failed: {e}");
    }
}

/// Access to read an item's attributes only (never a sharing violation).
pub(crate) fn read_attributes() -> FileAccessMask {
    FileAccessMask::new()
        .with_file_read_attributes(true)
        .with_synchronize(true)
}

/// What is at a path.
pub(crate) enum Found {
    /// Nothing (also when a folder above is missing or is a file).
    Absent,
    /// An item; `stat` is `None` for a reparse point (never followed). `name` says
    /// whether the server knows it by exactly the name asked for.
    Item { stat: Option<Stat>, name: NameMatch },
}

/// True for the answers that mean "nothing is there".
pub(crate) fn is_absent(err: &smb::Error) -> bool {
    matches!(
        status_of(err),
        Some(code::OBJECT_NAME_NOT_FOUND | code::OBJECT_PATH_NOT_FOUND | code::NOT_A_DIRECTORY)
    )
}

/// The full information of an open item.
pub(crate) async fn query_all(resource: &Resource) -> smb::Result<FileAllInformation> {
    handle(resource).query_info::<FileAllInformation>().await
}

/// The stat of an open item and how its name compares with `asked`.
pub(crate) async fn describe(resource: &Resource, asked: &str) -> smb::Result<Found> {
    let info = query_all(resource).await?;
    let answered = String::try_from(info.name.file_name.clone()).unwrap_or_default();
    Ok(Found::Item {
        stat: Raw::from_all(&info).to_stat(),
        name: compare(asked, &answered),
    })
}

/// What is at `name` (a path from the share's root).
pub(crate) async fn lookup(tree: &Tree, name: &str) -> Attempt<Found> {
    let resource = match open_existing(tree, name, read_attributes()).await {
        Ok(resource) => resource,
        Err(err) if is_absent(&err) => return Ok(Found::Absent),
        Err(err) => return Err(err.into()),
    };
    let found = describe(&resource, name).await;
    close(resource).await;
    Ok(found?)
}

/// One child of a folder as the server lists it.
pub(crate) struct Listed {
    pub name: String,
    pub stat: Option<Stat>,
}

/// The children of the folder `name` (without `.` and `..`); names that are not
/// valid UTF-16 are left out with a warning.
pub(crate) async fn list(tree: &Tree, name: &str) -> Attempt<Vec<Listed>> {
    let access = DirAccessMask::new()
        .with_list_directory(true)
        .with_read_attributes(true)
        .with_synchronize(true);
    let resource = open(
        tree,
        name,
        access.into(),
        CreateDisposition::Open,
        CreateOptions::new().with_directory_file(true),
    )
    .await?;
    let Resource::Directory(dir) = resource else {
        close(resource).await;
        return Err(smb::Error::UnexpectedMessageStatus(code::NOT_A_DIRECTORY).into());
    };
    let dir = Arc::new(dir);
    let entries = read_entries(&dir).await;
    match Arc::try_unwrap(dir) {
        Ok(dir) => close(Resource::Directory(dir)).await,
        Err(dir) => {
            if let Err(e) = dir.close().await {
                tracing::debug!("closing an SMB folder handle failed: {e}");
            }
        }
    }
    entries
}

async fn read_entries(dir: &Arc<Directory>) -> Attempt<Vec<Listed>> {
    let mut out = Vec::new();
    let mut stream = Directory::query::<FileIdFullDirectoryInformation>(dir, "*").await?;
    while let Some(entry) = stream.next().await {
        let entry = entry?;
        let Ok(name) = String::try_from(entry.file_name.clone()) else {
            tracing::warn!("a name on the share that is not valid UTF-16 was skipped");
            continue;
        };
        if name == "." || name == ".." || name.is_empty() {
            continue;
        }
        out.push(Listed {
            stat: Raw::from_listing(&entry).to_stat(),
            name,
        });
    }
    Ok(out)
}
