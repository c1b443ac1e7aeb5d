//! Uploading a file to S3 in as few requests as the safety rules allow: the
//! precondition (nothing there, or the very version that was scanned) goes with the
//! PUT itself (`If-None-Match: *`, `If-Match: "etag"`), which the server enforces as
//! it stores the object, so no HEAD is sent before; and the new version's identity
//! comes from the PUT's answer (its ETag), so none is sent after. A new file is one
//! request. Large files go up in parts, several at once.

use super::{ObjectRemote, FILE_MODE};
use crate::error::{ErrorKind, RemoteError, Result};
use crate::hash::copy_hashed;
use crate::{Expect, Stat, Written};
use offline_core::{Hash, Kind, Meta, RelPath};
use std::io::Read;

/// Uploads larger than this go up in parts of this size (multipart upload).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts of one upload in flight at once.
const PARTS_IN_FLIGHT: usize = 3;

/// The server-side precondition of an S3 upload.
enum Condition {
    None,
    Absent,
    Etag(String),
}

/// The ETag in an S3 file's identity (`etag:<etag>:size:<n>`).
pub(super) fn etag_in(identity: &str) -> Option<&str> {
    let rest = identity.strip_prefix("etag:")?;
    let (etag, _) = rest.rsplit_once(":size:")?;
    (!etag.is_empty()).then_some(etag)
}

impl ObjectRemote {
    /// Writes `content` to `key` if `expect` holds, checked by the server.
    pub(super) fn s3_write(
        &self,
        path: &RelPath,
        key: &str,
        content: &mut dyn Read,
        expected_hash: Option<Hash>,
        expect: &Expect,
    ) -> Result<Written> {
        let condition = match expect {
            Expect::Any => Condition::None,
            Expect::Absent => Condition::Absent,
            Expect::Identity(id) => match etag_in(id) {
                Some(etag) => Condition::Etag(format!("\"{etag}\"")),
                None => {
                    // No ETag to hold the server to (it gives none): look first.
                    self.check_file_target(path, key, expect)?;
                    Condition::None
                }
            },
        };
        crashpoint::hit(crate::net::CHECKED);
        let (hash, size, etag) = self.s3_put(path, key, content, expected_hash, condition)?;
        let stat = match etag {
            Some(etag) => Stat {
                meta: Meta {
                    kind: Kind::File,
                    size,
                    mtime_ns: super::super::secs_to_ns(now_secs()),
                    mode: FILE_MODE,
                    hash: None,
                    target: None,
                },
                identity: format!("etag:{etag}:size:{size}"),
            },
            None => self.stat_after_change(path)?,
        };
        Ok(Written { stat, hash })
    }

    /// Uploads `content` to the final key, hashing it on the way; nothing is
    /// visible until the upload is complete, and an upload whose hash is not the
    /// expected one is aborted. Returns the hash, the size and the new ETag (when
    /// the server gave one).
    fn s3_put(
        &self,
        path: &RelPath,
        key: &str,
        content: &mut dyn Read,
        expected_hash: Option<Hash>,
        condition: Condition,
    ) -> Result<(Hash, u64, Option<String>)> {
        let mut writer = self
            .rt
            .guarded(async {
                let writer = self
                    .op
                    .writer_with(key)
                    .chunk(PART_SIZE)
                    .concurrent(PARTS_IN_FLIGHT);
                match &condition {
                    Condition::None => writer.await,
                    Condition::Absent => writer.if_not_exists(true).await,
                    Condition::Etag(etag) => writer.if_match(etag).await,
                }
            })
            .map_err(|e| self.fail(path, "start the upload", e))?;
        let streamed = copy_hashed(path, content, |chunk| {
            self.rt
                .guarded(writer.write(chunk.to_vec()))
                .map_err(|e| self.put_failed(path, "upload the file", e))
        });
        let (hash, size) = match streamed {
            Ok(done) => done,
            Err(err) => {
                let _ = self.rt.guarded(writer.abort());
                return Err(err);
            }
        };
        if expected_hash.is_some_and(|expected| expected != hash) {
            let _ = self.rt.guarded(writer.abort());
            return Err(RemoteError::new(
                ErrorKind::Changed,
                path,
                "the source changed while it was copied",
            ));
        }
        let meta = self
            .rt
            .guarded(writer.close())
            .map_err(|e| self.put_failed(path, "finish the upload", e))?;
        let etag = meta
            .etag()
            .map(|e| e.trim_matches('"').to_string())
            .filter(|e| !e.is_empty());
        Ok((hash, size, etag))
    }

    /// A failed conditional upload: the version it was to replace is gone (some
    /// servers answer 404 to `If-Match` then) is a change since the scan too.
    fn put_failed(&self, path: &RelPath, action: &str, err: opendal::Error) -> RemoteError {
        let failed = self.fail(path, action, err);
        if failed.kind == ErrorKind::NotFound {
            return RemoteError::new(
                ErrorKind::Changed,
                path,
                "it was removed since it was scanned",
            );
        }
        failed
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_is_read_from_an_identity() {
        assert_eq!(etag_in("etag:abc-2:size:10"), Some("abc-2"));
        assert_eq!(etag_in("etag::size:10"), None);
        assert_eq!(etag_in("size:10:mtime:5"), None);
    }
}
