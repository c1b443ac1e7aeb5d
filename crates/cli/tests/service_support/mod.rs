//! Helpers of the service tests (daemon, events, mount): a share and a cache in a temp
//! folder with short daemon intervals, a daemon child process that is always stopped,
//! an events subscriber read on a thread, and bounded waits.

#![allow(dead_code)]

use serde_json::Value;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// Each island that includes this file has its own copy (a test crate may use two).
#[allow(clippy::duplicate_mod)]
#[path = "../support/mod.rs"]
mod support;

/// The `offline` binary (its path as text; `support::bin` is the same as a path).
pub fn bin() -> &'static str {
    support::BIN
}

/// Nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// A file's text, if it is there.
pub fn read(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// An event's id.
pub fn id(e: &Value) -> u64 {
    e["id"].as_u64().unwrap_or(u64::MAX)
}

/// Windows' names of the ids the tests see.
pub fn event_name(id: u64) -> &'static str {
    match id {
        5 => "sync_begin",
        6 => "sync_file_result",
        7 => "sync_conflict_rec_added",
        8 => "sync_conflict_rec_updated",
        9 => "sync_conflict_rec_removed",
        10 => "sync_end",
        11 => "background_sync_begin",
        12 => "background_sync_end",
        15 => "item_disconnected",
        16 => "item_reconnected",
        19 => "item_pinned",
        20 => "item_not_pinned",
        21 => "item_modified",
        22 => "item_added_to_cache",
        23 => "item_deleted_from_cache",
        25 => "data_lost",
        26 => "ping",
        27 => "item_reconnect_begin",
        28 => "item_reconnect_end",
        _ => "?",
    }
}

/// Polls `cond` until it holds; panics after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a command with a time limit.
pub fn run_bounded(mut cmd: impl std::borrow::BorrowMut<Command>, timeout: Duration) -> Output {
    let cmd = cmd.borrow_mut();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start offline");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{cmd:?} did not end within {timeout:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A share and a cache in a temp folder, and the events socket the tests use.
pub struct Fx {
    pub dir: tempfile::TempDir,
    pub share: PathBuf,
    pub cache: PathBuf,
    pub socket: PathBuf,
}

impl Fx {
    /// An empty share, no cache yet.
    pub fn new() -> Fx {
        let dir = tempfile::Builder::new()
            .prefix("offline-service-")
            .tempdir()
            .unwrap();
        let share = dir.path().join("share");
        fs::create_dir(&share).unwrap();
        let cache = dir.path().join("cache");
        let socket = dir.path().join("events.sock");
        Fx {
            dir,
            share,
            cache,
            socket,
        }
    }

    /// A share with `files`, a cache of it synced once, short daemon intervals.
    pub fn synced(files: &[(&str, &str)]) -> Fx {
        let fx = Fx::new();
        for (path, text) in files {
            fx.write_share(path, text);
        }
        fx.init(&[]);
        fx.run_ok(&["sync"]);
        fx
    }

    /// Writes a file on the share.
    pub fn write_share(&self, rel: &str, text: &str) {
        let path = self.share.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// `offline init SHARE CACHE ARGS`, then the test intervals.
    pub fn init(&self, args: &[&str]) {
        let mut cmd = self.command();
        cmd.arg("init").arg(&self.share).arg(&self.cache).args(args);
        let out = run_bounded(cmd, Duration::from_secs(30));
        assert!(
            out.status.success(),
            "init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.config(&[
            "--sync-interval",
            "1h",
            "--sync-jitter",
            "0",
            "--push-delay",
            "300ms",
            "--retry-interval",
            "1s",
            "--rescan-interval",
            "1h",
        ]);
    }

    /// `offline config ARGS`.
    pub fn config(&self, args: &[&str]) {
        let mut all = vec!["config"];
        all.extend_from_slice(args);
        self.run_ok(&all);
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(bin());
        cmd.env("OFFLINE_EVENTS_SOCKET", &self.socket)
            .env_remove("OFFLINE_LOG")
            .env_remove("XDG_CONFIG_HOME")
            .env("HOME", self.dir.path());
        cmd
    }

    /// `offline -C CACHE ARGS`.
    pub fn run_raw(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.arg("-C").arg(&self.cache).args(args);
        run_bounded(cmd, Duration::from_secs(60))
    }

    /// `offline ARGS` with another events socket.
    pub fn run_with_socket(&self, args: &[&str], socket: &Path) -> Output {
        let mut cmd = self.command();
        cmd.env("OFFLINE_EVENTS_SOCKET", socket).args(args);
        run_bounded(cmd, Duration::from_secs(60))
    }

    /// `offline ARGS` (no -C), asserting success; stdout.
    pub fn run_plain(&self, args: &[&str]) -> String {
        let mut cmd = self.command();
        cmd.args(args);
        let out = run_bounded(cmd, Duration::from_secs(60));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `offline -C CACHE ARGS`, asserting exit 0; stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run_raw(args);
        assert!(
            out.status.success(),
            "offline {args:?} exited {:?}: {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command with the cache as working folder (paths relative to it).
    pub fn run_in_cache(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.current_dir(&self.cache).args(args);
        run_bounded(cmd, Duration::from_secs(60))
    }

    /// As [`Fx::run_in_cache`], asserting exit 0.
    pub fn run_in_cache_ok(&self, args: &[&str]) {
        let out = self.run_in_cache(args);
        assert!(
            out.status.success(),
            "offline {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs a `--json` command; its lines.
    pub fn json(&self, args: &[&str]) -> (Output, Vec<Value>) {
        let out = self.run_raw(args);
        let lines = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (out, lines)
    }

    /// `offline status --json`.
    pub fn status(&self) -> Value {
        let (out, lines) = self.json(&["status", "--json"]);
        assert!(
            out.status.success(),
            "status: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        lines.into_iter().next().expect("status line")
    }

    /// Asserts a sync now has nothing to do.
    pub fn assert_nothing_waits(&self) {
        let (out, lines) = self.json(&["sync", "--dry-run", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let planned: Vec<&Value> = lines
            .iter()
            .filter(|l| l.get("summary").is_none())
            .collect();
        assert!(planned.is_empty(), "nothing should wait: {planned:#?}");
    }

    /// Waits until the daemon serves the cache and is not syncing.
    pub fn wait_daemon_idle(&self) {
        wait_until("the daemon is idle", Duration::from_secs(30), || {
            let s = self.status();
            s["daemon"]["running"] == true
                && s["daemon"]["activity"] == "idle"
                && s["daemon"]["last_sync_ns"].is_i64()
        });
    }

    /// `offline daemon CACHE`.
    pub fn daemon(&self) -> Daemon {
        self.daemon_for(&[&self.cache])
    }

    /// `offline daemon` with extra environment.
    pub fn daemon_with_env(&self, env: &[(&str, &str)]) -> Daemon {
        self.spawn_daemon(&[&self.cache], env)
    }

    /// `offline daemon CACHES...`.
    pub fn daemon_for(&self, caches: &[&Path]) -> Daemon {
        self.spawn_daemon(caches, &[])
    }

    fn spawn_daemon(&self, caches: &[&Path], env: &[(&str, &str)]) -> Daemon {
        let log = self.dir.path().join(format!("daemon-{}.log", now_ns()));
        let mut cmd = self.command();
        // The Sync Center on a free port: tests never take the fixed default.
        cmd.arg("daemon")
            .args(caches)
            .args(["--ui", "127.0.0.1:0"])
            .env("OFFLINE_LOG", "info");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap());
        let child = cmd.spawn().expect("start the daemon");
        let daemon = Daemon {
            child: Some(child),
            log,
        };
        let socket = self.socket.clone();
        wait_until("the daemon listens", Duration::from_secs(20), || {
            socket.exists()
        });
        daemon
    }

    /// `offline events --json ARGS` on this fixture's socket, once subscribed.
    pub fn subscribe(&self, args: &[&str]) -> Events {
        let events = self.spawn_events(args);
        events.expect(|e| id(e) == 26, Duration::from_secs(20), "the first ping");
        events
    }

    /// A subscriber started before the daemon (`--wait`); not waited for.
    pub fn subscribe_waiting(&self) -> Events {
        self.spawn_events(&[])
    }

    fn spawn_events(&self, args: &[&str]) -> Events {
        let mut cmd = self.command();
        cmd.args(["events", "--json", "--wait", "30"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("start offline events");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            }
        });
        Events { child, rx }
    }
}

/// A running daemon; killed when dropped if the test did not stop it.
pub struct Daemon {
    child: Option<Child>,
    pub log: PathBuf,
}

impl Daemon {
    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends SIGTERM and waits for the exit status (None: it did not stop in time).
    pub fn terminate(mut self, timeout: Duration) -> Option<i32> {
        let mut child = self.child.take().unwrap();
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            if started.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!(
                    "daemon log:\n{}",
                    fs::read_to_string(&self.log).unwrap_or_default()
                );
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it with SIGTERM, asserting a clean exit.
    pub fn stop(self) {
        let log = self.log.clone();
        let code = self.terminate(Duration::from_secs(20));
        assert_eq!(
            code,
            Some(0),
            "the daemon stops cleanly; log:\n{}",
            fs::read_to_string(log).unwrap_or_default()
        );
    }

    /// What it wrote to stderr.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            if std::thread::panicking() {
                eprintln!(
                    "daemon log:\n{}",
                    fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
        }
    }
}

/// An `offline events` subscriber.
pub struct Events {
    child: Child,
    rx: mpsc::Receiver<Value>,
}

impl Events {
    /// The next event that satisfies `pred` (others are skipped); panics after
    /// `timeout`.
    pub fn expect(&self, pred: impl Fn(&Value) -> bool, timeout: Duration, what: &str) -> Value {
        let started = Instant::now();
        let mut skipped = Vec::new();
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            match self.rx.recv_timeout(left) {
                Ok(e) if pred(&e) => return e,
                Ok(e) => skipped.push(e),
                Err(_) => {
                    panic!("timed out after {timeout:?} waiting for {what}; saw {skipped:#?}")
                }
            }
        }
    }

    /// Every event that arrives within `span`.
    pub fn drain_for(&self, span: Duration) -> Vec<Value> {
        let started = Instant::now();
        let mut got = Vec::new();
        while let Some(left) = span.checked_sub(started.elapsed()) {
            match self.rx.recv_timeout(left) {
                Ok(e) => got.push(e),
                Err(_) => break,
            }
        }
        got
    }

    /// Every event up to and including the first that satisfies `last`.
    pub fn collect_until(&self, last: impl Fn(&Value) -> bool, timeout: Duration) -> Vec<Value> {
        let started = Instant::now();
        let mut got = Vec::new();
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            match self.rx.recv_timeout(left) {
                Ok(e) => {
                    let done = last(&e);
                    got.push(e);
                    if done {
                        return got;
                    }
                }
                Err(_) => panic!("timed out after {timeout:?}; saw {got:#?}"),
            }
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True when something is mounted on `dir`.
pub fn is_mounted(dir: &Path) -> bool {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let wanted = dir.to_string_lossy().into_owned();
    text.lines()
        .any(|l| l.split(' ').nth(4) == Some(wanted.as_str()))
}

/// `offline mount CACHE MOUNTPOINT`, unmounted when dropped.
pub struct Mount {
    child: Option<Child>,
    pub dir: PathBuf,
    pub log: PathBuf,
}

impl Fx {
    /// Mounts the view of the cache on `<tmp>/mnt`.
    pub fn mount(&self) -> Mount {
        self.mount_with(&[], None)
    }

    /// Mounts the view with extra `args`, as the user `as_user` (uid, and a copy
    /// of the binary that user may run) when given.
    pub fn mount_with(&self, args: &[&str], as_user: Option<(u32, &Path)>) -> Mount {
        use std::os::unix::process::CommandExt;
        let dir = self.dir.path().join("mnt");
        fs::create_dir_all(&dir).unwrap();
        let log = self.dir.path().join(format!("mount-{}.log", now_ns()));
        let mut cmd = self.command();
        if let Some((uid, program)) = as_user {
            cmd = Command::new(program);
            cmd.env("OFFLINE_EVENTS_SOCKET", &self.socket)
                .env_remove("OFFLINE_LOG")
                .env_remove("XDG_CONFIG_HOME")
                .env("HOME", self.dir.path())
                .uid(uid)
                .gid(uid);
        }
        cmd.arg("mount")
            .args(args)
            .arg(&self.cache)
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap());
        let child = cmd.spawn().expect("start offline mount");
        let mount = Mount {
            child: Some(child),
            dir: dir.clone(),
            log,
        };
        wait_until("the view is mounted", Duration::from_secs(20), || {
            is_mounted(&dir)
        });
        mount
    }
}

impl Mount {
    /// A path inside the view.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Unmounts with SIGTERM; asserts a clean exit.
    pub fn unmount(mut self) {
        let mut child = self.child.take().unwrap();
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let started = Instant::now();
        let code = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code();
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(
            code,
            Some(0),
            "offline mount stops cleanly: {}",
            fs::read_to_string(&self.log).unwrap_or_default()
        );
        assert!(!is_mounted(&self.dir), "unmounted");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            if std::thread::panicking() {
                eprintln!(
                    "mount log:\n{}",
                    fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
        }
        if is_mounted(&self.dir) {
            let _ = Command::new("fusermount3")
                .arg("-u")
                .arg("-z")
                .arg(&self.dir)
                .status();
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}
