//! Crash points: places in the code where a crash-injection test may kill the
//! process, to prove that an interrupted sync loses nothing.
//!
//! Every write, rename, fsync and database commit that a sync does calls [`hit`] with
//! a short name. With the environment variable `OFFLINE_CRASH_AT=N` set, the N-th hit
//! of the process (counted across all names) kills it at once with `SIGKILL`: no
//! unwinding, no destructors, no buffered output flushed — as a power cut or `kill -9`
//! would. `OFFLINE_CRASH_AT=NAME:K` kills at the K-th hit of the point `NAME` alone
//! (the K-th key copied by a folder rename, say, wherever the sync's other points
//! fall). With `OFFLINE_CRASH_LIST=1`, each hit is written to stderr as
//! `crashpoint N NAME`, so a test can count the points of a full run.
//!
//! For fault tests two more variables work the same way: `OFFLINE_HOOK_AT=N` with
//! `OFFLINE_HOOK_CMD=CMD` runs `sh -c CMD` at the N-th hit and waits for it (to unmount
//! the share or change a file at an exact point of a sync), and
//! `OFFLINE_FAIL=NAME:ERRNO` makes [`fail`] at the point `NAME` return that OS error
//! (where a real fault, such as a full disk, cannot be made on the machine).
//!
//! Unset, a hit costs one load of an initialized `OnceLock` and a branch.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The variable naming the hit to crash at (1 is the first).
pub const CRASH_AT_VAR: &str = "OFFLINE_CRASH_AT";
/// The variable that makes every hit print its number and name to stderr.
pub const CRASH_LIST_VAR: &str = "OFFLINE_CRASH_LIST";

/// The variable naming the hit at which [`HOOK_CMD_VAR`] runs.
pub const HOOK_AT_VAR: &str = "OFFLINE_HOOK_AT";
/// The shell command run at the hit [`HOOK_AT_VAR`] names.
pub const HOOK_CMD_VAR: &str = "OFFLINE_HOOK_CMD";
/// `NAME:ERRNO`: the failure [`fail`] injects at the point `NAME`.
pub const FAIL_VAR: &str = "OFFLINE_FAIL";

/// Where `OFFLINE_CRASH_AT` kills.
#[derive(Debug, PartialEq, Eq)]
enum CrashAt {
    /// The N-th hit of the process, whatever its name.
    Nth(u64),
    /// The K-th hit of the point with this name.
    NthOf(String, u64),
}

impl CrashAt {
    /// Reads `N` or `NAME:K` (N and K from 1); None for anything else.
    fn parse(value: &str) -> Option<CrashAt> {
        let value = value.trim();
        if let Ok(n) = value.parse::<u64>() {
            return (n > 0).then_some(CrashAt::Nth(n));
        }
        let (name, k) = value.rsplit_once(':')?;
        let k = k.trim().parse::<u64>().ok().filter(|&k| k > 0)?;
        (!name.is_empty()).then(|| CrashAt::NthOf(name.to_string(), k))
    }
}

struct Config {
    crash_at: Option<CrashAt>,
    list: bool,
    hook: Option<(u64, String)>,
    fail: Option<(String, i32)>,
}

impl Config {
    fn counts(&self) -> bool {
        self.crash_at.is_some() || self.list || self.hook.is_some()
    }
}

static CONFIG: OnceLock<Config> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);
/// Hits of the point `OFFLINE_CRASH_AT=NAME:K` names.
static NAMED_HITS: AtomicU64 = AtomicU64::new(0);

fn config() -> &'static Config {
    CONFIG.get_or_init(|| Config {
        crash_at: std::env::var(CRASH_AT_VAR)
            .ok()
            .and_then(|v| CrashAt::parse(&v)),
        list: std::env::var(CRASH_LIST_VAR).is_ok_and(|v| !v.is_empty() && v != "0"),
        hook: std::env::var(HOOK_AT_VAR)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .zip(std::env::var(HOOK_CMD_VAR).ok()),
        fail: std::env::var(FAIL_VAR).ok().and_then(|v| {
            let (name, errno) = v.rsplit_once(':')?;
            Some((name.to_string(), errno.trim().parse().ok()?))
        }),
    })
}

/// True when crash points are active in this process (either variable is set).
pub fn enabled() -> bool {
    config().counts()
}

/// Marks a crash point named `name` (for example `dir.write_file.before_rename`).
#[inline]
pub fn hit(name: &str) {
    let config = config();
    if !config.counts() {
        return;
    }
    let n = HITS.fetch_add(1, Ordering::SeqCst) + 1;
    if config.list {
        let _ = writeln!(std::io::stderr().lock(), "crashpoint {n} {name}");
    }
    if let Some((_, command)) = config.hook.as_ref().filter(|(at, _)| *at == n) {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .status();
        let _ = writeln!(
            std::io::stderr().lock(),
            "crashpoint {n} {name}: ran the hook {command:?}: {status:?}"
        );
    }
    let kill = match &config.crash_at {
        Some(CrashAt::Nth(at)) => *at == n,
        Some(CrashAt::NthOf(point, at)) if point == name => {
            NAMED_HITS.fetch_add(1, Ordering::SeqCst) + 1 == *at
        }
        _ => false,
    };
    if kill {
        let at = match &config.crash_at {
            Some(CrashAt::NthOf(point, k)) => format!("{point}:{k}"),
            _ => n.to_string(),
        };
        let _ = writeln!(
            std::io::stderr().lock(),
            "crashpoint {n} {name}: killing the process (OFFLINE_CRASH_AT={at})"
        );
        kill_now();
    }
}

/// The failure injected at the point `name` by `OFFLINE_FAIL=NAME:ERRNO`, if any.
#[inline]
pub fn fail(name: &str) -> Option<std::io::Error> {
    match &config().fail {
        Some((point, errno)) if point == name => Some(std::io::Error::from_raw_os_error(*errno)),
        _ => None,
    }
}

/// Kills this process with `SIGKILL`; falls back to `abort` if the signal fails.
fn kill_now() -> ! {
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;

    const CHILD: &str = "CRASHPOINT_TEST_CHILD";
    /// Set: the child first hits another point five times.
    const OTHER: &str = "CRASHPOINT_TEST_OTHER";

    /// Run as a child: three hits, each followed by a line on stdout.
    #[test]
    fn child_body() {
        if std::env::var_os(CHILD).is_none() {
            return;
        }
        if std::env::var_os(OTHER).is_some() {
            for _ in 0..5 {
                super::hit("other.point");
            }
        }
        for i in 1..=3 {
            super::hit("test.point");
            println!("after hit {i}");
        }
        if let Some(err) = super::fail("test.fail") {
            println!("injected errno {:?}", err.raw_os_error());
        }
    }

    fn run_child(vars: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
        cmd.args([
            "--exact",
            "tests::child_body",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env_remove(OTHER)
        .env_remove(super::CRASH_AT_VAR)
        .env_remove(super::CRASH_LIST_VAR);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().expect("run the child")
    }

    #[test]
    fn the_nth_hit_kills_with_sigkill() {
        let out = run_child(&[(super::CRASH_AT_VAR, "2")]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.signal(),
            Some(9),
            "status {:?}, stdout {stdout}",
            out.status
        );
        assert!(stdout.contains("after hit 1"), "{stdout}");
        assert!(!stdout.contains("after hit 2"), "{stdout}");
    }

    #[test]
    fn a_named_hit_kills_at_that_points_kth_hit_alone() {
        let out = run_child(&[(super::CRASH_AT_VAR, "test.point:2"), (OTHER, "1")]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.signal(), Some(9), "{stdout}{stderr}");
        assert!(stdout.contains("after hit 1"), "{stdout}");
        assert!(!stdout.contains("after hit 2"), "{stdout}");
        assert!(
            stderr.contains(
                "crashpoint 7 test.point: killing the process (OFFLINE_CRASH_AT=test.point:2)"
            ),
            "{stderr}"
        );
    }

    #[test]
    fn the_crash_variable_reads_a_number_or_a_named_point() {
        use super::CrashAt;
        assert_eq!(CrashAt::parse(" 12 "), Some(CrashAt::Nth(12)));
        assert_eq!(
            CrashAt::parse("s3.rename_folder.copy:3"),
            Some(CrashAt::NthOf("s3.rename_folder.copy".into(), 3))
        );
        for bad in ["0", "", "x", "x:0", ":2", "x:y", "-1"] {
            assert_eq!(CrashAt::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unset_means_no_crash_and_the_list_counts_hits() {
        let out = run_child(&[]);
        assert!(out.status.success(), "{:?}", out.status);
        assert!(String::from_utf8_lossy(&out.stdout).contains("after hit 3"));
        let out = run_child(&[(super::CRASH_LIST_VAR, "1")]);
        assert!(out.status.success(), "{:?}", out.status);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let hits = stderr
            .lines()
            .filter(|l| l.starts_with("crashpoint "))
            .count();
        assert_eq!(hits, 3, "{stderr}");
        assert!(stderr.contains("crashpoint 3 test.point"), "{stderr}");
    }

    #[test]
    fn the_hook_runs_at_its_hit_and_fail_injects_the_errno() {
        let out = run_child(&[
            (super::HOOK_AT_VAR, "2"),
            (super::HOOK_CMD_VAR, "echo hook-ran"),
            (super::FAIL_VAR, "test.fail:28"),
        ]);
        assert!(out.status.success(), "{:?}", out.status);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let hook = stdout.find("hook-ran").expect("the hook ran");
        assert!(
            stdout.find("after hit 1").is_some_and(|at| at < hook),
            "{stdout}"
        );
        assert!(
            stdout.find("after hit 2").is_some_and(|at| at > hook),
            "{stdout}"
        );
        assert!(stdout.contains("injected errno Some(28)"), "{stdout}");
    }
}
