//! Uploading a file to WebDAV: spooled to a local temp file (hashed on the way),
//! PUT to a temp name in the target's folder, then MOVEd over the target, so a
//! dropped upload never leaves half a file. Where nothing may be there yet the MOVE
//! says `Overwrite: F` and the server refuses it if something appeared, so no
//! PROPFIND is sent before; a replacement looks at the target first (its version
//! must still be the one scanned). A new file is three requests: PUT, MOVE and the
//! PROPFIND that reads its new identity.

use super::dav::{encode_path, Dav};
use super::ObjectRemote;
use crate::error::{ErrorKind, RemoteError, Result};
use crate::hash::copy_hashed;
use crate::net::{
    auth_failed, is_connection_failure, short_message, temp_key, unreachable, CHECKED,
};
use crate::{Expect, Written};
use offline_core::{Hash, RelPath};
use std::io::{self, Read, Seek, Write};
use std::time::Duration;

impl ObjectRemote {
    /// Writes `content` to `key` if `expect` holds: uploaded, moved into place, and
    /// looked at once for its new identity.
    pub(super) fn dav_write(
        &self,
        dav: &Dav,
        path: &RelPath,
        key: &str,
        content: &mut dyn Read,
        expected_hash: Option<Hash>,
        expect: &Expect,
    ) -> Result<Written> {
        let hash = self.dav_put(dav, path, key, content, expected_hash, expect)?;
        let stat = self.stat_after_change(path)?;
        Ok(Written { stat, hash })
    }

    /// Uploads to a temp name in the target's folder and moves it over the target.
    /// The content is spooled to a local temp file first, so its hash is checked
    /// before anything is sent and it can be sent again.
    fn dav_put(
        &self,
        dav: &Dav,
        path: &RelPath,
        key: &str,
        content: &mut dyn Read,
        expected_hash: Option<Hash>,
        expect: &Expect,
    ) -> Result<Hash> {
        let mut spool = tempfile::tempfile()
            .map_err(|e| RemoteError::from_io(path, "create a spool file", e))?;
        let (hash, _) = copy_hashed(path, content, |chunk| {
            spool
                .write_all(chunk)
                .map_err(|e| RemoteError::from_io(path, "write the spool file", e))
        })?;
        if expected_hash.is_some_and(|expected| expected != hash) {
            return Err(RemoteError::new(
                ErrorKind::Changed,
                path,
                "the source changed while it was copied",
            ));
        }
        let temp = temp_key(&self.temp, path)?;
        let result = (|| {
            self.dav_upload(dav, path, &temp, &mut spool)?;
            if let Expect::Identity(_) = expect {
                // Only a version that is still the one scanned may be replaced: look.
                let current = self.check_file_target(path, key, expect)?;
                if let Some(current) = current {
                    let uploaded = self.stat_key(path, &temp)?;
                    if uploaded.is_some_and(|u| u.identity == current.identity) {
                        // Same size in the same second: an ETag of mtime+size would
                        // not change. Upload again a second later so it does.
                        std::thread::sleep(Duration::from_millis(1100));
                        self.dav_upload(dav, path, &temp, &mut spool)?;
                    }
                }
            }
            // Where nothing may be, the server refuses the move over anything that
            // appeared (`Overwrite: F`): no look before.
            crashpoint::hit(CHECKED);
            self.dav_move(dav, path, &temp, key, *expect != Expect::Absent)
        })();
        if result.is_err() {
            let _ = self.rt.guarded(self.op.delete(&temp));
        }
        result.map(|()| hash)
    }

    fn dav_upload(
        &self,
        dav: &Dav,
        path: &RelPath,
        temp: &str,
        spool: &mut std::fs::File,
    ) -> Result<()> {
        spool
            .seek(io::SeekFrom::Start(0))
            .map_err(|e| RemoteError::from_io(path, "read the spool file", e))?;
        let file = spool
            .try_clone()
            .map_err(|e| RemoteError::from_io(path, "read the spool file", e))?;
        let length = file
            .metadata()
            .map_err(|e| RemoteError::from_io(path, "read the spool file", e))?
            .len();
        let url = format!("{}{}", dav.base, encode_path(temp));
        let sent = self.rt.block_on(async {
            let body = reqwest::Body::from(tokio::fs::File::from_std(file));
            let mut request = dav
                .client
                .put(&url)
                .header(reqwest::header::CONTENT_LENGTH, length)
                .body(body);
            if let Some(auth) = &dav.authorization {
                request = request.header(reqwest::header::AUTHORIZATION, auth);
            }
            request.send().await
        });
        self.dav_status(path, "upload the file", sent)
    }

    /// MOVE `from` to `to`; with `overwrite` false the server refuses (412) when
    /// `to` exists.
    pub(super) fn dav_move(
        &self,
        dav: &Dav,
        path: &RelPath,
        from: &str,
        to: &str,
        overwrite: bool,
    ) -> Result<()> {
        let source = format!("{}{}", dav.base, encode_path(from));
        let destination = format!("{}{}", dav.base, encode_path(to));
        let method = reqwest::Method::from_bytes(b"MOVE").expect("MOVE is a valid method");
        let sent = self.rt.block_on(async {
            let mut request = dav
                .client
                .request(method, &source)
                .header("Destination", destination)
                .header("Overwrite", if overwrite { "T" } else { "F" });
            if let Some(auth) = &dav.authorization {
                request = request.header(reqwest::header::AUTHORIZATION, auth);
            }
            request.send().await
        });
        self.dav_status(path, "move the uploaded file into place", sent)
    }

    fn dav_status(
        &self,
        path: &RelPath,
        action: &str,
        sent: std::result::Result<reqwest::Response, reqwest::Error>,
    ) -> Result<()> {
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                let detail = short_message(&e);
                return Err(if is_connection_failure(&e) {
                    unreachable(path, action, &detail)
                } else {
                    RemoteError::new(ErrorKind::Io, path, format!("cannot {action}: {detail}"))
                });
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let detail = format!("the server answered {status}");
        Err(match status.as_u16() {
            401 | 403 => auth_failed(path, action, &detail),
            404 | 409 => RemoteError::new(
                ErrorKind::NotFound,
                path,
                format!("cannot {action}: its folder is missing ({detail})"),
            ),
            412 => RemoteError::new(
                ErrorKind::Changed,
                path,
                "something appeared there since it was scanned",
            ),
            507 => RemoteError::new(
                ErrorKind::NoSpace,
                path,
                format!("cannot {action}: {detail}"),
            ),
            500..=599 => unreachable(path, action, &detail),
            _ => RemoteError::new(ErrorKind::Io, path, format!("cannot {action}: {detail}")),
        })
    }
}
