//! The Sync Center's login token: 32 random bytes, written as 64 hex digits in
//! `$XDG_CONFIG_HOME/offline-files/ui-token` (else `~/.config/...`), a file only its
//! owner may read (0600) in a folder only its owner may enter (0700). The daemon makes
//! it (or keeps a sound one); `offline ui` reads it to print the page's address.

use anyhow::{bail, Context, Result};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The token file's name in the configuration folder.
pub const TOKEN_FILE: &str = "ui-token";
/// Random bytes in a token.
pub const TOKEN_BYTES: usize = 32;

/// Where the token file is (beside the daemon's list of caches).
pub fn token_path() -> Option<PathBuf> {
    crate::daemon::caches_file().and_then(|f| f.parent().map(|dir| dir.join(TOKEN_FILE)))
}

/// A fresh token: 32 bytes from the operating system, as hex.
pub fn new_token() -> Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no random bytes from the system: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Why a token file cannot be trusted, if it cannot.
fn unsafe_because(path: &Path) -> Option<String> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return Some(format!("it cannot be read ({e})")),
    };
    if !meta.file_type().is_file() {
        return Some("it is not a plain file".into());
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Some(format!("it belongs to uid {}", meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        return Some(format!(
            "others may read it (mode {:o})",
            meta.mode() & 0o777
        ));
    }
    None
}

/// The token the daemon serves with: the one in the token file when that file is
/// sound (a plain file of this user that nobody else can read, holding a
/// well-formed token); otherwise a new one, written there first. The folder is made
/// 0700.
pub fn ensure_token() -> Result<String> {
    let path = token_path().context("neither XDG_CONFIG_HOME nor HOME is set")?;
    ensure_token_at(&path)
}

/// [`ensure_token`] for a given file.
pub fn ensure_token_at(path: &Path) -> Result<String> {
    let dir = path.parent().context("the token file has no folder")?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making {} private (0700)", dir.display()))?;
    if path.exists() {
        match unsafe_because(path) {
            None => {
                let text = fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let token = text.trim();
                if well_formed(token) {
                    return Ok(token.to_string());
                }
                tracing::warn!("{} holds no valid token: making a new one", path.display());
            }
            Some(why) => {
                // It may have been read by someone else: never serve with it.
                tracing::warn!(
                    "the Sync Center token {} is not safe ({why}): making a new one",
                    path.display()
                );
            }
        }
    }
    let token = new_token()?;
    write_private(path, &token)?;
    Ok(token)
}

/// Writes `token` to `path` through a temp file created 0600, fsynced, renamed.
fn write_private(path: &Path, token: &str) -> Result<()> {
    let dir = path.parent().context("the token file has no folder")?;
    let tmp = dir.join(format!(".{TOKEN_FILE}.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(format!("{token}\n").as_bytes())
        .and_then(|_| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The token `offline ui` prints: read from the token file, which must be sound.
pub fn read_token() -> Result<String> {
    let path = token_path().context("neither XDG_CONFIG_HOME nor HOME is set")?;
    if !path.exists() {
        bail!(
            "there is no Sync Center token yet ({}): start `offline daemon` first",
            path.display()
        );
    }
    if let Some(why) = unsafe_because(&path) {
        bail!(
            "the Sync Center token {} is not safe ({why}); restart `offline daemon` to make a new one",
            path.display()
        );
    }
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let token = text.trim();
    if !well_formed(token) {
        bail!(
            "{} holds no valid token; restart `offline daemon` to make a new one",
            path.display()
        );
    }
    Ok(token.to_string())
}

/// Compares a token given by a request with the real one in constant time.
pub fn token_matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_hex_digits_and_differ() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert!(well_formed(&a) && well_formed(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn a_sound_token_is_kept_and_a_readable_one_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg").join(TOKEN_FILE);
        let first = ensure_token_at(&path).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        let folder = fs::metadata(path.parent().unwrap()).unwrap();
        assert_eq!(folder.mode() & 0o777, 0o700);
        assert_eq!(ensure_token_at(&path).unwrap(), first, "kept");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let second = ensure_token_at(&path).unwrap();
        assert_ne!(second, first, "a token others could read is replaced");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn comparison_needs_the_whole_token() {
        let t = new_token().unwrap();
        assert!(token_matches(&t, &t));
        assert!(!token_matches(&t, &t[..63]));
        assert!(!token_matches(&t, ""));
        let mut other = t.clone().into_bytes();
        other[10] = if other[10] == b'0' { b'1' } else { b'0' };
        assert!(!token_matches(&t, std::str::from_utf8(&other).unwrap()));
    }
}
