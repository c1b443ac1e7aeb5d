//! Helpers of the crash, model and fault tests (crash.rs, model.rs, faults.rs): a
//! world (a share and a cache in one folder, restorable from a template copy at the
//! same path), a runner of the real binary with a timeout and extra environment,
//! tree snapshots of a side, and the checks every crash test ends with.

#![allow(dead_code)]

pub mod counts;
pub mod enumerate;
pub mod snapshot;

// Each island that includes this file has its own copy (a test crate may use two).
#[allow(clippy::duplicate_mod)]
#[path = "../support/mod.rs"]
mod support;
pub use support::{bin, Node, Side};

use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A run may never take longer than this (a hang is a failure).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// The prefix of the temp files of both sides.
pub const TEMP_PREFIX: &[u8] = b".offline-tmp-";

/// A share and a cache side by side in `root` (`root/share`, `root/cache`).
pub struct World {
    pub root: PathBuf,
    pub share: PathBuf,
    pub cache: PathBuf,
    /// Run the binary as this user (and group of the same number); `None`: as is.
    pub uid: Option<u32>,
}

/// How a run of the binary ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(out: Output) -> Run {
        Run {
            code: out.status.code(),
            signal: out.status.signal(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// True when the run was killed by SIGKILL (a crash point or a test's kill).
    pub fn killed(&self) -> bool {
        self.signal == Some(9)
    }

    /// The JSON lines of stdout.
    pub fn json(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| l.trim_start().starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l:?}: {e}")))
            .collect()
    }

    /// Everything, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "exit code {:?}, signal {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.signal, self.stdout, self.stderr
        )
    }
}

impl World {
    /// A world in `root` (created), with an empty share folder and no cache yet.
    pub fn new(root: &Path) -> World {
        let share = root.join("share");
        fs::create_dir_all(&share).expect("share folder");
        World {
            root: root.to_path_buf(),
            share,
            cache: root.join("cache"),
            uid: None,
        }
    }

    /// `offline init SHARE CACHE`, which must succeed.
    pub fn init(&self) {
        self.init_with(&[]);
    }

    /// `offline init SHARE CACHE ARGS...` (`--no-pin`), which must succeed.
    pub fn init_with(&self, args: &[&str]) {
        let mut all = vec![
            OsStr::new("init"),
            self.share.as_os_str(),
            self.cache.as_os_str(),
        ];
        all.extend(args.iter().map(OsStr::new));
        let run = wait_with_timeout(spawn_bin_as(None, &all, &[], self.uid), RUN_TIMEOUT);
        assert_eq!(run.code, Some(0), "offline init: {}", run.describe());
    }

    /// `offline -C CACHE ARGS...` with extra environment variables.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        wait_with_timeout(
            spawn_bin_as(Some(&self.cache), &args, env, self.uid),
            RUN_TIMEOUT,
        )
    }

    /// `offline config --transfers N`: file copies in flight (1: one thing at a time,
    /// in plan order, the same crash points every run).
    pub fn set_transfers(&self, n: usize) {
        let n = n.to_string();
        let run = self.run(&["config", "--transfers", &n], &[]);
        assert_eq!(run.code, Some(0), "config --transfers: {}", run.describe());
    }

    /// A sync with `args` that must exit 0.
    pub fn sync_ok(&self, args: &[&str]) -> Run {
        let mut all = vec!["sync"];
        all.extend_from_slice(args);
        let run = self.run(&all, &[]);
        assert_eq!(
            run.code,
            Some(0),
            "offline sync {args:?}: {}",
            run.describe()
        );
        run
    }

    /// Where a side is.
    pub fn side(&self, side: Side) -> &Path {
        match side {
            Side::Share => &self.share,
            Side::Cache => &self.cache,
        }
    }

    /// Writes a file on a side, creating folders above it.
    pub fn write(&self, side: Side, rel: &str, content: impl AsRef<[u8]>) {
        let path = self.side(side).join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("parent folder");
        }
        fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Removes a file, symlink or folder tree on a side.
    pub fn remove(&self, side: Side, rel: &str) {
        let path = self.side(side).join(rel);
        let meta = fs::symlink_metadata(&path).expect("item to remove");
        if meta.is_dir() {
            fs::remove_dir_all(&path).expect("remove folder");
        } else {
            fs::remove_file(&path).expect("remove file");
        }
    }

    /// Reads a file on a side.
    pub fn read(&self, side: Side, rel: &str) -> Option<Vec<u8>> {
        fs::read(self.side(side).join(rel)).ok()
    }

    /// The `.offline` folder of the cache.
    pub fn meta_dir(&self) -> PathBuf {
        self.cache.join(".offline")
    }

    /// The plan of a dry run: every planned item (bookkeeping included).
    pub fn planned(&self, policy: &str) -> Vec<Value> {
        let run = self.run(&["sync", "--dry-run", "--json", "--policy", policy], &[]);
        assert_eq!(run.code, Some(0), "dry run: {}", run.describe());
        run.json()
            .into_iter()
            .filter(|v| v.get("summary").is_none())
            .collect()
    }

    /// Copies this world's whole folder to `to` (a template for [`World::restore`]).
    pub fn save_template(&self, to: &Path) {
        copy_tree(&self.root, to);
    }

    /// Puts the world back as the template saved it, at the same path (the state
    /// database names the share by its absolute path). The world it replaces is
    /// moved aside (beside it, `<root>.old/N`), not deleted: its files keep their
    /// inodes, so the copy never gets an inode the template's base records for a
    /// path that is gone, which renames are found by: a copied tree must not make a
    /// rename out of a deletion and a creation, or runs would differ.
    pub fn restore(&self, template: &Path) {
        if self.root.exists() {
            let aside = self.root.with_extension("old");
            fs::create_dir_all(&aside).expect("the folder of old worlds");
            let n = fs::read_dir(&aside).map(|d| d.count()).unwrap_or(0);
            fs::rename(&self.root, aside.join(n.to_string())).expect("move the world aside");
        }
        copy_tree(template, &self.root);
    }
}

/// Runs the binary in `cwd` with a timeout; the child is killed when it hangs.
pub fn run_bin(cwd: Option<&Path>, args: &[&OsStr], env: &[(&str, &str)]) -> Run {
    let child = spawn_bin(cwd, args, env);
    wait_with_timeout(child, RUN_TIMEOUT)
}

/// Starts the binary (stdout and stderr piped), for tests that kill it themselves.
pub fn spawn_bin(cwd: Option<&Path>, args: &[&OsStr], env: &[(&str, &str)]) -> std::process::Child {
    spawn_bin_as(cwd, args, env, None)
}

/// Like [`spawn_bin`], as the user `uid` (group `uid`) when given.
pub fn spawn_bin_as(
    cwd: Option<&Path>,
    args: &[&OsStr],
    env: &[(&str, &str)],
    uid: Option<u32>,
) -> std::process::Child {
    let program = match uid {
        Some(_) => bin_for_everyone(),
        None => bin(),
    };
    let mut cmd = Command::new(program);
    if let Some(uid) = uid {
        use std::os::unix::process::CommandExt;
        cmd.uid(uid).gid(uid);
    }
    if let Some(dir) = cwd {
        cmd.arg("-C").arg(dir);
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("OFFLINE_CRASH_AT")
        .env_remove("OFFLINE_CRASH_LIST")
        .env("OFFLINE_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start the offline binary")
}

/// A copy of the binary that any user can run: the build folder may lie where other
/// users cannot reach it (a checkout under /root, say).
pub fn bin_for_everyone() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    static COPY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    COPY.get_or_init(|| {
        // One copy per build of the binary (named by its size and time), shared by
        // every test process and run: a copy per process filled /tmp with 240 MB each.
        let built = fs::metadata(bin()).expect("stat the binary");
        let stamp = built
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("offline-bin-{}-{stamp}", built.len()));
        fs::create_dir_all(&dir).expect("a folder for the shared binary");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod the folder");
        let copy = dir.join("offline");
        if !copy.exists() {
            // Copied under a name of this process's, then renamed: another test process
            // may be doing the same, and nobody may run a half-written binary.
            let part = dir.join(format!("offline.{}", std::process::id()));
            fs::copy(bin(), &part).expect("copy the binary");
            fs::set_permissions(&part, fs::Permissions::from_mode(0o755))
                .expect("chmod the binary");
            fs::rename(&part, &copy).expect("put the binary's copy in place");
        }
        copy
    })
    .clone()
}

/// Waits for a child, killing it after `timeout` (and failing the test). Its output
/// is read while it runs, so a long output cannot block it.
pub fn wait_with_timeout(mut child: std::process::Child, timeout: Duration) -> Run {
    let reader = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let mut hung = false;
    let status = loop {
        match child.try_wait().expect("wait for offline") {
            Some(status) => break status,
            None if started.elapsed() > timeout => {
                hung = true;
                let _ = child.kill();
                break child.wait().expect("wait for offline");
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let run = Run::from_output(Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    });
    assert!(
        !hung,
        "offline hung for more than {timeout:?}: {}",
        run.describe()
    );
    run
}

/// Every item below `root` by relative path, leaving out the cache's `.offline/`
/// and the share's `.offline-share` marker at the root.
pub fn tree(root: &Path) -> BTreeMap<PathBuf, Node> {
    support::nodes(root)
        .into_iter()
        .map(|(rel, node)| (PathBuf::from(OsStr::from_bytes(&rel)), node))
        .collect()
}

/// Every temp file (`.offline-tmp-*`) below `root`, `.offline/` included.
pub fn temp_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name().as_bytes().starts_with(TEMP_PREFIX) {
                found.push(path.clone());
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            }
        }
    }
    found
}

/// The differences between two trees, one line each (empty when equal).
pub fn tree_diff(a: &BTreeMap<PathBuf, Node>, b: &BTreeMap<PathBuf, Node>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, node) in a {
        match b.get(path) {
            None => out.push(format!(
                "{}: only in the cache ({})",
                path.display(),
                short(node)
            )),
            Some(other) if other != node => out.push(format!(
                "{}: cache {} vs share {}",
                path.display(),
                short(node),
                short(other)
            )),
            _ => {}
        }
    }
    for (path, node) in b {
        if !a.contains_key(path) {
            out.push(format!(
                "{}: only on the share ({})",
                path.display(),
                short(node)
            ));
        }
    }
    out
}

fn short(node: &Node) -> String {
    match node {
        Node::File { content, mode } => {
            format!("file {:o} {:?}", mode, String::from_utf8_lossy(content))
        }
        Node::Dir { mode } => format!("folder {mode:o}"),
        Node::Symlink { target } => format!("symlink -> {}", String::from_utf8_lossy(target)),
        Node::Other { file_type } => format!("other ({file_type})"),
    }
}

/// Every losing copy kept under `.offline/conflicts/*/<side_word>/<rel>`.
pub fn kept_losers(world: &World, side_word: &str, rel: &str) -> Vec<Vec<u8>> {
    let base = world.meta_dir().join("conflicts");
    let Ok(runs) = fs::read_dir(&base) else {
        return Vec::new();
    };
    runs.flatten()
        .filter_map(|run| fs::read(run.path().join(side_word).join(rel)).ok())
        .collect()
}

/// Copies a folder tree with `cp -a` (modes, times and symlinks kept).
pub fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("run cp -a");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// Gives the owner write and search rights everywhere below `root` (so a test that
/// made folders read-only can still clean up).
pub fn make_writable(root: &Path) {
    let _ = Command::new("chmod")
        .arg("-R")
        .arg("u+rwX")
        .arg(root)
        .status();
}

/// A small deterministic random number generator (xorshift64*), so that tests are
/// seeded without extra dependencies.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The number of crash points a run with `args` hits, by running it once with
/// `OFFLINE_CRASH_LIST=1` (the run must succeed).
pub fn count_crash_points(world: &World, args: &[&str], env: &[(&str, &str)]) -> (usize, Run) {
    let mut env = env.to_vec();
    env.push(("OFFLINE_CRASH_LIST", "1"));
    let run = world.run(args, &env);
    let hits = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("crashpoint "))
        .count();
    (hits, run)
}

/// The effective user id of this test process.
pub fn euid() -> u32 {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a user id")
}

/// The item reports (not the summary) of a `--json` run, by escaped path.
pub fn reports(run: &Run) -> BTreeMap<String, Value> {
    run.json()
        .into_iter()
        .filter(|v| v.get("summary").is_none())
        .filter_map(|v| Some((v.get("path")?.as_str()?.to_string(), v)))
        .collect()
}
