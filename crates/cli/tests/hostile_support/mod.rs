//! Helpers of the hostile-input tests (hostile.rs, hostile_local.rs): a tiny WebDAV
//! server of the test's own that answers `PROPFIND` with crafted listings (hrefs
//! outside the share, `..`, `a//b`, garbage), a small tmpfs for a full disk, and
//! the run of a crash-point index by name.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The folder the share is in on the hostile server.
const ROOT: &str = "/share/";
/// Every item's modification time (RFC 2822, as WebDAV servers send it).
const MTIME: &str = "Sun, 01 May 2022 06:39:47 GMT";

/// What the hostile server serves below `/share/`.
#[derive(Default, Clone)]
pub struct DavTree {
    /// Files by path below the share (`ok.txt`, `sub/fine.txt`).
    pub files: BTreeMap<String, Vec<u8>>,
    /// Folders by path below the share (`sub`).
    pub dirs: BTreeSet<String>,
    /// Raw hrefs added to a folder's listing (the folder's path, `""` for the
    /// root), each listed as a one-byte file.
    pub extra: BTreeMap<String, Vec<String>>,
    /// Folders whose listing is not XML at all.
    pub garbage: BTreeSet<String>,
}

impl DavTree {
    /// A tree with the share marker and these files.
    pub fn with_files(files: &[(&str, &str)]) -> DavTree {
        let mut tree = DavTree::default();
        tree.files
            .insert(".offline-share".into(), b"marker\n".to_vec());
        for (path, text) in files {
            tree.files
                .insert(path.to_string(), text.as_bytes().to_vec());
        }
        tree
    }

    /// Adds raw hrefs to the listing of `folder`.
    pub fn hostile(mut self, folder: &str, hrefs: &[&str]) -> DavTree {
        self.extra
            .entry(folder.to_string())
            .or_default()
            .extend(hrefs.iter().map(|h| h.to_string()));
        self
    }
}

/// A WebDAV server on a free loopback port, written for the tests: read-only, it
/// answers `PROPFIND` (depth 0 and 1) and `GET` from a [`DavTree`]. Stopped when
/// dropped (then the port refuses connections).
pub struct HostileDav {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Every request line seen, for failure messages.
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl HostileDav {
    /// Starts serving `tree`.
    pub fn start(tree: DavTree) -> HostileDav {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let tree = Arc::new(tree);
        let (stop2, seen2) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (tree, seen) = (tree.clone(), seen2.clone());
                std::thread::spawn(move || serve(stream, &tree, &seen));
            }
        });
        HostileDav {
            port,
            stop,
            thread: Some(thread),
            seen,
        }
    }

    /// The share's URL for `offline init`.
    pub fn url(&self) -> String {
        format!("webdav://127.0.0.1:{}/share", self.port)
    }

    /// The requests seen so far.
    pub fn requests(&self) -> String {
        self.seen.lock().map(|s| s.join("\n")).unwrap_or_default()
    }
}

impl Drop for HostileDav {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one request and closes the connection.
fn serve(stream: TcpStream, tree: &DavTree, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut depth = "1".to_string();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((&header, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "depth" => depth = value.trim().to_string(),
            "content-length" => length = value.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    let mut body = vec![0u8; length.min(1 << 20)];
    let _ = reader.read_exact(&mut body);
    if let Ok(mut s) = seen.lock() {
        s.push(format!("{} (depth {depth})", line.trim()));
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    let (status, content_type, body) = answer(tree, method, target, &depth);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut out = stream;
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&body);
    let _ = out.flush();
}

/// The status line, content type and body for one request.
fn answer(tree: &DavTree, method: &str, target: &str, depth: &str) -> (String, String, Vec<u8>) {
    let not_found = || ("404 Not Found".into(), "text/plain".into(), b"no".to_vec());
    let path = decode(target);
    let Some(rel) = path
        .strip_prefix(ROOT)
        .or((path == ROOT.trim_end_matches('/')).then_some(""))
    else {
        return not_found();
    };
    let rel = rel.trim_end_matches('/');
    let is_dir = rel.is_empty() || tree.dirs.contains(rel);
    match method {
        "GET" => match tree.files.get(rel) {
            Some(bytes) => (
                "200 OK".into(),
                "application/octet-stream".into(),
                bytes.clone(),
            ),
            None => not_found(),
        },
        "PROPFIND" if is_dir => {
            if tree.garbage.contains(rel) && depth != "0" {
                return (
                    "207 Multi-Status".into(),
                    "application/xml".into(),
                    b"<<< this is not a listing".to_vec(),
                );
            }
            let mut xml = String::from(
                r#"<?xml version="1.0" encoding="utf-8" ?><D:multistatus xmlns:D="DAV:">"#,
            );
            xml.push_str(&dir_response(&href_of(rel, true)));
            if depth != "0" {
                let prefix = if rel.is_empty() {
                    String::new()
                } else {
                    format!("{rel}/")
                };
                let children = |p: &String| {
                    p.strip_prefix(&prefix)
                        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
                };
                for dir in tree.dirs.iter().filter(|d| children(d)) {
                    xml.push_str(&dir_response(&href_of(dir, true)));
                }
                for (file, bytes) in tree.files.iter().filter(|(f, _)| children(f)) {
                    xml.push_str(&file_response(&href_of(file, false), bytes.len()));
                }
                for href in tree.extra.get(rel).into_iter().flatten() {
                    xml.push_str(&file_response(href, 1));
                }
            }
            xml.push_str("</D:multistatus>");
            (
                "207 Multi-Status".into(),
                "application/xml".into(),
                xml.into_bytes(),
            )
        }
        "PROPFIND" => match tree.files.get(rel) {
            Some(bytes) => {
                let xml = format!(
                    r#"<?xml version="1.0" encoding="utf-8" ?><D:multistatus xmlns:D="DAV:">{}</D:multistatus>"#,
                    file_response(&href_of(rel, false), bytes.len())
                );
                (
                    "207 Multi-Status".into(),
                    "application/xml".into(),
                    xml.into_bytes(),
                )
            }
            None => not_found(),
        },
        _ => (
            "403 Forbidden".into(),
            "text/plain".into(),
            b"read-only".to_vec(),
        ),
    }
}

fn href_of(rel: &str, dir: bool) -> String {
    match (rel.is_empty(), dir) {
        (true, _) => ROOT.to_string(),
        (false, true) => format!("{ROOT}{rel}/"),
        (false, false) => format!("{ROOT}{rel}"),
    }
}

fn dir_response(href: &str) -> String {
    format!(
        "<D:response><D:href>{href}</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype><D:getlastmodified>{MTIME}</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
    )
}

fn file_response(href: &str, len: usize) -> String {
    format!(
        "<D:response><D:href>{href}</D:href><D:propstat><D:prop><D:resourcetype/><D:getcontentlength>{len}</D:getcontentlength><D:getetag>\"{len}-5f\"</D:getetag><D:getlastmodified>{MTIME}</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
    )
}

/// Percent-decodes a request path (ASCII names only in these tests).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A small tmpfs mounted on a folder (root only), unmounted when dropped.
pub struct SmallDisk {
    pub at: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (e.g. "4m") on `at`; `Err` says why it could not.
    pub fn mount(at: &Path, size: &str) -> Result<SmallDisk, String> {
        fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(SmallDisk {
            at: at.to_path_buf(),
        })
    }

    /// Fills the disk to the last byte with the file `name`; returns its path.
    pub fn fill(&self, name: &str) -> PathBuf {
        let path = self.at.join(name);
        let mut file = fs::File::create(&path).expect("create the filler");
        let block = vec![0x5a_u8; 64 * 1024];
        let mut size = block.len();
        loop {
            match file.write(&block[..size]) {
                Ok(0) => break,
                Ok(_) => {}
                Err(_) if size > 1 => size /= 2,
                Err(_) => break,
            }
        }
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).status();
    }
}

/// The number of the first crash point named `point` in the stderr of a run with
/// `OFFLINE_CRASH_LIST=1` (lines `crashpoint N NAME`).
pub fn crash_point_number(stderr: &str, point: &str) -> Option<u64> {
    stderr.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        (parts.next() == Some("crashpoint")).then_some(())?;
        let n = parts.next()?.parse().ok()?;
        (parts.next() == Some(point)).then_some(n)
    })
}
