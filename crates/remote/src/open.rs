//! The backend factory: a share location (folder path or URL) to a [`Remote`].

use crate::error::{ErrorKind, RemoteError, Result};
use crate::location::{Location, Settings};
use crate::{DirRemote, Remote};
use offline_core::{RelPath, TempTag};
use std::path::Path;

/// What opening a share needs besides its location.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShareOptions<'a> {
    /// Names left out of the root's listing (the share marker).
    pub hidden: &'a [&'a [u8]],
    /// The cache's credentials file (`.offline/credentials`), read when present.
    pub credentials: Option<&'a Path>,
    /// The cache's temp tag, written into the names of the temp files this share
    /// gets (a random one when not given).
    pub temp_tag: Option<&'a TempTag>,
}

/// Opens the share at `location`: a folder path (the directory backend), or a
/// `webdav://`, `webdavs://`, `sftp://`, `s3://` or `smb://` URL. Nothing is sent
/// to a server yet, except for SFTP and SMB, which connect (and so may fail with
/// [`ErrorKind::Unreachable`] or [`ErrorKind::PermissionDenied`]).
pub fn open_share(location: &str, options: &ShareOptions<'_>) -> Result<Box<dyn Remote>> {
    let parsed = Location::parse(location)?;
    let temp = match options.temp_tag {
        Some(tag) => tag.clone(),
        None => TempTag::from_u64(crate::sys::random_u64()),
    };
    if let Location::Dir(path) = parsed {
        return Ok(Box::new(
            DirRemote::open(path, options.hidden)?.with_temp_tag(&temp),
        ));
    }
    let settings = Settings::load(options.credentials)?;
    open_network(&parsed, location, &settings, (options.hidden, &temp))
}

/// Opens a network share with explicit settings, leaving out `hidden` names at its
/// root and naming its temp files with `temp`.
pub fn open_network(
    parsed: &Location,
    location: &str,
    settings: &Settings,
    (hidden, temp): (&[&[u8]], &TempTag),
) -> Result<Box<dyn Remote>> {
    #[cfg(any(feature = "webdav", feature = "s3", feature = "sftp", feature = "smb"))]
    use crate::location::keys;
    let _ = (location, settings, hidden, temp);
    match parsed {
        Location::Dir(path) => Ok(Box::new(
            DirRemote::open(path, hidden)?.with_temp_tag(temp),
        )),
        #[cfg(feature = "webdav")]
        Location::Webdav {
            endpoint,
            root,
            user,
        } => {
            let user = user.as_deref().or(settings.get(keys::WEBDAV_USER));
            let config = crate::net::object::WebdavConfig {
                endpoint,
                root,
                user,
                password: settings.get(keys::WEBDAV_PASSWORD),
            };
            Ok(Box::new(crate::net::object::ObjectRemote::webdav(
                &config,
                location,
                (hidden, temp),
            )?))
        }
        #[cfg(feature = "s3")]
        Location::S3 { bucket, prefix } => {
            let config = crate::net::object::S3Config {
                bucket,
                prefix,
                endpoint: settings.get(keys::AWS_ENDPOINT_URL),
                region: settings.get(keys::AWS_REGION),
                access_key_id: settings.get(keys::AWS_ACCESS_KEY_ID),
                secret_access_key: settings.get(keys::AWS_SECRET_ACCESS_KEY),
                session_token: settings.get(keys::AWS_SESSION_TOKEN),
                virtual_host_style: settings
                    .get(keys::AWS_VIRTUAL_HOSTED_STYLE)
                    .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1"),
            };
            Ok(Box::new(crate::net::object::ObjectRemote::s3(
                &config,
                location,
                (hidden, temp),
            )?))
        }
        #[cfg(feature = "sftp")]
        Location::Sftp {
            host,
            port,
            user,
            root,
        } => {
            let config = crate::net::sftp::SftpConfig {
                host,
                port: *port,
                user: user.as_deref(),
                root,
                key: settings.get(keys::SFTP_KEY),
                known_hosts: settings.get(keys::SFTP_KNOWN_HOSTS),
            };
            Ok(Box::new(crate::net::sftp::SftpRemote::connect(
                &config,
                location,
                (hidden, temp),
            )?))
        }
        #[cfg(feature = "smb")]
        Location::Smb {
            host,
            port,
            user,
            share,
            path,
        } => {
            let config = crate::net::smb::SmbConfig {
                host,
                port: *port,
                user: user.as_deref().or(settings.get(keys::SMB_USER)),
                password: settings.get(keys::SMB_PASSWORD),
                domain: settings.get(keys::SMB_DOMAIN),
                share,
                path,
                encrypt: settings.get(keys::SMB_ENCRYPT),
            };
            Ok(Box::new(crate::net::smb::SmbRemote::connect(
                &config,
                location,
                (hidden, temp),
            )?))
        }
        #[allow(unreachable_patterns)]
        _ => Err(RemoteError::new(
            ErrorKind::Unsupported,
            &RelPath::root(),
            format!("this build has no backend for {location} (enable the cargo feature webdav, sftp, s3 or smb)"),
        )),
    }
}
