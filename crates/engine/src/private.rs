//! The cache's own folder `.offline/` is private to its owner: the folder and every
//! folder in it are made 0700, every file 0600 (the state database holds every name
//! and hash; the conflicts folder holds copies of files that may have been private).
//! A folder made by an older version with wider modes is tightened when the cache is
//! opened. Nothing here follows a symlink. Also the cache's temp tag, kept in
//! `.offline/tag` so that it outlives a rebuilt state database.

use offline_core::TempTag;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of the cache's own folders.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// The mode of the cache's own files.
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// The file in `.offline/` that holds the cache's temp tag.
pub const TAG_FILE_NAME: &str = "tag";

/// Makes the folder `path` (not its parents) private: created 0700, or, when it is
/// there, checked to be a folder of this user (not a symlink) and narrowed to 0700.
pub fn make_private_dir(path: &Path) -> io::Result<()> {
    match DirBuilder::new().mode(PRIVATE_DIR_MODE).create(path) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(err),
    }
    narrow(path)
}

/// Makes `path` and the folders above it that are missing, each 0700 (for the
/// folders inside `.offline/`).
pub fn make_private_dirs(path: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(path)
}

/// Narrows an existing folder of this user to 0700; refuses a symlink or a folder
/// of another user.
fn narrow(path: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if !meta.file_type().is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "it is not a folder (a file or a symlink is in the way)",
        ));
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "it belongs to another user",
        ));
    }
    if meta.mode() & 0o777 != PRIVATE_DIR_MODE {
        fs::set_permissions(path, fs::Permissions::from_mode(PRIVATE_DIR_MODE))?;
    }
    Ok(())
}

/// Opens `path` for writing, created 0600 if missing (a symlink is refused).
pub fn private_file(path: &Path, truncate: bool) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(truncate)
        .mode(PRIVATE_FILE_MODE)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
}

/// Narrows the `.offline/` folder of a cache made by an older version (0755, its
/// files 0644) to 0700, and the files directly in it to 0600. Nothing is done when
/// the folder already is private.
pub fn tighten(meta_dir: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(meta_dir)?;
    if !meta.is_dir() || meta.mode() & 0o077 == 0 {
        return Ok(());
    }
    narrow(meta_dir)?;
    for entry in fs::read_dir(meta_dir)? {
        let entry = entry?;
        let meta = fs::symlink_metadata(entry.path())?;
        let wanted = if meta.is_dir() {
            PRIVATE_DIR_MODE
        } else if meta.is_file() {
            PRIVATE_FILE_MODE
        } else {
            continue;
        };
        if meta.mode() & 0o077 != 0 {
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(wanted))?;
        }
    }
    Ok(())
}

/// The cache's temp tag from `.offline/tag`; a fresh one is written there when the
/// file is missing or unreadable (a cache made by an older version). Two processes
/// that race agree: the file is put in place with a hard link, which never replaces.
pub fn temp_tag(meta_dir: &Path, fresh: impl Fn() -> TempTag) -> io::Result<TempTag> {
    let path = meta_dir.join(TAG_FILE_NAME);
    if let Some(tag) = read_tag(&path)? {
        return Ok(tag);
    }
    let tag = fresh();
    let temp = meta_dir.join(format!("{TAG_FILE_NAME}.{}", tag.as_str()));
    {
        let mut file = private_file(&temp, true)?;
        file.write_all(tag.as_str().as_bytes())?;
        file.sync_all()?;
    }
    let linked = match fs::hard_link(&temp, &path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            // Unreadable (left half-written by a crash), or made by a racing
            // process: take the racer's if it is sound, else replace it.
            match read_tag(&path)? {
                Some(theirs) => {
                    let _ = fs::remove_file(&temp);
                    return Ok(theirs);
                }
                None => fs::rename(&temp, &path),
            }
        }
        Err(err) => Err(err),
    };
    let _ = fs::remove_file(&temp);
    linked?;
    File::open(meta_dir)?.sync_all()?;
    Ok(tag)
}

fn read_tag(path: &Path) -> io::Result<Option<TempTag>> {
    let mut text = String::new();
    match File::open(path) {
        Ok(file) => {
            file.take(64).read_to_string(&mut text)?;
            Ok(TempTag::parse(text.trim()))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn folders_and_files_are_private_and_old_ones_are_narrowed() {
        let tmp = tempfile::tempdir().unwrap();
        let meta = tmp.path().join(".offline");
        fs::create_dir(&meta).unwrap();
        fs::set_permissions(&meta, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(meta.join("state.db"), b"x").unwrap();
        fs::set_permissions(meta.join("state.db"), fs::Permissions::from_mode(0o644)).unwrap();
        tighten(&meta).unwrap();
        assert_eq!(mode(&meta), 0o700);
        assert_eq!(mode(&meta.join("state.db")), 0o600);
        make_private_dirs(&meta.join("conflicts/a/b")).unwrap();
        assert_eq!(mode(&meta.join("conflicts/a")), 0o700);
        drop(private_file(&meta.join("lock"), false).unwrap());
        assert_eq!(mode(&meta.join("lock")), 0o600);
        std::os::unix::fs::symlink(&meta, tmp.path().join("link")).unwrap();
        assert!(make_private_dir(&tmp.path().join("link")).is_err());
        assert!(private_file(&tmp.path().join("link2"), false).is_ok());
        std::os::unix::fs::symlink("/nowhere", tmp.path().join("dangling")).unwrap();
        assert!(private_file(&tmp.path().join("dangling"), false).is_err());
    }

    #[test]
    fn the_tag_is_made_once_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let first = temp_tag(tmp.path(), || TempTag::from_u64(1)).unwrap();
        let again = temp_tag(tmp.path(), || TempTag::from_u64(2)).unwrap();
        assert_eq!(first, TempTag::from_u64(1));
        assert_eq!(again, first);
        fs::write(tmp.path().join(TAG_FILE_NAME), b"").unwrap();
        let repaired = temp_tag(tmp.path(), || TempTag::from_u64(3)).unwrap();
        assert_eq!(repaired, TempTag::from_u64(3));
        assert_eq!(
            fs::read_dir(tmp.path()).unwrap().count(),
            1,
            "no temp file is left"
        );
    }
}
