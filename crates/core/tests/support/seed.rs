//! The seed of a property-test run, so that a failure can be replayed: taken from
//! `PROPTEST_RNG_SEED` when set, else fresh; printed in the test's output (which
//! `cargo test` shows when the test fails) as `PROPTEST_RNG_SEED=N`. Failing cases
//! are also saved next to the test (`*.regressions`) and tried first on the next
//! run. One file, included by each property test (`#[path]`).

#![allow(dead_code)]

use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};
use std::sync::OnceLock;

/// This process's seed.
pub fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        std::env::var("PROPTEST_RNG_SEED")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                nanos ^ (u64::from(std::process::id()) << 32)
            })
    })
}

/// A configuration of `cases` cases from [`seed`] (printed), failures persisted.
pub fn config(cases: u32) -> Config {
    let seed = seed();
    println!("property test: replay with PROPTEST_RNG_SEED={seed}");
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    }
}
