//! A share is untrusted input (issue 11): each test gives the real `offline` binary
//! a hostile share and checks that nothing is synced or deleted that belongs to the
//! cache, nothing is written outside the share, no server answer stops the program,
//! one bad name never blocks its folder, recovery removes only this cache's temp
//! files, and holes stay holes. Folder shares are temp folders; WebDAV listings come
//! from a tiny server of the tests' own (`hostile_support`); S3 from SeaweedFS.

mod common;
mod hostile_support;
mod servers;

use common::{
    assert_code, run_offline, stderr, Fixture, JsonRun, Side, EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE,
};
use hostile_support::{crash_point_number, DavTree, HostileDav};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{symlink, FileExt, MetadataExt};
use std::path::Path;
use std::process::Command;

/// `offline ARGS` run in nothing in particular (for `init`).
fn offline(args: &[&OsStr]) -> std::process::Output {
    run_offline(None, args)
}

#[test]
fn a_share_offline_folder_is_never_synced_in_either_direction_nor_deleted() {
    let fx = Fixture::new();
    fx.write(Side::Share, ".offline/evil.txt", "EVIL");
    fx.write(
        Side::Share,
        ".offline/credentials",
        "AWS_ENDPOINT_URL=http://evil.example\n",
    );
    fx.chmod(Side::Share, ".offline/credentials", 0o600);
    fx.write(Side::Share, "ok.txt", "fine");
    fx.init();

    for round in 1..=2 {
        let run = fx.sync_json_run(&[]);
        run.assert_code(EXIT_OK);
        let reports = run.for_path(".offline");
        assert_eq!(reports.len(), 1, "reported once per sync: {:#?}", run.items);
        assert_eq!(reports[0]["result"], "skipped", "{}", reports[0]);
        assert!(
            reports[0]["reason"]
                .as_str()
                .unwrap_or("")
                .contains("never synced"),
            "{}",
            reports[0]
        );
        assert!(
            !fx.meta_dir().join("evil.txt").exists(),
            "round {round}: the share's .offline reached the cache's own folder"
        );
        assert!(!fx.meta_dir().join("credentials").exists());
        assert_eq!(fx.read_str(Side::Share, ".offline/evil.txt"), "EVIL");
        assert!(fx.exists(Side::Share, ".offline/credentials"));
        assert_eq!(fx.read_str(Side::Cache, "ok.txt"), "fine");
    }

    // The cache side's `.offline-share` is no item either: the share's marker is
    // never replaced by it.
    let marker = fs::read(fx.share.join(".offline-share")).expect("the marker");
    fx.write(Side::Cache, ".offline-share", "not the marker");
    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    assert_eq!(run.item(".offline-share")["result"], "skipped");
    assert_eq!(fs::read(fx.share.join(".offline-share")).unwrap(), marker);
    // Nor can a person name them to a command.
    let out = fx.run(&["sync", ".offline-share"]);
    assert_code(&out, EXIT_USAGE, "sync .offline-share");
}

#[test]
fn an_s3_share_offline_prefix_is_never_synced_nor_deleted() {
    let server = servers::Server::start(servers::Backend::S3);
    let dir = tempfile::tempdir().expect("temp dir");
    // A second cache whose share is `team/.offline` puts the object `team/.offline/x`.
    let planter = dir.path().join("planter");
    let planter_url = format!("{}/.offline", server.url);
    let mut init = Command::new(env!("CARGO_BIN_EXE_offline"));
    init.arg("init").arg(&planter_url).arg(&planter);
    for (k, v) in &server.env {
        init.env(k, v);
    }
    servers::assert_ok(&init.output().unwrap(), "init the planter", &server);
    fs::write(planter.join("x"), "EVIL").unwrap();
    servers::sync_expect(&server, &planter, &[], 0);

    let cache = dir.path().join("cache");
    server.init(&cache);
    for _ in 0..2 {
        let out = servers::sync_expect(&server, &cache, &["--json"], 0);
        let text = String::from_utf8_lossy(&out.stdout);
        let skipped: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(r#""path":".offline""#))
            .collect();
        assert_eq!(skipped.len(), 1, "reported once per sync:\n{text}");
        assert!(skipped[0].contains(r#""result":"skipped""#), "{text}");
        assert!(
            !cache.join(".offline/x").exists(),
            "landed in the cache's own folder"
        );
    }
    // Still on the share: the planter sees nothing deleted.
    let out = servers::sync_expect(&server, &planter, &["--json"], 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("delete_client_copy"), "{text}");
    assert_eq!(fs::read_to_string(planter.join("x")).unwrap(), "EVIL");
}

#[test]
fn init_never_writes_the_marker_through_a_symlink() {
    let fx = Fixture::new();
    let outside = fx.dir.path().join("outside");
    fs::create_dir(&outside).unwrap();
    symlink("../outside/marker", fx.share.join(".offline-share")).unwrap();
    let out = offline(&[
        OsStr::new("init"),
        fx.share.as_os_str(),
        fx.cache.as_os_str(),
    ]);
    assert_code(&out, EXIT_USAGE, "init with a dangling marker symlink");
    assert!(stderr(&out).contains(".offline-share"), "{}", stderr(&out));
    assert!(
        !outside.join("marker").exists(),
        "written outside the share"
    );
    assert!(!fx.cache.exists(), "a refused init creates nothing");

    // A symlink to a file outside: refused too, and the file is left as it was.
    fs::write(outside.join("marker"), "someone's file").unwrap();
    let out = offline(&[
        OsStr::new("init"),
        fx.share.as_os_str(),
        fx.cache.as_os_str(),
    ]);
    assert_code(&out, EXIT_USAGE, "init with a marker symlink");
    assert_eq!(
        fs::read_to_string(outside.join("marker")).unwrap(),
        "someone's file"
    );
}

/// `offline init URL CACHE` against the hostile server.
fn init_dav(dav: &HostileDav, cache: &Path) {
    let out = offline(&[
        OsStr::new("init"),
        OsStr::new(&dav.url()),
        cache.as_os_str(),
    ]);
    assert_code(
        &out,
        EXIT_OK,
        &format!("init {}\n{}", dav.url(), dav.requests()),
    );
}

/// `offline -C CACHE ARGS` with crash-point variables.
fn run_with(cache: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_offline"));
    cmd.arg("-C")
        .arg(cache)
        .args(args)
        .env("OFFLINE_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run offline")
}

#[test]
fn a_hostile_webdav_listing_cannot_stop_or_wedge_the_program() {
    let tree = DavTree::with_files(&[("ok.txt", "fine"), ("two.txt", "also")])
        .hostile("", &["/a", "/", "http://elsewhere/etc/passwd"]);
    let dav = HostileDav::start(tree);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    init_dav(&dav, &cache);
    // The hostile listing is read by a sync (never a panic: run_offline checks)...
    check_hostile_sync(&dav, &cache, false);
    check_hostile_sync(&dav, &cache, false);

    // ... and by the recovery after a sync killed in the middle, which lists the
    // whole share for temp files: the cache is never wedged.
    let counted = dir.path().join("counted");
    init_dav(&dav, &counted);
    let listed = run_with(&counted, &["sync"], &[("OFFLINE_CRASH_LIST", "1")]);
    let point = crash_point_number(
        &String::from_utf8_lossy(&listed.stderr),
        "dir.stage_file.temp_written",
    )
    .expect("a crash point while a file is staged");
    let killed_cache = dir.path().join("killed");
    init_dav(&dav, &killed_cache);
    let killed = run_with(
        &killed_cache,
        &["sync"],
        &[("OFFLINE_CRASH_AT", &point.to_string())],
    );
    assert_eq!(killed.status.code(), None, "killed at the crash point");
    check_hostile_sync(&dav, &killed_cache, true);
    check_hostile_sync(&dav, &killed_cache, false);
}

/// A sync of a cache of the hostile share of the test above: exit 0, the three
/// bad entries reported as skipped, the sound files copied.
fn check_hostile_sync(dav: &HostileDav, cache: &Path, recovers: bool) {
    let out = run_offline(
        None,
        &[
            OsStr::new("-C"),
            cache.as_os_str(),
            OsStr::new("sync"),
            OsStr::new("--json"),
        ],
    );
    assert_code(&out, EXIT_OK, &format!("sync\n{}", dav.requests()));
    assert_eq!(
        stderr(&out).contains("interrupted"),
        recovers,
        "recovery: {}",
        stderr(&out)
    );
    let run = JsonRun::from_output(out);
    let reasons: Vec<&str> = run
        .for_path("")
        .iter()
        .filter(|r| r["result"] == "skipped")
        .filter_map(|r| r["reason"].as_str())
        .collect();
    assert_eq!(
        reasons.len(),
        3,
        "one report per bad entry: {:#?}",
        run.items
    );
    for bad in ["/a", "/", "/etc/passwd"] {
        assert!(
            reasons.iter().any(|r| r.contains(&format!("{bad:?}"))),
            "the entry {bad} is reported: {reasons:#?}"
        );
    }
    assert_eq!(fs::read_to_string(cache.join("ok.txt")).unwrap(), "fine");
    assert_eq!(fs::read_to_string(cache.join("two.txt")).unwrap(), "also");
    assert!(!cache.join("a").exists() && !cache.join("passwd").exists());
}

#[test]
fn a_garbage_listing_is_an_error_of_that_folder_only() {
    let mut tree = DavTree::with_files(&[("ok.txt", "fine"), ("sub/in.txt", "x")]);
    tree.dirs.insert("sub".into());
    tree.garbage.insert("sub".into());
    let dav = HostileDav::start(tree);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    init_dav(&dav, &cache);
    let fx_run = run_offline(
        None,
        &[
            OsStr::new("-C"),
            cache.as_os_str(),
            OsStr::new("sync"),
            OsStr::new("--json"),
        ],
    );
    assert_code(
        &fx_run,
        EXIT_INCOMPLETE,
        "a folder that cannot be read is an item error",
    );
    let text = String::from_utf8_lossy(&fx_run.stdout);
    assert!(
        text.contains(r#""path":"sub""#) && text.contains("cannot be read"),
        "{text}"
    );
    assert_eq!(fs::read_to_string(cache.join("ok.txt")).unwrap(), "fine");
}

#[test]
fn one_bad_name_is_skipped_and_the_rest_of_its_folder_syncs() {
    let mut tree = DavTree::with_files(&[("ok.txt", "fine"), ("sub/fine.txt", "deep")])
        .hostile(
            "",
            &[
                "/share/..",
                "/share/.",
                "/share/a%00b",
                "/share/a//b",
                "/share/x%2Fy",
            ],
        )
        .hostile("sub", &["/share/sub/.."]);
    tree.dirs.insert("sub".into());
    let dav = HostileDav::start(tree);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    init_dav(&dav, &cache);
    for _ in 0..2 {
        let out = run_offline(
            None,
            &[
                OsStr::new("-C"),
                cache.as_os_str(),
                OsStr::new("sync"),
                OsStr::new("--json"),
            ],
        );
        assert_code(&out, EXIT_OK, &dav.requests());
        let text = String::from_utf8_lossy(&out.stdout);
        let skipped_here = |folder: &str| {
            text.lines()
                .filter(|l| l.contains(&format!(r#""path":"{folder}""#)) && l.contains("skipped"))
                .count()
        };
        assert_eq!(
            skipped_here(""),
            5,
            "each bad entry of the root, once:\n{text}"
        );
        assert_eq!(skipped_here("sub"), 1, "{text}");
        assert_eq!(fs::read_to_string(cache.join("ok.txt")).unwrap(), "fine");
        assert_eq!(
            fs::read_to_string(cache.join("sub/fine.txt")).unwrap(),
            "deep"
        );
    }
}

/// The names of the files below `dir` (recursively) that start with `prefix`.
fn named_like(dir: &Path, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) {
            out.push(entry.path().display().to_string());
        }
        if entry.file_type().unwrap().is_dir() && name != ".offline" {
            out.extend(named_like(&entry.path(), prefix));
        }
    }
    out.sort();
    out
}

/// Another cache's upload in flight (a temp name with a foreign tag).
const FOREIGN_TEMP: &str = ".offline-tmp-00000000000000ff-0000000000000001";

/// A share with a person's files named like temp files, another cache's upload in
/// flight, and files to copy; initialized, not synced.
fn temp_world() -> Fixture {
    let fx = Fixture::new();
    fx.write(Side::Share, ".offline-tmp-foo", "a person's file");
    fx.write(Side::Share, "notes/.offline-tmp-bar.txt", "also a person's");
    fx.write(
        Side::Share,
        format!("notes/{FOREIGN_TEMP}"),
        "another cache's upload",
    );
    for i in 0..5 {
        fx.write(Side::Share, format!("data/{i}.txt"), format!("content {i}"));
    }
    fx.init();
    // One copy in flight and commits by count: the crash points come in the same order
    // in every run, so the point counted in one run is the same moment in the next.
    let out = run_with(&fx.cache, &["config", "--transfers", "1"], &[]);
    assert!(out.status.success(), "config --transfers 1: {out:?}");
    fx.write(Side::Cache, ".offline-tmp-mine", "made in the cache");
    fx
}

#[test]
fn only_this_caches_temp_files_are_removed_and_a_persons_are_synced() {
    let counted = temp_world();
    let out = run_with(
        &counted.cache,
        &["sync"],
        &[("OFFLINE_CRASH_LIST", "1"), ("OFFLINE_COMMIT_EVERY", "1")],
    );
    let point = crash_point_number(
        &String::from_utf8_lossy(&out.stderr),
        "dir.stage_file.temp_written",
    )
    .expect("a crash point while a file is staged");

    let fx = temp_world();
    let killed = run_with(
        &fx.cache,
        &["sync"],
        &[
            ("OFFLINE_CRASH_AT", &point.to_string()),
            ("OFFLINE_COMMIT_EVERY", "1"),
        ],
    );
    assert_eq!(killed.status.code(), None, "killed at crash point {point}");
    let own_tag = fs::read_to_string(fx.meta_dir().join("tag")).unwrap_or_default();
    let own_prefix = format!(".offline-tmp-{}-", own_tag.trim());
    let persons = fx.cache.join(".offline-tmp-mine").display().to_string();
    assert!(
        named_like(&fx.cache, ".offline-tmp-")
            .iter()
            .any(|p| *p != persons),
        "the killed sync left one of its temp files"
    );

    let run = fx.sync_json_run(&[]);
    run.assert_code(EXIT_OK);
    assert!(
        run.stderr.contains("interrupted"),
        "recovery ran: {}",
        run.stderr
    );
    // A person's files named like temp files survive the recovery and are synced
    // like any other, both ways.
    assert_eq!(
        fx.read_str(Side::Share, ".offline-tmp-foo"),
        "a person's file"
    );
    assert_eq!(
        fx.read_str(Side::Cache, ".offline-tmp-foo"),
        "a person's file"
    );
    assert_eq!(
        fx.read_str(Side::Cache, "notes/.offline-tmp-bar.txt"),
        "also a person's"
    );
    assert_eq!(
        fx.read_str(Side::Cache, ".offline-tmp-mine"),
        "made in the cache"
    );
    assert_eq!(
        fx.read_str(Side::Share, ".offline-tmp-mine"),
        "made in the cache"
    );
    // Another cache's upload in flight stays where it is, and is no item.
    assert_eq!(
        fx.read_str(Side::Share, format!("notes/{FOREIGN_TEMP}")),
        "another cache's upload"
    );
    assert!(!fx.exists(Side::Cache, format!("notes/{FOREIGN_TEMP}")));
    for i in 0..5 {
        assert_eq!(
            fx.read_str(Side::Cache, format!("data/{i}.txt")),
            format!("content {i}")
        );
    }
    // This cache's own temp files are gone from both sides.
    assert!(
        named_like(&fx.cache, &own_prefix).is_empty(),
        "own temp files removed"
    );
    assert!(named_like(&fx.share, &own_prefix).is_empty());
    fx.assert_settled();
}

/// Bytes of a file on disk (its allocated blocks).
fn allocated(path: &Path) -> u64 {
    fs::metadata(path).unwrap().blocks() * 512
}

#[test]
fn sparse_files_keep_their_holes_in_the_cache_and_on_the_share() {
    const SIZE: u64 = 64 << 20;
    let fx = Fixture::new();
    let image = fx.share.join("disk.img");
    let file = fs::File::create(&image).unwrap();
    file.set_len(SIZE).unwrap();
    file.write_all_at(b"boot sector", 0).unwrap();
    file.write_all_at(b"middle", SIZE / 2).unwrap();
    drop(file);
    assert!(allocated(&image) < 1 << 20, "the test file is sparse");
    fx.init();
    fx.sync_json_run(&[]).assert_code(EXIT_OK);

    let cached = fx.cache.join("disk.img");
    assert_eq!(fs::metadata(&cached).unwrap().len(), SIZE);
    assert!(
        allocated(&cached) < 4 << 20,
        "the cache's copy takes {} bytes on disk for 17 bytes of data",
        allocated(&cached)
    );
    let mut head = [0u8; 11];
    fs::File::open(&cached)
        .unwrap()
        .read_exact_at(&mut head, 0)
        .unwrap();
    assert_eq!(&head, b"boot sector");

    // Changed in the cache, sent back: the share's copy keeps its holes too.
    let file = fs::OpenOptions::new().write(true).open(&cached).unwrap();
    file.write_all_at(b"changed", SIZE - 100).unwrap();
    drop(file);
    fx.sync_json_run(&[]).assert_code(EXIT_OK);
    assert!(
        allocated(&image) < 4 << 20,
        "the share's copy: {} bytes",
        allocated(&image)
    );
    assert_eq!(fs::read(&image).unwrap(), fs::read(&cached).unwrap());
}
