//! Uploading a file over SFTP in few round trips: the content goes to a new temp
//! file beside the target (`create_new`), its mode and time are set and it is made
//! durable in one round trip (`setstat` and `fsync@openssh.com` sent together),
//! then it is closed and put in place in another: a hard link where nothing may be
//! there (the server refuses it if something appeared: no look before) and the
//! temp name removed, or an atomic rename over the version that was checked. The
//! new identity (size, time, mode) is what was set, so no look after either. The
//! time is the upload's (the client's clock), later than the replaced version's,
//! so a new version never takes the identity of the one it replaced.

use super::errors::fail;
use super::{pool, SftpRemote};
use crate::error::{ErrorKind, RemoteError, Result};
use crate::hash::copy_hashed;
use crate::{Expect, Remote, Stat, Written};
use futures_util::future::join;
use offline_core::{Hash, Kind, Meta, RelPath};
use openssh_sftp_client::error::SftpErrorKind;
use openssh_sftp_client::file::File;
use openssh_sftp_client::metadata::{MetaDataBuilder, Permissions};
use openssh_sftp_client::{Error as SftpError, Sftp, UnixTimeStamp};
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// A temp file written and durable, still open.
struct Temp {
    file: File,
    path: PathBuf,
    hash: Hash,
    size: u64,
}

/// The time (seconds) a new version of an item gets: now, and later than the
/// version it replaces (its time is in its identity, `size:N:mtime:T:mode:M`).
fn next_mtime(replaced: Option<&str>) -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let old = replaced
        .and_then(|id| id.split(":mtime:").nth(1))
        .and_then(|rest| rest.split(':').next())
        .and_then(|t| t.parse::<u64>().ok());
    let secs = match old {
        Some(old) if old >= now => old + 1,
        _ => now,
    };
    u32::try_from(secs).unwrap_or(u32::MAX)
}

impl SftpRemote {
    /// Writes `content` at `path` if `expect` holds.
    pub(super) fn upload(
        &self,
        path: &RelPath,
        content: &mut dyn Read,
        mode: u32,
        expected_hash: Option<Hash>,
        expect: &Expect,
    ) -> Result<Written> {
        Self::refuse_root(path, "replaced by a file")?;
        let sftp = self.pool.for_copy(&self.rt);
        let full = self.full(path);
        let replaced = match expect {
            Expect::Identity(id) => Some(id.clone()),
            // Whatever is there: its time decides the new one's.
            Expect::Any => self.stat(path)?.map(|s| s.identity),
            Expect::Absent => None,
        };
        let mtime = next_mtime(replaced.as_deref());
        let mode = mode & 0o7777;
        let temp = self.write_temp(&sftp, path, &full, content, mode, mtime)?;
        let placed = (|| {
            if expected_hash.is_some_and(|expected| expected != temp.hash) {
                return Err(RemoteError::new(
                    ErrorKind::Changed,
                    path,
                    "the source changed while it was copied",
                ));
            }
            if *expect != Expect::Absent {
                let current = self.stat_checked(path, expect)?;
                Self::refuse_dir(path, current.as_ref())?;
            }
            crashpoint::hit(super::super::CHECKED);
            Ok(())
        })();
        let (file, temp_path) = (temp.file, temp.path);
        if let Err(err) = placed {
            let _ = self.rt.block_on(file.close());
            self.remove_quietly(&temp_path);
            return Err(err);
        }
        self.place(&sftp, path, Some(file), &temp_path, &full, expect)?;
        let stat = Stat {
            meta: Meta {
                kind: Kind::File,
                size: temp.size,
                mtime_ns: super::super::secs_to_ns(i64::from(mtime)),
                mode,
                hash: None,
                target: None,
            },
            identity: format!("size:{}:mtime:{mtime}:mode:{mode:o}", temp.size),
        };
        Ok(Written {
            stat,
            hash: temp.hash,
        })
    }

    /// Writes the content into a new temp file next to `full`, gives it `mode` and
    /// `mtime` and makes it durable; the file stays open.
    fn write_temp(
        &self,
        sftp: &Sftp,
        path: &RelPath,
        full: &Path,
        content: &mut dyn Read,
        mode: u32,
        mtime: u32,
    ) -> Result<Temp> {
        let dir = full.parent().unwrap_or(Path::new("/"));
        let temp = dir.join(OsStr::from_bytes(
            &self.temp.temp_name(crate::sys::random_u64()),
        ));
        let mut file = self
            .rt
            .block_on(sftp.options().write(true).create_new(true).open(&temp))
            .map_err(|e| fail(path, "create a temp file in its folder", e))?;
        let result: Result<(Hash, u64)> = (|| {
            let streamed = copy_hashed(path, content, |chunk| {
                self.rt
                    .block_on(file.write_all(chunk))
                    .map_err(|e| fail(path, "write the temp file", e))
            })?;
            let time = UnixTimeStamp::from_raw(mtime).unwrap_or(UnixTimeStamp::unix_epoch());
            let mut attrs = MetaDataBuilder::new();
            attrs.permissions(Permissions::from(mode as u16));
            attrs.time(time, time);
            let attrs = attrs.create();
            self.rt
                .block_on(async {
                    let mut fs = sftp.fs();
                    if sftp.support_fsync() {
                        // One round trip: the server answers both in order.
                        let (set, synced) =
                            join(fs.set_metadata(&temp, attrs), file.sync_all()).await;
                        set.and(synced)
                    } else {
                        fs.set_metadata(&temp, attrs).await
                    }
                })
                .map_err(|e| fail(path, "finish the temp file", e))?;
            Ok(streamed)
        })();
        match result {
            Ok((hash, size)) => Ok(Temp {
                file,
                path: temp,
                hash,
                size,
            }),
            Err(err) => {
                let _ = self.rt.block_on(file.close());
                self.remove_quietly(&temp);
                Err(err)
            }
        }
    }

    /// Closes `file` (if given) and moves the temp item at `temp` to `full`, in one
    /// round trip: a hard link (refused if something is there) and the temp name's
    /// removal where nothing may be there, else an atomic rename over the target.
    pub(super) fn place(
        &self,
        sftp: &pool::Lease,
        path: &RelPath,
        file: Option<File>,
        temp: &Path,
        full: &Path,
        expect: &Expect,
    ) -> Result<()> {
        let link = *expect == Expect::Absent && sftp.support_hardlink();
        let (closed, placed) = self.rt.block_on(async {
            let close = async {
                match file {
                    Some(file) => file.close().await,
                    None => Ok(()),
                }
            };
            let put = async {
                let (mut a, mut b) = (sftp.fs(), sftp.fs());
                if link {
                    let (linked, removed) =
                        join(a.hard_link(temp, full), b.remove_file(temp)).await;
                    linked.map(|()| removed)
                } else {
                    a.rename(temp, full).await.map(|()| Ok(()))
                }
            };
            join(close, put).await
        });
        let placed = placed.map_err(|e| match e {
            SftpError::SftpError(SftpErrorKind::Failure, _) if *expect == Expect::Absent => {
                RemoteError::new(
                    ErrorKind::Changed,
                    path,
                    "something appeared there since it was scanned",
                )
            }
            e => fail(path, "move the temp file into place", e),
        });
        match placed {
            Ok(removed) => {
                if let Err(e) = removed {
                    tracing::warn!("could not remove the temp file {}: {e}", temp.display());
                }
                closed.map_err(|e| fail(path, "close the temp file", e))
            }
            Err(err) => {
                if !link {
                    self.remove_quietly(temp);
                }
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_version_is_later_than_the_one_it_replaces() {
        let now = next_mtime(None);
        assert!(now > 1_700_000_000);
        let future = u64::from(now) + 100;
        assert_eq!(
            u64::from(next_mtime(Some(&format!("size:3:mtime:{future}:mode:644")))),
            future + 1
        );
        assert!(next_mtime(Some("size:3:mtime:5:mode:644")) >= now);
    }
}
