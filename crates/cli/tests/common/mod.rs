//! Helpers shared by the end-to-end tests of the `offline` binary: a fixture with a
//! share and a cache in a temp folder, runners for the binary that check it never
//! panics, file helpers for both sides, and tree snapshots to compare the sides.

#![allow(dead_code)]

pub mod skip;
#[allow(unused_imports)]
pub use skip::skip;

// Each island that includes this file has its own copy (a test crate may use two).
#[allow(clippy::duplicate_mod)]
#[path = "../support/mod.rs"]
mod support;
pub use support::{Node, Side};

use assert_cmd::Command;
use filetime::FileTime;
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// A run may never take longer than this (a hang is a failure, not a stuck suite).
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Exit statuses of the `offline` binary (README).
pub const EXIT_OK: i32 = 0;
pub const EXIT_INCOMPLETE: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_UNREACHABLE: i32 = 3;

/// A temp folder holding `share/` and (after `init`) `cache/`.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub share: PathBuf,
    pub cache: PathBuf,
}

/// A relative path given as text or bytes.
pub fn rel_bytes(rel: impl AsRef<[u8]>) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(rel.as_ref()))
}

impl Fixture {
    /// A fixture with an empty share folder and no cache yet.
    pub fn new() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("offline-e2e-")
            .tempdir()
            .expect("temp dir");
        let share = dir.path().join("share");
        let cache = dir.path().join("cache");
        fs::create_dir(&share).expect("share dir");
        Fixture { dir, share, cache }
    }

    /// `offline init SHARE CACHE`; asserts it worked and wrote the marker.
    pub fn init(&self) {
        self.init_with(&[]);
    }

    /// `offline init SHARE CACHE EXTRA...` (e.g. `--no-pin`); asserts it worked and
    /// wrote the marker.
    pub fn init_with(&self, extra: &[&str]) {
        let mut args = vec![
            OsStr::new("init"),
            self.share.as_os_str(),
            self.cache.as_os_str(),
        ];
        args.extend(extra.iter().map(OsStr::new));
        let out = run_offline(None, &args);
        assert_code(&out, EXIT_OK, "offline init");
        assert!(
            self.share.join(".offline-share").is_file(),
            "init writes the .offline-share marker"
        );
        assert!(self.cache.join(".offline").is_dir());
    }

    /// A fixture whose share holds `files` (path, content), initialized and synced once.
    pub fn synced_with(files: &[(&str, &str)]) -> Fixture {
        let fx = Fixture::new();
        for (path, content) in files {
            fx.write(Side::Share, path, content);
        }
        fx.init();
        let out = fx.sync(&[]);
        assert_code(&out, EXIT_OK, "first sync");
        fx.assert_same_trees();
        fx
    }

    /// Runs `offline -C CACHE ARGS...`.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<&OsStr> = vec![OsStr::new("-C"), self.cache.as_os_str()];
        all.extend(args.iter().map(OsStr::new));
        run_offline(None, &all)
    }

    /// Runs `offline -C CACHE sync ARGS...`.
    pub fn sync(&self, args: &[&str]) -> Output {
        let mut all = vec!["sync"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// Runs `offline sync --json ARGS...` and returns the item objects (the summary
    /// line excluded; see [`JsonRun`] for it and the exit status).
    pub fn sync_json(&self, args: &[&str]) -> Vec<Value> {
        self.sync_json_run(args).items
    }

    /// Runs `offline sync --json ARGS...` and parses every line.
    pub fn sync_json_run(&self, args: &[&str]) -> JsonRun {
        let mut all = vec!["sync", "--json"];
        all.extend_from_slice(args);
        JsonRun::from_output(self.run(&all))
    }

    /// Runs a command with `--json` output and parses its lines.
    pub fn json_lines(&self, args: &[&str]) -> (Output, Vec<Value>) {
        let out = self.run(args);
        let lines = parse_lines(&out);
        (out, lines)
    }

    /// `offline status --json`.
    pub fn status(&self) -> Value {
        let (out, lines) = self.json_lines(&["status", "--json"]);
        assert_code(&out, EXIT_OK, "status --json");
        assert_eq!(lines.len(), 1, "status --json writes one object");
        lines.into_iter().next().expect("one line")
    }

    /// `offline conflicts --json`.
    pub fn conflicts(&self) -> Vec<Value> {
        let (out, lines) = self.json_lines(&["conflicts", "--json"]);
        assert_code(&out, EXIT_OK, "conflicts --json");
        lines
    }

    /// `offline sync --dry-run --json`: the planned items, asserting exit 0.
    pub fn planned(&self) -> Vec<Value> {
        let run = self.sync_json_run(&["--dry-run"]);
        assert_eq!(run.code, EXIT_OK, "dry run: {}", run.stderr);
        assert_eq!(run.summary["summary"]["dry_run"], true);
        for item in &run.items {
            assert_eq!(item["result"], "planned", "a dry run only plans: {item}");
        }
        run.items
    }

    /// Asserts a second sync has nothing to do: the dry run plans zero items and
    /// the real run reports none and exits 0.
    pub fn assert_settled(&self) {
        let planned = self.planned();
        assert!(
            planned.is_empty(),
            "nothing should be planned: {planned:#?}"
        );
        let run = self.sync_json_run(&[]);
        assert_eq!(run.code, EXIT_OK, "settled sync: {}", run.stderr);
        assert!(
            run.items.is_empty(),
            "nothing should be done: {:#?}",
            run.items
        );
    }

    /// The root of a side.
    pub fn root(&self, side: Side) -> &Path {
        match side {
            Side::Share => &self.share,
            Side::Cache => &self.cache,
        }
    }

    /// The full path of `rel` (text or bytes) on `side`.
    pub fn path(&self, side: Side, rel: impl AsRef<[u8]>) -> PathBuf {
        self.root(side).join(rel_bytes(rel))
    }

    /// Writes a file (creating its folders).
    pub fn write(&self, side: Side, rel: impl AsRef<[u8]>, content: impl AsRef<[u8]>) {
        let path = self.path(side, rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent folders");
        }
        fs::write(&path, content).expect("write file");
    }

    /// Reads a file's bytes.
    pub fn read(&self, side: Side, rel: impl AsRef<[u8]>) -> Vec<u8> {
        let path = self.path(side, rel);
        fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Reads a file as text.
    pub fn read_str(&self, side: Side, rel: impl AsRef<[u8]>) -> String {
        String::from_utf8(self.read(side, rel)).expect("utf-8 content")
    }

    /// True when something (even a dangling symlink) is at `rel`.
    pub fn exists(&self, side: Side, rel: impl AsRef<[u8]>) -> bool {
        fs::symlink_metadata(self.path(side, rel)).is_ok()
    }

    /// Removes a file or symlink.
    pub fn remove(&self, side: Side, rel: impl AsRef<[u8]>) {
        fs::remove_file(self.path(side, rel)).expect("remove file");
    }

    /// Sets the permission bits.
    pub fn chmod(&self, side: Side, rel: impl AsRef<[u8]>, mode: u32) {
        fs::set_permissions(self.path(side, rel), fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// The permission bits.
    pub fn mode(&self, side: Side, rel: impl AsRef<[u8]>) -> u32 {
        fs::symlink_metadata(self.path(side, rel))
            .expect("stat")
            .mode()
            & 0o7777
    }

    /// Sets the mtime (of a symlink itself, never its target).
    pub fn set_mtime(&self, side: Side, rel: impl AsRef<[u8]>, secs: i64, nanos: u32) {
        filetime::set_symlink_file_times(
            self.path(side, rel),
            FileTime::from_unix_time(secs, nanos),
            FileTime::from_unix_time(secs, nanos),
        )
        .expect("set mtime");
    }

    /// The mtime in ns (of a symlink itself).
    pub fn mtime_ns(&self, side: Side, rel: impl AsRef<[u8]>) -> i128 {
        let meta = fs::symlink_metadata(self.path(side, rel)).expect("stat");
        meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128
    }

    /// The target of a symlink.
    pub fn link_target(&self, side: Side, rel: impl AsRef<[u8]>) -> Vec<u8> {
        fs::read_link(self.path(side, rel))
            .expect("read link")
            .as_os_str()
            .as_bytes()
            .to_vec()
    }

    /// Both trees are the same (content, kinds, modes, link targets).
    pub fn assert_same_trees(&self) {
        let share = tree(&self.share);
        let cache = tree(&self.cache);
        assert_eq!(
            share, cache,
            "the share and the cache should hold the same tree"
        );
    }

    /// The cache's own folder.
    pub fn meta_dir(&self) -> PathBuf {
        self.cache.join(".offline")
    }

    /// The bytes of every losing copy of `rel` kept from `side` under
    /// `.offline/conflicts/<UTC>/<cache|share>/rel`; asserts the time folders are
    /// named `YYYYMMDDTHHMMSSZ`.
    pub fn kept_losers(&self, side: Side, rel: impl AsRef<[u8]>) -> Vec<Vec<u8>> {
        let dir = self.meta_dir().join("conflicts");
        let mut out = Vec::new();
        let Ok(entries) = fs::read_dir(&dir) else {
            return out;
        };
        for entry in entries {
            let entry = entry.expect("read conflicts folder");
            let stamp = entry.file_name().to_string_lossy().into_owned();
            assert!(is_utc_stamp(&stamp), "conflict time folder {stamp:?}");
            let copy = entry.path().join(side.word()).join(rel_bytes(rel.as_ref()));
            if let Ok(bytes) = fs::read(&copy) {
                out.push(bytes);
            }
        }
        out
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

fn is_utc_stamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 16
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
}

/// Runs the binary (in `cwd` if given) and checks it did not panic.
pub fn run_offline(cwd: Option<&Path>, args: &[&OsStr]) -> Output {
    let mut cmd = Command::cargo_bin("offline").expect("the offline binary");
    cmd.args(args)
        .env("OFFLINE_LOG", "warn")
        .env("NO_COLOR", "1")
        .timeout(RUN_TIMEOUT);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let out = cmd.output().expect("run offline");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "offline {:?} panicked:\n{stderr}",
        args
    );
    assert!(
        out.status.code().is_some(),
        "offline {args:?} was killed (hung past {RUN_TIMEOUT:?}?): {out:?}"
    );
    out
}

/// The exit status (a killed process fails the test).
pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exit status")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the exit status, printing both streams otherwise.
pub fn assert_code(out: &Output, expected: i32, what: &str) {
    assert_eq!(
        code(out),
        expected,
        "{what}: exit status\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

fn parse_lines(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}\nall:\n{}", stdout(out)))
        })
        .collect()
}

/// A `sync --json` run: item lines, the closing summary, exit status and stderr.
#[derive(Debug)]
pub struct JsonRun {
    pub items: Vec<Value>,
    pub summary: Value,
    pub code: i32,
    pub stderr: String,
}

impl JsonRun {
    /// Parses a run whose stdout is JSON lines ending with the summary. A run that
    /// stopped before printing (exit 2 or 3) has no summary: it is `Null` then.
    pub fn from_output(out: Output) -> JsonRun {
        let mut items = parse_lines(&out);
        let summary = match items.last() {
            Some(last) if last.get("summary").is_some() => items.pop().expect("summary"),
            _ => Value::Null,
        };
        for item in &items {
            assert!(item.get("summary").is_none(), "the summary comes last");
            assert!(item["path"].is_string(), "every item has a path: {item}");
            assert!(
                item["result"].is_string(),
                "every item has a result: {item}"
            );
        }
        JsonRun {
            items,
            summary,
            code: code(&out),
            stderr: stderr(&out),
        }
    }

    /// Asserts the exit status, showing the items and stderr otherwise.
    pub fn assert_code(&self, expected: i32) {
        assert_eq!(
            self.code, expected,
            "exit status of the sync\nitems: {:#?}\nsummary: {}\nstderr:\n{}",
            self.items, self.summary, self.stderr
        );
    }

    /// The items for `path` (as JSON writes it).
    pub fn for_path(&self, path: &str) -> Vec<&Value> {
        self.items.iter().filter(|i| i["path"] == path).collect()
    }

    /// The one item for `path`.
    pub fn item(&self, path: &str) -> &Value {
        let found = self.for_path(path);
        assert_eq!(
            found.len(),
            1,
            "exactly one item for {path:?} expected in {:#?}",
            self.items
        );
        found[0]
    }

    /// The operation reported for `path`.
    pub fn operation(&self, path: &str) -> &str {
        self.item(path)["operation"].as_str().unwrap_or("null")
    }

    /// Asserts `path` was done with `operation` and ended ok.
    pub fn assert_ok(&self, path: &str, operation: &str) {
        let item = self.item(path);
        assert_eq!(item["operation"], operation, "operation of {path}: {item}");
        assert_eq!(item["result"], "ok", "result of {path}: {item}");
    }
}

/// The text key of a path in a snapshot: the JSON escaping of the README
/// (`\\` for a backslash, `\xNN` for each byte that is not valid UTF-8).
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// A snapshot of the tree below `root`, never following symlinks, without the
/// cache's `.offline/` and the share's `.offline-share` at the root.
pub fn tree(root: &Path) -> BTreeMap<String, Node> {
    support::nodes(root)
        .into_iter()
        .map(|(path, node)| (escape(&path), node))
        .collect()
}

/// The (path, operation, action) of every item of a JSON run, sorted.
pub fn item_keys(items: &[Value]) -> Vec<(String, String, String)> {
    let mut keys: Vec<_> = items
        .iter()
        .map(|i| {
            (
                i["path"].as_str().unwrap_or_default().to_string(),
                i["operation"].as_str().unwrap_or("null").to_string(),
                i["action"].as_str().unwrap_or("null").to_string(),
            )
        })
        .collect();
    keys.sort();
    keys
}

/// This machine's name as conflict names use it.
pub fn host_name() -> String {
    let raw = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_control() && *c != '/')
        .collect();
    if clean.is_empty() {
        "host".to_string()
    } else {
        clean
    }
}
