//! Other users on the machine, bad input and plain output (issue 11): the events
//! socket and its folder cannot be taken over or used to delete a file, the cache's
//! own files are private, a refused command creates nothing and never prints a
//! password, names never act on the terminal, an unreachable server gives one plain
//! line, and a full disk or a newer database says so. Tests that need another user
//! run the binary as uid 65534 when the tests run as root (as faults.rs does).

mod common;
mod crash_support;
mod hostile_support;
mod servers;

use common::{assert_code, run_offline, stderr, stdout, Fixture, Side};
use common::{EXIT_INCOMPLETE, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE};
use crash_support::{bin_for_everyone, euid, spawn_bin_as, wait_with_timeout, Run};
use hostile_support::{DavTree, HostileDav, SmallDisk};
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The user tests run the binary as when they run as root.
const NOBODY: u32 = 65534;

fn os(text: &str) -> &OsStr {
    OsStr::new(text)
}

/// A temp folder other users can enter.
fn open_temp(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn chown(path: &Path, uid: u32) {
    let status = Command::new("chown")
        .args(["-R", &format!("{uid}:{uid}")])
        .arg(path)
        .status()
        .expect("chown");
    assert!(status.success());
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

/// Waits until `cond` holds (at most 20 s).
fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops a daemon with SIGTERM and returns how it ended.
fn terminate(child: Child) -> Run {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    wait_with_timeout(child, Duration::from_secs(30))
}

/// A daemon's environment: the events socket at `socket` ("": the default place),
/// temp files in `tmpdir`.
fn daemon_env<'a>(socket: &'a str, tmpdir: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("OFFLINE_EVENTS_SOCKET", socket),
        ("XDG_RUNTIME_DIR", ""),
        ("TMPDIR", tmpdir),
    ]
}

#[test]
fn the_daemon_removes_nothing_but_a_stale_socket() {
    let fx = Fixture::synced_with(&[("a.txt", "a")]);
    let victim = fx.dir.path().join("p.txt");
    fs::write(&victim, "a person's notes").unwrap();
    let socket = victim.display().to_string();
    let tmp = fx.dir.path().display().to_string();
    let child = spawn_bin_as(
        None,
        &[os("daemon"), fx.cache.as_os_str()],
        &daemon_env(&socket, &tmp),
        None,
    );
    let run = wait_with_timeout(child, Duration::from_secs(20));
    assert_eq!(run.code, Some(EXIT_USAGE), "refused: {}", run.describe());
    assert!(run.stderr.contains("not a socket"), "{}", run.stderr);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "a person's notes");

    // A socket no daemon listens on is stale: replaced, and removed at the end.
    let stale = fx.dir.path().join("s.sock");
    drop(UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let socket = stale.display().to_string();
    let child = spawn_bin_as(
        None,
        &[os("daemon"), fx.cache.as_os_str()],
        &daemon_env(&socket, &tmp),
        None,
    );
    wait_for("the daemon listens", || {
        std::os::unix::net::UnixStream::connect(&stale).is_ok()
    });
    let run = terminate(child);
    assert_eq!(run.code, Some(EXIT_OK), "{}", run.describe());
    assert!(!stale.exists(), "its own socket is removed when it stops");
}

/// Runs the binary as `uid` (None: as this process) and waits (a hang fails).
fn run_as(uid: Option<u32>, args: &[&OsStr], env: &[(&str, &str)]) -> Run {
    wait_with_timeout(spawn_bin_as(None, args, env, uid), Duration::from_secs(30))
}

#[test]
fn the_events_folder_must_belong_to_the_user_alone() {
    let root = open_temp("offline-hostile-sock-");
    let as_root = euid() == 0;
    let uid = if as_root { NOBODY } else { euid() };
    let runner = as_root.then_some(NOBODY);
    if as_root {
        let _ = bin_for_everyone();
    }
    let fx_dir = root.path().join("fx");
    fs::create_dir(&fx_dir).unwrap();
    let (share, cache) = (fx_dir.join("share"), fx_dir.join("cache"));
    fs::create_dir(&share).unwrap();
    fs::write(share.join("a.txt"), "a").unwrap();
    if as_root {
        chown(&fx_dir, NOBODY);
    }
    let init = run_as(
        runner,
        &[os("init"), share.as_os_str(), cache.as_os_str()],
        &[],
    );
    assert_eq!(init.code, Some(EXIT_OK), "{}", init.describe());

    let tmpdir = root.path().join("tmp");
    fs::create_dir(&tmpdir).unwrap();
    fs::set_permissions(&tmpdir, fs::Permissions::from_mode(0o1777)).unwrap();
    let folder = tmpdir.join(format!("offline-files-{uid}"));
    let tmp = tmpdir.display().to_string();
    let env = daemon_env("", &tmp);
    let daemon = [os("daemon"), cache.as_os_str()];
    let refused = |why: &str| {
        let run = run_as(runner, &daemon, &env);
        assert_eq!(run.code, Some(EXIT_USAGE), "{why}: {}", run.describe());
        assert!(
            run.stderr.contains("refusing the events folder"),
            "{why}: {}",
            run.stderr
        );
        let events = run_as(runner, &[os("events"), os("--count"), os("1")], &env);
        assert_eq!(
            events.code,
            Some(EXIT_USAGE),
            "{why}: {}",
            events.describe()
        );
        assert!(
            events.stderr.contains("refusing the events folder"),
            "{why}: {}",
            events.stderr
        );
    };

    if as_root {
        // Made by another user (root here), open to all.
        fs::create_dir(&folder).unwrap();
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o777)).unwrap();
        refused("a folder of another user");
        assert_eq!(mode(&folder), 0o777, "never changed, only refused");
        assert_eq!(fs::metadata(&folder).unwrap().uid(), 0);
        fs::remove_dir(&folder).unwrap();
    } else {
        eprintln!("not root: the case of a folder made by another user cannot be built here");
    }

    // The user's own folder, but open to others.
    fs::create_dir(&folder).unwrap();
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o777)).unwrap();
    chown(&folder, uid);
    refused("a folder others may enter");
    assert_eq!(mode(&folder), 0o777);
    fs::remove_dir(&folder).unwrap();

    // A symlink to a folder of the user's: refused, never chmod-ed through.
    let elsewhere = root.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    chown(&elsewhere, uid);
    std::os::unix::fs::symlink(&elsewhere, &folder).unwrap();
    refused("a symlink");
    assert_eq!(mode(&elsewhere), 0o755);
    fs::remove_file(&folder).unwrap();

    // Nothing there: made 0700, the daemon's own, and it listens in it.
    let child = spawn_bin_as(None, &daemon, &env, runner);
    let socket = folder.join("events.sock");
    wait_for("the daemon listens in its new folder", || socket.exists());
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(fs::metadata(&folder).unwrap().uid(), uid);
    let run = terminate(child);
    assert_eq!(run.code, Some(EXIT_OK), "{}", run.describe());
}

/// Every folder and file below `dir`, with its mode.
fn modes_below(dir: &Path) -> Vec<(PathBuf, u32, bool)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        out.push((path.clone(), meta.mode() & 0o7777, meta.is_dir()));
        if meta.is_dir() {
            out.extend(modes_below(&path));
        }
    }
    out
}

#[test]
fn the_caches_own_files_are_private_and_kept_copies_keep_their_modes() {
    let fx = Fixture::new();
    fx.write(Side::Share, "secret/key.txt", "the key");
    fx.chmod(Side::Share, "secret/key.txt", 0o600);
    fx.chmod(Side::Share, "secret", 0o700);
    fx.write(Side::Share, "pub.txt", "public");
    fx.chmod(Side::Share, "pub.txt", 0o644);
    fx.init();
    fx.sync_json_run(&[]).assert_code(EXIT_OK);

    // A conflict settled for the share: the cache's copy is kept in .offline/conflicts.
    fx.write(Side::Cache, "secret/key.txt", "the cache's key");
    fx.write(Side::Share, "secret/key.txt", "the share's key");
    fx.chmod(Side::Cache, "secret/key.txt", 0o600);
    fx.chmod(Side::Share, "secret/key.txt", 0o600);
    fx.sync_json_run(&["--policy", "keep-remote"])
        .assert_code(EXIT_OK);
    assert_eq!(
        fx.kept_losers(Side::Cache, "secret/key.txt"),
        [b"the cache's key".to_vec()]
    );
    // A changed copy dropped by evict goes to .offline/discarded.
    fx.write(Side::Cache, "pub.txt", "changed, then discarded");
    let out = fx.run(&["evict", "--discard-changes", "pub.txt"]);
    assert_code(&out, EXIT_OK, "evict --discard-changes");

    let mut kept = Vec::new();
    for (path, mode, is_dir) in modes_below(&fx.meta_dir()) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if is_dir {
            assert_eq!(
                mode,
                0o700,
                "{} is a folder of the cache's own",
                path.display()
            );
        } else if name == "key.txt" {
            assert_eq!(
                mode,
                0o600,
                "a kept copy keeps its mode: {}",
                path.display()
            );
            kept.push(name);
        } else if name == "pub.txt" {
            assert_eq!(
                mode,
                0o644,
                "a kept copy keeps its mode: {}",
                path.display()
            );
            kept.push(name);
        } else {
            assert_eq!(
                mode,
                0o600,
                "{} is a file of the cache's own",
                path.display()
            );
        }
    }
    kept.sort();
    assert_eq!(
        kept,
        ["key.txt", "pub.txt"],
        "both kept copies were checked"
    );
    assert_eq!(mode(&fx.meta_dir()), 0o700);
    assert_eq!(mode(&fx.meta_dir().join("state.db")), 0o600);

    if euid() == 0 {
        let _ = fs::set_permissions(fx.dir.path(), fs::Permissions::from_mode(0o755));
        use std::os::unix::process::CommandExt;
        let read = Command::new("cat")
            .arg(fx.meta_dir().join("state.db"))
            .uid(NOBODY)
            .gid(NOBODY)
            .output()
            .unwrap();
        assert!(
            !read.status.success(),
            "another user cannot read the state database"
        );
    }

    // A cache made by an older version (0755, 0644) is narrowed when opened.
    fs::set_permissions(fx.meta_dir(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(
        fx.meta_dir().join("state.db"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    assert_code(&fx.run(&["status"]), EXIT_OK, "status");
    assert_eq!(mode(&fx.meta_dir()), 0o700);
    assert_eq!(mode(&fx.meta_dir().join("state.db")), 0o600);
}

#[test]
fn repair_refuses_a_database_of_a_newer_version() {
    let fx = Fixture::synced_with(&[("a.txt", "a"), ("b.txt", "b")]);
    assert_code(&fx.run(&["pin", "--no-fill", "a.txt"]), EXIT_OK, "pin");
    let db = fx.meta_dir().join("state.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "UPDATE meta SET value = 999 WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    }
    let before = fs::read(&db).unwrap();
    for args in [&["repair"][..], &["repair", "--force"]] {
        let out = fx.run(args);
        assert_code(&out, EXIT_USAGE, &format!("{args:?} on a newer database"));
        assert!(stderr(&out).contains("newer"), "{}", stderr(&out));
        assert_eq!(fs::read(&db).unwrap(), before, "left as it was");
        let aside: Vec<String> = fs::read_dir(fx.meta_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("damaged"))
            .collect();
        assert!(aside.is_empty(), "never set aside: {aside:?}");
    }
}

#[test]
fn a_password_in_a_url_is_bad_usage_never_printed_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "webdav://alice:s3cr3t-pw@127.0.0.1:9/x",
        "webdavs://alice:s3cr3t-pw@example.org/x",
        "sftp://bob:s3cr3t-pw@127.0.0.1:9/srv",
    ] {
        let cache = dir.path().join("cache");
        let out = run_offline(None, &[os("init"), os(url), cache.as_os_str()]);
        assert_code(&out, EXIT_USAGE, url);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            !all.contains("s3cr3t-pw"),
            "the password was printed: {all}"
        );
        assert!(all.contains("password"), "{all}");
        assert!(!cache.exists(), "{url}: a refused init creates nothing");
    }
}

#[test]
fn a_refused_init_creates_nothing() {
    let fx = Fixture::new();
    fx.write(Side::Share, "a.txt", "a");
    let inside = fx.share.join("sub/c");
    let out = run_offline(
        None,
        &[os("init"), fx.share.as_os_str(), inside.as_os_str()],
    );
    assert_code(&out, EXIT_USAGE, "init SHARE SHARE/sub/c");
    assert!(
        !fx.share.join("sub").exists(),
        "nothing made inside the share"
    );
    let out = run_offline(
        None,
        &[os("init"), fx.share.as_os_str(), fx.share.as_os_str()],
    );
    assert_code(&out, EXIT_USAGE, "init SHARE SHARE");
    assert!(!fx.share.join(".offline").exists());
    let missing = fx.dir.path().join("missing");
    let out = run_offline(
        None,
        &[os("init"), missing.as_os_str(), fx.cache.as_os_str()],
    );
    assert_code(&out, EXIT_UNREACHABLE, "init of a missing share");
    assert!(!fx.cache.exists());
    // A server nobody answers on: nothing is made either.
    let out = run_offline(
        None,
        &[
            os("init"),
            os("webdav://127.0.0.1:9/x"),
            fx.cache.as_os_str(),
        ],
    );
    assert_code(&out, EXIT_UNREACHABLE, "init of an unreachable server");
    assert!(!fx.cache.exists());
    assert_eq!(
        common::tree(&fx.share).len(),
        1,
        "the share holds a.txt only"
    );
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
