//! What WebDAV needs beyond OpenDAL: its own client for the requests OpenDAL's
//! service does not stream or condition, the probe of the share's root, the listing
//! of a folder (one `PROPFIND` with `Depth: 1`, parsed by `dav_list`), and the
//! encoding of paths in URLs and of the `Basic` credentials.

use super::ObjectRemote;
use crate::error::{ErrorKind, RemoteError, Result};
use crate::net::dav_list::{self, DavFailure};
use crate::net::{auth_failed, key, short_message, unreachable};
use crate::Entry;
use offline_core::RelPath;

/// Direct WebDAV requests for what OpenDAL's WebDAV service does not stream or
/// condition: PUT from a spooled file, MOVE with `Overwrite: F`.
pub(super) struct Dav {
    pub(super) client: reqwest::Client,
    /// `http://host:port` followed by the share's root folder (`/path/`).
    pub(super) base: String,
    /// The share's root folder on the server, decoded (`/path/`).
    pub(super) root: String,
    pub(super) authorization: Option<String>,
}

pub(super) const PROPFIND_RESOURCETYPE: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>"#;

impl ObjectRemote {
    /// `PROPFIND` of the root folder with `Depth: 0`: is it there, as a folder?
    pub(super) fn dav_probe(&self, dav: &Dav) -> Result<()> {
        let root = RelPath::root();
        let method = reqwest::Method::from_bytes(b"PROPFIND").expect("PROPFIND is a valid method");
        let sent = self.rt.block_on(async {
            let mut request = dav
                .client
                .request(method, &dav.base)
                .header("Depth", "0")
                .header(reqwest::header::CONTENT_TYPE, "application/xml")
                .body(PROPFIND_RESOURCETYPE);
            if let Some(auth) = &dav.authorization {
                request = request.header(reqwest::header::AUTHORIZATION, auth);
            }
            let response = request.send().await?;
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            Ok::<_, reqwest::Error>((status, body))
        });
        match sent {
            Ok((status, body)) if status.as_u16() == 207 => {
                if body.contains("collection") {
                    Ok(())
                } else {
                    Err(RemoteError::new(
                        ErrorKind::Unreachable,
                        &root,
                        "the share's root on the server is a file, not a folder",
                    ))
                }
            }
            Ok((status, _)) if status.as_u16() == 404 => Err(RemoteError::new(
                ErrorKind::Unreachable,
                &root,
                "the share's root folder does not exist on the server",
            )),
            Ok((status, _)) if matches!(status.as_u16(), 401 | 403) => Err(auth_failed(
                &root,
                "reach the share",
                &format!("the server answered {status}"),
            )),
            Ok((status, _)) => Err(RemoteError::new(
                ErrorKind::Unreachable,
                &root,
                format!("the server answered {status} for the share's root"),
            )),
            Err(e) => Err(unreachable(&root, "reach the share", &short_message(&e))),
        }
    }

    /// The children of `dir` on WebDAV: a `PROPFIND` with `Depth: 1`, its answer
    /// parsed and checked by `dav_list`.
    pub(super) fn dav_list(&self, dav: &Dav, dir: &RelPath) -> Result<Vec<Entry>> {
        let (url, folder) = if dir.is_root() {
            (dav.base.clone(), dav.root.clone())
        } else {
            let key = key(dir)?;
            let url = format!("{}{}/", dav.base, encode_path(key));
            (url, format!("{}{key}/", dav.root))
        };
        let action = "list the folder";
        let auth = dav.authorization.as_deref();
        let body = self.rt.block_on(crate::net::retry(
            || dav_list::propfind(&dav.client, auth, &url),
            |e: &DavFailure| e.transient(),
        ));
        let body = body.map_err(|e| e.into_error(dir, action))?;
        let listed = dav_list::parse_listing(&body, &folder).map_err(|detail| {
            RemoteError::new(
                ErrorKind::Io,
                dir,
                format!("cannot {action}: the server's answer cannot be read ({detail})"),
            )
        })?;
        let mut out = Vec::with_capacity(listed.len());
        for item in listed {
            match item.meta {
                Some(meta) => out.push(Entry {
                    name: item.name,
                    stat: self.to_stat(&meta),
                }),
                None if offline_core::names::check_component(&item.name).is_err() => {
                    out.push(crate::net::unusable_entry(item.name));
                }
                None => tracing::warn!(
                    "{dir}: the server lists {} without its size or type; left out",
                    offline_core::escape_terminal(&String::from_utf8_lossy(&item.name))
                ),
            }
        }
        Ok(out)
    }
}

/// `Basic` authorization for a user and password.
#[cfg(feature = "webdav")]
pub(super) fn basic_auth(user: &str, password: &str) -> String {
    let credentials = format!("{user}:{password}");
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    format!("Basic {encoded}")
}

/// Percent-encodes a path, keeping `/` and the unreserved characters.
pub(super) fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_and_path_encoding() {
        assert_eq!(basic_auth("user", "pass"), "Basic dXNlcjpwYXNz");
        assert_eq!(basic_auth("a", ""), "Basic YTo=");
        assert_eq!(encode_path("/dav/a b/ü.txt"), "/dav/a%20b/%C3%BC.txt");
    }
}
