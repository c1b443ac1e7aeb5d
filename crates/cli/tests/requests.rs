//! How many requests a file costs on each network share, counted from the servers'
//! own logs (nginx's access log, SeaweedFS's request log at `-v=2`, the SFTP
//! server's log at `DEBUG3`): new files uploaded from one cache, then downloaded
//! into an empty one. What is checked is the issue's: no look before a write the
//! server checks itself, no per-file look into a folder that was listed.

mod servers;

use servers::{sync_expect, Backend, Server};
use std::collections::BTreeMap;
use std::fs;
use tempfile::TempDir;

/// Files in the folder that is synced.
const FILES: usize = 24;

/// Requests served: how many, and how many of each kind (`PUT`, `open`...).
type Served = (usize, BTreeMap<String, usize>);

/// The requests served between two looks at the log.
fn served_since(server: &Server, before: usize) -> Served {
    let all = server.requests();
    let mut kinds = BTreeMap::new();
    for request in &all[before.min(all.len())..] {
        let kind = request.split_whitespace().next().unwrap_or("").to_string();
        *kinds.entry(kind).or_insert(0) += 1;
    }
    (all.len().saturating_sub(before), kinds)
}

/// Uploads and downloads `FILES` new files; returns the requests of each.
fn count(backend: Backend) -> (Served, Served) {
    let server = Server::start_counting(backend);
    let (up, down) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    server.init(up.path());
    server.init(down.path());
    fs::create_dir_all(up.path().join("d")).unwrap();
    sync_expect(&server, up.path(), &[], 0);
    sync_expect(&server, down.path(), &[], 0);
    for i in 0..FILES {
        fs::write(
            up.path().join(format!("d/f{i:02}.txt")),
            format!("file {i}\n"),
        )
        .unwrap();
    }
    let before = server.requests().len();
    sync_expect(&server, up.path(), &[], 0);
    let upload = served_since(&server, before);
    let before = server.requests().len();
    sync_expect(&server, down.path(), &[], 0);
    let download = served_since(&server, before);
    for i in 0..FILES {
        assert_eq!(
            fs::read_to_string(down.path().join(format!("d/f{i:02}.txt"))).unwrap(),
            format!("file {i}\n")
        );
    }
    eprintln!(
        "{}: upload {upload:?}\n{}: download {download:?}",
        backend.name(),
        backend.name()
    );
    if std::env::var_os("SHOW_LOG").is_some() {
        eprintln!(
            "{}",
            fs::read_to_string(server.path(if backend == Backend::Sftp {
                "sftp.log"
            } else {
                "server.log"
            }))
            .unwrap_or_default()
        );
    }
    (upload, download)
}

/// At most `per_file` requests a file, plus `fixed` for the sync itself (the root's
/// and the folder's listings, the marker file).
fn assert_at_most(what: &str, (total, kinds): &Served, per_file: usize, fixed: usize) {
    assert!(
        *total <= FILES * per_file + fixed,
        "{what}: {total} requests for {FILES} files (at most {per_file} a file + {fixed}): {kinds:?}"
    );
}

#[test]
fn s3_a_new_file_is_one_put() {
    let (upload, download) = count(Backend::S3);
    // The conditional PUT only: no HEAD before or after, no one-key listing.
    assert_eq!(upload.1.get("PUT"), Some(&FILES), "{upload:?}");
    assert!(
        upload.1.get("HEAD").copied().unwrap_or(0) <= 2,
        "{upload:?}"
    );
    assert_at_most("s3 upload", &upload, 1, 6);
    // A GET a file, and no HEAD after it (a GET serves one version whole).
    assert!(
        download.1.get("GET").copied().unwrap_or(0) >= FILES,
        "{download:?}"
    );
    assert!(
        download.1.get("HEAD").copied().unwrap_or(0) <= 2,
        "{download:?}"
    );
    assert_at_most("s3 download", &download, 1, 6);
}

#[test]
fn webdav_a_new_file_is_a_put_a_move_and_a_look() {
    let (upload, download) = count(Backend::Webdav);
    assert_eq!(upload.1.get("PUT"), Some(&FILES), "{upload:?}");
    assert_eq!(upload.1.get("MOVE"), Some(&FILES), "{upload:?}");
    // One PROPFIND a file (the new identity), none answered 404 before.
    assert_at_most("webdav upload", &upload, 3, 6);
    // A GET, and a look that the file did not change while it was read (a WebDAV
    // server may write in place).
    assert_at_most("webdav download", &download, 2, 6);
}

#[test]
fn sftp_requests_per_file() {
    let (upload, download) = count(Backend::Sftp);
    // open, write, setstat + fsync, close + hardlink + remove (4 round trips), and
    // nothing before or after; the listings and each extra session's handshake.
    assert_at_most("sftp upload", &upload, 7, 24);
    for name in ["lstat", "stat", "rename"] {
        assert!(
            upload.1.get(name).copied().unwrap_or(0) <= 2,
            "{name}: {upload:?}"
        );
    }
    // open, reads, close, and the look that the file did not change while read.
    assert_at_most("sftp download", &download, 5, 24);
}
