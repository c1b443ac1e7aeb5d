//! Credentials of the test servers, for the check that no secret is ever printed:
//! the secrets the client holds, and a way to make a server refuse the client's
//! real credentials (so the real secret is sent and refused, then looked for in the
//! output).

use super::{Backend, Server};
use std::fs;

impl Server {
    /// The secrets the client holds: the WebDAV or SMB password, the S3 secret key,
    /// or the body lines of the SFTP private key.
    pub fn secrets(&self) -> Vec<String> {
        match self.backend {
            Backend::Sftp => key_body(&self.path("client_key")),
            _ => self
                .env
                .iter()
                .filter(|(k, _)| k.ends_with("PASSWORD") || k.ends_with("SECRET_ACCESS_KEY"))
                .map(|(_, v)| v.clone())
                .collect(),
        }
    }

    /// Makes the server refuse the client's real credentials, which the client keeps
    /// sending: WebDAV's password file and SFTP's authorized keys get another entry,
    /// Samba's user another password;
    /// SeaweedFS reads its identities at start only, so for S3 the returned
    /// environment names an unknown access key (with the real secret). Undone by
    /// [`Server::accept_credentials`].
    pub fn refuse_credentials(&self) -> Vec<(String, String)> {
        match self.backend {
            Backend::Webdav => {
                fs::write(self.path("htpasswd"), "alice:{PLAIN}another-password\n").unwrap();
                Vec::new()
            }
            Backend::Sftp => {
                let other = fs::read_to_string(self.path("host_key.pub")).unwrap();
                fs::write(self.path("authorized_keys"), other).unwrap();
                Vec::new()
            }
            Backend::S3 => vec![("AWS_ACCESS_KEY_ID".into(), "NOSUCHKEY".into())],
            Backend::Smb => {
                self.set_smb_password("another-password");
                Vec::new()
            }
        }
    }

    /// Undoes [`Server::refuse_credentials`].
    pub fn accept_credentials(&self) {
        match self.backend {
            Backend::Webdav => fs::write(
                self.path("htpasswd"),
                format!(
                    "{}:{{PLAIN}}{}\n",
                    super::WEBDAV_USER,
                    super::WEBDAV_PASSWORD
                ),
            )
            .unwrap(),
            Backend::Sftp => {
                fs::copy(self.path("client_key.pub"), self.path("authorized_keys")).unwrap();
            }
            Backend::S3 => {}
            Backend::Smb => self.set_smb_password(super::SMB_PASSWORD),
        }
    }
}

/// The base64 lines of a private key file (the secret part, without the armor).
pub fn key_body(path: &std::path::Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 16)
        .map(str::to_string)
        .collect()
}
