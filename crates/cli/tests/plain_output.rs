//! Plain output (issue 11): names never act on the terminal (every printer for
//! people escapes control characters, `offline events` too, which also skips endless
//! lines), an unreachable server gives one plain line without colour or backtraces
//! unless logs are asked for, and a full disk under the state database says so.

mod common;
mod hostile_support;
mod servers;

use common::{assert_code, run_offline, stderr, stdout, Fixture, Side};
use common::{EXIT_INCOMPLETE, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE};
use hostile_support::{DavTree, HostileDav, SmallDisk};
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn os(text: &str) -> &OsStr {
    OsStr::new(text)
}

/// Asserts `out` holds no byte that acts on a terminal and no fake result line.
fn assert_plain(out: &Output, what: &str) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        for bad in ['\x1b', '\x07', '\u{9b}', '\u{202e}'] {
            assert!(
                !text.contains(bad),
                "{what}: {stream} holds {bad:?}:\n{text}"
            );
        }
        assert!(
            !text.lines().any(|l| l
                .trim_start()
                .starts_with("ok       create_copy_on_client  injected")),
            "{what}: a name printed a fake line:\n{text}"
        );
    }
}

#[test]
fn control_characters_in_names_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let share = dir.path().join("sh\x1b]0;pwned\x07are");
    let cache = dir.path().join("cache");
    fs::create_dir(&share).unwrap();
    let names: [&[u8]; 3] = [
        b"evil\x1b[31mred.txt",
        b"fake\nok       create_copy_on_client  injected.txt",
        "bidi\u{202e}txt.exe".as_bytes(),
    ];
    for name in names {
        fs::write(share.join(OsStr::from_bytes(name)), "x").unwrap();
    }
    let init = run_offline(None, &[os("init"), share.as_os_str(), cache.as_os_str()]);
    assert_plain(&init, "init");
    let run = |args: &[&str]| {
        let mut all = vec![os("-C"), cache.as_os_str()];
        all.extend(args.iter().map(|a| os(a)));
        run_offline(None, &all)
    };
    let out = run(&["sync"]);
    assert_code(&out, EXIT_OK, "sync");
    assert_plain(&out, "sync");
    assert!(
        stdout(&out).contains(r"evil\x1b[31mred.txt"),
        "{}",
        stdout(&out)
    );
    for args in [
        &["ls"][..],
        &["ls", "--flat"],
        &["status"],
        &["sync", "--dry-run"],
    ] {
        assert_plain(&run(args), &format!("{args:?}"));
    }
    // A conflict on such a name, then `conflicts` and the error of `resolve`.
    let evil = OsStr::from_bytes(names[0]);
    fs::write(cache.join(evil), "cache side").unwrap();
    fs::write(share.join(evil), "share side").unwrap();
    let out = run(&["sync"]);
    assert_code(&out, EXIT_INCOMPLETE, "sync with a conflict");
    assert_plain(&out, "sync with a conflict");
    assert_plain(&run(&["conflicts"]), "conflicts");
    let fake = cache.join(OsStr::from_bytes(names[1]));
    let out = run_offline(
        None,
        &[
            os("-C"),
            cache.as_os_str(),
            os("resolve"),
            fake.as_os_str(),
            os("--keep"),
            os("local"),
        ],
    );
    assert_code(&out, EXIT_USAGE, "resolve of a name not in conflict");
    assert_plain(&out, "resolve");
    assert_eq!(
        stderr(&out).lines().count(),
        1,
        "one line: {}",
        stderr(&out)
    );
}

/// The peak memory (VmHWM, KiB) of a running process.
fn peak_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn offline_events_escapes_names_and_skips_endless_lines() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("events.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_offline"))
        .args(["events", "--count", "2"])
        .env("OFFLINE_EVENTS_SOCKET", &socket)
        .env("OFFLINE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut stream, _) = listener.accept().unwrap();
    let mut filter = String::new();
    BufReader::new(stream.try_clone().unwrap())
        .read_line(&mut filter)
        .unwrap();
    let event = |n: u32| {
        format!(
            "{{\"id\":6,\"event\":\"sync_file_result\",\"time_ns\":0,\"cache\":\"/c\\u001b]0;x\\u0007\",\"path\":\"n{n}\\u001b[31m\\nok  injected\",\"result\":\"ok\",\"error\":\"bad\\u001b[2J\"}}\n"
        )
    };
    stream.write_all(event(1).as_bytes()).unwrap();
    // A 64 MiB line: skipped, never held in memory.
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..64 {
        stream.write_all(&chunk).unwrap();
    }
    stream.write_all(b"\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let peak = peak_kib(child.id());
    stream.write_all(event(2).as_bytes()).unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "offline events did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_code(&out, EXIT_OK, "offline events --count 2");
    assert_plain(&out, "offline events");
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "one line per event:\n{text}");
    assert!(text.contains(r"n1\x1b[31m\x0aok  injected"), "{text}");
    assert!(text.contains("n2"), "{text}");
    assert!(
        peak < 40 * 1024,
        "offline events grew to {peak} KiB on a 64 MiB line"
    );
}

/// `offline -C CACHE sync` as a person with RUST_BACKTRACE=1 in their shell and no
/// log settings, stderr a pipe (not a terminal).
fn plain_sync(cache: &Path, env: &[(String, String)], log: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_offline"));
    cmd.arg("-C").arg(cache).arg("sync");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env("RUST_BACKTRACE", "1")
        .env_remove("OFFLINE_LOG")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    if let Some(level) = log {
        cmd.env("OFFLINE_LOG", level);
    }
    cmd.output().unwrap()
}

/// One plain line per problem; the library's retries only when asked for.
fn assert_quiet_then_verbose(cache: &Path, env: &[(String, String)], what: &str) {
    let out = plain_sync(cache, env, None);
    assert_code(&out, EXIT_UNREACHABLE, what);
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() <= 2, "{what}: {} lines:\n{err}", lines.len());
    assert!(!err.contains('\x1b'), "{what}: colour on a pipe:\n{err}");
    for noise in ["backtrace", "Backtrace", "Context", "retry", "   0: "] {
        assert!(!err.contains(noise), "{what}: {noise:?} in:\n{err}");
    }
    let verbose = plain_sync(cache, env, Some("debug"));
    let verbose_err = stderr(&verbose);
    assert!(
        verbose_err.lines().count() > lines.len() && verbose_err.contains("retrying"),
        "{what}: OFFLINE_LOG=debug shows the library's work:\n{verbose_err}"
    );
}

#[test]
fn an_unreachable_webdav_server_gives_one_plain_line() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let dav = HostileDav::start(DavTree::with_files(&[("a.txt", "a")]));
    let out = run_offline(None, &[os("init"), os(&dav.url()), cache.as_os_str()]);
    assert_code(&out, EXIT_OK, "init");
    drop(dav);
    assert_quiet_then_verbose(&cache, &[], "webdav");
}

#[test]
fn an_unreachable_s3_server_gives_one_plain_line() {
    let mut server = servers::Server::start(servers::Backend::S3);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    server.init(&cache);
    server.stop();
    assert_quiet_then_verbose(&cache, &server.env, "s3");
}

#[test]
fn a_full_disk_under_the_state_database_says_so_and_loses_nothing() {
    let fx = Fixture::new();
    fx.write(Side::Share, "a.txt", "a");
    let disk_dir = fx.dir.path().join("disk");
    let disk = match SmallDisk::mount(&disk_dir, "4m") {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("full-disk test: cannot mount a tmpfs ({why}); it needs root, as CI runs it");
            return;
        }
    };
    let cache = disk_dir.join("cache");
    let out = run_offline(None, &[os("init"), fx.share.as_os_str(), cache.as_os_str()]);
    assert_code(&out, EXIT_OK, "init");
    let run = |args: &[&str]| {
        let mut all = vec![os("-C"), cache.as_os_str()];
        all.extend(args.iter().map(|a| os(a)));
        run_offline(None, &all)
    };
    assert_code(&run(&["sync"]), EXIT_OK, "first sync");
    for i in 0..200 {
        fs::write(cache.join(format!("new-{i:03}.txt")), format!("file {i}")).unwrap();
    }
    let filler = disk.fill("filler");

    let out = run(&["sync"]);
    assert_code(&out, EXIT_INCOMPLETE, "sync on a full disk");
    let err = stderr(&out);
    assert!(err.contains("is full"), "{err}");
    assert!(
        err.contains(&cache.join(".offline/state.db").display().to_string()),
        "{err}"
    );
    assert!(err.contains("Nothing was lost"), "{err}");
    assert!(!err.contains("Error code"), "{err}");

    fs::remove_file(filler).unwrap();
    let out = run(&["sync"]);
    assert_code(&out, EXIT_OK, "sync once there is room");
    for i in 0..200 {
        assert_eq!(
            fs::read_to_string(fx.share.join(format!("new-{i:03}.txt"))).unwrap(),
            format!("file {i}")
        );
    }
    drop(disk);
}

#[test]
fn a_closed_output_stops_the_sync_between_two_items_and_the_next_sync_finishes() {
    const FILES: usize = 2000;
    let fx = Fixture::new();
    for n in 0..FILES {
        fx.write(
            Side::Share,
            format!("d{}/f{n}.txt", n % 10),
            format!("{n}\n"),
        );
    }
    fx.init();
    // Far more JSON lines than a pipe holds: the sync blocks on the full pipe, and
    // its next write after the reader is gone fails.
    let mut child = Command::new(env!("CARGO_BIN_EXE_offline"))
        .args([os("-C"), fx.cache.as_os_str(), os("sync"), os("--json")])
        .env("OFFLINE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start offline sync");
    let mut first = String::new();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    out.read_line(&mut first).expect("a first line");
    assert!(first.starts_with('{'), "{first}");
    drop(out);
    let done = child.wait_with_output().expect("offline sync ends");
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(EXIT_INCOMPLETE), "{err}");
    assert!(err.contains("progress output failed"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let copied = (0..FILES)
        .filter(|n| fx.cache.join(format!("d{}/f{n}.txt", n % 10)).exists())
        .count();
    assert!(copied < FILES, "the sync stopped early ({copied} copied)");
    // What was done is recorded: the next sync brings only the rest, and converges.
    let next = fx.sync_json_run(&[]);
    assert_eq!(next.code, EXIT_OK, "{}", next.stderr);
    let redone = next.items.len();
    assert!(
        (FILES - copied..=FILES - copied + 10).contains(&redone),
        "the rest only (and folders not made yet): {redone} items after {copied} copied"
    );
    fx.assert_same_trees();
}
