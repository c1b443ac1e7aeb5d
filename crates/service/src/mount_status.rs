//! What a running `offline mount` tells about itself: `.offline/mount-PID.json` (named
//! in `offline_engine::layout`)
//! (its mount point, and whether file content is passed through by the kernel or
//! served by the process, with the reason). `offline status` lists the mounts whose
//! process is alive. Not tied to the `fuse` feature, so any build can read them.

use anyhow::{Context, Result};
use offline_engine::layout;
use offline_engine::private::private_file;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why reads and writes go through the mount process instead of passthrough.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// `offline mount --no-passthrough`.
    Disabled,
    /// The kernel does not offer it (older than 6.9, or built without it).
    Kernel,
    /// The process lacks `CAP_SYS_ADMIN` (not root).
    Privilege,
    /// The kernel refused to register a cache file (with its errno).
    Refused(i32),
}

impl Fallback {
    /// Said in `offline status`.
    pub fn describe(&self) -> String {
        match self {
            Fallback::Disabled => "turned off (--no-passthrough)".into(),
            Fallback::Kernel => "the kernel does not offer FUSE passthrough (Linux 6.9 or later, CONFIG_FUSE_PASSTHROUGH)".into(),
            Fallback::Privilege => "passthrough needs CAP_SYS_ADMIN (run `offline mount` as root)".into(),
            Fallback::Refused(errno) => format!(
                "the kernel refused to pass a cache file through: {}",
                std::io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

/// How file content is served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "io", content = "reason")]
pub enum Io {
    /// The kernel reads and writes cache files directly.
    Passthrough,
    /// Every read and write goes through the mount process.
    Fuse(Fallback),
}

/// One mount of the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountStatus {
    /// The mount process.
    pub pid: u32,
    /// Where the view is mounted.
    pub mountpoint: PathBuf,
    /// When it was mounted (ns since the epoch).
    pub started_ns: i64,
    /// How file content is served.
    #[serde(flatten)]
    pub io: Io,
}

impl MountStatus {
    /// One line for `offline status`.
    pub fn describe(&self) -> String {
        match &self.io {
            Io::Passthrough => format!(
                "{} (pid {}): cached files passed through by the kernel",
                self.mountpoint.display(),
                self.pid
            ),
            Io::Fuse(why) => format!(
                "{} (pid {}): content served by the mount process ({})",
                self.mountpoint.display(),
                self.pid,
                why.describe()
            ),
        }
    }
}

/// Writes (or rewrites) this mount's status file atomically.
pub fn write(meta_dir: &Path, status: &MountStatus) -> Result<()> {
    let path = layout::mount_status(meta_dir, status.pid);
    let tmp = layout::temp_beside(&path);
    private_file(&tmp, true)
        .and_then(|mut file| file.write_all(&serde_json::to_vec_pretty(status)?))
        .with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Removes this mount's status file (it unmounts).
pub fn remove(meta_dir: &Path, pid: u32) {
    let _ = fs::remove_file(layout::mount_status(meta_dir, pid));
}

/// The mounts of the cache whose `.offline/` is `meta_dir` that are still running.
pub fn read_all(meta_dir: &Path) -> Vec<MountStatus> {
    let Ok(entries) = fs::read_dir(meta_dir) else {
        return Vec::new();
    };
    let mut out: Vec<MountStatus> = entries
        .flatten()
        .filter(|e| layout::is_mount_status_name(&e.file_name().to_string_lossy()))
        .filter_map(|e| fs::read(e.path()).ok())
        .filter_map(|bytes| serde_json::from_slice::<MountStatus>(&bytes).ok())
        .filter(|s| crate::status::pid_alive(s.pid))
        .collect();
    out.sort_by_key(|s| s.started_ns);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_file_says_how_content_is_served() {
        let dir = tempfile::tempdir().unwrap();
        let status = MountStatus {
            pid: std::process::id(),
            mountpoint: PathBuf::from("/mnt/view"),
            started_ns: 1,
            io: Io::Fuse(Fallback::Privilege),
        };
        write(dir.path(), &status).unwrap();
        let text =
            fs::read_to_string(dir.path().join(format!("mount-{}.json", status.pid))).unwrap();
        assert!(text.contains("\"io\": \"fuse\""), "{text}");
        assert!(text.contains("\"reason\": \"privilege\""), "{text}");
        assert_eq!(read_all(dir.path()), vec![status.clone()]);
        assert!(status.describe().contains("CAP_SYS_ADMIN"));
        remove(dir.path(), status.pid);
        assert!(read_all(dir.path()).is_empty());
    }
}
