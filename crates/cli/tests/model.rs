//! Model-based randomized test: seeded random sequences of edits on both sides,
//! syncs, syncs killed at a random crash point, and the share disappearing and coming
//! back, checked after each step against a small reference model of what each side
//! must hold. Bounded in CI (20 sequences of 15 steps); set `OFFLINE_MODEL_SEQS`,
//! `OFFLINE_MODEL_STEPS` (and `OFFLINE_MODEL_SEED`) for longer runs.

mod crash_support;

use crash_support::{temp_files, tree, Node, Rng, Run, Side, World};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The paths the sequences work on (files only; folders come with them).
const PATHS: &[&str] = &["a.txt", "b.txt", "c.txt", "d/x.txt", "d/y.txt", "e/f/g.txt"];

type Files = BTreeMap<String, Vec<u8>>;

/// What each side must hold, and the base of the last sync of each path.
#[derive(Clone, Debug, Default)]
struct Model {
    cache: Files,
    share: Files,
    base: Files,
}

/// The outcome of a sync in the model: the new model and whether conflicts remain.
fn model_sync(m: &Model) -> (Model, bool) {
    let mut next = m.clone();
    let mut conflicts = false;
    for path in PATHS {
        let (b, l, r) = (m.base.get(*path), m.cache.get(*path), m.share.get(*path));
        let winner = if l == r {
            Some(l)
        } else if l == b {
            Some(r)
        } else if r == b {
            Some(l)
        } else if l.is_none() {
            // Deleted in the cache, changed on the share: the change is kept.
            Some(r)
        } else if r.is_none() {
            Some(l)
        } else {
            // Both changed differently: with the log policy both stay untouched.
            conflicts = true;
            None
        };
        if let Some(content) = winner {
            let content = content.cloned();
            for files in [&mut next.cache, &mut next.share, &mut next.base] {
                match &content {
                    Some(c) => files.insert(path.to_string(), c.clone()),
                    None => files.remove(*path),
                };
            }
        }
    }
    (next, conflicts)
}

/// The files of a side, by path (folders, links and temp files left out: temp files
/// are checked on their own).
fn files_of(root: &Path) -> Files {
    tree(root)
        .into_iter()
        .filter(|(p, _)| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".offline-tmp-"))
        })
        .filter_map(|(p, node)| match node {
            Node::File { content, .. } => Some((p.to_string_lossy().into_owned(), content)),
            _ => None,
        })
        .collect()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Sequence<'a> {
    world: &'a World,
    model: Model,
    rng: Rng,
    log: Vec<String>,
    what: String,
}

impl Sequence<'_> {
    fn fail(&self, message: String) -> ! {
        panic!(
            "{}: {message}\nsteps so far:\n  {}",
            self.what,
            self.log.join("\n  ")
        );
    }

    fn check_side(&self, side: Side, root: &Path, expected: &Files) {
        let found = files_of(root);
        if &found != expected {
            self.fail(format!(
                "the {side:?} holds {} but the model says {}",
                show(&found),
                show(expected)
            ));
        }
    }

    fn check_both(&self) {
        self.check_side(Side::Cache, &self.world.cache, &self.model.cache);
        self.check_side(Side::Share, &self.world.share, &self.model.share);
    }

    /// One random edit on a random side.
    fn edit(&mut self) {
        let side = if self.rng.chance(50) {
            Side::Cache
        } else {
            Side::Share
        };
        self.edit_side(side);
    }

    /// One random edit (create, change or delete a file) on `side`.
    fn edit_side(&mut self, side: Side) {
        let path = PATHS[self.rng.below(PATHS.len() as u64) as usize];
        let files = match side {
            Side::Cache => &mut self.model.cache,
            Side::Share => &mut self.model.share,
        };
        if files.contains_key(path) && self.rng.chance(30) {
            files.remove(path);
            self.world.remove(side, path);
            self.log.push(format!("delete {path} on the {side:?}"));
        } else {
            let content = format!("v{} of {path}", self.rng.below(5)).into_bytes();
            files.insert(path.to_string(), content.clone());
            self.world.write(side, path, &content);
            self.log.push(format!(
                "write {path} on the {side:?}: {:?}",
                String::from_utf8_lossy(&content)
            ));
        }
    }

    fn sync(&mut self, env: &[(&str, &str)]) -> Run {
        self.world.run(&["sync", "--force"], env)
    }

    /// A sync that must reach the model's outcome.
    fn full_sync(&mut self, label: &str) {
        let (next, conflicts) = model_sync(&self.model);
        let run = self.sync(&[]);
        self.log.push(format!("{label} -> exit {:?}", run.code));
        let expected = if conflicts { 1 } else { 0 };
        if run.code != Some(expected) {
            self.fail(format!("expected exit {expected}: {}", run.describe()));
        }
        self.model = next;
        self.check_both();
        let temps = temp_files(&self.world.root);
        if !temps.is_empty() {
            self.fail(format!("temp files left: {temps:?}"));
        }
    }

    /// A sync killed at a random crash point: every file on each side must hold its
    /// old or its new content; the next sync finishes the work. True when the run was
    /// killed (a point past the run's last lets it end).
    fn crashed_sync(&mut self) -> bool {
        let (next, _) = model_sync(&self.model);
        // A planned item passes about 4 crash points: aim within the run.
        let planned = self.world.planned("log").len() as u64;
        let at = 1 + self.rng.below(4 * planned + 2);
        let run = self.sync(&[("OFFLINE_CRASH_AT", &at.to_string())]);
        self.log.push(format!(
            "sync killed at crash point {at} -> {}",
            if run.killed() { "killed" } else { "ended" }
        ));
        if !run.killed() && !matches!(run.code, Some(0 | 1)) {
            self.fail(format!("the sync failed: {}", run.describe()));
        }
        for (side, root, old, new) in [
            (
                Side::Cache,
                &self.world.cache,
                &self.model.cache,
                &next.cache,
            ),
            (
                Side::Share,
                &self.world.share,
                &self.model.share,
                &next.share,
            ),
        ] {
            let found = files_of(root);
            for path in PATHS {
                let now = found.get(*path);
                if now != old.get(*path) && now != new.get(*path) {
                    self.fail(format!(
                        "after the crash, {path} on the {side:?} holds {:?}, neither its old {:?} nor its new {:?}",
                        now.map(|c| String::from_utf8_lossy(c).into_owned()),
                        old.get(*path).map(|c| String::from_utf8_lossy(c).into_owned()),
                        new.get(*path).map(|c| String::from_utf8_lossy(c).into_owned()),
                    ));
                }
            }
            if let Some(extra) = found.keys().find(|p| !PATHS.contains(&p.as_str())) {
                self.fail(format!(
                    "after the crash the {side:?} holds a stray {extra}"
                ));
            }
        }
        self.full_sync("the sync after the crash");
        run.killed()
    }

    /// The share goes away: a sync changes nothing and exits 3; the cache keeps
    /// working; the share comes back.
    fn share_away(&mut self) {
        let away: PathBuf = self.world.root.join("share-away");
        fs::rename(&self.world.share, &away).expect("move the share away");
        self.log.push("the share goes away".to_string());
        for _ in 0..=self.rng.below(2) {
            self.edit_side(Side::Cache);
        }
        let run = self.sync(&[]);
        self.log
            .push(format!("sync while it is away -> exit {:?}", run.code));
        if run.code != Some(3) {
            self.fail(format!(
                "expected exit 3 with the share away: {}",
                run.describe()
            ));
        }
        self.check_side(Side::Share, &away, &self.model.share);
        fs::rename(&away, &self.world.share).expect("bring the share back");
        self.log.push("the share is back".to_string());
    }
}

fn show(files: &Files) -> String {
    let items: Vec<String> = files
        .iter()
        .map(|(p, c)| format!("{p}={:?}", String::from_utf8_lossy(c)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

#[test]
fn random_edits_syncs_crashes_and_reconnects_match_the_model() {
    let sequences = env_number("OFFLINE_MODEL_SEQS", 20);
    let steps = env_number("OFFLINE_MODEL_STEPS", 15);
    let seed = env_number("OFFLINE_MODEL_SEED", 0x0ff1_14e5);
    let dir = tempfile::Builder::new()
        .prefix("offline-model-")
        .tempdir()
        .expect("temp dir");
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for n in 0..sequences {
        let world = World::new(&dir.path().join(format!("seq{n}")));
        let mut rng = Rng::new(seed.wrapping_add(n));
        let mut model = Model::default();
        for path in PATHS.iter().take(3) {
            let content = format!("v0 of {path}").into_bytes();
            world.write(Side::Share, path, &content);
            model.share.insert(path.to_string(), content);
        }
        world.init();
        let mut seq = Sequence {
            world: &world,
            model,
            rng: Rng::new(rng.next_u64()),
            log: Vec::new(),
            what: format!(
                "sequence {n} (OFFLINE_MODEL_SEED={seed}, seed {})",
                seed.wrapping_add(n)
            ),
        };
        seq.full_sync("the first sync");
        for _ in 0..steps {
            let roll = rng.below(100);
            let kind = if roll < 45 {
                for _ in 0..=rng.below(3) {
                    seq.edit();
                }
                "edits"
            } else if roll < 70 {
                seq.full_sync("sync");
                "syncs"
            } else if roll < 90 {
                if seq.crashed_sync() {
                    "syncs killed at a crash point"
                } else {
                    "syncs that ended before their crash point"
                }
            } else {
                seq.share_away();
                "share away"
            };
            *counts.entry(kind).or_insert(0) += 1;
        }
        seq.full_sync("the last sync");
        seq.check_both();
    }
    println!("model test: {sequences} sequences of {steps} steps: {counts:?}");
    let killed = counts
        .get("syncs killed at a crash point")
        .copied()
        .unwrap_or(0);
    let ended = counts
        .get("syncs that ended before their crash point")
        .copied()
        .unwrap_or(0);
    assert!(
        killed > 0 && killed >= ended,
        "too few syncs were killed (killed runs count, not attempts): {counts:?}"
    );
}
