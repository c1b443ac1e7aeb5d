//! WebDAV and S3 shares through OpenDAL.
//!
//! Both are stores of named blobs reached over HTTP; they differ in what they can
//! do, and this backend says so in [`Capabilities`]:
//!
//! - **S3** (an object store): folders are key prefixes; an empty folder is kept as
//!   a zero-byte *folder marker object* whose key is the folder's path with a
//!   trailing slash (`photos/2024/`, what the AWS console and OpenDAL create). There
//!   is no rename: a file is written to its final key directly (a PUT is atomic
//!   per object, so readers see the old or the new object, never a part), and the
//!   keep-all conflict path's rename is a server-side copy followed by a delete.
//!   The identity of a file is its ETag (with its size).
//! - **WebDAV**: real folders. A file is uploaded to a temp name in its folder and
//!   moved over the target (`MOVE`), so a dropped upload never leaves half a file.
//!   The identity is the ETag, size and modification time. Servers whose ETag is
//!   only mtime+size (nginx) could give two versions written in the same second
//!   the same identity: before a version replaces one with the same identity, this
//!   backend waits for the next second and uploads it again, so an identity always
//!   changes with the content.
//!
//! Neither keeps permission bits, symlinks or modification times chosen by the
//! client: a file's time is the time it was written to the server.
//!
//! Listings are streamed from OpenDAL's lister one folder at a time (S3 pages of
//! 1000 keys with a `/` delimiter), never the whole bucket at once. Requests that
//! fail with a transient error (connection refused or reset, 5xx, timeouts) are
//! retried with backoff (OpenDAL's retry layer: 2 retries); a server that stays
//! away is [`ErrorKind::Unreachable`].

use super::dav_list::{self, DavFailure};

mod dav_write;
mod s3_write;
use super::CHECKED;
use super::{
    auth_failed, is_connection_failure, key, no_symlinks, short_message, unreachable, Runtime,
};
use crate::error::{ErrorKind, RemoteError, Result};
use crate::{Capabilities, Entry, Expect, Remote, Stat, Written};
use futures_util::StreamExt;
use offline_core::{is_temp_name, Hash, Kind, Meta, RelPath, TempTag};
use opendal::layers::{RetryLayer, TimeoutLayer};
use opendal::{HttpTransporter, Operator};
use opendal_http_transport_reqwest::ReqwestTransport;
use std::io::{self, Read};
use std::time::Duration;

/// Mode reported for files and folders (these shares keep no permission bits; the
/// engine carries the last synced mode over, see `Capabilities::modes`).
const FILE_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;

/// Which protocol the operator speaks, with what only that protocol needs.
enum Flavor {
    Webdav(Dav),
    S3,
}

/// Direct WebDAV requests for what OpenDAL's WebDAV service does not stream or
/// condition: PUT from a spooled file, MOVE with `Overwrite: F`.
struct Dav {
    client: reqwest::Client,
    /// `http://host:port` followed by the share's root folder (`/path/`).
    base: String,
    /// The share's root folder on the server, decoded (`/path/`).
    root: String,
    authorization: Option<String>,
}

/// A WebDAV or S3 share.
pub struct ObjectRemote {
    rt: Runtime,
    op: Operator,
    flavor: Flavor,
    hidden: Vec<Vec<u8>>,
    /// The cache's tag in the names of the temp files this share gets.
    temp: TempTag,
    location: String,
}

/// The settings to open a WebDAV share.
pub(crate) struct WebdavConfig<'a> {
    pub endpoint: &'a str,
    pub root: &'a str,
    pub user: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// The settings to open an S3 share.
pub(crate) struct S3Config<'a> {
    pub bucket: &'a str,
    pub prefix: &'a str,
    pub endpoint: Option<&'a str>,
    pub region: Option<&'a str>,
    pub access_key_id: Option<&'a str>,
    pub secret_access_key: Option<&'a str>,
    pub session_token: Option<&'a str>,
    pub virtual_host_style: bool,
}

fn http_client() -> Result<reqwest::Client> {
    // reqwest is built without a default TLS provider (ring builds much faster than
    // aws-lc); install ring once per process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(super::connect_timeout())
        .read_timeout(super::io_timeout())
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| {
            RemoteError::new(
                ErrorKind::Io,
                &RelPath::root(),
                format!("cannot set up the HTTP client: {e}"),
            )
        })
}

fn config_error(err: opendal::Error) -> RemoteError {
    RemoteError::new(
        ErrorKind::Io,
        &RelPath::root(),
        format!(
            "the share's settings are not usable: {}",
            short_message(&err)
        ),
    )
}

fn finish(op: Operator, client: reqwest::Client) -> Operator {
    let op = op
        .layer(
            TimeoutLayer::new()
                .with_timeout(super::io_timeout())
                .with_io_timeout(super::io_timeout()),
        )
        .layer(
            RetryLayer::new()
                .with_max_times(2)
                .with_min_delay(Duration::from_millis(200))
                .with_max_delay(Duration::from_secs(2))
                .with_jitter()
                .with_notify(QuietRetries),
        );
    let transport = HttpTransporter::new(ReqwestTransport::new(client));
    let ctx = op.base_context().with_http_transport(transport);
    op.with_context(ctx)
}

/// Logs each retry as one short line at debug level (OpenDAL's own interceptor
/// writes a warning with the whole error, its context and backtrace, each time).
struct QuietRetries;

impl opendal::layers::RetryInterceptor for QuietRetries {
    fn intercept(&self, event: opendal::layers::RetryEvent<'_>) {
        tracing::debug!(
            "retrying {} in {:.1} s: {}",
            event.op,
            event.retry_after.as_secs_f64(),
            describe_opendal(event.err).0
        );
    }
}

impl ObjectRemote {
    /// Opens a WebDAV share (nothing is sent yet).
    #[cfg(feature = "webdav")]
    pub(crate) fn webdav(
        config: &WebdavConfig<'_>,
        location: &str,
        (hidden, temp): (&[&[u8]], &TempTag),
    ) -> Result<ObjectRemote> {
        let client = http_client()?;
        let mut builder = opendal::services::Webdav::default()
            .endpoint(config.endpoint)
            .root(config.root)
            .disable_create_dir(true);
        let mut authorization = None;
        if let Some(user) = config.user {
            builder = builder.username(user);
            let password = config.password.unwrap_or_default();
            builder = builder.password(password);
            authorization = Some(basic_auth(user, password));
        }
        let op = Operator::new(builder).map_err(config_error)?;
        Ok(ObjectRemote {
            rt: Runtime::new()?,
            op: finish(op, client.clone()),
            flavor: Flavor::Webdav(Dav {
                client,
                base: format!("{}{}", config.endpoint, encode_path(config.root)),
                root: config.root.to_string(),
                authorization,
            }),
            hidden: hidden.iter().map(|h| h.to_vec()).collect(),
            temp: temp.clone(),
            location: location.to_string(),
        })
    }

    /// Opens an S3 share (nothing is sent yet). Without an access key, requests
    /// are anonymous.
    #[cfg(feature = "s3")]
    pub(crate) fn s3(
        config: &S3Config<'_>,
        location: &str,
        (hidden, temp): (&[&[u8]], &TempTag),
    ) -> Result<ObjectRemote> {
        let client = http_client()?;
        let root = if config.prefix.is_empty() {
            "/".to_string()
        } else {
            format!("/{}/", config.prefix)
        };
        let mut builder = opendal::services::S3::default()
            .bucket(config.bucket)
            .root(&root)
            .region(config.region.unwrap_or("us-east-1"))
            .disable_config_load()
            .disable_ec2_metadata();
        if let Some(endpoint) = config.endpoint {
            builder = builder.endpoint(endpoint);
        }
        if config.virtual_host_style {
            builder = builder.enable_virtual_host_style();
        }
        match (config.access_key_id, config.secret_access_key) {
            (Some(id), Some(secret)) => {
                builder = builder.access_key_id(id).secret_access_key(secret);
                if let Some(token) = config.session_token {
                    builder = builder.session_token(token);
                }
            }
            _ => builder = builder.skip_signature(),
        }
        let op = Operator::new(builder).map_err(config_error)?;
        Ok(ObjectRemote {
            rt: Runtime::new()?,
            op: finish(op, client),
            flavor: Flavor::S3,
            hidden: hidden.iter().map(|h| h.to_vec()).collect(),
            temp: temp.clone(),
            location: location.to_string(),
        })
    }

    fn is_s3(&self) -> bool {
        matches!(self.flavor, Flavor::S3)
    }

    /// An OpenDAL error on `path` while doing `action`, as a [`RemoteError`].
    fn fail(&self, path: &RelPath, action: &str, err: opendal::Error) -> RemoteError {
        use opendal::ErrorKind as K;
        let (detail, status) = describe_opendal(&err);
        if matches!(status, Some(401 | 403)) {
            return auth_failed(path, action, &detail);
        }
        let kind = match err.kind() {
            K::NotFound => ErrorKind::NotFound,
            K::PermissionDenied => return auth_failed(path, action, &detail),
            K::AlreadyExists => ErrorKind::AlreadyExists,
            K::ConditionNotMatch => ErrorKind::Changed,
            K::IsADirectory => ErrorKind::IsADirectory,
            K::NotADirectory => ErrorKind::NotADirectory,
            K::Unsupported => ErrorKind::Unsupported,
            _ if is_connection_failure(&err) || err.is_temporary() => {
                return unreachable(path, action, &detail)
            }
            _ => ErrorKind::Io,
        };
        RemoteError::new(kind, path, format!("cannot {action}: {detail}"))
    }

    /// Checks that the share's root is there (a request to the server).
    fn probe_root(&self) -> Result<()> {
        let root = RelPath::root();
        let result = if self.is_s3() {
            self.rt.guarded(async {
                let mut lister = self.op.lister_with("/").limit(1).await?;
                lister.next().await.transpose().map(|_| ())
            })
        } else if let Flavor::Webdav(dav) = &self.flavor {
            // OpenDAL answers a stat of the root without asking the server.
            return self.dav_probe(dav);
        } else {
            Ok(())
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => Err(RemoteError::new(
                ErrorKind::Unreachable,
                &root,
                if self.is_s3() {
                    "the bucket does not exist"
                } else {
                    "the share's root folder does not exist on the server"
                },
            )),
            Err(e) => Err(match self.fail(&root, "reach the share", e) {
                err if err.kind == ErrorKind::NotFound || err.kind == ErrorKind::Io => {
                    RemoteError::new(ErrorKind::Unreachable, &root, err.message)
                }
                err => err,
            }),
        }
    }

    /// `PROPFIND` of the root folder with `Depth: 0`: is it there, as a folder?
    fn dav_probe(&self, dav: &Dav) -> Result<()> {
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

    /// The stat of a file or folder from OpenDAL's metadata.
    fn to_stat(&self, meta: &opendal::Metadata) -> Stat {
        let mtime_ns = meta
            .last_modified()
            .map(|t| t.into_inner().as_second())
            .map(super::secs_to_ns)
            .unwrap_or(0);
        if meta.is_dir() {
            return Stat {
                meta: Meta::dir(mtime_ns, DIR_MODE),
                identity: "dir".to_string(),
            };
        }
        let size = meta.content_length();
        let etag = meta.etag().map(|e| e.trim_matches('"')).unwrap_or("");
        let identity = if self.is_s3() {
            if etag.is_empty() {
                format!("size:{size}:mtime:{mtime_ns}")
            } else {
                format!("etag:{etag}:size:{size}")
            }
        } else {
            format!("etag:{etag}:size:{size}:mtime:{mtime_ns}")
        };
        Stat {
            meta: Meta {
                kind: Kind::File,
                size,
                mtime_ns,
                mode: FILE_MODE,
                hash: None,
                target: None,
            },
            identity,
        }
    }

    fn dir_stat() -> Stat {
        Stat {
            meta: Meta::dir(0, DIR_MODE),
            identity: "dir".to_string(),
        }
    }

    /// The file at `key` (a HEAD on S3, a PROPFIND on WebDAV), or `None`.
    fn stat_key(&self, path: &RelPath, key: &str) -> Result<Option<Stat>> {
        match self.rt.guarded(self.op.stat(key)) {
            Ok(meta) => Ok(Some(self.to_stat(&meta))),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.fail(path, "read its metadata", e)),
        }
    }

    /// True when the folder `key/` exists on S3: its marker object, or any key
    /// under it.
    fn s3_dir_exists(&self, path: &RelPath, key: &str) -> Result<bool> {
        let prefix = format!("{key}/");
        let found = self.rt.guarded(async {
            let mut lister = self.op.lister_with(&prefix).limit(1).await?;
            lister.next().await.transpose().map(|e| e.is_some())
        });
        found.map_err(|e| self.fail(path, "list the folder", e))
    }

    /// Every child of `dir`, temp files and hidden names included, with a flag for
    /// the names `list` leaves out. Names are what the server gave: one that cannot
    /// be an item (an entry outside the folder, `..`, `a//b`) is passed on for the
    /// engine to report.
    fn list_all(&self, dir: &RelPath) -> Result<Vec<(Entry, bool)>> {
        let listed = match &self.flavor {
            Flavor::Webdav(dav) => self.dav_list(dav, dir)?,
            Flavor::S3 => self.s3_list(dir)?,
        };
        Ok(listed
            .into_iter()
            .map(|entry| {
                let skipped = is_temp_name(&entry.name)
                    || (dir.is_root() && self.hidden.contains(&entry.name));
                (entry, skipped)
            })
            .collect())
    }

    /// The children of `dir` on S3: one folder's keys, a page after the other.
    fn s3_list(&self, dir: &RelPath) -> Result<Vec<Entry>> {
        let prefix = if dir.is_root() {
            "/".to_string()
        } else {
            format!("{}/", key(dir)?)
        };
        let entries = self.rt.guarded(async {
            let mut lister = self.op.lister(&prefix).await?;
            let mut out = Vec::new();
            while let Some(entry) = lister.next().await {
                out.push(entry?);
            }
            Ok::<_, opendal::Error>(out)
        });
        let entries = entries.map_err(|e| match e.kind() {
            opendal::ErrorKind::NotFound => {
                RemoteError::new(ErrorKind::NotFound, dir, "the folder is gone")
            }
            _ => self.fail(dir, "list the folder", e),
        })?;
        let own = prefix.trim_start_matches('/');
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let path = entry.path().trim_start_matches('/');
            if path == own || path.is_empty() {
                continue;
            }
            let name = match path.strip_prefix(own) {
                // A folder (common prefix) ends with its one `/`.
                Some(rest) => match rest.strip_suffix('/') {
                    Some(inner) if !inner.is_empty() => inner,
                    _ => rest,
                },
                // A key outside the listed folder: its whole path, no valid name.
                None => entry.path(),
            };
            let stat = self.to_stat(entry.metadata());
            out.push(Entry {
                name: name.as_bytes().to_vec(),
                stat,
            });
        }
        Ok(out)
    }

    /// The children of `dir` on WebDAV: a `PROPFIND` with `Depth: 1`, its answer
    /// parsed and checked by `dav_list`.
    fn dav_list(&self, dav: &Dav, dir: &RelPath) -> Result<Vec<Entry>> {
        let (url, folder) = if dir.is_root() {
            (dav.base.clone(), dav.root.clone())
        } else {
            let key = key(dir)?;
            let url = format!("{}{}/", dav.base, encode_path(key));
            (url, format!("{}{key}/", dav.root))
        };
        let action = "list the folder";
        let auth = dav.authorization.as_deref();
        let body = self.rt.block_on(super::retry(
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
                    out.push(super::unusable_entry(item.name));
                }
                None => tracing::warn!(
                    "{dir}: the server lists {} without its size or type; left out",
                    offline_core::escape_terminal(&String::from_utf8_lossy(&item.name))
                ),
            }
        }
        Ok(out)
    }

    /// Checks `expect` against the file at `key` and that no folder is there;
    /// returns what is there.
    fn check_file_target(
        &self,
        path: &RelPath,
        key: &str,
        expect: &Expect,
    ) -> Result<Option<Stat>> {
        let current = self.stat(path)?;
        check_expect(path, current.as_ref(), expect)?;
        if current.as_ref().is_some_and(|s| s.meta.kind == Kind::Dir) {
            return Err(RemoteError::new(
                ErrorKind::IsADirectory,
                path,
                "a folder is where the item should go",
            ));
        }
        let _ = key;
        Ok(current)
    }

    fn stat_after_change(&self, path: &RelPath) -> Result<Stat> {
        self.stat(path)?.ok_or_else(|| {
            RemoteError::new(
                ErrorKind::Changed,
                path,
                "it vanished right after it was changed",
            )
        })
    }
}

impl Remote for ObjectRemote {
    fn describe(&self) -> String {
        self.location.clone()
    }

    fn reads_whole_versions(&self) -> bool {
        // An S3 GET serves one object version whole.
        self.is_s3()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            rename: !self.is_s3(),
            empty_dirs: true,
            symlinks: false,
            modes: false,
        }
    }

    fn stat(&self, path: &RelPath) -> Result<Option<Stat>> {
        if path.is_root() {
            self.probe_root()?;
            return Ok(Some(Self::dir_stat()));
        }
        let key = key(path)?;
        if let Some(stat) = self.stat_key(path, key)? {
            return Ok(Some(stat));
        }
        if self.is_s3() {
            if self.s3_dir_exists(path, key)? {
                let marker = self.stat_key(path, &format!("{key}/"))?;
                let mtime = marker.map(|m| m.meta.mtime_ns).unwrap_or(0);
                return Ok(Some(Stat {
                    meta: Meta::dir(mtime, DIR_MODE),
                    identity: "dir".to_string(),
                }));
            }
            return Ok(None);
        }
        // WebDAV: a folder may only answer under its name with a trailing slash.
        self.stat_key(path, &format!("{key}/"))
    }

    fn list(&self, dir: &RelPath) -> Result<Vec<Entry>> {
        Ok(self
            .list_all(dir)?
            .into_iter()
            .filter(|(_, skipped)| !skipped)
            .map(|(entry, _)| entry)
            .collect())
    }

    fn open_read(&self, path: &RelPath) -> Result<Box<dyn Read + Send>> {
        let key = key(path)?;
        let stream = self.rt.guarded(async {
            let reader = self.op.reader(key).await?;
            reader.into_bytes_stream(..).await
        });
        let stream = stream.map_err(|e| self.fail(path, "open the file", e))?;
        Ok(Box::new(BlockingRead {
            handle: self.rt.handle(),
            stream,
            buffer: bytes::Bytes::new(),
        }))
    }

    fn write_file(
        &self,
        path: &RelPath,
        content: &mut dyn Read,
        _mode: u32,
        _mtime_ns: i64,
        expected_hash: Option<Hash>,
        expect: &Expect,
    ) -> Result<Written> {
        if path.is_root() {
            return Err(RemoteError::new(
                ErrorKind::NameNotAllowed,
                path,
                "the root folder cannot be replaced by a file",
            ));
        }
        let key = key(path)?;
        match &self.flavor {
            Flavor::S3 => self.s3_write(path, key, content, expected_hash, expect),
            Flavor::Webdav(dav) => self.dav_write(dav, path, key, content, expected_hash, expect),
        }
    }

    fn make_dir(
        &self,
        path: &RelPath,
        _mode: u32,
        _mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        let current = self.stat(path)?;
        check_expect(path, current.as_ref(), expect)?;
        match current {
            Some(stat) if stat.meta.kind == Kind::Dir => return Ok(stat),
            Some(_) => {
                return Err(RemoteError::new(
                    ErrorKind::AlreadyExists,
                    path,
                    "a file is where the folder should be",
                ))
            }
            None => {}
        }
        let folder = format!("{}/", key(path)?);
        self.rt
            .guarded(self.op.create_dir(&folder))
            .map_err(|e| self.fail(path, "create the folder", e))?;
        self.stat_after_change(path)
    }

    fn make_symlink(
        &self,
        path: &RelPath,
        _target: &[u8],
        _mtime_ns: Option<i64>,
        _expect: &Expect,
    ) -> Result<Stat> {
        Err(no_symlinks(path))
    }

    fn remove(&self, path: &RelPath, expect: &Expect) -> Result<()> {
        if path.is_root() {
            return Err(RemoteError::new(
                ErrorKind::NameNotAllowed,
                path,
                "the root folder cannot be removed",
            ));
        }
        let Some(current) = self.stat(path)? else {
            return Err(RemoteError::new(
                ErrorKind::NotFound,
                path,
                "nothing is there to remove",
            ));
        };
        check_expect(path, Some(&current), expect)?;
        let key = key(path)?;
        if current.meta.kind == Kind::Dir {
            // Never recursive: a WebDAV DELETE of a folder would take its children.
            if self
                .list_all(path)?
                .iter()
                .any(|(entry, _)| !is_temp_name(&entry.name))
            {
                return Err(RemoteError::new(
                    ErrorKind::NotEmpty,
                    path,
                    "the folder is not empty",
                ));
            }
            let folder = format!("{key}/");
            return match self.rt.guarded(self.op.delete(&folder)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(self.fail(path, "remove the folder", e)),
            };
        }
        self.rt
            .guarded(self.op.delete(key))
            .map_err(|e| self.fail(path, "remove it", e))
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        if from.is_root() || to.is_root() {
            return Err(RemoteError::new(
                ErrorKind::NameNotAllowed,
                from,
                "the root folder cannot be renamed or replaced",
            ));
        }
        let Some(source) = self.stat(from)? else {
            return Err(RemoteError::new(
                ErrorKind::NotFound,
                from,
                "nothing is there to rename",
            ));
        };
        if self.stat(to)?.is_some() {
            return Err(RemoteError::new(
                ErrorKind::AlreadyExists,
                to,
                format!("cannot rename {from} to it: something is already there"),
            ));
        }
        let (from_key, to_key) = (key(from)?, key(to)?);
        match &self.flavor {
            Flavor::Webdav(dav) => {
                let (a, b) = if source.meta.kind == Kind::Dir {
                    (format!("{from_key}/"), format!("{to_key}/"))
                } else {
                    (from_key.to_string(), to_key.to_string())
                };
                self.dav_move(dav, from, &a, &b, false)
            }
            Flavor::S3 => {
                if source.meta.kind == Kind::Dir {
                    return Err(RemoteError::new(
                        ErrorKind::Unsupported,
                        from,
                        "an object store cannot rename a folder",
                    ));
                }
                // No rename on an object store: a server-side copy, then a delete.
                self.rt
                    .guarded(self.op.copy(from_key, to_key))
                    .map_err(|e| self.fail(to, &format!("copy {from} to it"), e))?;
                self.rt
                    .guarded(self.op.delete(from_key))
                    .map_err(|e| self.fail(from, "remove it after copying it", e))
            }
        }
    }

    fn set_attrs(
        &self,
        path: &RelPath,
        _mode: Option<u32>,
        _mtime_ns: Option<i64>,
        expect: &Expect,
    ) -> Result<Stat> {
        // Modes and client-chosen times are not kept on these shares.
        let Some(current) = self.stat(path)? else {
            return Err(RemoteError::new(
                ErrorKind::NotFound,
                path,
                "nothing is there",
            ));
        };
        check_expect(path, Some(&current), expect)?;
        Ok(current)
    }

    fn remove_temp_files(&self) -> Result<usize> {
        if self.is_s3() {
            // Objects are written to their final keys: there are no temp files.
            return Ok(0);
        }
        let mut pending = vec![RelPath::root()];
        let mut removed = 0;
        while let Some(dir) = pending.pop() {
            for (entry, _) in self.list_all(&dir)? {
                let Ok(item) = dir.join(&entry.name) else {
                    continue;
                };
                if self.temp.owns(&entry.name) {
                    if entry.stat.meta.kind == Kind::File {
                        let key = key(&item)?;
                        match self.rt.guarded(self.op.delete(key)) {
                            Ok(()) => removed += 1,
                            Err(e) if e.kind() == opendal::ErrorKind::NotFound => {}
                            Err(e) => return Err(self.fail(&item, "remove the temp file", e)),
                        }
                    }
                } else if entry.stat.meta.kind == Kind::Dir && !is_temp_name(&entry.name) {
                    pending.push(item);
                }
            }
        }
        Ok(removed)
    }
}

/// A short description of an OpenDAL error (without its request context, which
/// holds every response header), and the HTTP status it reports, if any.
fn describe_opendal(err: &opendal::Error) -> (String, Option<u16>) {
    let full = short_message(err);
    let status = full.find("status: ").and_then(|at| {
        full[at + 8..]
            .chars()
            .take(3)
            .collect::<String>()
            .parse::<u16>()
            .ok()
    });
    let mut text = match full
        .find(", context: {")
        .or_else(|| full.find(" context: {"))
    {
        Some(at) => full[..at].to_string(),
        None => full.clone(),
    };
    if let Some(status) = status {
        text.push_str(&format!(" (HTTP {status})"));
    }
    if let Some(at) = full.find(" => ") {
        let body: String = full[at + 4..].chars().take(160).collect();
        text.push_str(": ");
        text.push_str(body.trim());
    }
    (text, status)
}

const PROPFIND_RESOURCETYPE: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>"#;

/// Checks a precondition against what is there now.
fn check_expect(path: &RelPath, current: Option<&Stat>, expect: &Expect) -> Result<()> {
    let changed = |message: &str| Err(RemoteError::new(ErrorKind::Changed, path, message));
    match (expect, current) {
        (Expect::Any, _) | (Expect::Absent, None) => Ok(()),
        (Expect::Absent, Some(_)) => changed("something appeared there since it was scanned"),
        (Expect::Identity(_), None) => changed("it was removed since it was scanned"),
        (Expect::Identity(id), Some(stat)) if stat.identity == *id => Ok(()),
        (Expect::Identity(_), Some(_)) => changed("it changed since it was scanned"),
    }
}

/// A streamed download read from synchronous code.
struct BlockingRead {
    handle: tokio::runtime::Handle,
    stream: opendal::FuturesBytesStream,
    buffer: bytes::Bytes,
}

impl Read for BlockingRead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.buffer.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                Some(Ok(bytes)) => self.buffer = bytes,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buffer.len());
        out[..n].copy_from_slice(&self.buffer[..n]);
        self.buffer = self.buffer.slice(n..);
        Ok(n)
    }
}

/// `Basic` authorization for a user and password.
fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

fn base64(data: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encodes a path, keeping `/` and the unreserved characters.
fn encode_path(path: &str) -> String {
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
    fn base64_and_path_encoding() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(encode_path("/dav/a b/ü.txt"), "/dav/a%20b/%C3%BC.txt");
    }
}
