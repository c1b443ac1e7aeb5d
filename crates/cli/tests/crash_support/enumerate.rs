//! Crash-point enumeration: a command is run once to list the crash points it passes
//! (`OFFLINE_CRASH_LIST=1`), then once per point N, killed there (`OFFLINE_CRASH_AT=N`)
//! from the same starting world, followed by what a person does next and a check of
//! the whole world. The runs must be deterministic (one copy in flight, commits by
//! count): every run N ≤ R must be killed, at the point the list named N, and run
//! R + 1 must end as the full run did.

use super::snapshot::{killed_at, listed_points};
use super::{Run, World};
use std::path::Path;

/// One command to kill at each of its crash points.
pub struct Enumeration<'a> {
    /// Names the enumeration in messages.
    pub name: &'a str,
    pub world: &'a World,
    /// The world before the command, restored before every run.
    pub template: &'a Path,
    /// The command (`offline -C CACHE ARGS...`).
    pub args: &'a [&'a str],
    /// The environment of every run of the command.
    pub env: &'a [(&'a str, &'a str)],
}

/// Crash points a full run reached (R) and runs killed at them (K).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub reached: usize,
    pub killed: usize,
}

impl std::ops::AddAssign for Count {
    fn add_assign(&mut self, other: Count) {
        self.reached += other.reached;
        self.killed += other.killed;
    }
}

impl Enumeration<'_> {
    /// Restores the starting world and runs the command once without a crash,
    /// listing its crash points; returns the run and the points' names in order.
    pub fn full_run(&self) -> (Run, Vec<String>) {
        self.world.restore(self.template);
        let mut env = self.env.to_vec();
        env.push(("OFFLINE_CRASH_LIST", "1"));
        let run = self.world.run(self.args, &env);
        assert!(
            !run.killed(),
            "{}: the full run was killed: {}",
            self.name,
            run.describe()
        );
        let points = listed_points(&run);
        (run, points)
    }

    /// Kills the command at every crash point of a full run, calling `finish` after
    /// each (the commands that must complete the work; it gets the killed run and a
    /// label) and then `check` (the whole world against the expected one).
    pub fn kill_everywhere(
        &self,
        finish: impl Fn(&World, &Run, &str),
        check: impl Fn(&World, &str),
    ) -> Count {
        let (full, points) = self.full_run();
        let reached = points.len();
        assert!(reached > 0, "{}: no crash point was reached", self.name);
        let mut killed = 0;
        for (index, point) in points.iter().enumerate() {
            let n = index + 1;
            let what = format!(
                "{}: killed at crash point {n} of {reached} ({point})",
                self.name
            );
            let run = self.run_killed_at(n);
            assert!(
                run.killed(),
                "{what}: the run was not killed, so the crash points are not the same every run: {}",
                run.describe()
            );
            assert_eq!(
                killed_at(&run).as_deref(),
                Some(point.as_str()),
                "{what}: killed at another point than the full run listed as {n}: {}",
                run.describe()
            );
            killed += 1;
            finish(self.world, &run, &what);
            check(self.world, &what);
        }
        // Past the last point nothing is killed and the run ends as the full run did.
        let what = format!("{}: crash point {} (past the last)", self.name, reached + 1);
        let run = self.run_killed_at(reached + 1);
        assert!(!run.killed(), "{what}: killed: {}", run.describe());
        assert_eq!(run.code, full.code, "{what}: {}", run.describe());
        finish(self.world, &run, &what);
        check(self.world, &what);
        Count { reached, killed }
    }

    /// Restores the world and runs the command with `OFFLINE_CRASH_AT=n`.
    pub fn run_killed_at(&self, n: usize) -> Run {
        self.world.restore(self.template);
        let at = n.to_string();
        let mut env = self.env.to_vec();
        env.push(("OFFLINE_CRASH_AT", &at));
        self.world.run(self.args, &env)
    }
}
