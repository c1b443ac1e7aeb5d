//! WebDAV listings, read by this backend itself rather than by OpenDAL's lister
//! (which slices every href by the share's path, and panics on an href outside it).
//! A `PROPFIND` answer is untrusted input: its XML is parsed here, and each href is
//! turned into a name only after checking where it points. An entry outside the
//! listed folder or with an unusable name (`..`, `a//b`, `%00`, `%2F`) is passed on
//! with the text the server gave, for the engine to report and skip.

use super::{auth_failed, is_connection_failure, short_message, unreachable};
use crate::error::{ErrorKind, RemoteError};
use offline_core::RelPath;
use opendal::raw::Timestamp;
use opendal::{Metadata, MetadataBuilder};
use percent_encoding::percent_decode_str;
use serde::Deserialize;

/// The request body: every property (what OpenDAL's own `PROPFIND` asks for).
pub(crate) const PROPFIND_ALLPROP: &str = r#"<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#;

/// The most a listing's answer may hold; a longer one is refused, not read.
pub(crate) const MAX_LISTING_BYTES: usize = 256 * 1024 * 1024;

/// Why a listing request failed.
pub(crate) enum DavFailure {
    /// The request did not get an answer.
    Send(reqwest::Error),
    /// The server answered with this status.
    Status(u16),
    /// The answer was longer than [`MAX_LISTING_BYTES`].
    TooLong,
}

impl DavFailure {
    /// Worth another try: a connection failure or a server error.
    pub(crate) fn transient(&self) -> bool {
        match self {
            DavFailure::Send(e) => is_connection_failure(e),
            DavFailure::Status(code) => (500..600).contains(code),
            DavFailure::TooLong => false,
        }
    }

    /// The error of listing `dir`.
    pub(crate) fn into_error(self, dir: &RelPath, action: &str) -> RemoteError {
        match self {
            DavFailure::Send(e) if is_connection_failure(&e) => {
                unreachable(dir, action, &short_message(&e))
            }
            DavFailure::Send(e) => RemoteError::new(
                ErrorKind::Io,
                dir,
                format!("cannot {action}: {}", short_message(&e)),
            ),
            DavFailure::Status(404 | 409) => {
                RemoteError::new(ErrorKind::NotFound, dir, "the folder is gone")
            }
            DavFailure::Status(code @ (401 | 403)) => {
                auth_failed(dir, action, &format!("the server answered {code}"))
            }
            DavFailure::Status(code @ 500..=599) => {
                unreachable(dir, action, &format!("the server answered {code}"))
            }
            DavFailure::Status(code) => RemoteError::new(
                ErrorKind::Io,
                dir,
                format!("cannot {action}: the server answered {code}"),
            ),
            DavFailure::TooLong => RemoteError::new(
                ErrorKind::Io,
                dir,
                format!(
                    "cannot {action}: the server's answer is longer than {} MiB",
                    MAX_LISTING_BYTES >> 20
                ),
            ),
        }
    }
}

/// `PROPFIND` of the folder at `url` with `Depth: 1`: the multistatus body.
pub(crate) async fn propfind(
    client: &reqwest::Client,
    authorization: Option<&str>,
    url: &str,
) -> Result<Vec<u8>, DavFailure> {
    let method = reqwest::Method::from_bytes(b"PROPFIND").map_err(|_| DavFailure::Status(0))?;
    let mut request = client
        .request(method, url)
        .header("Depth", "1")
        .header(reqwest::header::CONTENT_TYPE, "application/xml")
        .body(PROPFIND_ALLPROP);
    if let Some(auth) = authorization {
        request = request.header(reqwest::header::AUTHORIZATION, auth);
    }
    let mut response = request.send().await.map_err(DavFailure::Send)?;
    let status = response.status().as_u16();
    if status != 207 {
        return Err(DavFailure::Status(status));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(DavFailure::Send)? {
        if body.len() + chunk.len() > MAX_LISTING_BYTES {
            return Err(DavFailure::TooLong);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Multistatus {
    response: Vec<Response>,
}

#[derive(Deserialize)]
struct Response {
    href: String,
    #[serde(default)]
    propstat: Vec<Propstat>,
}

#[derive(Deserialize)]
struct Propstat {
    #[serde(default)]
    status: String,
    #[serde(default)]
    prop: Prop,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Prop {
    getlastmodified: Option<String>,
    getetag: Option<String>,
    getcontentlength: Option<String>,
    resourcetype: ResourceType,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResourceType {
    collection: Option<serde::de::IgnoredAny>,
}

/// One child of a listed folder.
pub(crate) struct Listed {
    /// Its name: one component when the href was sound, else the server's text.
    pub name: Vec<u8>,
    /// Its properties as OpenDAL's `stat` gives them; `None` when the server sent
    /// none that can be read (then only the name is reported).
    pub meta: Option<Metadata>,
}

/// The children of the folder at `folder` (its decoded path on the server, ending
/// with `/`) in a multistatus answer. The folder's own entry is left out.
pub(crate) fn parse_listing(body: &[u8], folder: &str) -> Result<Vec<Listed>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the answer is not UTF-8 text")?;
    let status: Multistatus =
        quick_xml::de::from_str(text).map_err(|e| format!("the answer is not a listing: {e}"))?;
    let mut out = Vec::with_capacity(status.response.len());
    for response in status.response {
        let Some(name) = name_in(folder.as_bytes(), response.href.trim()) else {
            continue;
        };
        out.push(Listed {
            name,
            meta: metadata(&response.propstat),
        });
    }
    Ok(out)
}

/// The name an href gives a child of `folder`: `None` for the folder itself, one
/// component for a sound child, or the href's decoded path (which is no valid
/// name) when it points anywhere else.
fn name_in(folder: &[u8], href: &str) -> Option<Vec<u8>> {
    let path = strip_origin(href);
    let decoded: Vec<u8> = percent_decode_str(path).collect();
    let rest = if decoded.starts_with(b"/") {
        match decoded.strip_prefix(folder) {
            Some(rest) => rest.to_vec(),
            // Not below the folder (or the folder without its slash): kept whole.
            None if decoded.as_slice() == folder.strip_suffix(b"/").unwrap_or(folder) => {
                return None
            }
            None => decoded,
        }
    } else {
        // A relative reference is relative to the listed folder.
        decoded
    };
    if rest.is_empty() {
        return None;
    }
    let name = match rest.strip_suffix(b"/") {
        Some(inner) if !inner.is_empty() => inner.to_vec(),
        _ => rest,
    };
    Some(name)
}

/// The path part of an href that may be a full URL (`http://host:port/path`).
fn strip_origin(href: &str) -> &str {
    let lower = href.get(..8).unwrap_or(href).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return href;
    }
    let after_scheme = href.find("://").map_or(0, |at| at + 3);
    match href[after_scheme..].find('/') {
        Some(at) => &href[after_scheme + at..],
        None => "/",
    }
}

/// The properties of the first propstat with a success status, as OpenDAL reads
/// them (a file needs its length; the time is RFC 2822).
fn metadata(propstats: &[Propstat]) -> Option<Metadata> {
    propstats
        .iter()
        .filter(|p| is_success(&p.status))
        .find_map(|p| {
            let prop = &p.prop;
            let mut builder = if prop.resourcetype.collection.is_some() {
                MetadataBuilder::dir()
            } else {
                MetadataBuilder::file(prop.getcontentlength.as_deref()?.trim().parse().ok()?)
            };
            if let Some(etag) = &prop.getetag {
                builder.etag(etag);
            }
            if let Some(time) = &prop.getlastmodified {
                builder.last_modified(Timestamp::parse_rfc2822(time).ok()?);
            }
            Some(builder.build())
        })
}

/// `HTTP/1.1 200 OK` and the like.
fn is_success(status: &str) -> bool {
    let mut parts = status.split_whitespace();
    parts.next();
    parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .is_some_and(|code| (200..300).contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NGINX: &str = r#"<?xml version="1.0" encoding="utf-8" ?>
<D:multistatus xmlns:D="DAV:">
<D:response><D:href>/share/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype><D:getlastmodified>Sun, 01 May 2022 06:39:47 GMT</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>/share/a%20b.txt</D:href><D:propstat><D:prop><D:resourcetype/><D:getcontentlength>5</D:getcontentlength><D:getetag>"abc-5"</D:getetag><D:getlastmodified>Sun, 01 May 2022 06:39:47 GMT</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>http://127.0.0.1:8080/share/sub/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype><D:getlastmodified>Sun, 01 May 2022 06:39:47 GMT</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>/share/x&amp;y</D:href><D:propstat><D:prop><D:getcontentlength>1</D:getcontentlength></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat><D:propstat><D:prop><D:getcontentlength>2</D:getcontentlength></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
</D:multistatus>"#;

    #[test]
    fn a_sound_listing_gives_names_and_properties() {
        let listed = parse_listing(NGINX.as_bytes(), "/share/").unwrap();
        let names: Vec<&[u8]> = listed.iter().map(|l| l.name.as_slice()).collect();
        assert_eq!(names, [&b"a b.txt"[..], b"sub", b"x&y"]);
        let file = listed[0].meta.as_ref().unwrap();
        assert!(file.is_file());
        assert_eq!(file.content_length(), 5);
        assert_eq!(file.etag(), Some("\"abc-5\""));
        assert!(file.last_modified().is_some());
        assert!(listed[1].meta.as_ref().unwrap().is_dir());
        assert_eq!(listed[2].meta.as_ref().unwrap().content_length(), 2);
    }

    #[test]
    fn hrefs_outside_the_folder_or_with_bad_names_keep_their_text() {
        let folder = b"/share/d/";
        let name =
            |href: &str| name_in(folder, href).map(|n| String::from_utf8_lossy(&n).into_owned());
        assert_eq!(name("/share/d/"), None);
        assert_eq!(name("/share/d"), None);
        assert_eq!(name("/a"), Some("/a".into()));
        assert_eq!(name("/"), Some("/".into()));
        assert_eq!(name("/share/d/.."), Some("..".into()));
        assert_eq!(name("/share/d/./"), Some(".".into()));
        assert_eq!(name("/share/d/a//b"), Some("a//b".into()));
        assert_eq!(name("/share/d//"), Some("/".into()));
        assert_eq!(name("/share/d/a%00b"), Some("a\0b".into()));
        assert_eq!(name("/share/d/a%2Fb"), Some("a/b".into()));
        assert_eq!(name("https://evil/share/d/ok"), Some("ok".into()));
        assert_eq!(name("rel.txt"), Some("rel.txt".into()));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for body in [&b"not xml at all <"[..], b"\xff\xfe", b"<a><b></a>"] {
            let _ = parse_listing(body, "/share/");
        }
        assert!(parse_listing(b"\xff", "/").is_err());
        let odd = r#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/share/f</D:href><D:propstat><D:prop><D:getcontentlength>-1</D:getcontentlength></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#;
        let listed = parse_listing(odd.as_bytes(), "/share/").unwrap();
        assert!(listed[0].meta.is_none());
    }
}
