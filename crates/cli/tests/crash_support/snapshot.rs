//! Everything a crash could change in a world, taken as one value so that a crash
//! test compares the whole result with the expected one: both sides' trees, the
//! copies the cache kept (`.offline/conflicts/` and `.offline/discarded/`, their
//! time folders left out), the logged conflicts, and the plan of a further dry run.

use super::{tree, Node, Run, World};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A whole world, as the crash tests compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub cache: BTreeMap<PathBuf, Node>,
    pub share: BTreeMap<PathBuf, Node>,
    /// `conflicts/<cache|share>/<path>` and `discarded/<path>` → every distinct
    /// item kept there (one losing copy kept twice, by a run that was killed and the
    /// one that finished it, counts once; two different ones count twice).
    pub kept: BTreeMap<PathBuf, BTreeSet<Node>>,
    /// The paths of `offline conflicts --json`.
    pub conflicts: Vec<String>,
    /// (path, operation, action) of each item of `sync --dry-run --json --policy P`.
    pub planned: Vec<(String, String, String)>,
}

impl Snapshot {
    /// The world as it is now; `policy` is the one the dry run plans with.
    pub fn take(world: &World, policy: &str) -> Snapshot {
        Snapshot {
            cache: tree(&world.cache),
            share: tree(&world.share),
            kept: kept(&world.meta_dir()),
            conflicts: conflicts(world),
            planned: planned(world, policy),
        }
    }

    /// The differences to `expected`, one line each (empty when equal).
    pub fn diff(&self, expected: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        map_diff("cache", &self.cache, &expected.cache, &mut out);
        map_diff("share", &self.share, &expected.share, &mut out);
        map_diff(".offline", &self.kept, &expected.kept, &mut out);
        if self.conflicts != expected.conflicts {
            out.push(format!(
                "conflicts: {:?}, expected {:?}",
                self.conflicts, expected.conflicts
            ));
        }
        if self.planned != expected.planned {
            out.push(format!(
                "a further dry run plans {:?}, expected {:?}",
                self.planned, expected.planned
            ));
        }
        out
    }

    /// Asserts the world equals `expected`; `what` names the run.
    pub fn assert_eq(&self, expected: &Snapshot, what: &str) {
        let diff = self.diff(expected);
        assert!(
            diff.is_empty(),
            "{what}: the world differs from the expected result:\n{}",
            diff.join("\n")
        );
    }
}

fn map_diff<V: PartialEq + std::fmt::Debug>(
    side: &str,
    found: &BTreeMap<PathBuf, V>,
    expected: &BTreeMap<PathBuf, V>,
    out: &mut Vec<String>,
) {
    for (path, node) in found {
        match expected.get(path) {
            None => out.push(format!("{side}: {} is extra: {node:?}", path.display())),
            Some(want) if want != node => out.push(format!(
                "{side}: {} is {node:?}, expected {want:?}",
                path.display()
            )),
            _ => {}
        }
    }
    for (path, want) in expected {
        if !found.contains_key(path) {
            out.push(format!("{side}: {} is missing: {want:?}", path.display()));
        }
    }
}

/// The items kept in `.offline/conflicts/<time>/…` and `.offline/discarded/<time>/…`,
/// by path with the time folder left out (folders themselves are left out).
pub fn kept(meta_dir: &Path) -> BTreeMap<PathBuf, BTreeSet<Node>> {
    let mut out: BTreeMap<PathBuf, BTreeSet<Node>> = BTreeMap::new();
    for word in ["conflicts", "discarded"] {
        let Ok(runs) = fs::read_dir(meta_dir.join(word)) else {
            continue;
        };
        for run in runs.flatten() {
            if !run.file_type().is_ok_and(|t| t.is_dir()) {
                // A stray item straight in the folder is kept under its own name.
                let name = PathBuf::from(word).join(run.file_name());
                out.entry(name).or_default().insert(Node::File {
                    content: fs::read(run.path()).unwrap_or_default(),
                    mode: 0,
                });
                continue;
            }
            for (path, node) in tree(&run.path()) {
                if !matches!(node, Node::Dir { .. }) {
                    out.entry(PathBuf::from(word).join(path))
                        .or_default()
                        .insert(node);
                }
            }
        }
    }
    out
}

fn conflicts(world: &World) -> Vec<String> {
    let run = world.run(&["conflicts", "--json"], &[]);
    assert_eq!(run.code, Some(0), "conflicts --json: {}", run.describe());
    let mut paths: Vec<String> = run
        .json()
        .iter()
        .filter_map(|v| v.get("path")?.as_str().map(str::to_string))
        .collect();
    paths.sort();
    paths
}

fn planned(world: &World, policy: &str) -> Vec<(String, String, String)> {
    let run = world.run(&["sync", "--dry-run", "--json", "--policy", policy], &[]);
    assert!(
        matches!(run.code, Some(0 | 1)),
        "dry run: {}",
        run.describe()
    );
    let mut items: Vec<(String, String, String)> = run
        .json()
        .iter()
        .filter(|v| v.get("summary").is_none())
        .map(|v| (text(v, "path"), text(v, "operation"), text(v, "action")))
        .collect();
    items.sort();
    items
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or("null")
        .to_string()
}

/// The names of the crash points a run passed, in order (from `OFFLINE_CRASH_LIST=1`).
pub fn listed_points(run: &Run) -> Vec<String> {
    run.stderr
        .lines()
        .filter_map(|l| l.strip_prefix("crashpoint "))
        .filter(|l| !l.contains(": "))
        .filter_map(|l| l.split_once(' ').map(|(_, name)| name.to_string()))
        .collect()
}

/// The crash point a killed run names as the one it was killed at.
pub fn killed_at(run: &Run) -> Option<String> {
    killed_point(run).map(|(_, name)| name)
}

/// The number and name of the crash point a killed run was killed at.
pub fn killed_point(run: &Run) -> Option<(usize, String)> {
    run.stderr.lines().find_map(|l| {
        let rest = l.strip_prefix("crashpoint ")?;
        let (head, _) = rest.split_once(": killing the process")?;
        let (n, name) = head.split_once(' ')?;
        Some((n.parse().ok()?, name.to_string()))
    })
}
