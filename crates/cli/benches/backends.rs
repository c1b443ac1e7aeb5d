//! Network-share benchmark: the same tree synced to and from a real WebDAV (nginx),
//! SFTP (sshd), S3 (SeaweedFS) and SMB (Samba) server on loopback, with 1, 4 and 8
//! copies in flight (`offline config --transfers`), then a no-change sync. Prints
//! one table row per backend and transfer count; for SMB also a row for
//! `smbclient`'s own recursive `mput` and `mget` of the same tree in the same run,
//! the anchor to compare with. Not part of the test suite.
//!
//! `cargo bench -p offline-cli --bench backends`; environment:
//! `OFFLINE_BENCH_FILES` (2000), `OFFLINE_BENCH_TRANSFERS` ("1 4 8"),
//! `OFFLINE_BENCH_BACKENDS` ("webdav sftp s3 smb"), `OFFLINE_BENCH_DELAY_MS` (0: the
//! client talks to the server directly; N: through a relay on loopback that holds
//! every chunk N ms in each direction, a link with a round trip of 2N ms).

#[path = "../tests/servers/mod.rs"]
mod servers;

use servers::{through_relay, Backend, Server};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

/// `count` files of 1 to 4 KiB in 100 folders.
fn make_tree(root: &Path, count: usize) {
    for i in 0..count {
        let dir = root.join(format!("d{:02}", i % 100));
        fs::create_dir_all(&dir).expect("create a folder");
        let line = format!("file {i} of the benchmark tree\n");
        let body = line.repeat(1024 * (1 + i % 4) / line.len());
        fs::write(dir.join(format!("f{i:06}.txt")), body).expect("write a file");
    }
}

/// Runs `offline ARGS` in `cache`; the wall time in seconds.
fn timed(server: &Server, cache: &Path, args: &[&str]) -> f64 {
    let start = Instant::now();
    let out = server
        .offline(cache)
        .args(args)
        .output()
        .expect("run offline");
    let secs = start.elapsed().as_secs_f64();
    servers::assert_ok(&out, &format!("offline {}", args.join(" ")), server);
    secs
}

fn cache_with(server: &Server, at: &Path, transfers: usize) {
    server.init(at);
    let out = server
        .offline(at)
        .args(["config", "--transfers", &transfers.to_string()])
        .output()
        .expect("run offline config");
    servers::assert_ok(&out, "offline config --transfers", server);
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let files: usize = env_or("OFFLINE_BENCH_FILES", "2000")
        .parse()
        .expect("OFFLINE_BENCH_FILES: a number");
    let transfers: Vec<usize> = env_or("OFFLINE_BENCH_TRANSFERS", "1 4 8")
        .split_whitespace()
        .map(|t| t.parse().expect("OFFLINE_BENCH_TRANSFERS: numbers"))
        .collect();
    let wanted = env_or("OFFLINE_BENCH_BACKENDS", "webdav sftp s3 smb");
    let delay_ms: u64 = env_or("OFFLINE_BENCH_DELAY_MS", "0")
        .parse()
        .expect("OFFLINE_BENCH_DELAY_MS: a number");
    println!("| backend | files | round trip | transfers | upload s | download s | no-change s |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for backend in Backend::ALL {
        if !wanted.split_whitespace().any(|w| w == backend.name()) {
            continue;
        }
        for &t in &transfers {
            // A fresh server (an empty share) for every run.
            let mut server = Server::start(backend);
            if delay_ms > 0 {
                through_relay(&mut server, Duration::from_millis(delay_ms));
            }
            let work = tempfile::tempdir().expect("a temp folder");
            let up = work.path().join("up");
            cache_with(&server, &up, t);
            make_tree(&up, files);
            let upload = timed(&server, &up, &["sync"]);
            let nochange = timed(&server, &up, &["sync"]);
            let down = work.path().join("down");
            cache_with(&server, &down, t);
            let download = timed(&server, &down, &["sync"]);
            println!(
                "| {} | {files} | {} ms | {t} | {upload:.2} | {download:.2} | {nochange:.2} |",
                backend.name(),
                2 * delay_ms
            );
            if backend == Backend::Smb {
                let (mput, mget) = smbclient_anchor(&server, work.path(), files);
                println!(
                    "| smbclient mput/mget | {files} | {} ms | 1 | {mput:.2} | {mget:.2} | |",
                    2 * delay_ms
                );
            }
        }
    }
}

/// `smbclient`'s recursive `mput` of the same tree into a folder of its own on the
/// share, then `mget` of it into a new local folder (through the relay, if any):
/// the wall times in seconds.
fn smbclient_anchor(server: &Server, work: &Path, files: usize) -> (f64, f64) {
    let port = server
        .url
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .expect("the share URL has a port")
        .to_string();
    let source = work.join("anchor-up");
    make_tree(&source, files);
    let target = work.join("anchor-down");
    fs::create_dir_all(&target).expect("create a folder");
    let run = |commands: String| {
        let start = Instant::now();
        let out = std::process::Command::new("smbclient")
            .args(["-p", &port, "//127.0.0.1/share", "-U"])
            .arg(format!("{}%{}", servers::smb_user(), servers::SMB_PASSWORD))
            .arg("-c")
            .arg(&commands)
            .output()
            .expect("run smbclient");
        let secs = start.elapsed().as_secs_f64();
        servers::assert_ok(&out, &format!("smbclient -c {commands:?}"), server);
        secs
    };
    let mput = run(format!(
        "prompt OFF; recurse ON; mkdir anchor; cd anchor; lcd {}; mput *",
        source.display()
    ));
    let mget = run(format!(
        "prompt OFF; recurse ON; cd anchor; lcd {}; mget *",
        target.display()
    ));
    let got = walk_count(&target);
    assert_eq!(got, files, "smbclient mget brought {got} of {files} files");
    (mput, mget)
}

/// How many files are below `dir`.
fn walk_count(dir: &Path) -> usize {
    let mut count = 0;
    for entry in fs::read_dir(dir).expect("read a folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            count += walk_count(&path);
        } else {
            count += 1;
        }
    }
    count
}
