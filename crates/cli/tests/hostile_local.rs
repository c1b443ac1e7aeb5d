//! Other users on the machine and bad input (issue 11): the events socket and its
//! folder cannot be taken over or used to delete a file, the cache's own files are
//! private, a refused command creates nothing and never prints a password, and
//! `repair` never sets aside a newer program's database. Tests that need another
//! user run the binary as uid 65534 when the tests run as root (as faults.rs does).

mod common;
mod crash_support;

use common::{assert_code, run_offline, stderr, stdout, Fixture, Side};
use common::{EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE};
use crash_support::{bin_for_everyone, euid, spawn_bin_as, wait_with_timeout, Run};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
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
        &[os("daemon"), os("--no-ui"), fx.cache.as_os_str()],
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
        &[os("daemon"), os("--no-ui"), fx.cache.as_os_str()],
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
    let daemon = [os("daemon"), os("--no-ui"), cache.as_os_str()];
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
