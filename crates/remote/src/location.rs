//! Where a share is: a folder path, or a URL of a network backend, and the
//! settings and credentials that go with it.
//!
//! `webdav://[user@]host[:port]/path` (plain HTTP), `webdavs://...` (HTTPS),
//! `sftp://user@host[:port]/path`, `s3://bucket/prefix`,
//! `smb://[user@]host[:port]/share[/path]`. Anything else is a folder path (the
//! directory backend).
//!
//! Settings come from the environment first, then from the cache's credentials file
//! (`.offline/credentials`: `KEY=VALUE` lines, `#` comments), which must be readable
//! by its owner only (mode 0600 or stricter): a file that the group or others can
//! read is refused. Secrets are never logged, printed or put in error messages.

use crate::error::{ErrorKind, RemoteError, Result};
use offline_core::RelPath;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The name of the credentials file inside the cache's `.offline/` folder.
pub const CREDENTIALS_FILE: &str = "credentials";

/// The settings keys a network share reads (from the environment or the
/// credentials file).
pub mod keys {
    /// S3: the endpoint, e.g. `http://127.0.0.1:8333` (default: AWS for the region).
    pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
    /// S3: the region (default `us-east-1`).
    pub const AWS_REGION: &str = "AWS_REGION";
    /// S3: the access key; without one, requests are anonymous.
    pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
    /// S3: the secret key.
    pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
    /// S3: a session token for temporary credentials.
    pub const AWS_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
    /// S3: `true` for virtual-host-style requests (default: path style, which every
    /// S3-compatible server understands).
    pub const AWS_VIRTUAL_HOSTED_STYLE: &str = "AWS_VIRTUAL_HOSTED_STYLE_REQUEST";
    /// WebDAV: the user name (also given as `webdav://user@host/...`).
    pub const WEBDAV_USER: &str = "OFFLINE_WEBDAV_USER";
    /// WebDAV: the password.
    pub const WEBDAV_PASSWORD: &str = "OFFLINE_WEBDAV_PASSWORD";
    /// SFTP: the private key file (default: ssh's own choice and agent).
    pub const SFTP_KEY: &str = "OFFLINE_SFTP_KEY";
    /// SFTP: a known_hosts file to check the server's key against (default: ssh's).
    pub const SFTP_KNOWN_HOSTS: &str = "OFFLINE_SFTP_KNOWN_HOSTS";
    /// SMB: the user name (also given as `smb://user@host/...`).
    pub const SMB_USER: &str = "OFFLINE_SMB_USER";
    /// SMB: the password.
    pub const SMB_PASSWORD: &str = "OFFLINE_SMB_PASSWORD";
    /// SMB: the domain (workgroup) of the user, if any.
    pub const SMB_DOMAIN: &str = "OFFLINE_SMB_DOMAIN";
    /// SMB: `1` requires SMB 3 encryption (refuse a server that cannot encrypt),
    /// `0` leaves it to the server; unset: encrypted whenever the server can.
    pub const SMB_ENCRYPT: &str = "OFFLINE_SMB_ENCRYPT";
}

/// A parsed share location.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A folder on this machine (or a mounted share).
    Dir(PathBuf),
    /// A WebDAV server.
    Webdav {
        /// `http://host:port` or `https://host:port`.
        endpoint: String,
        /// The share's folder on the server (`/` at least).
        root: String,
        /// The user name from the URL, if any.
        user: Option<String>,
    },
    /// An SFTP server.
    Sftp {
        /// The host name or address.
        host: String,
        /// The port (default 22).
        port: Option<u16>,
        /// The user name from the URL, if any.
        user: Option<String>,
        /// The share's folder on the server (absolute; `/~/` starts in the home folder).
        root: String,
    },
    /// An SMB (Windows or Samba) share.
    Smb {
        /// The host name or address.
        host: String,
        /// The port (default 445).
        port: Option<u16>,
        /// The user name from the URL, if any.
        user: Option<String>,
        /// The share's name on the server.
        share: String,
        /// The folder inside the share (`/`-separated, no leading or trailing
        /// slash; empty for the share's root).
        path: String,
    },
    /// An S3 bucket (or a prefix in it).
    S3 {
        /// The bucket.
        bucket: String,
        /// The prefix the share lives under (no leading slash, empty for the bucket).
        prefix: String,
    },
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Holds no secret: passwords never are part of a location.
        match self {
            Location::Dir(path) => write!(f, "Dir({})", path.display()),
            Location::Webdav { endpoint, root, .. } => write!(f, "Webdav({endpoint}{root})"),
            Location::Sftp { host, root, .. } => write!(f, "Sftp({host}:{root})"),
            Location::S3 { bucket, prefix } => write!(f, "S3({bucket}/{prefix})"),
            Location::Smb {
                host, share, path, ..
            } => write!(f, "Smb(//{host}/{share}/{path})"),
        }
    }
}

/// True when `location` names a network share (a URL with a scheme), not a folder.
pub fn is_url(location: &str) -> bool {
    match location.split_once("://") {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')
        }
        None => false,
    }
}

fn bad(message: impl Into<String>) -> RemoteError {
    RemoteError::new(ErrorKind::NameNotAllowed, &RelPath::root(), message)
}

impl Location {
    /// Parses a share location. A URL's password part is refused: passwords come
    /// from the environment or the credentials file, never from a command line.
    pub fn parse(location: &str) -> Result<Location> {
        if !is_url(location) {
            return Ok(Location::Dir(PathBuf::from(location)));
        }
        let url = url::Url::parse(location)
            .map_err(|e| bad(format!("the share URL cannot be read ({e})")))?;
        if url.password().is_some() {
            return Err(bad(
                "the share URL holds a password; put it in the environment or in .offline/credentials instead",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("the share URL must not have a query or fragment"));
        }
        let user = (!url.username().is_empty()).then(|| decode(url.username()));
        let host = url.host_str().unwrap_or_default().to_string();
        let path = decode(url.path());
        match url.scheme() {
            scheme @ ("webdav" | "webdavs") => {
                if host.is_empty() {
                    return Err(bad("a webdav:// URL needs a host"));
                }
                let http = if scheme == "webdav" { "http" } else { "https" };
                let host = if host.contains(':') && !host.starts_with('[') {
                    format!("[{host}]")
                } else {
                    host
                };
                let endpoint = match url.port() {
                    Some(port) => format!("{http}://{host}:{port}"),
                    None => format!("{http}://{host}"),
                };
                Ok(Location::Webdav {
                    endpoint,
                    root: dir_path(&path),
                    user,
                })
            }
            "sftp" => {
                if host.is_empty() {
                    return Err(bad("an sftp:// URL needs a host"));
                }
                Ok(Location::Sftp {
                    host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
                    port: url.port(),
                    user,
                    root: if path.is_empty() { "/".to_string() } else { path },
                })
            }
            "s3" => {
                if host.is_empty() {
                    return Err(bad("an s3:// URL needs a bucket: s3://bucket/prefix"));
                }
                if user.is_some() || url.port().is_some() {
                    return Err(bad(
                        "an s3:// URL is s3://bucket/prefix; the endpoint comes from AWS_ENDPOINT_URL",
                    ));
                }
                Ok(Location::S3 {
                    bucket: host,
                    prefix: path.trim_matches('/').to_string(),
                })
            }
            "smb" => {
                if host.is_empty() {
                    return Err(bad("an smb:// URL needs a host: smb://host/share/path"));
                }
                let trimmed = path.trim_matches('/');
                let (share, inner) = trimmed.split_once('/').unwrap_or((trimmed, ""));
                if share.is_empty() {
                    return Err(bad(
                        "an smb:// URL needs a share name: smb://host/share/path",
                    ));
                }
                let inner: Vec<&str> = inner.split('/').filter(|p| !p.is_empty()).collect();
                if share.contains('\\') || inner.iter().any(|p| *p == "." || *p == ".." || p.contains('\\')) {
                    return Err(bad(
                        "an smb:// URL's share and folder names must not hold `\\`, `.` or `..`",
                    ));
                }
                Ok(Location::Smb {
                    host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
                    port: url.port(),
                    user,
                    share: share.to_string(),
                    path: inner.join("/"),
                })
            }
            other => Err(bad(format!(
                "unknown share URL scheme {other}:// (use webdav://, webdavs://, sftp://, s3://, smb:// or a folder path)"
            ))),
        }
    }
}

/// A folder path that starts and ends with `/`.
fn dir_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        format!("/{trimmed}/")
    }
}

fn decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Settings of a network share: the environment first, then the credentials file.
#[derive(Clone, Default)]
pub struct Settings {
    values: HashMap<String, String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<&String> = self.values.keys().collect();
        keys.sort();
        f.debug_struct("Settings").field("keys", &keys).finish()
    }
}

impl Settings {
    /// The environment's values of the known keys, then the credentials file's
    /// (when given and present) for the keys the environment does not set.
    pub fn load(credentials: Option<&Path>) -> Result<Settings> {
        let mut values = HashMap::new();
        if let Some(file) = credentials {
            values = read_credentials(file)?;
        }
        for key in [
            keys::AWS_ENDPOINT_URL,
            keys::AWS_REGION,
            keys::AWS_ACCESS_KEY_ID,
            keys::AWS_SECRET_ACCESS_KEY,
            keys::AWS_SESSION_TOKEN,
            keys::AWS_VIRTUAL_HOSTED_STYLE,
            keys::WEBDAV_USER,
            keys::WEBDAV_PASSWORD,
            keys::SFTP_KEY,
            keys::SFTP_KNOWN_HOSTS,
            keys::SMB_USER,
            keys::SMB_PASSWORD,
            keys::SMB_DOMAIN,
            keys::SMB_ENCRYPT,
        ] {
            if let Ok(value) = std::env::var(key) {
                if !value.is_empty() {
                    values.insert(key.to_string(), value);
                }
            }
        }
        Ok(Settings { values })
    }

    /// Settings from explicit pairs (tests, embedding).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Settings {
        Settings {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The value of `key`, if set and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Reads a `KEY=VALUE` credentials file, refusing one that others may read.
fn read_credentials(file: &Path) -> Result<HashMap<String, String>> {
    use std::os::unix::fs::MetadataExt;
    let here = RelPath::root();
    let meta = match std::fs::metadata(file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => {
            return Err(RemoteError::from_io(
                &here,
                &format!("read the credentials file {}", file.display()),
                e,
            ))
        }
    };
    if meta.mode() & 0o077 != 0 {
        return Err(RemoteError::new(
            ErrorKind::PermissionDenied,
            &here,
            format!(
                "the credentials file {} can be read by others (mode {:o}); run `chmod 600 {}`",
                file.display(),
                meta.mode() & 0o7777,
                file.display()
            ),
        ));
    }
    let text = std::fs::read_to_string(file).map_err(|e| {
        RemoteError::from_io(
            &here,
            &format!("read the credentials file {}", file.display()),
            e,
        )
    })?;
    let mut values = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(RemoteError::new(
                ErrorKind::Io,
                &here,
                format!("{} line {}: expected KEY=VALUE", file.display(), number + 1),
            ));
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        values.insert(key.trim().to_string(), value.to_string());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_are_folders() {
        assert_eq!(
            Location::parse("/srv/share").unwrap(),
            Location::Dir(PathBuf::from("/srv/share"))
        );
        assert_eq!(
            Location::parse("relative/dir").unwrap(),
            Location::Dir(PathBuf::from("relative/dir"))
        );
        assert!(!is_url("/a/b://c"));
        assert!(is_url("s3://bucket"));
    }

    #[test]
    fn webdav_urls() {
        assert_eq!(
            Location::parse("webdav://127.0.0.1:8080/dav/share").unwrap(),
            Location::Webdav {
                endpoint: "http://127.0.0.1:8080".into(),
                root: "/dav/share/".into(),
                user: None
            }
        );
        assert_eq!(
            Location::parse("webdavs://alice@example.org").unwrap(),
            Location::Webdav {
                endpoint: "https://example.org".into(),
                root: "/".into(),
                user: Some("alice".into())
            }
        );
    }

    #[test]
    fn sftp_and_s3_urls() {
        assert_eq!(
            Location::parse("sftp://bob@10.0.0.1:2222/srv/data").unwrap(),
            Location::Sftp {
                host: "10.0.0.1".into(),
                port: Some(2222),
                user: Some("bob".into()),
                root: "/srv/data".into()
            }
        );
        assert_eq!(
            Location::parse("s3://bucket/some/prefix/").unwrap(),
            Location::S3 {
                bucket: "bucket".into(),
                prefix: "some/prefix".into()
            }
        );
        assert_eq!(
            Location::parse("s3://bucket").unwrap(),
            Location::S3 {
                bucket: "bucket".into(),
                prefix: String::new()
            }
        );
    }

    #[test]
    fn smb_urls() {
        assert_eq!(
            Location::parse("smb://alice@files.example.org/team/projects/2024/").unwrap(),
            Location::Smb {
                host: "files.example.org".into(),
                port: None,
                user: Some("alice".into()),
                share: "team".into(),
                path: "projects/2024".into()
            }
        );
        assert_eq!(
            Location::parse("smb://127.0.0.1:10445/share").unwrap(),
            Location::Smb {
                host: "127.0.0.1".into(),
                port: Some(10445),
                user: None,
                share: "share".into(),
                path: String::new()
            }
        );
        assert!(Location::parse("smb://host").is_err(), "a share is needed");
        assert!(Location::parse("smb://host/share/a%5Cb").is_err());
        assert!(Location::parse("smb://u:pw@host/share").is_err());
    }

    #[test]
    fn passwords_and_unknown_schemes_are_refused() {
        let err = Location::parse("webdav://u:secret@host/x").unwrap_err();
        assert!(!err.to_string().contains("secret"));
        assert!(Location::parse("ftp://host/x").is_err());
    }

    #[test]
    fn credentials_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        std::fs::write(
            &file,
            "# comment\nAWS_REGION=eu-west-1\nOFFLINE_WEBDAV_PASSWORD=\"p w\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_credentials(&file).unwrap_err();
        assert_eq!(err.kind, ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("chmod 600"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let values = read_credentials(&file).unwrap();
        assert_eq!(values["AWS_REGION"], "eu-west-1");
        assert_eq!(values["OFFLINE_WEBDAV_PASSWORD"], "p w");
        assert!(read_credentials(&dir.path().join("missing"))
            .unwrap()
            .is_empty());
        let settings = Settings::from_pairs([(keys::WEBDAV_PASSWORD, "hunter2")]);
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
