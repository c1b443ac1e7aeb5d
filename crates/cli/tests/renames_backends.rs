//! Renames against every network backend (issue 13), each a real server on loopback
//! reached through a counting proxy (`servers/proxy.rs`) that measures the bytes on
//! the wire: a folder of files renamed in one cache is renamed on the share (WebDAV
//! MOVE, SFTP rename, S3 server-side copies, an SMB rename through the open handle)
//! without uploading its files, and a second cache renames its own copy of the
//! folder without writing the files again.

mod servers;

use servers::proxy::CountingProxy;
use servers::{run, sync_expect, text, Backend, Server};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use tempfile::TempDir;

/// Files in the folder: 24 of 40 KiB (960 KiB).
const FILES: usize = 24;
const SIZE: usize = 40 * 1024;

/// Content that compresses to nothing smaller (so no transport can hide an upload).
fn noise(seed: usize) -> Vec<u8> {
    let mut x = (seed as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..SIZE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The inode and content of every file below `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<String, (u64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                pending.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                out.insert(rel, (meta.ino(), fs::read(&path).unwrap()));
            }
        }
    }
    out
}

fn planned_nothing(server: &Server, cache: &Path) {
    let out = run(server, cache, &["sync", "--dry-run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("0 items would be synced"),
        "{}: a further dry run plans work:\n{}",
        server.backend.name(),
        text(&out)
    );
}

fn renaming_a_folder_moves_no_file(backend: Backend) {
    let name = backend.name();
    let mut server = Server::start(backend);
    let proxy = CountingProxy::start(server.port());
    server.through(&proxy);
    let (a, b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    server.init(a.path());
    for i in 0..FILES {
        let sub = if i % 3 == 0 { "big/sub" } else { "big" };
        fs::create_dir_all(a.path().join(sub)).unwrap();
        fs::write(a.path().join(format!("{sub}/f{i}.bin")), noise(i)).unwrap();
    }
    let total = (FILES * SIZE) as u64;
    proxy.reset();
    sync_expect(&server, a.path(), &[], 0);
    assert!(
        proxy.sent() >= total,
        "{name}: the proxy counts the first upload: {} bytes sent for {total}",
        proxy.sent()
    );
    server.init(b.path());
    sync_expect(&server, b.path(), &[], 0);
    let in_b = files(&b.path().join("big"));
    assert_eq!(in_b.len(), FILES, "{name}: the second cache has the folder");

    // The rename in the first cache: one item, no bytes counted, and almost nothing
    // on the wire (requests and listings only).
    fs::rename(a.path().join("big"), a.path().join("big2")).unwrap();
    proxy.reset();
    let out = sync_expect(&server, a.path(), &["--json"], 0);
    let sent = proxy.sent();
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let items: Vec<&serde_json::Value> = lines.iter().filter(|v| v.get("path").is_some()).collect();
    assert_eq!(items.len(), 1, "{name}: one item: {}", text(&out));
    assert_eq!(items[0]["path"], "big2", "{name}");
    assert_eq!(items[0]["from"], "big", "{name}");
    assert_eq!(items[0]["state"], "dir_renamed_on_client", "{name}");
    let summary = lines.last().unwrap();
    assert_eq!(summary["summary"]["bytes"], 0, "{name}: {}", text(&out));
    assert!(
        sent < total / 10,
        "{name}: the rename sent {sent} bytes to the server, a tenth of the folder is {}",
        total / 10
    );
    println!("{name}: renaming a folder of {total} bytes sent {sent} bytes");
    planned_nothing(&server, a.path());

    // The second cache renames its copy: the files keep their inodes (not written
    // again), their content is the same.
    proxy.reset();
    let out = sync_expect(&server, b.path(), &["--json"], 0);
    let received = proxy.received();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\"dir_renamed_on_server\""),
        "{name}: the second cache sees one rename: {}",
        text(&out)
    );
    assert!(
        !b.path().join("big").exists(),
        "{name}: the old name is gone"
    );
    assert_eq!(
        files(&b.path().join("big2")),
        in_b,
        "{name}: renamed in place"
    );
    println!("{name}: the second cache's sync received {received} bytes");
    if backend == Backend::S3 {
        // The ETag identifies the content: nothing is read to confirm the rename.
        assert!(
            received < total / 10,
            "{name}: the second cache received {received} bytes"
        );
    }
    planned_nothing(&server, b.path());
}

#[test]
fn webdav_renames_a_folder_without_uploading_it() {
    renaming_a_folder_moves_no_file(Backend::Webdav);
}

#[test]
fn sftp_renames_a_folder_without_uploading_it() {
    renaming_a_folder_moves_no_file(Backend::Sftp);
}

#[test]
fn s3_renames_a_folder_without_uploading_it() {
    renaming_a_folder_moves_no_file(Backend::S3);
}

#[test]
fn smb_renames_a_folder_without_uploading_it() {
    renaming_a_folder_moves_no_file(Backend::Smb);
}
