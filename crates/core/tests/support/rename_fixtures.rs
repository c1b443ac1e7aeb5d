//! The fixtures of the planner's rename tests (`renames.rs`, `renames_folders.rs`):
//! metadata, identities (inodes on folder shares, stat fingerprints on network
//! shares), triples, and a planner run that answers the hashes it asks for.

#![allow(dead_code)]

use offline_core::plan::{HashWanted, Planner};
use offline_core::{
    ConflictPolicy, Lineage, Meta, Moved, Original, Plan, PlanItem, RelPath, Scanned, Side,
    SyncControl, Triple,
};

pub fn p(s: &str) -> RelPath {
    RelPath::from_str_lossy(s).expect("valid test path")
}

pub fn file(c: u8) -> Meta {
    Meta::file(10 + c as u64, 1_000 + c as i64, 0o644, [c; 32])
}

pub fn dir() -> Meta {
    Meta::dir(1_000, 0o755)
}

/// A folder-backend identity: object `ino`, changed `ver` times.
pub fn ino(ino: u32, ver: u32, m: &Meta) -> String {
    format!("1:{ino}:{ver}.0:{}:{}", m.size, m.mtime_ns)
}

/// A network share's stat fingerprint.
pub fn stat(m: &Meta) -> String {
    format!("size:{}:mtime:{}", m.size, m.mtime_ns)
}

/// One side's copy: its metadata and identity.
pub fn copy(m: Meta, id: String) -> Option<Box<Scanned>> {
    Some(Box::new(Scanned::new(m, id)))
}

/// The base of an item that was object `n` on both sides (folder shares).
pub fn base(m: Meta, n: u32) -> Option<Box<Original>> {
    Some(Box::new(Original {
        local_identity: Some(ino(n, 0, &m)),
        remote_identity: Some(ino(n, 0, &m)),
        ..Original::of(m)
    }))
}

pub fn triple(
    original: Option<Box<Original>>,
    local: Option<Box<Scanned>>,
    remote: Option<Box<Scanned>>,
) -> Triple {
    Triple {
        original,
        local,
        remote,
        cached: true,
        pinned: true,
        excluded: false,
    }
}

pub fn ctl(policy: ConflictPolicy) -> SyncControl {
    SyncControl {
        policy,
        ..SyncControl::default()
    }
}

/// Plans `entries` with a folder share (inodes on both sides).
pub fn plan(entries: Vec<(&str, Triple)>, control: &SyncControl) -> Plan {
    plan_with(entries, control, Lineage::Inode, &[])
}

/// Plans `entries`, giving the planner the hashes it asks for from `hashes`.
pub fn plan_with(
    entries: Vec<(&str, Triple)>,
    control: &SyncControl,
    share: Lineage,
    hashes: &[(Side, &str, u8)],
) -> Plan {
    plan_excluding(entries, control, share, hashes, &[])
}

/// [`plan_with`], where the paths nobody holds are excluded at or below one of
/// `excluded` (the engine's answer from its patterns) and included elsewhere.
pub fn plan_excluding(
    entries: Vec<(&str, Triple)>,
    control: &SyncControl,
    share: Lineage,
    hashes: &[(Side, &str, u8)],
    excluded: &[&str],
) -> Plan {
    let mut planner = Planner::new(control).lineage(Side::Share, share);
    for (path, t) in entries {
        planner.add(p(path), t);
    }
    for wanted in planner.exclusions_wanted() {
        let is_excluded = excluded.iter().any(|e| p(e).contains(&wanted.path));
        planner.give_exclusion(&wanted.path, is_excluded);
    }
    for HashWanted { side, path } in planner.hashes_wanted() {
        if let Some((_, _, c)) = hashes.iter().find(|(s, q, _)| *s == side && p(q) == path) {
            planner.give_hash(side, &path, [*c; 32]);
        }
    }
    planner.finish()
}

pub fn one<'a>(plan: &'a Plan, path: &str) -> &'a PlanItem {
    let found: Vec<&PlanItem> = plan.items.iter().filter(|i| i.path == p(path)).collect();
    assert_eq!(found.len(), 1, "{path} in {:#?}", plan.items);
    found[0]
}

pub fn moved(from: &str, on: Side, at: &str) -> Option<Box<Moved>> {
    Some(Box::new(Moved {
        from: p(from),
        rename: Some((on, p(at))),
    }))
}

/// A copy the walk did not hash (a new path facing nothing).
pub fn unhashed(m: &Meta) -> Meta {
    Meta {
        hash: None,
        ..m.clone()
    }
}

/// A folder `d` (object 3) with `d/x` (object 4) renamed to `e` on `side`.
pub fn folder_renamed(side: Side) -> Vec<(&'static str, Triple)> {
    let (d, x) = (dir(), file(2));
    let stays = |m: &Meta, n: u32| copy(m.clone(), ino(n, 0, m));
    let old = |m: &Meta, n: u32| match side {
        Side::Cache => triple(base(m.clone(), n), None, stays(m, n)),
        Side::Share => triple(base(m.clone(), n), stays(m, n), None),
    };
    let new = |m: Meta, n: u32, ver: u32| {
        let c = copy(unhashed(&m), ino(n, ver, &m));
        match side {
            Side::Cache => triple(None, c, None),
            Side::Share => triple(None, None, c),
        }
    };
    vec![
        ("d", old(&d, 3)),
        ("d/x", old(&x, 4)),
        ("e", new(d.clone(), 3, 1)),
        ("e/x", new(x.clone(), 4, 0)),
    ]
}
