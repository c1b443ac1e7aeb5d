//! Skipping a test whose prerequisite is missing, never silently. Under `CI=true`
//! (`.ci/run` sets it) the test fails with the reason: CI must provide every
//! prerequisite. Elsewhere the line `SKIPPED: <test>: <reason>` is written straight
//! to the test binary's stderr, which `cargo test` shows even without `--nocapture`
//! (the `print!` macros are captured; a direct write is not). One file, included by
//! the test support of each crate that needs it (`#[path]`).

use std::io::Write;

/// True when the tests run under CI (`CI` set to anything but empty, `0` or `false`).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Reports that the current test cannot run as meant because of `reason`: under CI
/// it panics; elsewhere it prints `SKIPPED: ...` where `cargo test` shows it and
/// returns, and the caller returns (or runs the weaker check its reason names).
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    if under_ci() {
        panic!("{test}: a prerequisite is missing, and CI must provide it: {reason}");
    }
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED: {test}: {reason} (under CI=true this fails)"
    );
}
