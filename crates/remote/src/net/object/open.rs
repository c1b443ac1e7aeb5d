//! Opening a WebDAV or S3 share: the settings each needs, the HTTP client (rustls
//! with ring), and OpenDAL's operator with its timeout and retry layers. Nothing is
//! sent to the server until the first operation.

use super::dav::{basic_auth, encode_path, Dav};
use super::errors::describe_opendal;
use super::{Flavor, ObjectRemote};
use crate::error::{ErrorKind, RemoteError, Result};
use crate::net::{short_message, Runtime};
use offline_core::{RelPath, TempTag};
use opendal::layers::{RetryLayer, TimeoutLayer};
use opendal::{HttpTransporter, Operator};
use opendal_http_transport_reqwest::ReqwestTransport;
use std::time::Duration;

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
        .connect_timeout(crate::net::connect_timeout())
        .read_timeout(crate::net::io_timeout())
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
                .with_timeout(crate::net::io_timeout())
                .with_io_timeout(crate::net::io_timeout()),
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
}
